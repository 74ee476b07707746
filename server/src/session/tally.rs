//! A session's share of the busiest Prometheus counters, added to them in batches.
//!
//! Frames written and inputs accepted happen about 30 times a second per client each. Counting
//! every one on the shared counters is an atomic add on a cache line that every worker thread
//! writes, so the line bounces between cores tens of thousands of times a second. The session
//! counts locally and adds its counts every [`FLUSH_EVERY`] events (about a second of play) and
//! when it stops, so the totals lag by at most that and are exact once the session is gone.
//!
//! Talks to: the session (counts, flushes on stop) and [`Metrics`] (the shared counters).

use crate::metrics::Metrics;

/// Events counted before they are added to the shared counters.
pub const FLUSH_EVERY: u32 = 64;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    frames: u64,
    bytes: u64,
    inputs: u64,
    events: u32,
}

impl Tally {
    /// A snapshot frame of `bytes` was written. `true`: time to [`Tally::flush`].
    pub fn frame(&mut self, bytes: usize) -> bool {
        self.frames += 1;
        self.bytes += bytes as u64;
        self.count()
    }

    /// An input was accepted. `true`: time to [`Tally::flush`].
    pub fn input(&mut self) -> bool {
        self.inputs += 1;
        self.count()
    }

    fn count(&mut self) -> bool {
        self.events += 1;
        self.events >= FLUSH_EVERY
    }

    /// Adds the counts to the shared counters and starts over.
    pub fn flush(&mut self, metrics: &Metrics) {
        let Tally {
            frames,
            bytes,
            inputs,
            ..
        } = std::mem::take(self);
        if frames > 0 {
            metrics.frames_sent_total.inc_by(frames);
            metrics.frame_bytes_sent_total.inc_by(bytes);
        }
        if inputs > 0 {
            metrics.inputs_total.inc_by(inputs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_reach_the_shared_counters_only_when_flushed_and_then_exactly() {
        let metrics = Metrics::new();
        let mut tally = Tally::default();
        assert!(!tally.frame(100));
        assert!(!tally.input());
        assert_eq!(metrics.frames_sent_total.get(), 0);
        tally.flush(&metrics);
        assert_eq!(
            (
                metrics.frames_sent_total.get(),
                metrics.frame_bytes_sent_total.get(),
                metrics.inputs_total.get()
            ),
            (1, 100, 1)
        );
        tally.flush(&metrics);
        assert_eq!(metrics.frames_sent_total.get(), 1, "a flush starts over");
    }

    #[test]
    fn a_flush_is_due_every_flush_every_events_of_either_kind() {
        let (metrics, mut tally) = (Metrics::new(), Tally::default());
        let mut due_at = Vec::new();
        for i in 1..=3 * FLUSH_EVERY {
            let due = if i % 2 == 0 {
                tally.frame(1)
            } else {
                tally.input()
            };
            if due {
                tally.flush(&metrics);
                due_at.push(i);
            }
        }
        assert_eq!(due_at, [FLUSH_EVERY, 2 * FLUSH_EVERY, 3 * FLUSH_EVERY]);
        let events = metrics.frames_sent_total.get() + metrics.inputs_total.get();
        assert_eq!(events, u64::from(3 * FLUSH_EVERY));
    }
}
