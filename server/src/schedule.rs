//! The room's fixed tick schedule: tick `n` is due at `start + n × period`, computed from the
//! start instant rather than by sleeping one period after each tick, so lateness never
//! accumulates (no drift). A tick that overruns its budget makes the schedule skip the deadlines
//! already missed instead of running catch-up ticks back to back.

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
}
