//! Opt-in crash recovery (`--checkpoint-interval`; `shared/design/cluster.md` §7): every room
//! writes its image to Redis each interval, fenced at its epoch (the `image` script: a stale
//! owner cannot overwrite a newer owner's image), and when a node dies, the first resume for one
//! of its rooms that reaches a live node restores the room there from its last image.
//!
//! A resume this node cannot place (its token is unknown here) for a room:
//! - owned by another node → redirected there, as without checkpoints;
//! - owned by nobody (its node died and its lease ran out) with an image → this node claims the
//!   room (a new epoch), restores it with every member's seat held, and resumes the player; the
//!   other members' resumes follow (they wait for a recovery in flight rather than start a second
//!   one, and another node's claim loses to this one's and redirects here);
//! - owned by nobody without an image → refused (4005), as without checkpoints.
//!
//! The rollback is at most one interval plus the write: whatever the room did after its last
//! image is lost, and its players go on from that state.
//!
//! Talks to: the directory (through [`crate::node::Cluster`]), the rooms ([`TakeImage`]).

use std::sync::Arc;

use actix::prelude::*;
use futures_util::future::FutureExt;
use tokio::sync::oneshot;

use super::{JoinError, JoinFuture, Registry, ResumeRoom};
use crate::directory::{Claim, Epoch};
use crate::game::Game;
use crate::image::RoomImage;
use crate::room::TakeImage;

/// What a recovery attempt found.
enum Recovery<G> {
    /// Claimed here under `Epoch`, with the room's last image and its game restored.
    Restored(RoomImage, G, Epoch),
    /// Another node owns the room (at this URL).
    Elsewhere(String),
    /// The directory could not be reached.
    Unavailable,
    /// No image to recover from (or one this node cannot run).
    Nothing,
}

impl<G: Game> Registry<G> {
    pub(super) fn checkpoints_on(&self) -> bool {
        self.config
            .cluster
            .as_ref()
            .is_some_and(|c| c.checkpoint_interval.is_some())
    }

    /// Writes every room's image each `--checkpoint-interval` (cluster mode, when set).
    pub(super) fn start_checkpoints(&mut self, ctx: &mut Context<Self>) {
        let every = self
            .config
            .cluster
            .as_ref()
            .and_then(|c| c.checkpoint_interval);
        if let (Some(every), Some(_)) = (every, &self.migration.cluster) {
            ctx.run_interval(every, |reg, _| reg.checkpoint());
        }
    }

    fn checkpoint(&mut self) {
        let Some(cluster) = &self.migration.cluster else {
            return;
        };
        for e in self.rooms.values() {
            // A moving room's image is the migration's.
            let Some(epoch) = e.epoch.filter(|_| !self.is_moving(&e.id)) else {
                continue;
            };
            let take = e.addr.send(TakeImage {
                public: e.public,
                epoch,
            });
            let (room, cluster, metrics) = (e.id.clone(), cluster.clone(), self.metrics.clone());
            actix::spawn(async move {
                let Ok(Ok(image)) = take.await else { return };
                let bytes = image.encode();
                let len = bytes.len() as u64;
                if let Ok(true) = cluster.put_image(&room, epoch, bytes).await {
                    metrics.checkpoint_bytes_total.inc_by(len);
                }
            });
        }
    }

    /// A resume whose token is unknown here, with checkpoints on (see the module docs).
    pub(super) fn resume_or_recover(
        &mut self,
        msg: ResumeRoom<G>,
        _: &mut Context<Self>,
    ) -> JoinFuture<G> {
        if self.resumable.contains_key(&msg.resume_token) {
            return self.resume_here(msg);
        }
        let (Some(room), Some(cluster)) = (msg.room.clone(), self.migration.cluster.clone()) else {
            return Box::pin(fut::ready(Err(JoinError::ResumeRefused)));
        };
        let id: Arc<str> = room.as_str().into();
        if let Some(done) = self.migration.recovering.get(&id) {
            let done = done.clone();
            // Then as if it had come after: resumed here, redirected, or a recovery of its own.
            return Box::pin(
                done.into_actor(self)
                    .then(|_, reg, ctx| reg.resume_or_recover(msg, ctx)),
            );
        }
        if self.rooms.contains_key(&id) {
            return self.resume_here(msg);
        }
        let (done_tx, done_rx) = oneshot::channel::<()>();
        let done = done_rx.map(|_| ()).boxed().shared();
        self.migration.recovering.insert(id.clone(), done);
        let (config, me, r) = (self.config.clone(), cluster.node().id.clone(), id.clone());
        let recover = async move {
            match cluster.owner(&r).await {
                Ok(Some(owner)) if owner.node.id != me => {
                    return Recovery::Elsewhere(owner.node.url)
                }
                Ok(Some(_)) => return Recovery::Nothing,
                Err(_) => return Recovery::Unavailable,
                Ok(None) => {}
            }
            let Ok(Some(bytes)) = cluster.image(&r).await else {
                return Recovery::Nothing;
            };
            let image = match RoomImage::decode(&bytes) {
                Ok(i) if i.room_id == *r && i.tick_rate == config.tick_rate => i,
                _ => return Recovery::Nothing,
            };
            if image.members.len() > config.max_players_per_room {
                return Recovery::Nothing;
            }
            let Ok(game) = G::restore(&image.game) else {
                return Recovery::Nothing;
            };
            match cluster.claim(&r).await {
                Ok(Claim::Owned { epoch }) => Recovery::Restored(image, game, epoch),
                Ok(Claim::OwnedBy(o)) if o.node.id != me => Recovery::Elsewhere(o.node.url),
                Ok(Claim::OwnedBy(_)) => Recovery::Nothing,
                Err(_) => Recovery::Unavailable,
            }
        };
        Box::pin(recover.into_actor(self).then(move |recovery, reg, ctx| {
            reg.migration.recovering.remove(&id);
            // Resumes waiting for this recovery go on after this one (the actor runs them next).
            drop(done_tx);
            let refusal = match recovery {
                Recovery::Restored(image, game, epoch) => {
                    tracing::info!(room_id = %id, %epoch, tick = image.tick, "room recovered from its checkpoint");
                    reg.metrics.rooms_recovered_total.inc();
                    reg.start_adopted(image, game, epoch, ctx);
                    return reg.resume_here(msg);
                }
                Recovery::Elsewhere(url) => {
                    reg.metrics
                        .redirects_total
                        .with_label_values(&["resume"])
                        .inc();
                    JoinError::Redirect { url, room }
                }
                Recovery::Unavailable => JoinError::DirectoryUnavailable,
                Recovery::Nothing => JoinError::ResumeRefused,
            };
            Box::pin(fut::ready(Err(refusal)))
        }))
    }
}
