//! [`DeliveryTracker`]: snapshot delivery (received vs expected from tick numbers) and
//! inter-arrival jitter for one bot over the steady window.
//!
//! Ticks are consecutive on the server and every player of a room is sent every tick unless it
//! reads too slowly, so a gap between two received ticks is exactly the number of snapshots this
//! bot did not get. Two edges need time instead of ticks: a bot that receives nothing after some
//! point (a stalled server or connection) shows no gap at all, so [`DeliveryTracker::finish`]
//! counts the tick periods that passed between its last snapshot and the end of the window as
//! missed (minus one period of grace), and a bot that receives nothing in the whole window missed
//! all of it.
//!
//! Jitter is `|Δarrival − Δtick · period|` between consecutive snapshots: how far the arrival
//! schedule strays from the server's tick schedule, which is what an interpolating renderer feels.

use std::time::{Duration, Instant};

/// The steady measurement window: samples are counted when `start <= t < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Instant,
    pub end: Instant,
}

impl Window {
    pub fn contains(&self, t: Instant) -> bool {
        t >= self.start && t < self.end
    }

    pub fn len(&self) -> Duration {
        self.end.saturating_duration_since(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.len().is_zero()
    }
}

/// What one recorded snapshot meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// `|Δarrival − Δtick · period|` against the previous snapshot, if there was one and this tick
    /// is newer.
    pub jitter: Option<Duration>,
    /// Snapshots skipped between the previous one and this one.
    pub dropped: u64,
    /// Whether this arrival falls in the window (and so counts toward delivery).
    pub in_window: bool,
}

/// Per-bot delivery accounting. Record every snapshot with [`DeliveryTracker::record`]; call
/// [`DeliveryTracker::finish`] once at the end.
#[derive(Debug, Clone)]
pub struct DeliveryTracker {
    period: Duration,
    window: Option<Window>,
    last: Option<(u64, Instant)>,
    received: u64,
    dropped: u64,
    stale: u64,
    finished: bool,
}

impl DeliveryTracker {
    /// A tracker for a room ticking `tick_rate` times per second (0 is treated as 1).
    pub fn new(tick_rate: u16) -> Self {
        DeliveryTracker {
            period: Duration::from_secs_f64(1.0 / f64::from(tick_rate.max(1))),
            window: None,
            last: None,
            received: 0,
            dropped: 0,
            stale: 0,
            finished: false,
        }
    }

    /// The nominal time between two snapshots.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Sets the steady window. Snapshots recorded before it only serve as the baseline for the
    /// first gap; those at or after its end are ignored.
    pub fn set_window(&mut self, window: Window) {
        self.window = Some(window);
    }

    pub fn window(&self) -> Option<Window> {
        self.window
    }

    /// Records snapshot `tick` arriving at `at`.
    pub fn record(&mut self, tick: u64, at: Instant) -> Arrival {
        let in_window = self.window.is_some_and(|w| w.contains(at));
        let after_window = self.window.is_some_and(|w| at >= w.end);
        if after_window || self.finished {
            return Arrival {
                jitter: None,
                dropped: 0,
                in_window: false,
            };
        }
        let Some((last_tick, last_at)) = self.last else {
            self.last = Some((tick, at));
            if in_window {
                self.received += 1;
            }
            return Arrival {
                jitter: None,
                dropped: 0,
                in_window,
            };
        };
        if tick <= last_tick {
            if in_window {
                self.stale += 1;
            }
            return Arrival {
                jitter: None,
                dropped: 0,
                in_window,
            };
        }
        let dropped = tick - last_tick - 1;
        let nominal = u32::try_from(tick - last_tick)
            .ok()
            .and_then(|n| self.period.checked_mul(n))
            .unwrap_or(Duration::MAX);
        let actual = at.saturating_duration_since(last_at);
        let jitter = actual
            .checked_sub(nominal)
            .unwrap_or_else(|| nominal - actual);
        self.last = Some((tick, at));
        if in_window {
            self.received += 1;
            self.dropped += dropped;
        }
        Arrival {
            jitter: Some(jitter),
            dropped,
            in_window,
        }
    }

    /// Closes the books at the end of the window: counts the snapshots that never came after the
    /// last one received (see the module docs). Idempotent; a no-op without a window.
    pub fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let Some(w) = self.window else { return };
        let periods = |d: Duration| (d.as_secs_f64() / self.period.as_secs_f64()).floor() as u64;
        let in_window = periods(w.len());
        match self.last {
            None => self.dropped += in_window,
            Some((_, last_at)) => {
                let silent = periods(w.end.saturating_duration_since(last_at)).saturating_sub(1);
                self.dropped += silent.min(in_window);
            }
        }
    }

    /// The bot now plays in another room (a rejoin after its seat was lost), whose ticks have
    /// nothing to do with the old room's: the tick periods of the window that passed silently
    /// between the last snapshot and `at` count as missed (minus one period of grace, as in
    /// [`DeliveryTracker::finish`]), and the next snapshot starts the count again.
    pub fn change_room(&mut self, at: Instant) {
        let Some((_, last_at)) = self.last.take() else {
            return;
        };
        let Some(w) = self.window else { return };
        let (from, to) = (last_at.max(w.start), at.min(w.end));
        if to > from {
            let periods =
                (to.duration_since(from).as_secs_f64() / self.period.as_secs_f64()).floor() as u64;
            self.dropped += periods.saturating_sub(1);
        }
    }

    /// Snapshots received in the window (newer than the one before).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Snapshots missed in the window.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// `received + dropped`.
    pub fn expected(&self) -> u64 {
        self.received + self.dropped
    }

    /// Snapshots in the window whose tick was not newer than the previous one (duplicates or
    /// reordering: the protocol promises neither happens).
    pub fn stale(&self) -> u64 {
        self.stale
    }

    /// The newest tick seen.
    pub fn last_tick(&self) -> Option<u64> {
        self.last.map(|(t, _)| t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> Duration {
        DeliveryTracker::new(30).period()
    }

    /// Feeds `ticks` at their nominal arrival times (tick t at t0 + t·P) into a tracker whose
    /// window covers `window_ticks` periods starting at tick `from`.
    fn feed(ticks: &[u64], from: u64, window_ticks: u32) -> DeliveryTracker {
        let t0 = Instant::now();
        let mut d = DeliveryTracker::new(30);
        let start = t0 + p() * from as u32;
        d.set_window(Window {
            start,
            end: start + p() * window_ticks,
        });
        for &t in ticks {
            d.record(t, t0 + p() * t as u32 + Duration::from_micros(100));
        }
        d.finish();
        d
    }

    #[test]
    fn consecutive_ticks_are_full_delivery() {
        let ticks: Vec<u64> = (0..100).collect();
        let d = feed(&ticks, 10, 50);
        assert_eq!((d.received(), d.dropped(), d.expected()), (50, 0, 50));
    }

    #[test]
    fn gaps_count_as_drops() {
        // Window = ticks 10..60. Missing: 20, 21, 22 and 40.
        let ticks: Vec<u64> = (0..100).filter(|t| ![20, 21, 22, 40].contains(t)).collect();
        let d = feed(&ticks, 10, 50);
        assert_eq!(d.dropped(), 4);
        assert_eq!(d.received(), 46);
        assert_eq!(d.expected(), 50);
    }

    #[test]
    fn a_gap_straddling_the_window_start_counts_in_the_window() {
        let ticks: Vec<u64> = (0..100).filter(|t| !(8..12).contains(t)).collect();
        let d = feed(&ticks, 10, 50);
        assert_eq!((d.received(), d.dropped()), (48, 4));
    }

    #[test]
    fn silence_at_the_end_of_the_window_is_counted_by_time() {
        // Nothing after tick 39 in a window of ticks 10..60: 20 ticks missing, less one period
        // of grace for a late last snapshot.
        let ticks: Vec<u64> = (0..40).collect();
        let d = feed(&ticks, 10, 50);
        assert_eq!(d.received(), 30);
        assert_eq!(d.dropped(), 19);
    }

    #[test]
    fn nothing_at_all_is_all_dropped() {
        let d = feed(&[], 10, 50);
        assert_eq!((d.received(), d.dropped()), (0, 50));
    }

    #[test]
    fn a_change_of_room_counts_its_silence_and_restarts_the_tick_count() {
        let t0 = Instant::now();
        let at = |n: u32| t0 + p() * n + Duration::from_micros(100);
        let mut d = DeliveryTracker::new(30);
        d.set_window(Window {
            start: t0,
            end: t0 + p() * 40,
        });
        for t in 0..10 {
            d.record(900 + t, at(t as u32));
        }
        // Silent from tick 9 to the rejoin at 20; the new room is at its tick 3.
        d.change_room(at(20));
        for t in 21..40 {
            d.record(u64::from(t) - 18, at(t));
        }
        d.finish();
        assert_eq!(d.stale(), 0, "the new room's low ticks are not stale");
        assert_eq!((d.received(), d.dropped()), (29, 10));
    }

    #[test]
    fn duplicates_and_reordering_are_stale_not_received() {
        let t0 = Instant::now();
        let mut d = DeliveryTracker::new(30);
        d.set_window(Window {
            start: t0,
            end: t0 + p() * 5,
        });
        for (i, t) in [10, 11, 11, 9, 12].into_iter().enumerate() {
            d.record(t, t0 + Duration::from_millis(i as u64));
        }
        assert_eq!((d.received(), d.dropped(), d.stale()), (3, 0, 2));
    }

    #[test]
    fn jitter_is_distance_from_the_tick_schedule() {
        let t0 = Instant::now();
        let mut d = DeliveryTracker::new(30);
        d.record(1, t0);
        // Tick 3 (one dropped) arrives 2 periods + 5 ms later: jitter 5 ms, 1 dropped.
        let a = d.record(3, t0 + p() * 2 + Duration::from_millis(5));
        assert_eq!(a.dropped, 1);
        assert_eq!(a.jitter, Some(Duration::from_millis(5)));
        // Tick 4 arrives 1 ms after tick 3: 32.333 ms early.
        let a = d.record(4, t0 + p() * 2 + Duration::from_millis(6));
        assert_eq!(a.jitter, Some(p() - Duration::from_millis(1)));
        assert!(!a.in_window, "no window set");
    }
}
