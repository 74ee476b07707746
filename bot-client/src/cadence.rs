//! [`Cadence`]: a deadline that repeats at a fixed interval — when a bot's next ping is due.
//!
//! The play loop asks it on every timer tick (the bot's input timer fires far more often than it
//! pings). It keeps to its schedule while the loop keeps up, and after a stall (a busy machine,
//! a resume) it fires once and starts over from then instead of firing a burst to catch up.

use std::time::{Duration, Instant};

/// A repeating deadline. Pure: the caller passes the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cadence {
    next: Instant,
    every: Duration,
}

impl Cadence {
    /// First due at `first`, then every `every`.
    pub fn new(first: Instant, every: Duration) -> Self {
        Cadence { next: first, every }
    }

    /// Whether it is due at `now`; if so, the next deadline is one interval on (or one
    /// interval after `now`, when the loop fell more than an interval behind).
    pub fn due(&mut self, now: Instant) -> bool {
        if now < self.next {
            return false;
        }
        self.next += self.every;
        if self.next < now {
            self.next = now + self.every;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn fires_once_per_interval_on_its_schedule() {
        let t0 = Instant::now();
        let mut c = Cadence::new(t0 + Duration::from_millis(300), SECOND);
        assert!(!c.due(t0));
        assert!(c.due(t0 + Duration::from_millis(300)));
        // Timer ticks in between do not fire it again.
        assert!(!c.due(t0 + Duration::from_millis(333)));
        assert!(!c.due(t0 + Duration::from_millis(1299)));
        // A tick slightly late keeps the schedule: the next is still at 2.3 s.
        assert!(c.due(t0 + Duration::from_millis(1310)));
        assert!(!c.due(t0 + Duration::from_millis(2299)));
        assert!(c.due(t0 + Duration::from_millis(2300)));
    }

    #[test]
    fn after_a_stall_it_fires_once_and_starts_over_instead_of_bursting() {
        let t0 = Instant::now();
        let mut c = Cadence::new(t0, SECOND);
        assert!(c.due(t0));
        let woke = t0 + Duration::from_millis(5500);
        assert!(c.due(woke));
        assert!(!c.due(woke + Duration::from_millis(33)));
        assert!(!c.due(woke + Duration::from_millis(999)));
        assert!(c.due(woke + SECOND));
    }
}
