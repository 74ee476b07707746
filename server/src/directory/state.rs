//! The directory's rules over plain maps, one method per Redis script, every one taking the
//! current time as an argument: the same outcomes, epochs and order as the scripts in
//! `scripts/`, tested tick by tick here without a clock. [`super::MemoryDirectory`] locks a
//! [`State`] and asks it; the conformance suite (`server/tests/directory/`) holds it and the
//! Redis scripts to one contract.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::seats::Seats;
use super::{
    Claim, DirectoryConfig, Epoch, Lease, ListedRoom, Node, NodeBeat, NodeInfo, Owner, Placement,
    QuickPlay, RoomSummary,
};

/// A value that lives until `expires` (a Redis key with a TTL).
#[derive(Debug)]
struct Expiring<T> {
    value: T,
    expires: Instant,
}

impl<T> Expiring<T> {
    fn new(value: T, expires: Instant) -> Self {
        Self { value, expires }
    }

    fn live(&self, now: Instant) -> Option<&T> {
        (now < self.expires).then_some(&self.value)
    }

    fn live_mut(&mut self, now: Instant) -> Option<&mut T> {
        (now < self.expires).then_some(&mut self.value)
    }
}

/// What a room's owner hash holds.
#[derive(Debug)]
pub(super) struct Held {
    pub(super) owner: Owner,
    /// `state: moving, target: <node>`: offered to this node (see `handoff.rs`).
    pub(super) moving_to: Option<String>,
}

/// What the Redis keys of a node hold: record, list and placement score.
#[derive(Debug)]
struct NodeEntry {
    info: NodeInfo,
    rooms: Vec<RoomSummary>,
    score: f64,
}

/// The directory's rules over plain maps; every method takes the current time.
#[derive(Debug)]
pub(super) struct State {
    config: DirectoryConfig,
    owners: HashMap<Arc<str>, Expiring<Held>>,
    epochs: HashMap<Arc<str>, Expiring<u64>>,
    nodes: HashMap<String, Expiring<NodeEntry>>,
    seats: Seats,
}

impl State {
    pub(super) fn new(config: DirectoryConfig) -> Self {
        Self {
            seats: Seats::new(config.seat_hold()),
            config,
            owners: HashMap::new(),
            epochs: HashMap::new(),
            nodes: HashMap::new(),
        }
    }

    pub(super) fn owner(&self, room: &str, now: Instant) -> Option<&Owner> {
        self.owners
            .get(room)
            .and_then(|o| o.live(now))
            .map(|h| &h.owner)
    }

    /// The live owner entry of `room` if `node` holds it at `epoch`.
    pub(super) fn held_by(
        &mut self,
        room: &str,
        node: &str,
        epoch: Epoch,
        now: Instant,
    ) -> Option<&mut Held> {
        let held = self.owners.get_mut(room)?.live_mut(now)?;
        (held.owner.node.id == node && held.owner.epoch == epoch).then_some(held)
    }

    /// The room's epoch counter; 0 when it never existed or expired.
    pub(super) fn counter(&self, room: &str, now: Instant) -> u64 {
        self.epochs
            .get(room)
            .and_then(|e| e.live(now))
            .copied()
            .unwrap_or(0)
    }

    pub(super) fn set_counter(&mut self, room: &str, epoch: u64, now: Instant) {
        let ttl = self.config.epoch_ttl;
        self.epochs
            .insert(room.into(), Expiring::new(epoch, now + ttl));
    }

    /// Writes a fresh lease (state live).
    pub(super) fn set_owner(&mut self, room: &str, node: &Node, epoch: Epoch, now: Instant) {
        let owner = Held {
            owner: Owner {
                node: node.clone(),
                epoch,
            },
            moving_to: None,
        };
        let ttl = self.config.lease_ttl;
        self.owners
            .insert(room.into(), Expiring::new(owner, now + ttl));
    }

    /// `claim.lua`.
    pub(super) fn claim(&mut self, room: &str, node: &Node, now: Instant) -> Claim {
        if let Some(owner) = self.owner(room, now) {
            return Claim::OwnedBy(owner.clone());
        }
        let epoch = self.counter(room, now) + 1;
        self.set_counter(room, epoch, now);
        self.set_owner(room, node, Epoch(epoch), now);
        Claim::Owned {
            epoch: Epoch(epoch),
        }
    }

    /// `renew.lua`.
    pub(super) fn renew(&mut self, room: &str, node: &Node, epoch: Epoch, now: Instant) -> bool {
        let lease_ttl = self.config.lease_ttl;
        if let Some(entry) = self.owners.get_mut(room).filter(|o| o.live(now).is_some()) {
            let held = &entry.value.owner;
            if held.node.id == node.id && held.epoch == epoch {
                // Extend it as it is (an offered room stays offered).
                entry.expires = now + lease_ttl;
                self.set_counter(room, epoch.0, now);
                return true;
            }
            if held.epoch >= epoch {
                // Another node, or a newer epoch of this one: the lease is lost.
                return false;
            }
        }
        // Nobody, or an older epoch (Redis lost writes): fine unless a newer epoch was handed
        // out meanwhile.
        if self.counter(room, now) > epoch.0 {
            return false;
        }
        self.set_counter(room, epoch.0, now);
        self.set_owner(room, node, epoch, now);
        true
    }

    /// `release.lua`.
    pub(super) fn release(&mut self, room: &str, node: &str, epoch: Epoch, now: Instant) -> bool {
        match self.owner(room, now) {
            Some(o) if o.node.id == node && o.epoch == epoch => {}
            Some(_) => return false,
            None if self.counter(room, now) > epoch.0 => return false,
            // Lapsed at this epoch: still fence it off below.
            None => {}
        }
        self.owners.remove(room);
        let counter = self.counter(room, now).max(epoch.0);
        self.set_counter(room, counter + 1, now);
        true
    }

    /// The heartbeat pipeline: node record, list and score, then `renew.lua` per lease.
    pub(super) fn heartbeat(
        &mut self,
        beat: NodeBeat,
        leases: &[Lease],
        now: Instant,
    ) -> Vec<Arc<str>> {
        let entry = NodeEntry {
            info: beat.info(),
            score: beat.score(),
            rooms: beat.rooms,
        };
        // Redis expires keys actively too; sweeping here keeps a long-lived single node's maps
        // as small as its live rooms.
        self.owners.retain(|_, o| now < o.expires);
        self.epochs.retain(|_, e| now < e.expires);
        let ttl = self.config.lease_ttl;
        let id = beat.node.id.clone();
        self.nodes.insert(id, Expiring::new(entry, now + ttl));
        leases
            .iter()
            .filter(|l| !self.renew(&l.room, &beat.node, l.epoch, now))
            .map(|l| l.room.clone())
            .collect()
    }

    /// `scan.lua`: live nodes by (score, id), as the sorted set orders them; dead ones dropped.
    fn live_nodes(&mut self, now: Instant) -> Vec<&mut NodeEntry> {
        self.nodes.retain(|_, n| now < n.expires);
        let mut live: Vec<_> = self.nodes.values_mut().map(|n| &mut n.value).collect();
        live.sort_by(|a, b| {
            (a.score.total_cmp(&b.score)).then_with(|| a.info.node.id.cmp(&b.info.node.id))
        });
        live
    }

    pub(super) fn nodes(&mut self, now: Instant) -> Vec<NodeInfo> {
        self.live_nodes(now)
            .into_iter()
            .map(|n| n.info.clone())
            .collect()
    }

    pub(super) fn rooms(&mut self, now: Instant) -> Vec<ListedRoom> {
        self.live_nodes(now)
            .into_iter()
            .flat_map(|n| {
                n.rooms.iter().map(|r| ListedRoom {
                    room: r.clone(),
                    node: n.info.node.clone(),
                })
            })
            .collect()
    }

    /// `place.lua`.
    pub(super) fn place(&mut self, now: Instant) -> Option<NodeInfo> {
        let best = self
            .live_nodes(now)
            .into_iter()
            .find(|n| n.score.is_finite())?;
        best.score += 1.0;
        Some(best.info.clone())
    }

    /// `matchmake.lua`: a promised seat (`seats.rs`) on a live node that is not draining, or
    /// else the fresh room opened where `place` puts it.
    pub(super) fn matchmake(&mut self, ask: &QuickPlay, now: Instant) -> Option<Placement> {
        let up: HashMap<String, NodeInfo> = self
            .live_nodes(now)
            .into_iter()
            .filter(|n| n.score.is_finite())
            .map(|n| (n.info.node.id.clone(), n.info.clone()))
            .collect();
        if let Some((room, node)) = self.seats.promise(&ask.rooms, |n| up.contains_key(n), now) {
            let node = up.get(&node)?.clone();
            return Some(Placement {
                room,
                node,
                opened: false,
            });
        }
        let node = self.place(now)?;
        self.seats
            .open(&ask.fresh, &node.node.id, ask.capacity, now);
        Some(Placement {
            room: ask.fresh.clone(),
            node,
            opened: true,
        })
    }
}

#[cfg(test)]
mod tests;
