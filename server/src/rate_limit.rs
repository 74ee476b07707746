//! The per-session message rate limit: a token bucket that can go into debt.
//!
//! Each client message takes a token; tokens refill at `rate` per second up to `burst`. A message
//! that finds less than one token is **dropped** (the session counts it) and still takes its
//! token, so the bucket goes negative. Once the debt reaches a whole `burst` the client is not
//! bursting but flooding, and the session closes it with 1008. A client sending at 2× the rate
//! is closed after about `2 × burst / rate` seconds; one sending at 1.1× after much longer; a
//! client within the rate never drops anything.
//!
//! Pure (time is passed in); owned by [`crate::session::Session`].

use std::time::Instant;

/// What to do with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    /// Over the rate: drop the message, keep the session.
    Drop,
    /// Sustained flood: close the session (1008).
    Close,
}

#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket refilling `rate` tokens per second up to `burst` (both at least 1).
    pub fn new(rate: f64, burst: f64, now: Instant) -> Self {
        let burst = if burst.is_finite() {
            burst.max(1.0)
        } else {
            1.0
        };
        let rate = if rate.is_finite() { rate.max(1.0) } else { 1.0 };
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Charges one message arriving at `now`.
    pub fn take(&mut self, now: Instant) -> Verdict {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Verdict::Accept
        } else if self.tokens > -self.burst {
            Verdict::Drop
        } else {
            Verdict::Close
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Sends at `hz` for `secs`; returns (accepted, dropped, closed-after-seconds).
    fn run(hz: f64, secs: f64) -> (u32, u32, Option<f64>) {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(90.0, 60.0, t0);
        let (mut ok, mut dropped) = (0, 0);
        let n = (hz * secs) as u32;
        for i in 0..n {
            let t = i as f64 / hz;
            match b.take(t0 + Duration::from_secs_f64(t)) {
                Verdict::Accept => ok += 1,
                Verdict::Drop => dropped += 1,
                Verdict::Close => return (ok, dropped, Some(t)),
            }
        }
        (ok, dropped, None)
    }

    #[test]
    fn a_client_within_the_rate_never_drops() {
        assert_eq!(run(30.0, 60.0), (1800, 0, None));
        assert_eq!(run(89.0, 10.0), (890, 0, None));
    }

    #[test]
    fn a_burst_is_absorbed() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(90.0, 60.0, t0);
        for _ in 0..60 {
            assert_eq!(b.take(t0), Verdict::Accept);
        }
        assert_eq!(b.take(t0), Verdict::Drop);
    }

    #[test]
    fn a_flood_is_dropped_then_closed() {
        let (ok, dropped, closed) = run(180.0, 10.0);
        let at = closed.expect("2x the rate for 10 s must be closed");
        assert!((1.0..2.0).contains(&at), "closed after {at} s");
        assert!(ok > 60 && dropped > 0, "{ok} {dropped}");
        let (_, _, closed) = run(10_000.0, 1.0);
        assert!(closed.expect("a blast is closed") < 0.02);
    }
}
