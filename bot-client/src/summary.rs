//! [`Summary`]: percentiles of an HDR histogram of durations, in milliseconds, as the report
//! shows them; [`TickSummary`], the same for counts of ticks; and the histogram constructor
//! every duration measurement uses.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Longest duration a histogram holds (microseconds); longer samples are clamped to it.
pub(crate) const MAX_MICROS: u64 = 60_000_000;

/// A histogram of durations in microseconds, 1 µs .. 60 s, 3 significant digits.
pub(crate) fn micros_histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts, so this cannot fail.
    Histogram::new_with_bounds(1, MAX_MICROS, 3).unwrap_or_else(|_| unreachable!())
}

/// Records `d` into a microsecond histogram, clamped to its range.
pub(crate) fn record(h: &mut Histogram<u64>, d: Duration) {
    let us = u64::try_from(d.as_micros()).unwrap_or(MAX_MICROS);
    h.saturating_record(us.clamp(1, MAX_MICROS));
}

/// Percentiles of one measurement, in milliseconds (0 when there were no samples).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
    /// Number of samples.
    pub count: u64,
}

impl Summary {
    /// Summarises a microsecond histogram.
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Summary::default();
        }
        let ms = |us: u64| round3(us as f64 / 1000.0);
        Summary {
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
            mean: round3(h.mean() / 1000.0),
            count: h.len(),
        }
    }
}

/// Percentiles of a measurement in whole ticks (0 when there were no samples).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TickSummary {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
    pub mean: f64,
    /// Number of samples.
    pub count: u64,
}

impl TickSummary {
    /// Summarises a histogram of tick counts.
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return TickSummary::default();
        }
        // A quantile is the highest value of its bucket; at 3 significant digits buckets are
        // one tick wide up to 2048 ticks, so small gaps come out exact.
        let at = |q: f64| h.value_at_quantile(q);
        TickSummary {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: h.max(),
            mean: round3(h.mean()),
            count: h.len(),
        }
    }
}

/// Rounds to three decimals (microsecond precision for milliseconds).
pub(crate) fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarises_in_milliseconds() {
        let mut h = micros_histogram();
        for ms in 1..=100 {
            record(&mut h, Duration::from_millis(ms));
        }
        record(&mut h, Duration::from_secs(3600)); // clamped, not lost
        let s = Summary::of(&h);
        assert_eq!(s.count, 101);
        assert!((s.p50 - 51.0).abs() < 0.1, "{s:?}");
        assert!((s.p99 - 100.0).abs() < 0.1, "{s:?}");
        assert!((s.max - 60_000.0).abs() < 60.0, "{s:?}");
        assert_eq!(Summary::of(&micros_histogram()), Summary::default());
    }

    #[test]
    fn tick_percentiles_are_whole_ticks() {
        let mut h = Histogram::<u64>::new_with_max(10_000, 3).expect("valid bounds");
        for ticks in [1, 1, 2, 2, 2, 3, 3, 4, 6, 40] {
            h.record(ticks).expect("within bounds");
        }
        let s = TickSummary::of(&h);
        assert_eq!((s.p50, s.p90, s.p99, s.max, s.count), (2, 6, 40, 40, 10));
        assert!((s.mean - 6.4).abs() < 1e-9, "{s:?}");
    }
}
