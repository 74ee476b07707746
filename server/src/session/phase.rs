//! Where a session stands with its room: the session's state machine, without the actor.
//!
//! Each transition is one method that says what the session must then do about the room: a close
//! either side chose leaves the room for good (the session sends `RemovePlayer`), a lost
//! connection detaches (`DetachPlayer`: the seat is held for a resume), and a session the room
//! already let go has nothing to tell it. The membership `M` (room address, ids, seat) is only
//! reachable while `Joined`, so it cannot be left twice. Owned by [`super::Session`]; generic over
//! `M` so the rules are tested here without a room.

/// The session's state.
#[derive(Debug, PartialEq, Eq)]
pub enum Phase<M> {
    /// Connected, no join yet.
    Lobby,
    /// Join sent to the registry, waiting for its answer.
    Joining,
    /// In a room, as the player `M` describes.
    Joined(M),
    /// The room already let the player go (it asked us to close), or the seat was handed back to
    /// the room for a resume: there is nothing left to tell the room.
    Released,
    /// A close frame was queued; everything else is ignored (what the client still sends is read
    /// and discarded until the close handshake ends: `linger.rs`).
    Closing,
}

/// [`Phase::begin_close`] on a session that is already closing.
#[derive(Debug, PartialEq, Eq)]
pub struct AlreadyClosing;

impl<M> Phase<M> {
    /// A join arrived: from the lobby only. `false`: already joining, joined or done; ignore it.
    pub fn begin_join(&mut self) -> bool {
        if matches!(self, Phase::Lobby) {
            *self = Phase::Joining;
            true
        } else {
            false
        }
    }

    /// The registry seated the player. `Err` gives the membership back when the session stopped
    /// waiting meanwhile (it is closing): the room frees that seat itself on its next tick.
    pub fn joined(&mut self, membership: M) -> Result<(), M> {
        if matches!(self, Phase::Joining) {
            *self = Phase::Joined(membership);
            Ok(())
        } else {
            Err(membership)
        }
    }

    /// The room let the player go (or is about to hold the seat for a resume): the membership
    /// taken out, if the session was in a room. Whatever the caller tells the room with it is the
    /// last word; a close after this leaves nothing.
    pub fn release(&mut self) -> Option<M> {
        match std::mem::replace(self, Phase::Released) {
            Phase::Joined(m) => Some(m),
            other => {
                *self = other;
                None
            }
        }
    }

    /// A close frame is being queued: the session is `Closing` from now on. `Ok(Some(m))`: the
    /// player is still in the room and must leave it for good; `Ok(None)`: nothing to leave.
    pub fn begin_close(&mut self) -> Result<Option<M>, AlreadyClosing> {
        match std::mem::replace(self, Phase::Closing) {
            Phase::Closing => Err(AlreadyClosing),
            Phase::Joined(m) => Ok(Some(m)),
            Phase::Lobby | Phase::Joining | Phase::Released => Ok(None),
        }
    }

    /// The membership, while in a room.
    pub fn membership(&self) -> Option<&M> {
        match self {
            Phase::Joined(m) => Some(m),
            _ => None,
        }
    }

    /// Still without a room: the join timeout applies.
    pub fn awaiting_join(&self) -> bool {
        matches!(self, Phase::Lobby | Phase::Joining)
    }

    pub fn is_closing(&self) -> bool {
        matches!(self, Phase::Closing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(m: &'static str) -> Phase<&'static str> {
        let mut p = Phase::Lobby;
        assert!(p.begin_join());
        assert_eq!(p.joined(m), Ok(()));
        p
    }

    #[test]
    fn a_join_is_only_begun_from_the_lobby() {
        let mut p: Phase<&str> = Phase::Lobby;
        assert!(p.awaiting_join());
        assert!(p.begin_join());
        assert_eq!(p, Phase::Joining);
        assert!(p.awaiting_join());
        assert!(!p.begin_join(), "a second join while the first is pending");
        assert_eq!(p.joined("alice"), Ok(()));
        assert!(!p.awaiting_join());
        assert!(!p.begin_join(), "a join once in a room");
        assert_eq!(p.membership(), Some(&"alice"));
    }

    #[test]
    fn a_close_from_a_room_leaves_it_once() {
        let mut p = joined("alice");
        assert_eq!(p.begin_close(), Ok(Some("alice")));
        assert!(p.is_closing());
        assert_eq!(p.membership(), None);
        assert_eq!(p.begin_close(), Err(AlreadyClosing));
        assert!(!p.begin_join());
    }

    #[test]
    fn a_session_the_room_let_go_closes_without_leaving() {
        let mut p = joined("alice");
        assert_eq!(p.release(), Some("alice"));
        assert_eq!(p, Phase::Released);
        assert!(!p.awaiting_join(), "no join timeout after the room let go");
        assert!(!p.begin_join(), "no second join on this connection");
        assert_eq!(p.release(), None);
        assert_eq!(p.begin_close(), Ok(None));
        assert!(p.is_closing());
    }

    #[test]
    fn a_join_answered_after_the_close_is_handed_back() {
        let mut p: Phase<&str> = Phase::Lobby;
        assert!(p.begin_join());
        assert_eq!(
            p.begin_close(),
            Ok(None),
            "closing while joining leaves no room"
        );
        assert_eq!(p.joined("alice"), Err("alice"));
        assert!(p.is_closing());
    }

    #[test]
    fn only_a_joined_session_has_something_to_release() {
        for mut p in [Phase::Lobby, Phase::Joining, Phase::Closing] {
            let before = format!("{p:?}");
            assert_eq!(p.release(), None::<&str>);
            assert_eq!(
                format!("{p:?}"),
                before,
                "release changed a session not in a room"
            );
        }
    }
}
