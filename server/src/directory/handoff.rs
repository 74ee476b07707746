//! The fenced handoff of a live room from its owner (the source) to another node (the target):
//! the compare-and-set half of live migration, mirrored from `scripts/{offer,adopt,abort}.lua`
//! for the memory twin. The room image, the freeze and the doorbell belong to the migration
//! itself (`crate::migration`, `registry/migrate.rs`); these rules only guarantee that a room
//! changes hands at most once per offer and is never owned by two nodes:
//!
//! 1. `offer(room, source, e1, target)`: the source, still owner at `e1`, marks the room moving
//!    to `target`. It keeps renewing its lease meanwhile.
//! 2. `adopt(room, source, e1, target)`: the target takes the room under a new epoch `e2`,
//!    only while it is still offered to it at `e1`. This is the commit point: the source's next
//!    renewal at `e1` reports the room lost.
//! 3. `abort(room, source, e1)`: the source takes the offer back, only while nobody adopted it.
//!
//! Adopt and abort both require the room to be moving at `e1` and both end that state, so
//! exactly one of them wins, however they interleave.

use std::time::Instant;

use super::state::State;
use super::{Epoch, Node};

impl State {
    /// `offer.lua`.
    pub(super) fn offer(
        &mut self,
        room: &str,
        source: &str,
        epoch: Epoch,
        target: &str,
        now: Instant,
    ) -> bool {
        match self.held_by(room, source, epoch, now) {
            Some(held) if held.moving_to.is_none() => {
                held.moving_to = Some(target.to_owned());
                true
            }
            _ => false,
        }
    }

    /// `adopt.lua`: the new epoch, or `None` when the room is not offered to `target` at `epoch`.
    pub(super) fn adopt(
        &mut self,
        room: &str,
        source: &str,
        epoch: Epoch,
        target: &Node,
        now: Instant,
    ) -> Option<Epoch> {
        let held = self.held_by(room, source, epoch, now)?;
        if held.moving_to.as_deref() != Some(target.id.as_str()) {
            return None;
        }
        let adopted = Epoch(self.counter(room, now) + 1);
        self.set_counter(room, adopted.0, now);
        self.set_owner(room, target, adopted, now);
        Some(adopted)
    }

    /// `abort.lua`.
    pub(super) fn abort(&mut self, room: &str, source: &str, epoch: Epoch, now: Instant) -> bool {
        match self.held_by(room, source, epoch, now) {
            Some(held) if held.moving_to.is_some() => {
                held.moving_to = None;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{Claim, DirectoryConfig};

    fn node(id: &str) -> Node {
        Node {
            id: id.into(),
            url: format!("ws://{id}"),
        }
    }

    /// A room owned by `a` at its first epoch.
    fn owned_by_a() -> (State, Instant, Epoch) {
        let (mut s, t0) = (State::new(DirectoryConfig::default()), Instant::now());
        let Claim::Owned { epoch } = s.claim("r", &node("a"), t0) else {
            panic!("a fresh room is free");
        };
        (s, t0, epoch)
    }

    #[test]
    fn an_adopted_room_belongs_to_the_target_under_a_new_epoch_and_the_source_lost_it() {
        let (mut s, t0, e1) = owned_by_a();
        assert!(s.offer("r", "a", e1, "b", t0));
        assert!(
            s.renew("r", &node("a"), e1, t0),
            "the source renews while it is offered"
        );
        let e2 = s.adopt("r", "a", e1, &node("b"), t0).expect("offered to b");
        assert!(e2 > e1);
        assert_eq!(
            s.owner("r", t0).map(|o| (o.node.id.as_str(), o.epoch)),
            Some(("b", e2))
        );
        assert!(!s.renew("r", &node("a"), e1, t0));
    }

    #[test]
    fn after_an_abort_no_adoption_and_after_an_adoption_no_abort() {
        let (mut s, t0, e1) = owned_by_a();
        s.offer("r", "a", e1, "b", t0);
        assert!(s.abort("r", "a", e1, t0));
        assert_eq!(s.adopt("r", "a", e1, &node("b"), t0), None);
        assert!(s.offer("r", "a", e1, "b", t0), "offered again");
        assert!(s.adopt("r", "a", e1, &node("b"), t0).is_some());
        assert!(!s.abort("r", "a", e1, t0));
        assert_eq!(s.adopt("r", "a", e1, &node("b"), t0), None, "adopted once");
    }

    #[test]
    fn only_the_owner_at_its_epoch_offers_once_and_only_the_target_adopts() {
        let (mut s, t0, e1) = owned_by_a();
        assert!(!s.offer("r", "b", e1, "c", t0), "not the owner");
        assert!(
            !s.offer("r", "a", Epoch(e1.0 + 1), "c", t0),
            "not its epoch"
        );
        assert_eq!(s.adopt("r", "a", e1, &node("b"), t0), None, "not offered");
        assert!(s.offer("r", "a", e1, "b", t0));
        assert!(!s.offer("r", "a", e1, "c", t0), "already offered");
        assert_eq!(
            s.adopt("r", "a", e1, &node("c"), t0),
            None,
            "not the target"
        );
        assert!(!s.abort("r", "a", Epoch(e1.0 + 1), t0), "not its epoch");
    }
}
