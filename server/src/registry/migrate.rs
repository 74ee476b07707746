//! The registry's migration half (cluster mode only): drains this node, moves its rooms to other
//! nodes, and adopts rooms other nodes move here. The rules are in [`crate::migration`]; the room
//! does its part in `room/migrate.rs`; this file only wires them to the directory.
//!
//! Why the registry: it is the seat authority and the one place that knows which rooms run
//! here, so freezing, handing over and adopting a room stay steps of one actor, and a join never
//! sees a room half moved.
//!
//! - **Drain** ([`StartDrain`]: SIGTERM with `--redis-url`, `POST /admin/drain`): the node
//!   heartbeats `draining` at once (out of placement), new rooms and quick play go elsewhere
//!   ([`Registry::drain_route`]), and its rooms move, [`MAX_PARALLEL`](crate::migration::MAX_PARALLEL) at a time.
//! - **Source**: [`Freeze`] → fenced image → `offer` → ring the target's doorbell until
//!   [`Doorbell::Adopted`] (→ [`HandOver`]) or the deadline (→ `abort`: [`Unfreeze`], or
//!   [`HandOver`] when the abort lost to an adoption). A heartbeat that reports a moving room's
//!   lease lost is an adoption too.
//! - **Target**: `registry/adopt.rs`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures_util::future::{BoxFuture, FutureExt, Shared};
use tokio::sync::oneshot;

use super::Registry;
use crate::directory::{Epoch, Node, NodeInfo};
use crate::game::Game;
use crate::migration::{Doorbell, Drain, Finished, Move, Outcome, Step, RING_EVERY};
use crate::node::Cluster;
use crate::room::{Freeze, HandOver, Unfreeze};
use crate::schedule::TickSchedule;

/// How often moves are polled (ring again, abort at the deadline) and a waiting drain retried.
const POLL_EVERY: Duration = Duration::from_millis(100);

/// Start draining this node (or join the drain under way); answers when every room has moved
/// or been left here.
#[derive(Message)]
#[rtype(result = "DrainReport")]
pub struct StartDrain;

/// How a drain ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DrainReport {
    pub moved: usize,
    /// Rooms still here: out of attempts, or no node to go to (they close at shutdown).
    pub left: usize,
}

/// The registry's migration state.
#[derive(Default)]
pub(super) struct Part {
    drain: Option<Drain>,
    waiters: Vec<oneshot::Sender<DrainReport>>,
    /// Rooms leaving this node.
    moves: HashMap<Arc<str>, Move>,
    /// Rooms this node is adopting (image read, adopt in flight; `registry/adopt.rs`).
    pub(super) adopting: HashSet<Arc<str>>,
    /// Crash recoveries in flight (`registry/recover.rs`): resumes for the room wait for it.
    pub(super) recovering: HashMap<Arc<str>, Shared<BoxFuture<'static, ()>>>,
    /// This node's cluster (the same one the registry's cluster half holds).
    pub(super) cluster: Option<Arc<Cluster>>,
    /// A read of the live nodes for the next batch is in flight.
    reading_nodes: bool,
    polling: bool,
    /// The drain's duration is observed once (later `StartDrain`s just get the report).
    drain_timed: bool,
}

impl<G: Game> Registry<G> {
    fn ensure_polling(&mut self, ctx: &mut Context<Self>) {
        if !std::mem::replace(&mut self.migration.polling, true) {
            ctx.run_interval(POLL_EVERY, |reg, ctx| reg.poll_moves(ctx));
        }
    }

    fn start_drain(&mut self, ctx: &mut Context<Self>) {
        let Some(cluster) = &self.migration.cluster else {
            return;
        };
        if self.migration.drain.is_some() {
            return;
        }
        cluster.set_draining();
        tracing::info!(
            rooms = self.rooms.len(),
            "draining: moving this node's rooms away"
        );
        // Out of placement now, not at the next heartbeat (and once more shortly, in case a
        // beat was in flight, which makes this one a no-op).
        self.beat(ctx);
        ctx.run_later(POLL_EVERY, |reg, ctx| reg.beat(ctx));
        let rooms: Vec<Arc<str>> = self.rooms.keys().cloned().collect();
        self.migration.drain = Some(Drain::new(rooms, Instant::now()));
        self.ensure_polling(ctx);
        self.pump(ctx);
    }

    /// Starts as many moves as the drain allows, once the live nodes are read.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        let Some(drain) = &self.migration.drain else {
            return;
        };
        if !drain.wants_batch() || self.migration.reading_nodes {
            return self.check_drained();
        }
        let Some(cluster) = &self.migration.cluster else {
            return;
        };
        let nodes = cluster.nodes();
        self.migration.reading_nodes = true;
        ctx.spawn(nodes.into_actor(self).map(|nodes, reg, ctx| {
            reg.migration.reading_nodes = false;
            // A directory failure: the next poll tries again.
            let Ok(nodes) = nodes else { return };
            reg.start_batch(&nodes, ctx);
        }));
    }

    fn start_batch(&mut self, nodes: &[NodeInfo], ctx: &mut Context<Self>) {
        let Some(cluster) = &self.migration.cluster else {
            return;
        };
        let me = cluster.node().id.clone();
        let rooms = &self.rooms;
        let Some(drain) = &mut self.migration.drain else {
            return;
        };
        let batch = drain.next_batch(nodes, &me, |r| {
            rooms
                .get(r)
                .filter(|e| e.epoch.is_some())
                .map(|e| e.players)
        });
        for (room, target) in batch {
            self.start_move(room, target, ctx);
        }
        self.check_drained();
    }

    fn check_drained(&mut self) {
        let Some(drain) = &mut self.migration.drain else {
            return;
        };
        if !drain.is_done() {
            return;
        }
        // A room whose claim was in flight when the drain started: it moves too (the next poll
        // starts it).
        let moves = &self.migration.moves;
        let mut late = false;
        for room in self.rooms.keys().filter(|r| !moves.contains_key(*r)) {
            late |= drain.add(room.clone());
        }
        if late || self.migration.waiters.is_empty() {
            return;
        }
        let report = DrainReport {
            moved: drain.moved,
            left: drain.left.len(),
        };
        if !std::mem::replace(&mut self.migration.drain_timed, true) {
            self.metrics
                .drain_seconds
                .observe(drain.started.elapsed().as_secs_f64());
            tracing::info!(moved = report.moved, left = report.left, "drain done");
        }
        for waiter in self.migration.waiters.drain(..) {
            let _ = waiter.send(report);
        }
    }

    /// Source: freeze `room`, write its image, offer it to `target`.
    fn start_move(&mut self, room: Arc<str>, target: Node, ctx: &mut Context<Self>) {
        let Some((addr, public, Some(epoch))) = self
            .rooms
            .get(&room)
            .map(|e| (e.addr.clone(), e.public, e.epoch))
        else {
            return self.drain_finished(&room, Finished::Gone);
        };
        let period = TickSchedule::period_for(self.config.tick_rate);
        let freeze = addr.send(Freeze { public, epoch });
        ctx.spawn(freeze.into_actor(self).map(move |frozen, reg, ctx| {
            let Ok(Ok((image, frozen_at))) = frozen else {
                // The room failed or stopped meanwhile.
                return reg.drain_finished(&room, Finished::Gone);
            };
            tracing::info!(room_id = %room, target = %target.id, %epoch, "offering a room");
            let mv = Move::new(room.clone(), epoch, target.clone(), frozen_at, period);
            reg.migration.moves.insert(room.clone(), mv);
            let Some(cluster) = reg.migration.cluster.clone() else {
                return;
            };
            let (r, to) = (room.clone(), target.id.clone());
            let offer = async move {
                let written = cluster.put_image(&r, epoch, image.encode()).await?;
                if !written {
                    return Ok(false);
                }
                cluster.offer(&r, epoch, &to).await
            };
            ctx.spawn(offer.into_actor(reg).map(move |offered, reg, ctx| {
                let now = Instant::now();
                let Some(mv) = reg.migration.moves.get_mut(&room) else {
                    return;
                };
                if matches!(offered, Ok(true)) {
                    mv.offered(now);
                    reg.poll_moves(ctx);
                } else {
                    let outcome = mv.failed(now);
                    reg.finish_move(&room, outcome, "failed", ctx);
                }
            }));
        }));
    }

    /// Every [`POLL_EVERY`]: rings, aborts at deadlines, and a drain waiting for nodes.
    fn poll_moves(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let mut steps = Vec::new();
        for (room, mv) in &mut self.migration.moves {
            match mv.poll(now) {
                Step::Wait => {}
                step => steps.push((room.clone(), mv.epoch, mv.target.id.clone(), step)),
            }
        }
        let Some(cluster) = self.migration.cluster.clone() else {
            return;
        };
        let me = cluster.node().id.clone();
        for (room, epoch, target, step) in steps {
            if step == Step::Ring {
                let ring = Doorbell::Adopt {
                    room: room.to_string(),
                    source: me.clone(),
                    epoch,
                };
                actix::spawn(cluster.notify(&target, ring.encode()).map(|_| ()));
                continue;
            }
            self.abort_move(room, epoch, ctx);
        }
        if self
            .migration
            .drain
            .as_ref()
            .is_some_and(|d| d.wants_batch())
        {
            self.pump(ctx);
        }
    }

    /// Source: the offer's deadline passed. Exactly one of this abort and the target's adopt
    /// wins; an answer that never comes (Redis down) is asked again.
    fn abort_move(&mut self, room: Arc<str>, epoch: Epoch, ctx: &mut Context<Self>) {
        let Some(cluster) = &self.migration.cluster else {
            return;
        };
        let abort = cluster.abort(&room, epoch);
        ctx.spawn(abort.into_actor(self).map(move |aborted, reg, ctx| {
            let Ok(aborted) = aborted else {
                ctx.run_later(RING_EVERY, move |reg, ctx| reg.abort_move(room, epoch, ctx));
                return;
            };
            let now = Instant::now();
            let Some(mv) = reg.migration.moves.get_mut(&room) else {
                return;
            };
            if let Some(outcome) = mv.abort_answered(aborted, now) {
                reg.finish_move(&room, outcome, "aborted", ctx);
            }
        }));
    }

    /// Source: the room was adopted (a ring back, or its lease lost while it moved).
    pub(super) fn adopted(
        &mut self,
        room: &Arc<str>,
        epoch: Option<Epoch>,
        ctx: &mut Context<Self>,
    ) -> bool {
        let now = Instant::now();
        let Some(mv) = self.migration.moves.get_mut(room) else {
            return false;
        };
        if epoch.is_some_and(|e| e != mv.epoch) {
            return false;
        }
        if let Some(outcome) = mv.adopted(now) {
            self.finish_move(room, outcome, "aborted", ctx);
        }
        true
    }

    /// Whether `room` is frozen for its move to another node.
    pub(super) fn is_moving(&self, room: &str) -> bool {
        self.migration.moves.contains_key(room)
    }

    /// A heartbeat reported `room`'s lease lost: while it moves, that is its adoption.
    pub(super) fn lost_while_moving(&mut self, room: &Arc<str>, ctx: &mut Context<Self>) -> bool {
        self.adopted(room, None, ctx)
    }

    fn finish_move(
        &mut self,
        room: &Arc<str>,
        outcome: Outcome,
        unfreeze_reason: &str,
        ctx: &mut Context<Self>,
    ) {
        let Some(mv) = self.migration.moves.remove(room) else {
            return;
        };
        match outcome {
            Outcome::HandOver {
                frozen,
                ticks_stalled,
            } => {
                self.count_move("adopted", frozen);
                self.metrics
                    .migration_ticks_stalled
                    .observe(ticks_stalled as f64);
                let Some(e) = self.rooms.remove(room) else {
                    self.drain_finished(room, Finished::Moved);
                    self.pump(ctx);
                    return;
                };
                tracing::info!(room_id = %room, target = %mv.target.id, ?frozen, ticks_stalled, "room moved");
                self.metrics.rooms.dec();
                self.resumable.retain(|_, r| r != room);
                // The move counts as done (and a drain may report, and the shutdown ring its
                // bell: 1001 for every session still here) only once the room has put the
                // redirect in each seat: a session that sees both takes the redirect.
                let handed = e.addr.send(HandOver {
                    url: mv.target.url.clone(),
                });
                let room = room.clone();
                ctx.spawn(handed.into_actor(self).map(move |_, act, ctx| {
                    act.drain_finished(&room, Finished::Moved);
                    act.pump(ctx);
                }));
                return;
            }
            Outcome::Unfreeze { frozen } => {
                self.count_move(unfreeze_reason, frozen);
                tracing::warn!(room_id = %room, target = %mv.target.id, reason = unfreeze_reason, "room move undone; the room goes on here");
                if let Some(e) = self.rooms.get(room) {
                    e.addr.do_send(Unfreeze);
                }
                self.drain_finished(room, Finished::Retry);
            }
        }
        self.pump(ctx);
    }

    fn count_move(&self, result: &str, frozen: Duration) {
        self.metrics
            .migrations_total
            .with_label_values(&[result])
            .inc();
        self.metrics
            .migration_freeze_seconds
            .observe(frozen.as_secs_f64());
    }

    fn drain_finished(&mut self, room: &Arc<str>, how: Finished) {
        if let Some(drain) = &mut self.migration.drain {
            drain.finished(room, how);
        }
        self.check_drained();
    }
}

impl<G: Game> Handler<StartDrain> for Registry<G> {
    type Result = ResponseFuture<DrainReport>;

    fn handle(&mut self, _: StartDrain, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.migration.waiters.push(tx);
        if self.cluster.is_none() {
            // A single node has nowhere to move its rooms.
            for waiter in self.migration.waiters.drain(..) {
                let _ = waiter.send(DrainReport {
                    moved: 0,
                    left: self.rooms.len(),
                });
            }
        } else {
            self.start_drain(ctx);
            self.check_drained();
        }
        Box::pin(async move { rx.await.unwrap_or_default() })
    }
}

mod route;
#[cfg(test)]
mod tests;
