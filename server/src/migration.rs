//! Live migration's rules: which room moves where, when the source rings the target's doorbell
//! again, when it gives up on an offer, and what each outcome means (`shared/design/cluster.md`
//! §6). Pure: every method takes the instant as an argument; the registry (`registry/migrate.rs`)
//! does the directory calls, the room messages and the timers.
//!
//! # One room ([`Move`], on the source)
//! 1. The room is frozen after a tick and its image taken (`room/migrate.rs`).
//! 2. The image is written (fenced at the room's epoch) and the room offered to the target;
//!    [`Move::offered`]. The source rings the target's doorbell ([`Doorbell::Adopt`]) at once and
//!    every [`RING_EVERY`] while [`Move::poll`] says [`Step::Ring`]: pub/sub may lose a ring.
//! 3. The target adopts (the commit point, one epoch INCR) and rings back
//!    [`Doorbell::Adopted`]: [`Move::adopted`] → hand over (redirect every client, dispose the
//!    room without `PlayerLeft`).
//! 4. No adoption by [`ADOPT_DEADLINE`]: [`Step::Abort`]. The abort script decides: `true` → the
//!    room unfreezes here and goes on where it was; `false` → it *was* adopted (the ring back got
//!    lost), so hand over all the same ([`Move::abort_answered`]). Exactly one of adopt and abort
//!    wins the offer, so the room never runs on two nodes.
//!
//! # A drain ([`Drain`], on the source)
//! Every room is queued; at most [`MAX_PARALLEL`] move at a time, each to the least-loaded other
//! node that is up, counting the players this drain has already sent there ([`pick_target`]).
//! A room whose move was aborted is queued again, up to [`MAX_ATTEMPTS`] moves; after that (or
//! with no node to go to) it stays here, and the drain timeout closes it with 1001.
//!
//! Talks to: nobody; the registry drives it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::directory::{Epoch, Node, NodeInfo, NodeState};

/// Rooms moving at once during a drain.
pub const MAX_PARALLEL: usize = 8;
/// How long an offer waits for its adoption before the source aborts it.
pub const ADOPT_DEADLINE: Duration = Duration::from_secs(3);
/// How often the source rings the target's doorbell while its offer stands.
pub const RING_EVERY: Duration = Duration::from_millis(500);
/// Moves tried per room before a drain leaves it to the drain timeout.
pub const MAX_ATTEMPTS: u32 = 2;

/// A message on a node's doorbell (`Directory::notify`). It carries no state of its own: the
/// receiver checks everything against the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Doorbell {
    /// To the target: `source` offered you `room` at `epoch`; read its image and adopt it.
    Adopt {
        room: String,
        source: String,
        epoch: Epoch,
    },
    /// To the source: the target adopted `room`, which `source` offered at `epoch`.
    Adopted { room: String, epoch: Epoch },
}

impl Doorbell {
    pub fn encode(&self) -> Vec<u8> {
        rmp_serde::to_vec(self).expect("a doorbell should always encode")
    }

    /// `None` for anything that is not a doorbell of this version (ignored by the receiver).
    pub fn decode(bytes: &[u8]) -> Option<Doorbell> {
        rmp_serde::from_slice(bytes).ok()
    }
}

/// What the source does next for a room on offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Ring the target's doorbell (again).
    Ring,
    /// The deadline passed: run the abort script.
    Abort,
    /// Nothing now.
    Wait,
}

/// How a move ended, and what the source does about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Adopted: redirect every client to the target and dispose the room without `PlayerLeft`.
    HandOver {
        frozen: Duration,
        /// Whole tick periods the game time stood still, freeze to adoption.
        ticks_stalled: u64,
    },
    /// Aborted: the room unfreezes here and goes on where it was.
    Unfreeze { frozen: Duration },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Frozen, image and offer being written.
    Offering,
    /// On offer; ringing until the deadline.
    Offered {
        deadline: Instant,
        ring: Instant,
    },
    /// The abort script is running.
    Aborting,
    Done,
}

/// One room leaving this node (see the module docs).
#[derive(Debug, Clone)]
pub struct Move {
    pub room: Arc<str>,
    /// The source's epoch: what the offer, the abort and the target's adoption are fenced at.
    pub epoch: Epoch,
    pub target: Node,
    frozen_at: Instant,
    period: Duration,
    phase: Phase,
}

impl Move {
    /// The room was frozen at `frozen_at`; it ticks every `period`.
    pub fn new(
        room: Arc<str>,
        epoch: Epoch,
        target: Node,
        frozen_at: Instant,
        period: Duration,
    ) -> Self {
        Move {
            room,
            epoch,
            target,
            frozen_at,
            period,
            phase: Phase::Offering,
        }
    }

    /// The image is written and the offer stands (at `now`): ring at once.
    pub fn offered(&mut self, now: Instant) {
        if self.phase == Phase::Offering {
            self.phase = Phase::Offered {
                deadline: now + ADOPT_DEADLINE,
                ring: now,
            };
        }
    }

    /// What to do at `now` (call it every [`RING_EVERY`] or so).
    pub fn poll(&mut self, now: Instant) -> Step {
        match &mut self.phase {
            Phase::Offered { deadline, .. } if now >= *deadline => {
                self.phase = Phase::Aborting;
                Step::Abort
            }
            Phase::Offered { ring, .. } if now >= *ring => {
                *ring = now + RING_EVERY;
                Step::Ring
            }
            _ => Step::Wait,
        }
    }

    /// The target says it adopted the room (at `now`). `None`: this move is over already (a
    /// second ring back, or one after the abort lost the race — which cannot both win).
    pub fn adopted(&mut self, now: Instant) -> Option<Outcome> {
        match self.phase {
            Phase::Offering | Phase::Offered { .. } | Phase::Aborting => {
                self.phase = Phase::Done;
                Some(self.hand_over(now))
            }
            Phase::Done => None,
        }
    }

    /// The abort script answered at `now`: `aborted` → the room is ours again; otherwise the
    /// target adopted it first. `None`: the move had already ended (its ring back came first).
    pub fn abort_answered(&mut self, aborted: bool, now: Instant) -> Option<Outcome> {
        if self.phase == Phase::Done {
            return None;
        }
        self.phase = Phase::Done;
        Some(if aborted {
            Outcome::Unfreeze {
                frozen: now.saturating_duration_since(self.frozen_at),
            }
        } else {
            self.hand_over(now)
        })
    }

    /// The image or the offer could not be written (at `now`): the room unfreezes here.
    pub fn failed(&mut self, now: Instant) -> Outcome {
        self.phase = Phase::Done;
        Outcome::Unfreeze {
            frozen: now.saturating_duration_since(self.frozen_at),
        }
    }

    fn hand_over(&self, now: Instant) -> Outcome {
        let frozen = now.saturating_duration_since(self.frozen_at);
        let period = self.period.as_nanos().max(1);
        Outcome::HandOver {
            frozen,
            ticks_stalled: (frozen.as_nanos() / period) as u64,
        }
    }
}

/// The least-loaded node that is up, other than `me`, counting the players `sent` there by this
/// drain since the nodes' last heartbeats. Ties: the lowest id, the same pick on every node.
pub fn pick_target<'a>(
    nodes: &'a [NodeInfo],
    me: &str,
    sent: &HashMap<String, usize>,
) -> Option<&'a NodeInfo> {
    let load = |n: &NodeInfo| n.players + sent.get(&n.node.id).copied().unwrap_or(0);
    nodes
        .iter()
        .filter(|n| n.state == NodeState::Up && n.node.id != me)
        .min_by(|a, b| {
            load(a)
                .cmp(&load(b))
                .then_with(|| a.node.id.cmp(&b.node.id))
        })
}

/// How one room's move ended, for [`Drain::finished`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    Moved,
    /// Aborted or failed: try again (up to [`MAX_ATTEMPTS`]).
    Retry,
    /// The room is gone from this node some other way (disposed, lease lost).
    Gone,
}

/// A drain of this node (see the module docs).
#[derive(Debug)]
pub struct Drain {
    pub started: Instant,
    /// Rooms waiting to move, with the moves tried so far.
    queue: VecDeque<(Arc<str>, u32)>,
    in_flight: HashMap<Arc<str>, u32>,
    /// Players sent to each node by this drain.
    sent: HashMap<String, usize>,
    /// Rooms left here: out of attempts, or no node to go to.
    pub left: HashSet<Arc<str>>,
    pub moved: usize,
}

impl Drain {
    pub fn new(rooms: impl IntoIterator<Item = Arc<str>>, now: Instant) -> Self {
        Drain {
            started: now,
            queue: rooms.into_iter().map(|r| (r, 0)).collect(),
            in_flight: HashMap::new(),
            sent: HashMap::new(),
            left: HashSet::new(),
            moved: 0,
        }
    }

    /// Whether a batch may start now: rooms wait and fewer than [`MAX_PARALLEL`] move.
    pub fn wants_batch(&self) -> bool {
        !self.queue.is_empty() && self.in_flight.len() < MAX_PARALLEL
    }

    /// The next rooms to move and where, as many as may start, given the live `nodes` and each
    /// room's players (`players_of`; `None`: the room is gone, skip it). With no node to go to,
    /// every waiting room is left here.
    pub fn next_batch(
        &mut self,
        nodes: &[NodeInfo],
        me: &str,
        players_of: impl Fn(&str) -> Option<usize>,
    ) -> Vec<(Arc<str>, Node)> {
        let mut batch = Vec::new();
        while self.in_flight.len() < MAX_PARALLEL {
            let Some((room, attempts)) = self.queue.pop_front() else {
                break;
            };
            let Some(players) = players_of(&room) else {
                continue;
            };
            let Some(target) = pick_target(nodes, me, &self.sent) else {
                self.left.insert(room);
                self.left.extend(self.queue.drain(..).map(|(r, _)| r));
                break;
            };
            *self.sent.entry(target.node.id.clone()).or_default() += players;
            self.in_flight.insert(room.clone(), attempts + 1);
            batch.push((room, target.node.clone()));
        }
        batch
    }

    /// Room `room`'s move ended as `how`.
    pub fn finished(&mut self, room: &Arc<str>, how: Finished) {
        let Some(attempts) = self.in_flight.remove(room) else {
            return;
        };
        match how {
            Finished::Moved => self.moved += 1,
            Finished::Retry if attempts < MAX_ATTEMPTS => {
                self.queue.push_back((room.clone(), attempts))
            }
            Finished::Retry => {
                self.left.insert(room.clone());
            }
            Finished::Gone => {}
        }
    }

    /// Whether every room has moved or been left.
    pub fn is_done(&self) -> bool {
        self.queue.is_empty() && self.in_flight.is_empty()
    }
}

#[cfg(test)]
mod tests;
