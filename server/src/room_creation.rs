//! The rules for creating a room, so that one address cannot lock everyone out by creating
//! rooms (issue 13: 60 connections from one address created 833 rooms/s and filled
//! `--max-rooms` in 6 s):
//!
//! - [`CreationBudget`]: a token bucket per client address for creating **named** rooms
//!   (`--room-create-rate` rooms/s, `--room-create-burst`). A creation that finds no token is
//!   refused with close 4008 and a retry-after; it takes no token, so a client that waits as told
//!   gets in. Quick play is not charged: it creates a room only when every public room is full,
//!   so its rooms are bounded by the players actually seated in them.
//! - [`RoomCap`]: `--max-rooms`, of which a share (`--quick-play-reserve`) only quick play may
//!   fill, so a flood of named rooms (from many addresses) never starves quick play.
//!
//! Pure (time is passed in). Owned by the registry, which asks both before creating a room.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// What a join creates a room for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomKind {
    /// A join that named a room that does not exist yet.
    Named,
    /// Quick play (a join without a room) found no public room with space.
    QuickPlay,
}

impl RoomKind {
    /// A public room is quick play's (a quick-play id, see the registry); a private one is named.
    pub fn of(public: bool) -> Self {
        if public {
            RoomKind::QuickPlay
        } else {
            RoomKind::Named
        }
    }

    /// The `kind` label of `tickcast_rooms_created_total`.
    pub fn label(self) -> &'static str {
        match self {
            RoomKind::Named => "named",
            RoomKind::QuickPlay => "quick_play",
        }
    }
}

/// Why a room was not created; each is a `reason` label of
/// `tickcast_room_creations_refused_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `--max-rooms` rooms are alive (close 4002).
    Full,
    /// Only the quick-play share of `--max-rooms` is left (close 4002 for a named room).
    Reserved,
    /// The address has spent its creation budget: retry after this long (close 4008).
    Budget { retry_after: Duration },
}

impl Refused {
    pub fn label(self) -> &'static str {
        match self {
            Refused::Full => "full",
            Refused::Reserved => "quick_play_reserve",
            Refused::Budget { .. } => "budget",
        }
    }
}

/// How many rooms may be alive, and how many of them only quick play may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomCap {
    max_rooms: usize,
    quick_play_only: usize,
}

impl RoomCap {
    /// `share` (0..=1) of `max_rooms`, rounded down, is kept for quick play.
    pub fn new(max_rooms: usize, share: f64) -> Self {
        let share = if share.is_finite() {
            share.clamp(0.0, 1.0)
        } else {
            0.0
        };
        RoomCap {
            max_rooms,
            quick_play_only: (max_rooms as f64 * share).floor() as usize,
        }
    }

    /// Whether a room of `kind` may be created while `alive` rooms are.
    pub fn admits(&self, kind: RoomKind, alive: usize) -> Result<(), Refused> {
        if alive >= self.max_rooms {
            return Err(Refused::Full);
        }
        if kind == RoomKind::Named && alive >= self.max_rooms - self.quick_play_only {
            return Err(Refused::Reserved);
        }
        Ok(())
    }
}

/// One address's tokens as of `last`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// A token bucket per client address for creating named rooms. Addresses are the keys the
/// per-address connection limit uses (IPv6 by /64; the caller decides, see
/// `admission::Ticket::limited_ip`); a join without one (loopback without `--limit-loopback`)
/// is not charged.
#[derive(Debug)]
pub struct CreationBudget {
    rate: f64,
    burst: f64,
    buckets: HashMap<IpAddr, Bucket>,
    /// Buckets are pruned when the map reaches this size (then it is set to twice what is
    /// left), so the map holds about the addresses that created a room lately: amortised O(1).
    prune_at: usize,
}

/// A bucket pruned this far below full would be back to full anyway.
const MIN_PRUNE_AT: usize = 256;

impl CreationBudget {
    /// `rate` rooms per second per address, up to `burst` at once (rate > 0, burst ≥ 1).
    pub fn new(rate: f64, burst: f64) -> Self {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            f64::MIN_POSITIVE
        };
        let burst = if burst.is_finite() {
            burst.max(1.0)
        } else {
            1.0
        };
        CreationBudget {
            rate,
            burst,
            buckets: HashMap::new(),
            prune_at: MIN_PRUNE_AT,
        }
    }

    /// Charges one room creation by `addr` at `now`: `Ok` takes a token; `Err` says how long
    /// until one is there (and takes none).
    pub fn charge(&mut self, addr: IpAddr, now: Instant) -> Result<(), Refused> {
        if self.buckets.len() >= self.prune_at {
            self.prune(now);
        }
        let (rate, burst) = (self.rate, self.burst);
        let b = self.buckets.entry(addr).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Ok(());
        }
        let wait = Duration::try_from_secs_f64((1.0 - b.tokens) / rate).unwrap_or(Duration::MAX);
        Err(Refused::Budget { retry_after: wait })
    }

    /// Addresses with a bucket (tests; a full bucket may or may not have been pruned yet).
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }

    /// Forgets the buckets that are full again by `now`: a fresh one is the same.
    fn prune(&mut self, now: Instant) {
        let (rate, burst) = (self.rate, self.burst);
        self.buckets.retain(|_, b| {
            let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
            b.tokens + elapsed * rate < burst
        });
        self.prune_at = (self.buckets.len() * 2).max(MIN_PRUNE_AT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([203, 0, 113, n])
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn an_address_creates_a_burst_then_at_the_rate() {
        let t0 = Instant::now();
        let mut b = CreationBudget::new(0.5, 3.0);
        for _ in 0..3 {
            assert_eq!(b.charge(ip(1), t0), Ok(()));
        }
        assert_eq!(
            b.charge(ip(1), t0),
            Err(Refused::Budget {
                retry_after: secs(2.0)
            }),
            "one token takes 2 s at 0.5/s"
        );
        assert_eq!(
            b.charge(ip(1), t0 + secs(1.5)),
            Err(Refused::Budget {
                retry_after: secs(0.5)
            }),
            "a refused creation takes no token: the wait only shrinks"
        );
        assert_eq!(
            b.charge(ip(1), t0 + secs(2.0)),
            Ok(()),
            "retrying when told works"
        );
        assert!(b.charge(ip(1), t0 + secs(2.0)).is_err());
    }

    #[test]
    fn addresses_have_their_own_budgets() {
        let t0 = Instant::now();
        let mut b = CreationBudget::new(1.0, 2.0);
        for _ in 0..50 {
            let _ = b.charge(ip(1), t0);
        }
        assert_eq!(b.charge(ip(2), t0), Ok(()));
        assert_eq!(b.charge(ip(2), t0), Ok(()));
    }

    #[test]
    fn a_flood_creates_burst_plus_rate_times_duration() {
        let t0 = Instant::now();
        let mut b = CreationBudget::new(0.5, 10.0);
        // 833 attempts per second for 6 s, as in the issue.
        let created = (0..5000)
            .filter(|i| b.charge(ip(1), t0 + secs(f64::from(*i) / 833.0)).is_ok())
            .count();
        assert_eq!(created, 10 + 3, "10 at once, then one per 2 s");
    }

    #[test]
    fn full_buckets_are_forgotten_so_the_map_stays_small() {
        let t0 = Instant::now();
        let mut b = CreationBudget::new(1.0, 2.0);
        for n in 0..=255 {
            b.charge(ip(n), t0).unwrap();
        }
        assert_eq!(b.tracked(), 256);
        // Two seconds later every bucket is full again: the next charge prunes them all.
        b.charge(ip(7), t0 + secs(2.0)).unwrap();
        assert_eq!(b.tracked(), 1);
    }

    #[test]
    fn named_rooms_leave_the_quick_play_share_free() {
        let cap = RoomCap::new(100, 0.1);
        assert_eq!(cap.admits(RoomKind::Named, 89), Ok(()));
        assert_eq!(cap.admits(RoomKind::Named, 90), Err(Refused::Reserved));
        assert_eq!(cap.admits(RoomKind::QuickPlay, 90), Ok(()));
        assert_eq!(cap.admits(RoomKind::QuickPlay, 99), Ok(()));
        assert_eq!(cap.admits(RoomKind::QuickPlay, 100), Err(Refused::Full));
        assert_eq!(cap.admits(RoomKind::Named, 100), Err(Refused::Full));
    }

    #[test]
    fn a_small_server_or_a_silly_share_still_works() {
        let one = RoomCap::new(1, 0.1);
        assert_eq!(
            one.admits(RoomKind::Named, 0),
            Ok(()),
            "10 % of 1 room is 0"
        );
        let all = RoomCap::new(10, 7.0);
        assert_eq!(all.admits(RoomKind::Named, 0), Err(Refused::Reserved));
        assert_eq!(RoomCap::new(10, f64::NAN), RoomCap::new(10, 0.0));
    }
}
