//! The room's part in a live migration (rules in [`crate::migration`], wiring in the registry's
//! `registry/migrate.rs`):
//! - on the source, [`Freeze`] stops the tick loop between two ticks and answers the room's
//!   [`RoomImage`]; then either [`HandOver`] (adopted: every client is redirected to the new
//!   node, and the room stops without a `PlayerLeft`, so the resume tokens stay valid there) or
//!   [`Unfreeze`] (aborted: the room goes on at the tick it stopped at);
//! - on the target, [`Room::restore`] builds the room from an image: the game restored, the tick
//!   carried on, and every member seated with its seat held for a resume, for what is left of
//!   its grace.
//!
//! Talks to: the registry (these messages), the sessions (through their seats).

use std::time::{Duration, Instant};

use actix::prelude::*;
use tickcast_shared::Redirect;

use super::{Room, RoomError, RoomMember, RoomStats};
use crate::config::ServerConfig;
use crate::directory::Epoch;
use crate::game::Game;
use crate::image::{MemberImage, RoomImage};
use crate::members::Connection;
use crate::metrics::Metrics;
use crate::room::RoomEvent;
use crate::seat::Seat;
use crate::wake::WakeHandle;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// Stop ticking after the current tick and answer the room's image (migration, step 1).
/// The registry knows what the room does not: whether it is public, and its lease's epoch.
pub struct Freeze {
    pub public: bool,
    pub epoch: Epoch,
}

impl Message for Freeze {
    type Result = Result<(RoomImage, Instant), RoomError>;
}

/// Answer the room's image without stopping (a checkpoint).
pub struct TakeImage {
    pub public: bool,
    pub epoch: Epoch,
}

impl Message for TakeImage {
    type Result = Result<RoomImage, RoomError>;
}

/// The move was aborted: tick again from where the room stopped.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Unfreeze;

/// The room was adopted by the node at `url`: redirect every client there and stop, without
/// telling the game or the registry that anyone left (their seats are held on the new node).
/// The answer means every attached seat holds its redirect: only then may a drain report and the
/// shutdown close what is left with 1001.
#[derive(Message)]
#[rtype(result = "()")]
pub struct HandOver {
    pub url: String,
}

impl<G: Game> Room<G> {
    /// A room from `image` with `game` restored from its bytes. Its members are seated and
    /// their seats held for a resume, for what is left of their grace, once it starts.
    pub fn restore(
        image: &RoomImage,
        game: G,
        config: Arc<ServerConfig>,
        metrics: Arc<Metrics>,
        stats: Arc<RoomStats>,
        registry: Recipient<RoomEvent>,
    ) -> Self {
        let id = image.room_id.as_str().into();
        let mut room = Room::new(id, game, config, metrics, stats, registry);
        room.tick = image.tick;
        room.stats.tick.store(image.tick, Relaxed);
        for m in &image.members {
            let seat = Arc::new(Seat::new());
            seat.continue_inputs_at(m.last_input_seq);
            let conn = Connection {
                seat,
                // Nobody listens until the client resumes (its session brings its own).
                wake: WakeHandle::nobody(),
            };
            let token = m.resume_token.as_str().into();
            room.members
                .join(m.player_id, m.name.clone(), token, conn, image.tick);
            room.metrics.players.inc();
            let held = Duration::from_millis(m.held_ms.map_or(0, u64::from));
            room.migrated.insert(m.player_id, held);
        }
        room
    }

    /// Holds every restored member's seat for what is left of its resume grace (at start).
    pub(super) fn hold_migrated_seats(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let held: Vec<_> = self.migrated.iter().map(|(p, h)| (*p, *h)).collect();
        for (player_id, held) in held {
            let since = now.checked_sub(held).unwrap_or(now);
            let grace = self.config.resume_grace.saturating_sub(held);
            self.detach_since(ctx, player_id, None, since, grace);
        }
    }

    /// A restored member resumed or expired: counted once.
    pub(super) fn count_migrated(&mut self, player_id: tickcast_shared::PlayerId, outcome: &str) {
        if self.migrated.remove(&player_id).is_some() {
            self.metrics
                .migrated_players_total
                .with_label_values(&[outcome])
                .inc();
        }
    }

    fn image(&self, public: bool, epoch: Epoch) -> Result<RoomImage, RoomError> {
        let game = &self.game;
        let bytes = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| game.save()))
            .map_err(|_| RoomError::Failed)?;
        let now = Instant::now();
        let member = |m: &RoomMember<G>| MemberImage {
            player_id: m.player_id,
            name: m.name.clone(),
            resume_token: m.resume_token.to_string(),
            last_input_seq: m.seat.last_input_seq(),
            held_ms: m.held_since().map(|since| {
                let ms = now.saturating_duration_since(since).as_millis();
                u32::try_from(ms).unwrap_or(u32::MAX)
            }),
        };
        Ok(RoomImage {
            room_id: self.id.to_string(),
            public,
            epoch,
            tick: self.tick,
            tick_rate: self.config.tick_rate,
            max_players: u16::try_from(self.config.max_players_per_room).unwrap_or(u16::MAX),
            game: bytes,
            members: self.members.iter().map(member).collect(),
        })
    }
}

impl<G: Game> Handler<Freeze> for Room<G> {
    type Result = Result<(RoomImage, Instant), RoomError>;

    /// Runs between two ticks (an actor handles one message at a time), so the image is the
    /// state after the last tick.
    fn handle(&mut self, msg: Freeze, _: &mut Context<Self>) -> Self::Result {
        let image = self.image(msg.public, msg.epoch)?;
        let now = Instant::now();
        self.frozen = Some(now);
        tracing::info!(room_id = %self.id, tick = self.tick, members = image.members.len(), "room frozen for a migration");
        Ok((image, now))
    }
}

impl<G: Game> Handler<TakeImage> for Room<G> {
    type Result = Result<RoomImage, RoomError>;

    fn handle(&mut self, msg: TakeImage, _: &mut Context<Self>) -> Self::Result {
        self.image(msg.public, msg.epoch)
    }
}

impl<G: Game> Handler<Unfreeze> for Room<G> {
    type Result = ();

    fn handle(&mut self, _: Unfreeze, ctx: &mut Context<Self>) {
        if self.frozen.take().is_none() {
            return;
        }
        tracing::info!(room_id = %self.id, tick = self.tick, "migration aborted; room unfrozen");
        if std::mem::take(&mut self.parked) {
            // The next tick from now on, on a fresh phase.
            let now = Instant::now();
            self.schedule = crate::schedule::TickSchedule::new(now, self.schedule.period());
            let first = self.schedule.first();
            self.arm(ctx, first);
        }
    }
}

impl<G: Game> Handler<HandOver> for Room<G> {
    type Result = ();

    fn handle(&mut self, msg: HandOver, ctx: &mut Context<Self>) {
        tracing::info!(room_id = %self.id, url = %msg.url, members = self.members.len(), "room handed over");
        for m in self.members.drain() {
            self.metrics.players.dec();
            if m.is_attached() {
                m.seat.request_redirect(Redirect {
                    url: msg.url.clone(),
                    room_id: self.id.to_string(),
                });
                let _ = m.wake.wake();
            }
        }
        ctx.stop();
    }
}
