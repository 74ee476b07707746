//! Who sits in a room: joins, leaves, lost connections held for a resume, and resumes. The
//! bookkeeping is [`crate::members`] (pure); this wires it to the game and the registry.
//!
//! Talks to: the registry (it asks to add, remove, detach and reattach players; it hears who
//! left) and the room's game (joined, left, connection lost or back).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use actix::prelude::*;
use tickcast_shared::close::Close;
use tickcast_shared::PlayerId;

use super::{
    AddPlayer, Admitted, DetachPlayer, Reattach, RemovePlayer, Room, RoomError, RoomEvent,
    RoomMember,
};
use crate::game::Game;
use crate::inputs::release_controls;
use crate::members::{Connection, Resumed};

impl<G: Game> Room<G> {
    /// Keeps the player in the game with its seat held for the resume grace period, then removes
    /// it unless a new connection has taken the seat back. `seat_id`: only if it is still the
    /// player's current connection.
    pub(super) fn detach(
        &mut self,
        ctx: &mut Context<Self>,
        player_id: PlayerId,
        seat_id: Option<u64>,
    ) {
        let grace = self.config.resume_grace;
        self.detach_since(ctx, player_id, seat_id, Instant::now(), grace);
    }

    /// [`Room::detach`] of a seat held since `since`, for `grace` more (a migrated member's
    /// grace goes on from what the old node had used of it).
    pub(super) fn detach_since(
        &mut self,
        ctx: &mut Context<Self>,
        player_id: PlayerId,
        seat_id: Option<u64>,
        since: Instant,
        grace: Duration,
    ) {
        let Some(m) = self.members.detach(player_id, seat_id, since) else {
            return;
        };
        tracing::info!(room_id = %self.id, %player_id, "connection lost; seat held for a resume");
        // Let go of the controls: a disconnected player should not keep running.
        let (game, buf) = (&mut self.game, &mut self.input_buf);
        let released = catch_unwind(AssertUnwindSafe(|| {
            release_controls(game, player_id, &m.seat, buf)
        }));
        self.input_buf.clear();
        if released.is_err() {
            tracing::error!(room_id = %self.id, %player_id, "game panicked applying a neutral input");
        }
        self.mark_held(player_id, true);
        ctx.run_later(grace, move |room, _| {
            if let Some(m) = room.members.expire(player_id, since) {
                tracing::info!(room_id = %room.id, %player_id, "resume grace over; player left");
                room.count_migrated(player_id, "grace_expired");
                room.remove_member(m);
            }
        });
    }

    /// Tells the game whether `player_id`'s seat is held (its snapshots show it).
    pub(super) fn mark_held(&mut self, player_id: PlayerId, held: bool) {
        let game = &mut self.game;
        let marked = catch_unwind(AssertUnwindSafe(|| game.player_connection(player_id, held)));
        if marked.is_err() {
            tracing::error!(room_id = %self.id, %player_id, "game panicked in player_connection");
        }
    }

    /// The game and the registry learn that the player left for good.
    pub(super) fn remove_member(&mut self, m: RoomMember<G>) {
        self.metrics.players.dec();
        let left = catch_unwind(AssertUnwindSafe(|| self.game.player_left(m.player_id)));
        if left.is_err() {
            tracing::error!(room_id = %self.id, "game panicked in player_left");
        }
        self.registry.do_send(RoomEvent::PlayerLeft {
            room_id: self.id.clone(),
            resume_token: m.resume_token,
        });
    }

    /// What a join or resume answers.
    fn admitted(&self, info: G::Info) -> Admitted<G::Info> {
        Admitted {
            tick: self.tick,
            tick_rate: self.config.tick_rate,
            max_players: self.config.max_players_per_room.min(u16::MAX as usize) as u16,
            info,
        }
    }
}

impl<G: Game> Handler<AddPlayer<G>> for Room<G> {
    type Result = Result<Admitted<G::Info>, RoomError>;

    fn handle(&mut self, msg: AddPlayer<G>, ctx: &mut Context<Self>) -> Self::Result {
        if self.members.is_full() {
            return Err(RoomError::Full);
        }
        let joined = catch_unwind(AssertUnwindSafe(|| {
            self.game.player_joined(msg.player_id, &msg.name);
            self.game.info()
        }));
        let info = match joined {
            Ok(info) => info,
            Err(panic) => {
                self.fail(ctx, panic);
                return Err(RoomError::Failed);
            }
        };
        tracing::info!(room_id = %self.id, player_id = %msg.player_id, name = %msg.name, "player joined");
        self.metrics.players.inc();
        let conn = Connection {
            seat: msg.seat,
            wake: msg.wake,
        };
        self.members
            .join(msg.player_id, msg.name, msg.resume_token, conn, self.tick);
        Ok(self.admitted(info))
    }
}

impl<G: Game> Handler<RemovePlayer> for Room<G> {
    type Result = ();

    fn handle(&mut self, msg: RemovePlayer, _: &mut Context<Self>) {
        if let Some(m) = self.members.remove(msg.player_id, msg.seat_id) {
            tracing::info!(room_id = %self.id, player_id = %m.player_id, "player left");
            self.remove_member(m);
        }
    }
}

impl<G: Game> Handler<DetachPlayer> for Room<G> {
    type Result = ();

    fn handle(&mut self, msg: DetachPlayer, ctx: &mut Context<Self>) {
        self.detach(ctx, msg.player_id, Some(msg.seat_id));
    }
}

impl<G: Game> Handler<Reattach<G>> for Room<G> {
    type Result = Result<(PlayerId, Admitted<G::Info>), RoomError>;

    fn handle(&mut self, msg: Reattach<G>, _: &mut Context<Self>) -> Self::Result {
        let conn = Connection {
            seat: msg.seat,
            wake: msg.wake,
        };
        let Resumed {
            player_id,
            replaced,
        } = self
            .members
            .resume(&msg.resume_token, conn, self.tick)
            .ok_or(RoomError::UnknownToken)?;
        // The old connection may not have noticed it is gone yet: close it, it is replaced.
        if let Some(old) = replaced {
            old.seat.request_close(Close::Replaced);
            let _ = old.wake.wake();
        }
        tracing::info!(room_id = %self.id, %player_id, "player resumed");
        self.count_migrated(player_id, "resumed");
        self.mark_held(player_id, false);
        let info =
            catch_unwind(AssertUnwindSafe(|| self.game.info())).map_err(|_| RoomError::Failed)?;
        Ok((player_id, self.admitted(info)))
    }
}
