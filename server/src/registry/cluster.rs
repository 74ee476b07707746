//! The registry's cluster half (only with a [`Cluster`], `--redis-url`): claims before creating,
//! redirects, lease releases and the heartbeat that keeps this node's rooms leased.
//!
//! Why the registry and not a separate actor: it is the one place that knows which rooms this
//! node runs, so claiming, creating and stopping a room stay one step of one actor, and a join
//! never sees a room that is half created or half stopped. Directory calls are futures spawned
//! into the registry's context: other joins go on while Redis answers.
//!
//! The rules:
//! - a named room that is not here is claimed first; joins for the same room that arrive while
//!   its claim is in flight wait for that one claim (one room, one claim, one epoch);
//!   `OwnedBy(other)` answers [`JoinError::Redirect`] to the owner's URL;
//! - quick play asks the directory for a seat (`Cluster::matchmake`, rules in
//!   `directory/seats.rs`): the fullest public room with space in the cluster, counting the
//!   seats promised to quick plays still on their way (this node's rooms counted from its own
//!   seats), redirecting when it is on another node; with none, a new public room on the
//!   least-loaded node: here by a claim, elsewhere by a redirect under a fresh quick-play id,
//!   which the target opens as public on its claim;
//! - a join naming a public room of this node that is full (a matchmaking answer that another
//!   join beat to the last seat) is played as a quick play instead of refused with 4001;
//! - a resume token unknown here, naming a room another node owns, is redirected there;
//! - a disposed room's lease is released; a room whose lease the heartbeat reports lost is
//!   stopped at once (its players get 1001, "room closed": they rejoin through the entry URL);
//! - a directory failure never stops a room: joins that need the directory answer
//!   [`JoinError::DirectoryUnavailable`], and the next heartbeat tries again.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use futures_util::future::{BoxFuture, FutureExt, Shared};

use super::{is_public_id, Entry, JoinError, JoinFuture, JoinRoom, Registry};
use crate::directory::{Claim, DirectoryError, Epoch, Lease, Placement};
use crate::game::Game;
use crate::node::Cluster;
use crate::room_creation::RoomKind;

/// How long a shutting-down node waits for its leases to be released before it gives up (they
/// expire by themselves after the lease TTL anyway).
pub(super) const RELEASE_ON_SHUTDOWN: Duration = Duration::from_secs(1);

/// A claim in flight, shared by every join waiting for that room. `None`: the directory failed.
type SharedClaim = Shared<BoxFuture<'static, Option<Claim>>>;

/// The registry's cluster state.
pub(super) struct Part {
    cluster: Arc<Cluster>,
    claiming: HashMap<Arc<str>, SharedClaim>,
    /// A heartbeat is in flight: a slow Redis never piles them up.
    beating: bool,
}

impl Part {
    pub(super) fn new(cluster: Arc<Cluster>) -> Self {
        Part {
            cluster,
            claiming: HashMap::new(),
            beating: false,
        }
    }
}

impl<G: Game> Registry<G> {
    fn part(&mut self) -> &mut Part {
        self.cluster
            .as_mut()
            .expect("cluster paths should run only on a cluster node")
    }

    pub(super) fn join_in_cluster(
        &mut self,
        msg: JoinRoom<G>,
        _: &mut Context<Self>,
    ) -> JoinFuture<G> {
        let Some(name) = msg.room.clone() else {
            return self.quick_play(msg);
        };
        let id: Arc<str> = name.into();
        if let Some(e) = self.rooms.get(&id) {
            if e.public && e.players >= self.config.max_players_per_room {
                // A matchmaking answer that another join beat to the last seat: the player
                // wanted any public room, so find it one rather than refusing it.
                tracing::debug!(room_id = %id, "public room full: quick play instead");
                return self.quick_play(msg);
            }
            return self.seat(id, msg);
        }
        if self.rooms.len() >= self.config.max_rooms {
            return Box::pin(fut::ready(Err(JoinError::ServerFull)));
        }
        // A quick-play id is a room opened here by matchmaking (`quick_play_at`): it opens
        // public.
        let public = is_public_id(&id);
        self.claim_then_seat(id, public, msg)
    }

    /// Quick play: a seat promised by the directory (`Cluster::matchmake`), with this node's
    /// rooms counted from its own seats.
    fn quick_play(&mut self, msg: JoinRoom<G>) -> JoinFuture<G> {
        let (fresh, local) = (self.new_public_id(), self.summaries());
        let capacity = self.config.max_players_per_room;
        let ask = self.part().cluster.matchmake(&fresh, capacity, Some(local));
        Box::pin(
            ask.into_actor(self)
                .then(move |placed, reg, _| reg.quick_play_at(placed, msg)),
        )
    }

    /// Seats a quick play where the directory placed it: here (in a room that exists, or a
    /// fresh one claimed now), or by a redirect to the node that runs (or is to open) the room.
    fn quick_play_at(
        &mut self,
        placed: Result<Option<Placement>, DirectoryError>,
        msg: JoinRoom<G>,
    ) -> JoinFuture<G> {
        let me = self.part().cluster.node().id.clone();
        match placed {
            Ok(Some(p)) if p.node.node.id != me => {
                let reason = if p.opened { "placement" } else { "quick_play" };
                self.redirect(reason, p.node.node.url, p.room)
            }
            Ok(Some(p)) if self.rooms.contains_key(p.room.as_str()) => {
                self.seat(p.room.into(), msg)
            }
            _ if self.rooms.len() >= self.config.max_rooms => {
                Box::pin(fut::ready(Err(JoinError::ServerFull)))
            }
            // Placed here, or no node takes new rooms yet (this node's first heartbeat is
            // still on its way): a new public room here.
            Ok(placed) => {
                let id = placed.map_or_else(|| self.new_public_id(), |p| p.room.into());
                self.claim_then_seat(id, true, msg)
            }
            Err(_) => Box::pin(fut::ready(Err(JoinError::DirectoryUnavailable))),
        }
    }

    fn redirect(&self, reason: &str, url: String, room: String) -> JoinFuture<G> {
        self.metrics
            .redirects_total
            .with_label_values(&[reason])
            .inc();
        tracing::debug!(room_id = %room, %url, reason, "redirecting a join");
        Box::pin(fut::ready(Err(JoinError::Redirect { url, room })))
    }

    /// Claims `id` (or waits for the claim already in flight), creates the room if this node
    /// got it, then seats the player.
    fn claim_then_seat(&mut self, id: Arc<str>, public: bool, msg: JoinRoom<G>) -> JoinFuture<G> {
        let Part {
            cluster, claiming, ..
        } = self.part();
        let claim = claiming
            .entry(id.clone())
            .or_insert_with(|| cluster.claim(&id).map(Result::ok).boxed().shared())
            .clone();
        let client = msg.client;
        Box::pin(claim.into_actor(self).then(move |claim, reg, ctx| {
            match reg.claimed(&id, public, client, msg.home.as_ref(), claim, ctx) {
                Ok(()) => reg.seat(id, msg),
                Err(e) => Box::pin(fut::ready(Err(e))),
            }
        }))
    }

    /// Applies a claim's answer: `Ok` once room `id` exists here. Creating it is charged to
    /// `client` (see `registry/creation.rs`) only now: joining a room another node owns is not.
    fn claimed(
        &mut self,
        id: &Arc<str>,
        public: bool,
        client: Option<IpAddr>,
        home: Option<&ArbiterHandle>,
        claim: Option<Claim>,
        ctx: &mut Context<Self>,
    ) -> Result<(), JoinError> {
        let cluster = self.part().cluster.clone();
        self.part().claiming.remove(id);
        if self.rooms.contains_key(id) {
            // Created by a join that shared this claim.
            return Ok(());
        }
        match claim {
            None => Err(JoinError::DirectoryUnavailable),
            Some(Claim::Owned { epoch }) => {
                if let Err(refused) = self.admit_creation(RoomKind::of(public), client) {
                    actix::spawn(release(&cluster, id, epoch));
                    return Err(refused);
                }
                tracing::info!(room_id = %id, %epoch, public, "room claimed");
                self.create(id.clone(), public, Some(epoch), home, ctx);
                Ok(())
            }
            Some(Claim::OwnedBy(owner)) if owner.node.id == cluster.node().id => {
                // A lease from an earlier life of this node id (or a release still in flight):
                // give it up; the client's retry claims afresh.
                tracing::warn!(room_id = %id, epoch = %owner.epoch, "releasing a stale lease of this node id");
                actix::spawn(release(&cluster, id, owner.epoch));
                Err(JoinError::RoomFailed)
            }
            Some(Claim::OwnedBy(owner)) => {
                let reason = if public { "quick_play" } else { "owner" };
                self.metrics
                    .redirects_total
                    .with_label_values(&[reason])
                    .inc();
                Err(JoinError::Redirect {
                    url: owner.node.url,
                    room: id.to_string(),
                })
            }
        }
    }

    /// A resume token this node does not know: when `room` is owned by another node, the seat
    /// may be there.
    pub(super) fn resume_elsewhere(&mut self, room: Option<String>) -> JoinFuture<G> {
        let (Some(part), Some(room)) = (self.cluster.as_ref(), room) else {
            return Box::pin(fut::ready(Err(JoinError::ResumeRefused)));
        };
        let me = part.cluster.node().id.clone();
        Box::pin(
            part.cluster
                .owner(&room)
                .into_actor(self)
                .map(move |owner, reg, _| match owner {
                    Ok(Some(owner)) if owner.node.id != me => {
                        reg.metrics
                            .redirects_total
                            .with_label_values(&["resume"])
                            .inc();
                        Err(JoinError::Redirect {
                            url: owner.node.url,
                            room,
                        })
                    }
                    Ok(_) => Err(JoinError::ResumeRefused),
                    Err(_) => Err(JoinError::DirectoryUnavailable),
                }),
        )
    }

    /// The release of a disposed room's lease, if this is a cluster node.
    pub(super) fn release_lease(&self, e: &Entry<G>) -> Option<BoxFuture<'static, ()>> {
        let (part, epoch) = (self.cluster.as_ref()?, e.epoch?);
        Some(release(&part.cluster, &e.id, epoch).boxed())
    }

    /// Heartbeats now and every third of the lease TTL.
    pub(super) fn start_heartbeat(&mut self, ctx: &mut Context<Self>) {
        let Some(part) = &self.cluster else { return };
        let every = part.cluster.heartbeat_interval();
        self.beat(ctx);
        ctx.run_interval(every, |reg, ctx| reg.beat(ctx));
    }

    pub(super) fn beat(&mut self, ctx: &mut Context<Self>) {
        let rooms = self.summaries();
        let leases: Vec<Lease> = self
            .rooms
            .values()
            .filter_map(|e| {
                Some(Lease {
                    room: e.id.clone(),
                    epoch: e.epoch?,
                })
            })
            .collect();
        let part = self.part();
        if part.beating {
            return;
        }
        part.beating = true;
        let sent: HashMap<Arc<str>, Epoch> =
            leases.iter().map(|l| (l.room.clone(), l.epoch)).collect();
        let beat = part.cluster.heartbeat(rooms, leases);
        ctx.spawn(beat.into_actor(self).map(move |res, reg, ctx| {
            reg.part().beating = false;
            // A failure is logged and counted by `Cluster`; the next beat retries.
            for room in res.unwrap_or_default() {
                // A moving room's lease is lost to its adoption (`registry/migrate.rs`).
                if reg.lost_while_moving(&room, ctx) {
                    continue;
                }
                reg.lose(&room, sent.get(&room).copied());
            }
        }));
    }

    /// Stops room `id`, whose lease at `epoch` is lost: another node may run it now.
    fn lose(&mut self, id: &Arc<str>, epoch: Option<Epoch>) {
        if self.rooms.get(id).is_none_or(|e| e.epoch != epoch) {
            // Gone already, or created again since under a new lease.
            return;
        }
        let Some(e) = self.rooms.remove(id) else {
            return;
        };
        tracing::warn!(room_id = %id, epoch = ?epoch, players = e.players, "room lease lost: stopping the room");
        self.metrics.lease_lost_total.inc();
        self.metrics.rooms.dec();
        self.resumable.retain(|_, room| room != id);
        e.addr.do_send(crate::room::Dispose);
    }
}

/// Releases this node's lease on `room` at `epoch`, ignoring the answer (a lease not released
/// expires by itself).
fn release(cluster: &Cluster, room: &str, epoch: Epoch) -> impl std::future::Future<Output = ()> {
    let release = cluster.release(room, epoch);
    async move {
        let _ = release.await;
    }
}

#[cfg(test)]
mod tests;
