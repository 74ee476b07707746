//! Quick play's seat promises: the rule behind [`super::Directory::matchmake`], mirrored by
//! `scripts/matchmake.lua`, over plain maps with the time as an argument.
//!
//! # Why promises
//! A room's player count in the lobby moves only with its owner's heartbeat (every 2 s), and a
//! matchmaking answer ("room R at node N") is given before the player gets there. Without a
//! record of the answers already given, a burst of quick plays all reads the same "fullest
//! public room with space" and most of it is turned away full (4001). So each answer promises
//! one seat, atomically with the choice, and the next choice counts it:
//!
//! - a room's **seats** are `max(listed players, promised seats)`. A promise is not a second
//!   count of a player who arrived: once the listing catches up, the listed count takes over
//!   instead of adding up;
//! - the fullest room with `seats < capacity` gets the next promise, `seats + 1` (ties by room
//!   id, so every node asks in the same order); rooms on draining or dead nodes never do;
//! - with no such room, a fresh public room is opened on the least-loaded node, and it is a
//!   candidate for the next quick plays at once, before its node has listed it: a burst fills
//!   one new room before it opens the next;
//! - a room's promises lapse [`super::DirectoryConfig::seat_hold`] after its last one (long
//!   enough for the player to arrive and its node to list it), so seats promised to players who
//!   never came are given out again, and a fresh room nobody joined is forgotten.
//!
//! The owner node stays the seat authority: a promise is a forecast, never a seat. When the
//! forecast was wrong anyway (a player named the room by hand meanwhile), the owner places the
//! quick player elsewhere instead of refusing it (`registry/cluster.rs`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::ListedRoom;

/// What a room's promises hold.
#[derive(Debug, Clone)]
struct Promised {
    seats: usize,
    expires: Instant,
    /// Opened by a placement and maybe not listed yet: (node id, capacity).
    fresh: Option<(String, usize)>,
}

/// One quick play's options, for [`Seats::promise`].
#[derive(Debug, Clone, Copy)]
struct Candidate<'a> {
    room: &'a str,
    node: &'a str,
    seats: usize,
    capacity: usize,
}

/// The promised seats of every room, as the matchmaking script keeps them in Redis.
#[derive(Debug)]
pub(super) struct Seats {
    hold: Duration,
    rooms: HashMap<String, Promised>,
}

impl Seats {
    pub(super) fn new(hold: Duration) -> Self {
        Self {
            hold,
            rooms: HashMap::new(),
        }
    }

    /// Promises a seat in the fullest public room with space among `listed` (as the lobby shows
    /// them) and the fresh rooms not listed yet, on a node for which `takes_players` holds.
    /// Returns the room and its node id; `None` when every such room is full (then
    /// [`Seats::open`] a fresh one).
    pub(super) fn promise(
        &mut self,
        listed: &[ListedRoom],
        takes_players: impl Fn(&str) -> bool,
        now: Instant,
    ) -> Option<(String, String)> {
        self.rooms.retain(|_, p| now < p.expires);
        let promised = |room: &str| self.rooms.get(room).map_or(0, |p| p.seats);
        let mut candidates: Vec<Candidate> = listed
            .iter()
            .filter(|r| r.room.public)
            .map(|r| Candidate {
                room: &r.room.id,
                node: &r.node.id,
                seats: r.room.players.max(promised(&r.room.id)),
                capacity: r.room.capacity,
            })
            .collect();
        for (room, p) in &self.rooms {
            let Some((node, capacity)) = &p.fresh else {
                continue;
            };
            if !listed.iter().any(|r| r.room.id == *room) {
                candidates.push(Candidate {
                    room,
                    node,
                    seats: p.seats,
                    capacity: *capacity,
                });
            }
        }
        candidates.sort_by(|a, b| b.seats.cmp(&a.seats).then_with(|| a.room.cmp(b.room)));
        let pick = candidates
            .into_iter()
            .find(|c| c.seats < c.capacity && takes_players(c.node))?;
        let (room, node, seats) = (pick.room.to_owned(), pick.node.to_owned(), pick.seats + 1);
        let expires = now + self.hold;
        self.rooms
            .entry(room.clone())
            .and_modify(|p| {
                p.seats = seats;
                p.expires = expires;
            })
            .or_insert(Promised {
                seats,
                expires,
                fresh: None,
            });
        Some((room, node))
    }

    /// Records a fresh public room `room` opened on `node` with its first seat promised.
    pub(super) fn open(&mut self, room: &str, node: &str, capacity: usize, now: Instant) {
        let promised = Promised {
            seats: 1,
            expires: now + self.hold,
            fresh: Some((node.to_owned(), capacity)),
        };
        self.rooms.insert(room.to_owned(), promised);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{Node, RoomSummary};

    const HOLD: Duration = Duration::from_millis(400);

    fn listed(id: &str, node: &str, players: usize, public: bool) -> ListedRoom {
        ListedRoom {
            room: RoomSummary {
                id: id.into(),
                players,
                capacity: 4,
                tick: 0,
                public,
            },
            node: Node {
                id: node.into(),
                url: format!("ws://{node}/ws"),
            },
        }
    }

    fn every_node(_: &str) -> bool {
        true
    }

    /// `n` quick plays in a row at `now`; each `None` opens `fresh-<i>` on node `n`.
    fn burst(s: &mut Seats, listed: &[ListedRoom], n: usize, now: Instant) -> Vec<String> {
        (0..n)
            .map(|i| match s.promise(listed, every_node, now) {
                Some((room, _)) => room,
                None => {
                    let room = format!("fresh-{i}");
                    s.open(&room, "n", 4, now);
                    room
                }
            })
            .collect()
    }

    #[test]
    fn a_burst_fills_the_fullest_room_then_the_next_and_then_opens_one_room_at_a_time() {
        let (mut s, t0) = (Seats::new(HOLD), Instant::now());
        let lobby = [listed("a", "x", 2, true), listed("b", "y", 3, true)];
        let rooms = burst(&mut s, &lobby, 8, t0);
        assert_eq!(
            rooms,
            ["b", "a", "a", "fresh-3", "fresh-3", "fresh-3", "fresh-3", "fresh-7"]
        );
    }

    #[test]
    fn named_full_and_unwilling_rooms_get_no_promise() {
        let (mut s, t0) = (Seats::new(HOLD), Instant::now());
        let lobby = [
            listed("named", "x", 1, false),
            listed("full", "x", 4, true),
            listed("draining", "d", 3, true),
            listed("open", "x", 0, true),
        ];
        let pick = s.promise(&lobby, |node| node != "d", t0);
        assert_eq!(pick, Some(("open".into(), "x".into())));
    }

    #[test]
    fn a_listing_that_caught_up_replaces_the_promises_instead_of_adding_to_them() {
        let (mut s, t0) = (Seats::new(HOLD), Instant::now());
        let before = [listed("a", "x", 0, true)];
        assert_eq!(burst(&mut s, &before, 2, t0), ["a", "a"]);
        // Both promised players arrived and the owner listed them: 2 of 4, not 4.
        let after = [listed("a", "x", 2, true)];
        assert_eq!(burst(&mut s, &after, 2, t0), ["a", "a"]);
        assert_eq!(s.promise(&after, every_node, t0), None, "full now");
    }

    #[test]
    fn promises_lapse_one_hold_after_the_last_one() {
        let (mut s, t0) = (Seats::new(HOLD), Instant::now());
        let lobby = [listed("a", "x", 0, true)];
        burst(&mut s, &lobby, 3, t0);
        let later = t0 + HOLD / 2;
        burst(&mut s, &lobby, 1, later);
        assert_eq!(
            s.promise(&lobby, every_node, t0 + HOLD),
            None,
            "the last promise holds the room's count"
        );
        // Nobody came: the seats are given out again.
        let pick = s.promise(&lobby, every_node, later + HOLD);
        assert_eq!(pick, Some(("a".into(), "x".into())));
        assert_eq!(s.rooms["a"].seats, 1);
    }

    #[test]
    fn a_fresh_room_is_a_candidate_until_listed_and_forgotten_if_nobody_joined() {
        let (mut s, t0) = (Seats::new(HOLD), Instant::now());
        s.open("fresh", "n", 4, t0);
        let pick = s.promise(&[], every_node, t0);
        assert_eq!(pick, Some(("fresh".into(), "n".into())));
        let listed_now = [listed("fresh", "n", 1, true)];
        assert_eq!(burst(&mut s, &listed_now, 2, t0), ["fresh", "fresh"]);
        assert_eq!(s.rooms["fresh"].seats, 4);
        assert_eq!(s.promise(&[], every_node, t0 + HOLD), None);
        assert!(s.rooms.is_empty());
    }

    #[test]
    fn ties_go_to_the_lowest_room_id_whatever_the_lobby_order() {
        let (mut s, t0) = (Seats::new(HOLD), Instant::now());
        let lobby = [listed("b", "x", 1, true), listed("a", "x", 1, true)];
        let pick = s.promise(&lobby, every_node, t0);
        assert_eq!(pick.map(|(room, _)| room), Some("a".into()));
    }
}
