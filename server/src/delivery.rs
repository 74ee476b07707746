//! The room's delivery rules: what each seat gets this tick, and which delta baselines the room
//! may forget. Pure: the room passes its tick and a [`SeatView`] of each seat (read from the
//! seat's counters) and gets a [`Delivery`] back; it then does the encoding, the offer, the wake
//! and the metrics. Unit-tested tick by tick below, without actors.
//!
//! The rules, in the order they apply:
//! 1. a **detached** seat (its connection is gone, its player held for a resume) gets nothing;
//! 2. a seat that has not taken a snapshot for more than `stall_ticks` is **stalled**: the room
//!    evicts it (its session may be frozen and cannot notice by itself; see `seat.rs`);
//! 3. a full-snapshot client gets the **full** snapshot;
//! 4. a delta client with too much written but unacknowledged is **held** by the ack clock
//!    ([`DeliveryRules::held_by_ack_clock`]);
//! 5. else a delta client gets this tick's **delta** against the tick it acknowledged.
//!
//! Baselines: a state older than every delta client's ack (or, before its first ack, its join)
//! can never be a baseline again, as acks only move forward ([`baseline_floor`]).
//!
//! Talks to: nobody. Used by the room (`room.rs`) with seat views built in `members.rs`.

use std::time::Duration;

use crate::schedule::ticks_in;

/// The thresholds of the rules, in ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryRules {
    /// A seat that has not taken a snapshot for more than this many ticks is stalled (≥ 1).
    pub stall_ticks: u64,
    /// Ack clocking: unacknowledged ticks a delta client may have in flight (0 = off) …
    pub max_unacked_ticks: u64,
    /// … while its ack is at most this old (a client that stopped acking is not held).
    pub ack_clock_span: u64,
}

/// What the rules need to know of one seat this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatView {
    /// The player's connection is gone and its seat held for a resume.
    pub detached: bool,
    /// The client applies delta snapshots.
    pub deltas: bool,
    /// The newest tick the client acknowledged (0 = none yet).
    pub acked_tick: u64,
    /// The tick of the last snapshot the session took (its join tick before the first).
    pub taken_tick: u64,
    /// The room's tick when this connection joined or resumed.
    pub joined_tick: u64,
}

/// What one seat gets this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Detached: nothing to send, nothing to check.
    Skip,
    /// Stalled: stop feeding it and disconnect it.
    Evict,
    /// Held by the ack clock: nothing new until it acknowledges.
    Hold,
    /// The full snapshot of this tick.
    Full,
    /// This tick's delta against the acknowledged tick `acked` (a full patch if that state is
    /// no longer held).
    Delta { acked: u64 },
}

impl DeliveryRules {
    /// The rules for a room ticking every `period`: the stall timeout and the ack lag are
    /// rounded up to whole ticks; the ack clock holds a client only while its ack is within the
    /// delta `window` and half the stall timeout.
    pub fn new(
        period: Duration,
        stall_timeout: Duration,
        ack_lag: Duration,
        window: usize,
    ) -> Self {
        let stall_ticks = ticks_in(stall_timeout, period);
        DeliveryRules {
            stall_ticks: stall_ticks.max(1),
            max_unacked_ticks: ticks_in(ack_lag, period),
            ack_clock_span: (window as u64).min(stall_ticks / 2),
        }
    }

    /// What `seat` gets at room tick `tick`.
    pub fn deliver(&self, tick: u64, seat: SeatView) -> Delivery {
        if seat.detached {
            Delivery::Skip
        } else if self.is_stalled(tick, seat.taken_tick) {
            Delivery::Evict
        } else if !seat.deltas {
            Delivery::Full
        } else if self.held_by_ack_clock(tick, seat.acked_tick, seat.taken_tick) {
            Delivery::Hold
        } else {
            Delivery::Delta {
                acked: seat.acked_tick,
            }
        }
    }

    /// Whether a seat whose session last took the snapshot of `taken` is stalled at `tick`.
    pub fn is_stalled(&self, tick: u64, taken: u64) -> bool {
        tick.saturating_sub(taken) > self.stall_ticks
    }

    /// Ack clocking: whether a delta client has too many ticks written to it but not
    /// acknowledged to be sent a newer one. TCP's buffers are sized in bytes, so without this a
    /// client that reads slowly queues seconds of small deltas in its own receive buffer, its
    /// acks fall out of the delta window, it is sent full patches, and it falls further behind.
    /// Bounding the unacknowledged span in ticks keeps its lag (and its baseline) short; the
    /// first tick after its ack moves sends it the newest state, against that ack.
    ///
    /// Not held: before its first ack (`acked` 0), once its ack is older than `ack_clock_span`
    /// (it stopped acking: it gets full patches as before), or when ack clocking is off.
    pub fn held_by_ack_clock(&self, tick: u64, acked: u64, written: u64) -> bool {
        self.max_unacked_ticks > 0
            && acked > 0
            && tick.saturating_sub(acked) <= self.ack_clock_span
            && written.saturating_sub(acked) >= self.max_unacked_ticks
    }
}

/// The oldest state any attached delta client may still need as a baseline: the minimum of
/// their acks (or, before a client's first ack, its join tick; any state since may become its
/// baseline). States older than this can be forgotten. `None`: no attached delta client.
pub fn baseline_floor(seats: impl IntoIterator<Item = SeatView>) -> Option<u64> {
    seats
        .into_iter()
        .filter(|s| !s.detached && s.deltas)
        .map(|s| match s.acked_tick {
            0 => s.joined_tick,
            acked => acked,
        })
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10 s stall timeout, 16 unacknowledged ticks, ack clock within 32 ticks.
    const RULES: DeliveryRules = DeliveryRules {
        stall_ticks: 300,
        max_unacked_ticks: 16,
        ack_clock_span: 32,
    };

    fn full_client(taken: u64) -> SeatView {
        SeatView {
            detached: false,
            deltas: false,
            acked_tick: 0,
            taken_tick: taken,
            joined_tick: 0,
        }
    }

    fn delta_client(acked: u64, taken: u64) -> SeatView {
        SeatView {
            deltas: true,
            acked_tick: acked,
            ..full_client(taken)
        }
    }

    #[test]
    fn rules_come_from_durations_rounded_up_to_ticks() {
        let p = Duration::from_millis(50);
        let rules = DeliveryRules::new(p, Duration::from_secs(4), Duration::from_millis(520), 32);
        assert_eq!(
            rules,
            DeliveryRules {
                stall_ticks: 80,
                max_unacked_ticks: 11,
                ack_clock_span: 32,
            }
        );
        // A short stall timeout bounds the ack clock's span to half of it …
        let short = DeliveryRules::new(p, Duration::from_secs(1), Duration::ZERO, 32);
        assert_eq!((short.ack_clock_span, short.max_unacked_ticks), (10, 0));
        // … and a zero one still lets a seat miss one tick.
        assert_eq!(
            DeliveryRules::new(p, Duration::ZERO, Duration::ZERO, 32).stall_ticks,
            1
        );
    }

    #[test]
    fn a_detached_seat_gets_nothing_even_when_it_looks_stalled() {
        let seat = SeatView {
            detached: true,
            ..delta_client(5, 1)
        };
        assert_eq!(RULES.deliver(10_000, seat), Delivery::Skip);
    }

    #[test]
    fn a_full_client_gets_the_full_snapshot_every_tick_until_it_stalls() {
        let seat = full_client(100);
        for tick in 101..=400 {
            assert_eq!(RULES.deliver(tick, seat), Delivery::Full, "tick {tick}");
        }
        assert_eq!(
            RULES.deliver(401, seat),
            Delivery::Evict,
            "301 ticks without taking one"
        );
    }

    #[test]
    fn a_seat_is_stalled_only_past_the_limit_not_at_it() {
        assert!(!RULES.is_stalled(300, 0));
        assert!(RULES.is_stalled(301, 0));
        // The join tick counts as taken: a seat that just joined is not stalled.
        assert!(!RULES.is_stalled(1_000, 1_000));
        // A taken tick ahead of the room's (cannot happen, but must not underflow).
        assert!(!RULES.is_stalled(5, 9));
    }

    #[test]
    fn a_stalled_delta_client_is_evicted_rather_than_held() {
        assert_eq!(RULES.deliver(400, delta_client(99, 99)), Delivery::Evict);
    }

    #[test]
    fn a_delta_client_gets_a_delta_against_its_ack() {
        assert_eq!(
            RULES.deliver(102, delta_client(100, 101)),
            Delivery::Delta { acked: 100 }
        );
    }

    #[test]
    fn a_delta_client_that_never_acked_gets_deltas_against_nothing_and_is_never_held() {
        // Ack 0: whatever was written, the ack clock does not hold it (there is no baseline to
        // clock against); its delta is a full patch.
        for written in [0, 16, 200] {
            assert_eq!(
                RULES.deliver(written + 1, delta_client(0, written)),
                Delivery::Delta { acked: 0 }
            );
        }
    }

    #[test]
    fn the_ack_clock_holds_a_client_with_max_unacked_ticks_in_flight() {
        // Acked 100; written 115: 15 ticks in flight, one more may go.
        assert_eq!(
            RULES.deliver(116, delta_client(100, 115)),
            Delivery::Delta { acked: 100 }
        );
        // Written 116: exactly 16 in flight — held, tick after tick, while its ack stays.
        for tick in 117..=132 {
            assert_eq!(RULES.deliver(tick, delta_client(100, 116)), Delivery::Hold);
        }
        // Its ack moves to 110: 6 in flight, the newest state goes out against that ack.
        assert_eq!(
            RULES.deliver(125, delta_client(110, 116)),
            Delivery::Delta { acked: 110 }
        );
    }

    #[test]
    fn the_ack_clock_lets_go_of_a_client_whose_ack_is_older_than_its_span() {
        let seat = delta_client(100, 116);
        // Ack 32 ticks old: still within the span, held.
        assert_eq!(RULES.deliver(132, seat), Delivery::Hold);
        // 33 ticks old: it stopped acking; feed it (full patches, its ack is out of the window).
        assert_eq!(RULES.deliver(133, seat), Delivery::Delta { acked: 100 });
    }

    #[test]
    fn the_ack_clock_is_off_when_max_unacked_ticks_is_zero() {
        let off = DeliveryRules {
            max_unacked_ticks: 0,
            ..RULES
        };
        for written in [100, 101, 116, 131] {
            assert!(!off.held_by_ack_clock(132, 100, written));
            assert_eq!(
                off.deliver(132, delta_client(100, written)),
                Delivery::Delta { acked: 100 }
            );
        }
    }

    #[test]
    fn the_ack_clock_does_not_apply_to_full_clients() {
        let seat = SeatView {
            deltas: false,
            ..delta_client(100, 200)
        };
        assert_eq!(RULES.deliver(201, seat), Delivery::Full);
    }

    #[test]
    fn baselines_older_than_every_delta_clients_ack_can_be_forgotten() {
        let floor = baseline_floor([delta_client(120, 125), delta_client(117, 125)]);
        assert_eq!(floor, Some(117));
    }

    #[test]
    fn a_delta_client_without_an_ack_keeps_the_states_since_it_joined() {
        let fresh = SeatView {
            joined_tick: 110,
            ..delta_client(0, 110)
        };
        assert_eq!(baseline_floor([delta_client(120, 125), fresh]), Some(110));
    }

    #[test]
    fn full_and_detached_clients_keep_no_baseline() {
        let detached = SeatView {
            detached: true,
            ..delta_client(3, 3)
        };
        assert_eq!(baseline_floor([full_client(0), detached]), None);
        assert_eq!(
            baseline_floor([full_client(0), detached, delta_client(50, 60)]),
            Some(50)
        );
        assert_eq!(baseline_floor([]), None);
    }
}
