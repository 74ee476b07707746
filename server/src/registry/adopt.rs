//! The registry's adopting half (cluster mode): this node's doorbell, and the adoption of a
//! room another node offers it (`shared/design/cluster.md` §6, step 5; the source half is in
//! `registry/migrate.rs`).
//!
//! On [`Doorbell::Adopt`] it reads the room's image, checks that it is the one offered (room,
//! epoch) and that it fits this node (tick rate, seats), restores the game, and only then runs
//! `adopt`, the commit point: a target that cannot start the room never takes it, so the
//! source's abort gets it back. Once adopted, the room starts here at its next tick with every
//! member's seat held and its resume token known, and the source is rung back
//! ([`Doorbell::Adopted`]). A draining node adopts nothing. Rings repeat (every 500 ms until
//! the source hears back), so a room here or being adopted ignores them.
//!
//! Talks to: the directory (through [`crate::node::Cluster`]), the new room actor.

use std::sync::Arc;

use actix::prelude::*;
use futures_util::future::FutureExt;

use super::Registry;
use crate::directory::Epoch;
use crate::game::Game;
use crate::image::RoomImage;
use crate::migration::Doorbell;
use crate::room::Room;

/// A message on this node's doorbell.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Rang(pub Vec<u8>);

impl<G: Game> Registry<G> {
    /// Listens to this node's doorbell (cluster mode).
    pub(super) fn listen_doorbell(&mut self, ctx: &mut Context<Self>) {
        let Some(cluster) = &self.migration.cluster else {
            return;
        };
        let inbox = cluster.inbox();
        let rings = futures_util::stream::unfold(inbox, |mut inbox| async move {
            inbox.recv().await.map(|m| (Rang(m), inbox))
        });
        ctx.add_stream(rings);
    }

    /// Target: `source` offers `room` at `epoch`. Ignored while draining, at the room limit, or
    /// when the room is here or being adopted already (a repeated ring).
    fn adopt(&mut self, room: String, source: String, epoch: Epoch, ctx: &mut Context<Self>) {
        let id: Arc<str> = room.into();
        let busy = self.rooms.contains_key(&id) || self.migration.adopting.contains(&id);
        let Some(cluster) = self.migration.cluster.clone() else {
            return;
        };
        if busy || cluster.is_draining() || self.rooms.len() >= self.config.max_rooms {
            return;
        }
        self.migration.adopting.insert(id.clone());
        let (config, room) = (self.config.clone(), id.clone());
        let adopt = async move {
            let bytes = cluster.image(&room).await.ok().flatten()?;
            let image = RoomImage::decode(&bytes)
                .inspect_err(
                    |e| tracing::warn!(room_id = %room, error = %e, "refusing a room image"),
                )
                .ok()?;
            let fits = image.room_id == *room
                && image.epoch == epoch
                && image.tick_rate == config.tick_rate
                && image.members.len() <= config.max_players_per_room;
            if !fits {
                tracing::warn!(room_id = %room, "refusing a room image made for another node or epoch");
                return None;
            }
            let game = G::restore(&image.game)
                .inspect_err(
                    |e| tracing::warn!(room_id = %room, error = %e, "refusing a game image"),
                )
                .ok()?;
            // The commit point.
            let adopted = cluster.adopt(&room, &source, epoch).await.ok().flatten()?;
            let back = Doorbell::Adopted {
                room: room.to_string(),
                epoch,
            };
            Some((image, game, adopted, source, back))
        };
        ctx.spawn(adopt.into_actor(self).map(move |adopted, reg, ctx| {
            reg.migration.adopting.remove(&id);
            let Some((image, game, new_epoch, source, back)) = adopted else {
                return;
            };
            reg.start_adopted(image, game, new_epoch, ctx);
            if let Some(cluster) = &reg.migration.cluster {
                actix::spawn(cluster.notify(&source, back.encode()).map(|_| ()));
            }
        }));
    }

    /// Target: the adopted room starts here at its next tick, its members' tokens resumable.
    pub(super) fn start_adopted(
        &mut self,
        image: RoomImage,
        game: G,
        epoch: Epoch,
        ctx: &mut Context<Self>,
    ) {
        let id: Arc<str> = image.room_id.as_str().into();
        tracing::info!(room_id = %id, %epoch, tick = image.tick, members = image.members.len(), "room adopted");
        for m in &image.members {
            self.resumable
                .insert(m.resume_token.as_str().into(), id.clone());
        }
        let players = image.members.len();
        let public = image.public;
        self.spawn_room(id.clone(), public, Some(epoch), None, ctx, move |env| {
            Room::restore(
                &image,
                game,
                env.config,
                env.metrics,
                env.stats,
                env.registry,
            )
        });
        if let Some(e) = self.rooms.get_mut(&id) {
            // Held seats count until their players resume or their grace runs out.
            e.players = players + 1;
        }
        // As if the last one had left, which disposes the room later when nobody is there.
        self.release(&id, ctx);
    }
}

impl<G: Game> StreamHandler<Rang> for Registry<G> {
    fn handle(&mut self, Rang(bytes): Rang, ctx: &mut Context<Self>) {
        match Doorbell::decode(&bytes) {
            Some(Doorbell::Adopt {
                room,
                source,
                epoch,
            }) => self.adopt(room, source, epoch, ctx),
            Some(Doorbell::Adopted { room, epoch }) => {
                let room: Arc<str> = room.into();
                self.adopted(&room, Some(epoch), ctx);
            }
            None => tracing::debug!("ignoring an unknown doorbell message"),
        }
    }

    /// The doorbell ends only with the directory: the registry goes on without it.
    fn finished(&mut self, _: &mut Context<Self>) {
        tracing::warn!("doorbell closed; this node adopts no more rooms");
    }
}
