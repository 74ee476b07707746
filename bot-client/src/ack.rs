//! [`AckTracker`]: input→ack latency, from sending input `seq` to the first snapshot in which
//! the bot's own player shows `last_input >= seq`.
//!
//! The server applies at most a few inputs per player per tick (the newest win), so one snapshot
//! can acknowledge several inputs at once: every pending input up to `last_input` is matched and
//! gets its own latency sample.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Inputs in flight for one bot, oldest first.
#[derive(Debug, Clone)]
pub struct AckTracker {
    pending: VecDeque<(u32, Instant)>,
    capacity: usize,
    acked: u64,
    evicted: u64,
    abandoned: u64,
    highest_ack: u32,
}

impl AckTracker {
    /// Keeps at most `capacity` unacknowledged inputs; older ones are evicted (and counted) so a
    /// server that never acknowledges cannot make a bot grow without bound.
    pub fn new(capacity: usize) -> Self {
        AckTracker {
            // A handful are in flight normally (input→ack is a tick or two); grow only if needed.
            pending: VecDeque::with_capacity(capacity.clamp(1, 8)),
            capacity: capacity.max(1),
            acked: 0,
            evicted: 0,
            abandoned: 0,
            highest_ack: 0,
        }
    }

    /// Input `seq` was sent at `at`. Seqs must increase.
    pub fn sent(&mut self, seq: u32, at: Instant) {
        if self.pending.len() == self.capacity {
            self.pending.pop_front();
            self.evicted += 1;
        }
        self.pending.push_back((seq, at));
    }

    /// A snapshot received at `at` shows `last_input` for this bot: calls `sample` with the
    /// latency of every pending input it acknowledges, oldest first, and returns how many.
    pub fn on_snapshot(
        &mut self,
        last_input: u32,
        at: Instant,
        mut sample: impl FnMut(Duration),
    ) -> usize {
        self.highest_ack = self.highest_ack.max(last_input);
        let mut n = 0;
        while let Some(&(seq, sent)) = self.pending.front() {
            if seq > last_input {
                break;
            }
            self.pending.pop_front();
            sample(at.saturating_duration_since(sent));
            n += 1;
        }
        self.acked += n as u64;
        n
    }

    /// Inputs still waiting that were sent more than `age` before `now`.
    pub fn overdue(&self, now: Instant, age: Duration) -> usize {
        self.pending
            .iter()
            .take_while(|(_, sent)| now.saturating_duration_since(*sent) > age)
            .count()
    }

    /// Forgets every pending input (and counts it): the connection they were sent on was lost.
    /// Some may have reached the server, but matching them to the first snapshot after a
    /// reconnect would record the outage as input→ack latency; the outage is reported as such
    /// instead (resumes, dropped snapshots). Returns how many were forgotten.
    pub fn abandon(&mut self) -> usize {
        let n = self.pending.len();
        self.pending.clear();
        self.abandoned += n as u64;
        n
    }

    /// Inputs forgotten by [`AckTracker::abandon`].
    pub fn abandoned(&self) -> u64 {
        self.abandoned
    }

    /// Inputs waiting for an acknowledgement.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Inputs acknowledged so far.
    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// Inputs dropped from the pending queue because it was full.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// The highest `last_input` seen.
    pub fn highest_ack(&self) -> u32 {
        self.highest_ack
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn each_input_is_matched_to_the_first_snapshot_that_covers_it() {
        let t0 = Instant::now();
        let mut a = AckTracker::new(64);
        a.sent(1, t0);
        a.sent(2, t0 + ms(10));
        a.sent(3, t0 + ms(20));
        let mut got = Vec::new();
        // A snapshot still showing 0 acknowledges nothing.
        assert_eq!(a.on_snapshot(0, t0 + ms(15), |d| got.push(d)), 0);
        // last_input = 2 acknowledges 1 and 2 together (the server applied the newest).
        assert_eq!(a.on_snapshot(2, t0 + ms(40), |d| got.push(d)), 2);
        assert_eq!(got, vec![ms(40), ms(30)]);
        // Repeating last_input = 2 does not count again.
        assert_eq!(a.on_snapshot(2, t0 + ms(70), |d| got.push(d)), 0);
        assert_eq!(a.on_snapshot(3, t0 + ms(75), |d| got.push(d)), 1);
        assert_eq!(got[2], ms(55));
        assert_eq!((a.acked(), a.pending(), a.highest_ack()), (3, 0, 3));
    }

    #[test]
    fn the_pending_queue_is_bounded_and_overdue_inputs_are_visible() {
        let t0 = Instant::now();
        let mut a = AckTracker::new(4);
        for s in 1..=6 {
            a.sent(s, t0 + ms(u64::from(s) * 100));
        }
        assert_eq!((a.pending(), a.evicted()), (4, 2));
        assert_eq!(a.overdue(t0 + ms(1000), ms(550)), 2); // seqs 3 and 4
        let mut n = 0;
        a.on_snapshot(6, t0 + ms(1000), |_| n += 1);
        assert_eq!(n, 4);
    }

    #[test]
    fn inputs_of_a_lost_connection_are_abandoned_not_matched_after_the_outage() {
        let t0 = Instant::now();
        let mut a = AckTracker::new(16);
        a.sent(1, t0);
        a.sent(2, t0 + ms(10));
        assert_eq!(a.abandon(), 2);
        a.sent(3, t0 + ms(2000));
        let mut got = Vec::new();
        // The first snapshot after the resume acknowledges 3, and only 3 is sampled.
        assert_eq!(a.on_snapshot(3, t0 + ms(2030), |d| got.push(d)), 1);
        assert_eq!(got, vec![ms(30)]);
        assert_eq!((a.abandoned(), a.pending()), (2, 0));
    }
}
