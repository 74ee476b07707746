//! The registry's side of the room-creation rules ([`crate::room_creation`]): before it creates
//! a room it asks [`Creation::admit`] (the quick-play share of `--max-rooms`, and for a named
//! room the address's budget); and it disposes **at once** a room whose creator left before
//! anyone else joined ([`Creation::left_alone`]), instead of after `--empty-room-grace`.
//!
//! "Left" is the room's `PlayerLeft`: a clean leave (a close frame, a Leave) at once, a lost
//! connection only once its resume grace ran out. A creator whose connection dropped may come
//! back within the grace and must find its room; a flood client that drops its connections
//! instead of closing them keeps each of its rooms for the grace, but it gets only
//! `--room-create-burst` of them, then `--room-create-rate` per second.
//!
//! Talks to: nobody; the registry (`registry.rs`, `registry/cluster.rs`) calls it.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::room_creation::{CreationBudget, Refused, RoomCap, RoomKind};

use super::{JoinError, Registry};
use crate::game::Game;

impl<G: Game> Registry<G> {
    /// Asks the creation rules whether a room of `kind` may be created for a join from
    /// `client`.
    pub(super) fn admit_creation(
        &mut self,
        kind: RoomKind,
        client: Option<IpAddr>,
    ) -> Result<(), JoinError> {
        let alive = self.rooms.len();
        self.creation.admit(kind, alive, client, &self.metrics)
    }
}

/// The creation rules' state, owned by the registry.
pub(super) struct Creation {
    cap: RoomCap,
    budget: CreationBudget,
    /// Rooms created here in which nobody but their first player has been seated yet.
    lone: HashSet<Arc<str>>,
}

impl Creation {
    pub(super) fn new(config: &ServerConfig) -> Self {
        Creation {
            cap: RoomCap::new(config.max_rooms, config.quick_play_reserve),
            budget: CreationBudget::new(config.room_create_rate, config.room_create_burst),
            lone: HashSet::new(),
        }
    }

    /// Whether a room of `kind` may be created now, with `alive` rooms, for a join from
    /// `client` (the address the budget charges; `None` is not charged). A refusal is counted
    /// and is the join's answer.
    pub(super) fn admit(
        &mut self,
        kind: RoomKind,
        alive: usize,
        client: Option<IpAddr>,
        metrics: &Metrics,
    ) -> Result<(), JoinError> {
        let charged = client.filter(|_| kind == RoomKind::Named);
        let verdict = self.cap.admits(kind, alive).and_then(|()| match charged {
            Some(ip) => self.budget.charge(ip, Instant::now()),
            None => Ok(()),
        });
        let Err(refused) = verdict else {
            return Ok(());
        };
        metrics
            .room_creations_refused_total
            .with_label_values(&[refused.label()])
            .inc();
        tracing::debug!(
            reason = refused.label(),
            kind = kind.label(),
            "room creation refused"
        );
        Err(match refused {
            Refused::Budget { retry_after } => JoinError::CreationLimited { retry_after },
            Refused::Full | Refused::Reserved => JoinError::ServerFull,
        })
    }

    /// A room was created (every room starts lone).
    pub(super) fn created(&mut self, id: &Arc<str>, kind: RoomKind, metrics: &Metrics) {
        metrics
            .rooms_created_total
            .with_label_values(&[kind.label()])
            .inc();
        self.lone.insert(id.clone());
    }

    /// A seat in room `id` was reserved while `before` seats were taken: a second player
    /// arrived while the first is still there, so the room is no longer lone.
    pub(super) fn seated(&mut self, id: &Arc<str>, before: usize) {
        if before > 0 {
            self.lone.remove(id);
        }
    }

    /// Room `id` has just emptied: whether it must be disposed at once (nobody but its creator
    /// was ever seated in it). Forgets the room either way.
    pub(super) fn left_alone(&mut self, id: &Arc<str>) -> bool {
        self.lone.remove(id)
    }

    /// Room `id` is gone.
    pub(super) fn forget(&mut self, id: &Arc<str>) {
        self.lone.remove(id);
    }

    /// Every room is gone.
    pub(super) fn forget_all(&mut self) {
        self.lone.clear();
    }
}

/// The wait a 4008 close names: whole seconds, rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let whole = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    whole.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creation(max_rooms: usize, burst: f64) -> (Creation, Metrics) {
        let config = ServerConfig {
            max_rooms,
            room_create_rate: 1.0,
            room_create_burst: burst,
            quick_play_reserve: 0.5,
            ..ServerConfig::default()
        };
        (Creation::new(&config), Metrics::new())
    }

    fn refused(metrics: &Metrics, reason: &str) -> u64 {
        metrics
            .room_creations_refused_total
            .with_label_values(&[reason])
            .get()
    }

    #[test]
    fn only_named_rooms_from_an_address_are_charged() {
        let (mut c, m) = creation(100, 2.0);
        let ip = Some(IpAddr::from([198, 51, 100, 7]));
        for _ in 0..2 {
            assert_eq!(c.admit(RoomKind::Named, 0, ip, &m), Ok(()));
        }
        let Err(JoinError::CreationLimited { retry_after }) = c.admit(RoomKind::Named, 0, ip, &m)
        else {
            panic!("the third named room in a burst of 2 should be refused");
        };
        assert!(retry_after <= Duration::from_secs(1));
        assert_eq!(refused(&m, "budget"), 1);
        assert_eq!(
            c.admit(RoomKind::QuickPlay, 0, ip, &m),
            Ok(()),
            "quick play is free"
        );
        assert_eq!(
            c.admit(RoomKind::Named, 0, None, &m),
            Ok(()),
            "no address, no charge"
        );
    }

    #[test]
    fn the_quick_play_share_is_refused_to_named_rooms_as_server_full() {
        let (mut c, m) = creation(10, 100.0);
        assert_eq!(
            c.admit(RoomKind::Named, 5, None, &m),
            Err(JoinError::ServerFull)
        );
        assert_eq!(refused(&m, "quick_play_reserve"), 1);
        assert_eq!(c.admit(RoomKind::QuickPlay, 9, None, &m), Ok(()));
        assert_eq!(
            c.admit(RoomKind::QuickPlay, 10, None, &m),
            Err(JoinError::ServerFull)
        );
        assert_eq!(refused(&m, "full"), 1);
    }

    #[test]
    fn a_room_only_its_creator_was_seated_in_is_disposed_when_it_empties() {
        let (mut c, m) = creation(10, 10.0);
        let (lone, shared): (Arc<str>, Arc<str>) = ("lone".into(), "shared".into());
        c.created(&lone, RoomKind::Named, &m);
        c.created(&shared, RoomKind::QuickPlay, &m);
        c.seated(&lone, 0);
        c.seated(&shared, 0);
        c.seated(&shared, 1);
        assert!(c.left_alone(&lone));
        assert!(
            !c.left_alone(&shared),
            "a second player joined: the usual grace"
        );
        assert!(!c.left_alone(&lone), "asked once");
        let created = |kind| m.rooms_created_total.with_label_values(&[kind]).get();
        assert_eq!((created("named"), created("quick_play")), (1, 1));
    }

    #[test]
    fn the_retry_after_is_whole_seconds_rounded_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(2000)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
    }
}
