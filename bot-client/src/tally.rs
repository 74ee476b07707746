//! [`Tally`]: the measurements all bots of a run share — HDR histograms striped over a few
//! mutex-guarded shards (a bot always records into the same shard, so locks are rarely contended
//! even on a multi-threaded runtime) and atomic live counters for the progress line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::summary::{micros_histogram, record};

/// One set of latency histograms (microseconds).
#[derive(Debug, Clone)]
pub(crate) struct Histos {
    pub ack: Histogram<u64>,
    pub rtt: Histogram<u64>,
    pub jitter: Histogram<u64>,
    /// Local wall clock at arrival − the snapshot's `server_time_ms`.
    pub age: Histogram<u64>,
}

impl Histos {
    fn new() -> Self {
        Histos {
            ack: micros_histogram(),
            rtt: micros_histogram(),
            jitter: micros_histogram(),
            age: micros_histogram(),
        }
    }

    fn add(&mut self, other: &Histos) {
        // Same bounds everywhere, so adding cannot fail; a failure would only lose samples.
        let _ = self.ack.add(&other.ack);
        let _ = self.rtt.add(&other.rtt);
        let _ = self.jitter.add(&other.jitter);
        let _ = self.age.add(&other.age);
    }

    fn reset(&mut self) {
        self.ack.reset();
        self.rtt.reset();
        self.jitter.reset();
        self.age.reset();
    }
}

/// One lock stripe.
#[derive(Debug)]
pub(crate) struct Shard {
    /// Samples from the steady window.
    pub window: Histos,
    /// Samples since the progress line last looked.
    pub live: Histos,
    /// Connect + join times of all bots.
    pub join: Histogram<u64>,
}

impl Shard {
    /// Records an input→ack sample.
    pub fn ack(&mut self, d: Duration, in_window: bool) {
        record(&mut self.live.ack, d);
        if in_window {
            record(&mut self.window.ack, d);
        }
    }

    pub fn rtt(&mut self, d: Duration, in_window: bool) {
        record(&mut self.live.rtt, d);
        if in_window {
            record(&mut self.window.rtt, d);
        }
    }

    /// Snapshot age is only kept for the window (the progress line does not show it).
    pub fn age(&mut self, d: Duration, in_window: bool) {
        if in_window {
            record(&mut self.window.age, d);
        }
    }

    pub fn jitter(&mut self, d: Duration, in_window: bool) {
        record(&mut self.live.jitter, d);
        if in_window {
            record(&mut self.window.jitter, d);
        }
    }
}

/// Live counters, updated by bots about once a second (and at the end).
#[derive(Debug, Default)]
pub(crate) struct Live {
    pub connected: AtomicU64,
    pub failed: AtomicU64,
    pub disconnected: AtomicU64,
    /// Lost connections a bot got its player back from, and ones it could not.
    pub resumes: AtomicU64,
    pub resume_failures: AtomicU64,
    pub snapshots: AtomicU64,
    pub dropped: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
}

impl Live {
    pub fn add(counter: &AtomicU64, n: u64) {
        if n != 0 {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Shared measurement state of one run.
#[derive(Debug)]
pub(crate) struct Tally {
    shards: Box<[Mutex<Shard>]>,
    pub live: Live,
}

impl Tally {
    pub fn new(shards: usize) -> Self {
        Tally {
            shards: (0..shards.max(1))
                .map(|_| {
                    Mutex::new(Shard {
                        window: Histos::new(),
                        live: Histos::new(),
                        join: micros_histogram(),
                    })
                })
                .collect(),
            live: Live::default(),
        }
    }

    /// The shard bot `bot` records into. A poisoned lock (a panicking bot task) still holds
    /// valid histograms, so it is used as is.
    pub fn shard(&self, bot: usize) -> MutexGuard<'_, Shard> {
        let m = &self.shards[bot % self.shards.len()];
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// All shards' steady-window histograms merged, plus the join histogram.
    pub fn window(&self) -> (Histos, Histogram<u64>) {
        let mut all = Histos::new();
        let mut join = micros_histogram();
        for i in 0..self.shards.len() {
            let s = self.shard(i);
            all.add(&s.window);
            let _ = join.add(&s.join);
        }
        (all, join)
    }

    /// All shards' live histograms merged, and reset.
    pub fn take_live(&self) -> Histos {
        let mut all = Histos::new();
        for i in 0..self.shards.len() {
            let mut s = self.shard(i);
            all.add(&s.live);
            s.live.reset();
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_and_live_samples_are_kept_apart() {
        let t = Tally::new(3);
        for bot in 0..6 {
            let mut s = t.shard(bot);
            s.ack(Duration::from_millis(10), bot % 2 == 0);
            s.jitter(Duration::from_millis(1), true);
        }
        let (w, _) = t.window();
        assert_eq!((w.ack.len(), w.jitter.len()), (3, 6));
        assert_eq!(t.take_live().ack.len(), 6);
        assert_eq!(
            t.take_live().ack.len(),
            0,
            "live histograms reset when taken"
        );
        assert_eq!(t.window().0.ack.len(), 3, "window histograms are not");
    }
}
