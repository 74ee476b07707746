//! The room's fixed tick schedule: tick `n` is due at `start + n × period`, computed from the
//! start instant rather than by sleeping one period after each tick, so lateness never
//! accumulates (no drift). A tick that overruns its budget makes the schedule skip the deadlines
//! already missed instead of running catch-up ticks back to back.
//!
//! Also home of [`ticks_in`], the one conversion of a configured duration into a tick count.

use std::time::{Duration, Instant};

/// Deadlines of a fixed-rate tick loop. Pure: the caller passes the time in.
#[derive(Debug, Clone)]
pub struct TickSchedule {
    start: Instant,
    period: Duration,
    /// Index of the tick whose deadline was handed out last.
    next: u64,
}

impl TickSchedule {
    /// A schedule whose first tick is due one `period` after `start`.
    pub fn new(start: Instant, period: Duration) -> Self {
        assert!(!period.is_zero(), "a tick period should be positive");
        TickSchedule {
            start,
            period,
            next: 1,
        }
    }

    /// The period for `hz` ticks per second.
    pub fn period_for(hz: u16) -> Duration {
        Duration::from_secs_f64(1.0 / f64::from(hz.max(1)))
    }

    pub fn period(&self) -> Duration {
        self.period
    }

    /// When tick `n` is due.
    pub fn deadline(&self, n: u64) -> Instant {
        self.start + self.period.mul_f64(n as f64)
    }

    /// The deadline of the first tick (to arm the timer after start).
    pub fn first(&self) -> Instant {
        self.deadline(self.next)
    }

    /// Called when a tick has finished at `now`: returns the next tick's deadline and how many
    /// deadlines were skipped because they had already passed (overruns).
    pub fn advance(&mut self, now: Instant) -> (Instant, u64) {
        let mut n = self.next + 1;
        let mut skipped = 0;
        if self.deadline(n) <= now {
            let elapsed = now.duration_since(self.start).as_nanos();
            let due = (elapsed / self.period.as_nanos()) as u64 + 1;
            skipped = due - n;
            n = due;
        }
        self.next = n;
        (self.deadline(n), skipped)
    }
}

/// How many ticks of `period` it takes to cover `span`, rounded up: a timeout counted in ticks
/// never fires before its duration has passed. Zero for a zero span (callers that need at least
/// one tick say so with `.max(1)`). Exact integer arithmetic on nanoseconds.
///
/// Note that [`TickSchedule::period_for`] rounds the period to whole nanoseconds (1/30 s is
/// 33,333,333 ns, a hair short), so a span of a whole number of nominal periods can count one
/// tick more: 10 s at 30 Hz is 301 ticks.
pub fn ticks_in(span: Duration, period: Duration) -> u64 {
    assert!(!period.is_zero(), "a tick period should be positive");
    let ticks = span.as_nanos().div_ceil(period.as_nanos());
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Duration = Duration::from_millis(33);

    #[test]
    fn deadlines_do_not_drift_when_every_tick_runs_late() {
        let t0 = Instant::now();
        let mut s = TickSchedule::new(t0, P);
        assert_eq!(s.first(), t0 + P);
        let mut due = s.first();
        for _ in 0..1000 {
            // Every tick finishes 5 ms after its deadline: the next deadline is still on the grid.
            let (next, skipped) = s.advance(due + Duration::from_millis(5));
            assert_eq!(skipped, 0);
            assert_eq!(next - due, P);
            due = next;
        }
        assert_eq!(due, t0 + P * 1001);
    }

    #[test]
    fn an_overrun_skips_missed_ticks_instead_of_piling_them_up() {
        let t0 = Instant::now();
        let mut s = TickSchedule::new(t0, P);
        // Tick 1 (due at 33 ms) takes until 140 ms: ticks 2, 3 and 4 (66, 99, 132 ms) are missed.
        let (next, skipped) = s.advance(t0 + Duration::from_millis(140));
        assert_eq!(skipped, 3);
        assert_eq!(next, t0 + P * 5);
        // And the cadence continues on the grid.
        let (next, skipped) = s.advance(next + Duration::from_millis(1));
        assert_eq!((next, skipped), (t0 + P * 6, 0));
    }

    #[test]
    fn a_tick_finishing_exactly_on_the_next_deadline_skips_it() {
        let t0 = Instant::now();
        let mut s = TickSchedule::new(t0, P);
        let (next, skipped) = s.advance(t0 + P * 2);
        assert_eq!((next, skipped), (t0 + P * 3, 1));
    }

    #[test]
    fn period_for_hz() {
        assert_eq!(
            TickSchedule::period_for(30),
            Duration::from_secs_f64(1.0 / 30.0)
        );
        assert_eq!(TickSchedule::period_for(0), Duration::from_secs(1));
    }

    #[test]
    fn ticks_in_rounds_a_partial_tick_up() {
        let p = Duration::from_millis(50);
        assert_eq!(ticks_in(Duration::from_millis(500), p), 10);
        assert_eq!(ticks_in(Duration::from_millis(501), p), 11);
        assert_eq!(ticks_in(Duration::from_millis(1), p), 1);
        assert_eq!(ticks_in(Duration::from_nanos(49_999_999), p), 1);
    }

    #[test]
    fn ticks_in_a_zero_span_is_zero() {
        assert_eq!(ticks_in(Duration::ZERO, P), 0);
    }

    #[test]
    fn ticks_in_counts_the_nanosecond_short_period_of_30_hz() {
        let p = TickSchedule::period_for(30);
        assert_eq!(p, Duration::from_nanos(33_333_333));
        // As the room has always counted them (the float formula it replaced gave the same).
        assert_eq!(ticks_in(Duration::from_secs(10), p), 301);
        assert_eq!(ticks_in(Duration::from_millis(500), p), 16);
        assert_eq!(ticks_in(Duration::from_millis(300), p), 10);
    }

    #[test]
    fn ticks_in_matches_the_float_formula_it_replaced_for_common_settings() {
        let float =
            |span: Duration, p: Duration| (span.as_secs_f64() / p.as_secs_f64()).ceil() as u64;
        for hz in [1, 10, 20, 30, 60, 64, 128] {
            let p = TickSchedule::period_for(hz);
            for ms in [
                0, 1, 100, 250, 300, 500, 1_000, 2_000, 4_000, 8_000, 10_000, 15_000,
            ] {
                let span = Duration::from_millis(ms);
                assert_eq!(ticks_in(span, p), float(span, p), "{ms} ms at {hz} Hz");
            }
        }
    }

    #[test]
    fn ticks_in_saturates_instead_of_wrapping() {
        assert_eq!(ticks_in(Duration::MAX, Duration::from_nanos(1)), u64::MAX);
    }
}
