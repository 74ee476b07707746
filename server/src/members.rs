//! A room's members: who is seated, on which connection, and whose seat is held for a resume.
//!
//! The bookkeeping of join, detach (connection lost: the player stays, its seat is held),
//! resume (a new connection takes a held — or still attached — seat back by its resume token),
//! grace expiry and removal. Pure: the room passes the tick and the instant in, and does the
//! game calls, the close requests, the timers and the metrics itself.
//!
//! A member's connection is its [`Seat`] and the wake-up `W` of its session (in the server a
//! `Recipient<Wake>`, stored once and never cloned, see `seat.rs`; a plain value in tests). A
//! player's input seq lives in its seat; a resume hands it to the new seat
//! ([`Seat::continue_inputs_from`]).
//!
//! Talks to: nobody. Owned by the room (`room.rs`).

use std::sync::Arc;
use std::time::Instant;

use tickcast_shared::PlayerId;

use crate::delivery::{baseline_floor, SeatView};
use crate::seat::Seat;

/// One player of the room.
pub struct Member<I, W> {
    pub player_id: PlayerId,
    pub name: String,
    pub resume_token: Arc<str>,
    pub seat: Arc<Seat<I>>,
    /// The session's wake-up; the room keeps this one and never clones it.
    pub wake: W,
    /// Set while the player's connection is gone and its seat is held for a resume.
    detached_since: Option<Instant>,
    /// The room's tick when this connection joined (or resumed): until its first ack, any
    /// state since then may become its baseline.
    joined_tick: u64,
}

/// A player's connection: its seat and its session's wake-up.
pub struct Connection<I, W> {
    pub seat: Arc<Seat<I>>,
    pub wake: W,
}

/// A successful resume.
pub struct Resumed<I, W> {
    pub player_id: PlayerId,
    /// The player's previous connection, if it had not been detached yet (its session may not
    /// have noticed it is gone): close it, it is replaced.
    pub replaced: Option<Connection<I, W>>,
}

impl<I, W> Member<I, W> {
    /// Whether the player's connection is live (not held for a resume).
    pub fn is_attached(&self) -> bool {
        self.detached_since.is_none()
    }

    /// Since when the player's seat has been held for a resume (`None`: connected).
    pub fn held_since(&self) -> Option<Instant> {
        self.detached_since
    }

    /// What the delivery rules need to know of this member's seat now.
    pub fn view(&self) -> SeatView {
        SeatView {
            detached: self.detached_since.is_some(),
            deltas: self.seat.deltas(),
            acked_tick: self.seat.acked_tick(),
            taken_tick: self.seat.taken_tick(),
            joined_tick: self.joined_tick,
        }
    }
}

/// The members of one room, at most `capacity`.
pub struct Members<I, W> {
    list: Vec<Member<I, W>>,
    capacity: usize,
}

impl<I, W> Members<I, W> {
    pub fn new(capacity: usize) -> Self {
        Members {
            list: Vec::new(),
            capacity,
        }
    }

    /// Whether every seat is taken (held seats count: their players may come back).
    pub fn is_full(&self) -> bool {
        self.list.len() >= self.capacity
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Member<I, W>> {
        self.list.iter()
    }

    /// The member at `i` (in join order until someone leaves; removals reorder).
    pub fn get(&self, i: usize) -> Option<&Member<I, W>> {
        self.list.get(i)
    }

    /// Removes every member (the room is closing).
    pub fn drain(&mut self) -> std::vec::Drain<'_, Member<I, W>> {
        self.list.drain(..)
    }

    /// Seats a new player at room tick `tick` (the caller has checked [`Members::is_full`]).
    /// Its seat counts as up to date at that tick.
    pub fn join(
        &mut self,
        player_id: PlayerId,
        name: String,
        resume_token: Arc<str>,
        conn: Connection<I, W>,
        tick: u64,
    ) {
        conn.seat.mark_joined_at(tick);
        self.list.push(Member {
            player_id,
            name,
            resume_token,
            seat: conn.seat,
            wake: conn.wake,
            detached_since: None,
            joined_tick: tick,
        });
    }

    /// The player's connection was lost at `now`: keep the player, hold its seat. `seat_id`:
    /// only if that is still the player's current connection (an old connection's late
    /// report must not detach the one that resumed it). Returns the detached member.
    pub fn detach(
        &mut self,
        player_id: PlayerId,
        seat_id: Option<u64>,
        now: Instant,
    ) -> Option<&Member<I, W>> {
        let m = self.list.iter_mut().find(|m| {
            m.player_id == player_id
                && m.is_attached()
                && seat_id.is_none_or(|id| m.seat.id() == id)
        })?;
        m.detached_since = Some(now);
        Some(m)
    }

    /// A new connection presents `resume_token` at room tick `tick`: it takes the player's seat
    /// back and carries on from its input seq. `None`: no member has that token.
    pub fn resume(
        &mut self,
        resume_token: &str,
        conn: Connection<I, W>,
        tick: u64,
    ) -> Option<Resumed<I, W>> {
        let m = self
            .list
            .iter_mut()
            .find(|m| &*m.resume_token == resume_token)?;
        conn.seat.mark_joined_at(tick);
        conn.seat.continue_inputs_from(&m.seat);
        let was_attached = m.is_attached();
        let old = Connection {
            seat: std::mem::replace(&mut m.seat, conn.seat),
            wake: std::mem::replace(&mut m.wake, conn.wake),
        };
        m.detached_since = None;
        m.joined_tick = tick;
        Some(Resumed {
            player_id: m.player_id,
            replaced: was_attached.then_some(old),
        })
    }

    /// The player left on connection `seat_id` (a resumed player's old connection must not
    /// remove it). Returns the removed member.
    pub fn remove(&mut self, player_id: PlayerId, seat_id: u64) -> Option<Member<I, W>> {
        let i = self
            .list
            .iter()
            .position(|m| m.player_id == player_id && m.seat.id() == seat_id)?;
        Some(self.list.swap_remove(i))
    }

    /// The resume grace of the detach at `since` is over: removes the player, unless it has
    /// resumed meanwhile (and perhaps been detached again, at another instant).
    pub fn expire(&mut self, player_id: PlayerId, since: Instant) -> Option<Member<I, W>> {
        let i = self
            .list
            .iter()
            .position(|m| m.player_id == player_id && m.detached_since == Some(since))?;
        Some(self.list.swap_remove(i))
    }

    /// The oldest replicated state an attached delta client may still need as a baseline.
    pub fn baseline_floor(&self) -> Option<u64> {
        baseline_floor(self.list.iter().map(Member::view))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use uuid::Uuid;

    use super::*;

    /// Members whose "wake-up" is a label, so a test can tell connections apart.
    type TestMembers = Members<u32, &'static str>;

    fn pid(n: u8) -> PlayerId {
        Uuid::from_bytes([n; 16])
    }

    fn conn(label: &'static str, deltas: bool) -> Connection<u32, &'static str> {
        Connection {
            seat: Arc::new(Seat::new().with_deltas(deltas)),
            wake: label,
        }
    }

    fn room_with(players: u8) -> TestMembers {
        let mut members = Members::new(4);
        for n in 1..=players {
            members.join(
                pid(n),
                format!("p{n}"),
                format!("t{n}").into(),
                conn("c", true),
                10,
            );
        }
        members
    }

    #[test]
    fn a_room_is_full_at_capacity_counting_held_seats() {
        let mut members = room_with(3);
        assert!(!members.is_full());
        members.join(pid(4), "p4".into(), "t4".into(), conn("c", false), 10);
        members.detach(pid(4), None, Instant::now());
        assert!(members.is_full(), "a held seat is still taken");
    }

    #[test]
    fn a_joined_seat_counts_as_up_to_date_at_the_join_tick() {
        let members = room_with(1);
        let view = members.iter().next().expect("one member").view();
        assert_eq!(
            (view.taken_tick, view.joined_tick, view.detached),
            (10, 10, false)
        );
    }

    #[test]
    fn a_detached_player_stays_until_the_grace_of_that_detach_expires() {
        let mut members = room_with(2);
        let t0 = Instant::now();
        let seat_id = members.get(0).expect("member 0").seat.id();
        let detached = members.detach(pid(1), Some(seat_id), t0).expect("attached");
        assert!(!detached.is_attached());
        assert!(detached.view().detached);
        assert_eq!(members.len(), 2, "the player stays in the room");
        assert!(
            members.detach(pid(1), None, t0).is_none(),
            "already detached"
        );
        let gone = members.expire(pid(1), t0).expect("expired");
        assert_eq!(gone.player_id, pid(1));
        assert_eq!(members.len(), 1);
    }

    #[test]
    fn a_late_detach_from_a_replaced_connection_is_ignored() {
        let mut members = room_with(1);
        let old_id = members.get(0).expect("member").seat.id();
        members
            .resume("t1", conn("new", true), 20)
            .expect("known token");
        assert!(members
            .detach(pid(1), Some(old_id), Instant::now())
            .is_none());
        assert!(members.get(0).expect("member").is_attached());
        assert!(
            members.remove(pid(1), old_id).is_none(),
            "nor may the old connection remove the player"
        );
    }

    #[test]
    fn a_resume_then_a_new_detach_outlives_the_first_detachs_grace() {
        let mut members = room_with(1);
        let t0 = Instant::now();
        members.detach(pid(1), None, t0);
        members
            .resume("t1", conn("new", true), 20)
            .expect("held seat");
        let t1 = t0 + Duration::from_secs(3);
        members.detach(pid(1), None, t1);
        assert!(members.expire(pid(1), t0).is_none(), "the first grace");
        assert!(members.expire(pid(1), t1).is_some(), "the second grace");
    }

    #[test]
    fn resuming_a_held_seat_replaces_no_connection() {
        let mut members = room_with(1);
        members.detach(pid(1), None, Instant::now());
        let resumed = members
            .resume("t1", conn("new", true), 20)
            .expect("held seat");
        assert_eq!(resumed.player_id, pid(1));
        assert!(resumed.replaced.is_none());
        let m = members.get(0).expect("member");
        assert!(m.is_attached());
        assert_eq!(
            (m.wake, m.view().joined_tick, m.view().taken_tick),
            ("new", 20, 20)
        );
    }

    #[test]
    fn resuming_an_attached_seat_hands_back_the_old_connection_to_close() {
        let mut members = room_with(1);
        let old_id = members.get(0).expect("member").seat.id();
        let resumed = members.resume("t1", conn("new", true), 20).expect("known");
        let old = resumed
            .replaced
            .expect("the old connection was still attached");
        assert_eq!((old.seat.id(), old.wake), (old_id, "c"));
        assert_eq!(members.get(0).expect("member").wake, "new");
    }

    #[test]
    fn an_unknown_token_resumes_nobody() {
        let mut members = room_with(1);
        assert!(members.resume("nope", conn("new", true), 20).is_none());
        assert_eq!(members.get(0).expect("member").wake, "c");
    }

    #[test]
    fn a_resumed_connection_carries_on_from_the_players_input_seq() {
        let mut members = room_with(1);
        let old = members.get(0).expect("member").seat.clone();
        old.push_input(7, 0).expect("first input");
        members.detach(pid(1), None, Instant::now());
        members
            .resume("t1", conn("new", true), 20)
            .expect("held seat");
        let seat = &members.get(0).expect("member").seat;
        assert!(
            seat.push_input(1, 0).is_err(),
            "seq 1 was used before the loss"
        );
        assert!(seat.push_input(8, 0).is_ok());
    }

    #[test]
    fn a_resumed_delta_client_keeps_the_states_since_its_resume() {
        let mut members = room_with(2);
        let acked = members.get(1).expect("member").seat.clone();
        acked.offer(15, Bytes::from_static(b"15"));
        acked.take();
        acked.ack(15);
        members.detach(pid(1), None, Instant::now());
        assert_eq!(
            members.baseline_floor(),
            Some(15),
            "a held seat keeps nothing"
        );
        members
            .resume("t1", conn("new", true), 20)
            .expect("held seat");
        assert_eq!(members.baseline_floor(), Some(15));
        acked.offer(25, Bytes::from_static(b"25"));
        acked.take();
        acked.ack(25);
        assert_eq!(
            members.baseline_floor(),
            Some(20),
            "the resumed one's join tick"
        );
    }

    #[test]
    fn a_player_is_removed_only_by_its_current_connection() {
        let mut members = room_with(2);
        let seat_id = members.get(0).expect("member").seat.id();
        assert!(members.remove(pid(1), seat_id + 1_000).is_none());
        let gone = members.remove(pid(1), seat_id).expect("current connection");
        assert_eq!(gone.player_id, pid(1));
        assert_eq!(members.len(), 1);
    }
}
