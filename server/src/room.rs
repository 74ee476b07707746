//! The room actor: owns one [`Game`] instance and runs its fixed-tick loop.
//!
//! Per tick it drains each seat's queued inputs into the game, steps it, encodes **one**
//! MessagePack snapshot, and offers the same `Bytes` to every seat (latest wins, see
//! [`crate::seat`]), waking each session with a `try_send` on the one `Recipient` it stored.
//! It never `do_send`s to sessions and never clones a recipient per send.
//!
//! Delta clients (`Join.deltas`) get the tick's state as a patch against the baseline they last
//! acknowledged, from a window of recent replicated states ([`History`]). Seats that share a
//! baseline share one encoding: a tick costs one encoding per *distinct* baseline, not one per
//! session (acks arrive a tick or two behind: about 1.3 encodings per tick for rooms of 16 at
//! 1,000 bots, BENCHMARKS.md). A delta client with too much unacknowledged is held (ack clocking,
//! below).
//!
//! Talks to: sessions (through seats and wakes), the registry (player left, room failed).
//! A panic in the game's code is caught here: the room closes its sessions with 1011, tells the
//! registry, and stops — other rooms, on their own actors, keep ticking.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use actix_web_actors::ws::{CloseCode, CloseReason};
use bytes::Bytes;
use tickcast_shared::delta::{Diffable, History};
use tickcast_shared::{
    close, encode_into, DeltaSnapshot, EncodeError, PlayerId, ServerMsg, Snapshot,
};

use crate::config::ServerConfig;
use crate::game::Game;
use crate::metrics::Metrics;
use crate::schedule::TickSchedule;
use crate::seat::{Seat, SeatStats};
use crate::session::Wake;

// ---- messages the room handles ----

/// Seat a player (sent by the registry after it reserved the seat).
pub struct AddPlayer<G: Game> {
    pub player_id: PlayerId,
    pub name: String,
    /// The token that lets this player's next connection take the seat back (see [`Reattach`]).
    pub resume_token: Arc<str>,
    pub seat: Arc<Seat<G::Input>>,
    /// The session's wake-up recipient; the room keeps this one and never clones it.
    pub wake: Recipient<Wake>,
}

impl<G: Game> Message for AddPlayer<G> {
    type Result = Result<Admitted<G::Info>, RoomError>;
}

/// A player's connection dropped without a close (reset, timeout …): keep the player in the game
/// and the seat held for the resume grace period, then remove it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct DetachPlayer {
    pub player_id: PlayerId,
    /// [`Seat::id`] of the lost connection.
    pub seat_id: u64,
}

/// A new connection presents a resume token: give it the detached player back.
pub struct Reattach<G: Game> {
    pub resume_token: Arc<str>,
    pub seat: Arc<Seat<G::Input>>,
    pub wake: Recipient<Wake>,
}

impl<G: Game> Message for Reattach<G> {
    type Result = Result<(PlayerId, Admitted<G::Info>), RoomError>;
}

/// What a session needs for its Welcome.
#[derive(Debug, Clone)]
pub struct Admitted<I> {
    pub tick: u64,
    pub tick_rate: u16,
    pub max_players: u16,
    pub info: I,
}

/// Why the room refused a player.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    #[error("the room is full")]
    Full,
    #[error("the room has failed")]
    Failed,
    #[error("unknown or expired resume token")]
    UnknownToken,
}

/// A player's session ended (any kind of disconnect).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RemovePlayer {
    pub player_id: PlayerId,
    /// [`Seat::id`] of the leaving connection: a resumed player's old connection must not
    /// remove it.
    pub seat_id: u64,
}

/// Stop the room (it is empty and its grace period is over).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Dispose;

/// Per-player detail for `GET /rooms/{id}`.
#[derive(Message)]
#[rtype(result = "RoomDetail")]
pub struct Inspect;

#[derive(Debug, Clone, serde::Serialize)]
pub struct RoomDetail {
    pub id: String,
    pub tick: u64,
    /// Snapshots encoded in the last tick (full, plus one per distinct delta baseline) …
    pub last_tick_encodings: usize,
    /// … and sessions that were offered one.
    pub last_tick_offers: usize,
    /// States kept as delta baselines.
    pub baselines_held: usize,
    pub players: Vec<PlayerDetail>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PlayerDetail {
    pub id: PlayerId,
    pub name: String,
    #[serde(flatten)]
    pub stats: SeatStats,
}

/// What the room tells the registry.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub enum RoomEvent {
    PlayerLeft {
        room_id: Arc<str>,
        resume_token: Arc<str>,
    },
    Failed {
        room_id: Arc<str>,
    },
}

// ---- the actor ----

/// Numbers the registry reads without a message (for `GET /rooms`).
#[derive(Debug, Default)]
pub struct RoomStats {
    pub tick: AtomicU64,
}

struct Member<I> {
    player_id: PlayerId,
    name: String,
    resume_token: Arc<str>,
    seat: Arc<Seat<I>>,
    wake: Recipient<Wake>,
    /// Set while the player's connection is gone and its seat is held for a resume.
    detached_since: Option<Instant>,
    /// The last input seq applied for this player.
    last_seq: u32,
    /// The room's tick when this connection joined (or resumed): until its first ack, any
    /// state since then may become its baseline.
    joined_tick: u64,
}

/// What a room sends, for game `G`.
type Msg<G> =
    ServerMsg<<G as Game>::State, <G as Game>::Info, <<G as Game>::Frame as Diffable>::Patch>;

pub struct Room<G: Game> {
    id: Arc<str>,
    game: G,
    members: Vec<Member<G::Input>>,
    tick: u64,
    schedule: TickSchedule,
    dt: f32,
    stall_ticks: u64,
    /// Ack clocking: unacknowledged ticks a delta client may have in flight (0 = off) …
    max_unacked_ticks: u64,
    /// … while its ack is at most this old (a client that stopped acking is not held).
    ack_clock_span: u64,
    config: Arc<ServerConfig>,
    metrics: Arc<Metrics>,
    stats: Arc<RoomStats>,
    registry: Recipient<RoomEvent>,
    encode_buf: Vec<u8>,
    input_buf: Vec<(u32, G::Input)>,
    /// Recent replicated states, the baselines of delta clients.
    history: History<G::Frame>,
    /// This tick's state until the full snapshot is encoded, and that encoding.
    state: Option<G::State>,
    full: Option<Bytes>,
    /// This tick's delta encodings, one per baseline tick (0 = against the empty state).
    deltas: Vec<(u64, Bytes)>,
    /// When this tick was stepped (ms since the epoch).
    time_ms: u64,
    last_tick_offers: usize,
}

impl<G: Game> Room<G> {
    pub fn new(
        id: Arc<str>,
        game: G,
        config: Arc<ServerConfig>,
        metrics: Arc<Metrics>,
        stats: Arc<RoomStats>,
        registry: Recipient<RoomEvent>,
    ) -> Self {
        let period = TickSchedule::period_for(config.tick_rate);
        let stall_ticks = (config.stall_timeout.as_secs_f64() / period.as_secs_f64()).ceil() as u64;
        let window = config.delta_window.min(tickcast_shared::delta::MAX_WINDOW);
        Room {
            id,
            game,
            members: Vec::new(),
            tick: 0,
            schedule: TickSchedule::new(Instant::now(), period),
            dt: period.as_secs_f32(),
            stall_ticks: stall_ticks.max(1),
            max_unacked_ticks: (config.delta_ack_lag.as_secs_f64() / period.as_secs_f64()).ceil()
                as u64,
            ack_clock_span: (window as u64).min(stall_ticks / 2),
            metrics,
            stats,
            registry,
            encode_buf: Vec::with_capacity(1024),
            input_buf: Vec::new(),
            history: History::new(window),
            state: None,
            full: None,
            deltas: Vec::new(),
            time_ms: 0,
            last_tick_offers: 0,
            config,
        }
    }

    fn arm(&mut self, ctx: &mut Context<Self>, deadline: Instant) {
        let wait = deadline.saturating_duration_since(Instant::now());
        ctx.run_later(wait, |room, ctx| room.tick(ctx));
    }

    /// One tick: inputs → step → encode once (per baseline) → offer to every seat.
    fn tick(&mut self, ctx: &mut Context<Self>) {
        let started = Instant::now();
        let replicate = self.config.delta_window > 0
            && self
                .members
                .iter()
                .any(|m| m.detached_since.is_none() && m.seat.deltas());
        let stepped = catch_unwind(AssertUnwindSafe(|| {
            for m in &mut self.members {
                m.seat.drain_inputs(&mut self.input_buf);
                for (seq, input) in self.input_buf.drain(..) {
                    self.game.apply_input(m.player_id, seq, &input);
                    m.last_seq = seq;
                }
            }
            self.game.step(self.dt);
            let state = self.game.snapshot();
            let frame = replicate.then(|| G::replicate(&state));
            (state, frame)
        }));
        let (state, frame) = match stepped {
            Ok(stepped) => stepped,
            Err(panic) => return self.fail(ctx, panic),
        };
        self.tick += 1;
        self.stats.tick.store(self.tick, Relaxed);
        self.metrics.ticks_total.inc();
        self.time_ms = now_ms();
        if let Some(frame) = frame {
            self.history.push(self.tick, frame);
            self.forget_unneeded_baselines();
        }
        self.state = Some(state);
        self.full = None;
        self.deltas.clear();
        if let Err(e) = self.fan_out(ctx) {
            tracing::error!(room_id = %self.id, error = %e, "snapshot encoding failed");
            return self.fail(ctx, Box::new("snapshot encoding failed"));
        }
        self.state = None;

        self.metrics
            .tick_duration_seconds
            .observe(started.elapsed().as_secs_f64());
        let (deadline, skipped) = self.schedule.advance(Instant::now());
        if skipped > 0 {
            self.metrics.tick_overruns_total.inc_by(skipped);
            tracing::warn!(room_id = %self.id, skipped, "tick overran its budget");
        }
        self.arm(ctx, deadline);
    }

    /// Drops the states no delta client can acknowledge any more: those older than every
    /// client's ack (or, before its first ack, its join). Acks only move forward, so the window
    /// then holds only what the clients' ack lag needs — a few ticks, not the whole window — and
    /// a pruned state could only have been the baseline of a full patch anyway.
    fn forget_unneeded_baselines(&mut self) {
        let floor = self
            .members
            .iter()
            .filter(|m| m.detached_since.is_none() && m.seat.deltas())
            .map(|m| match m.seat.acked_tick() {
                0 => m.joined_tick,
                acked => acked,
            })
            .min();
        if let Some(floor) = floor {
            self.history.forget_before(floor);
        }
    }

    /// The full snapshot of this tick, encoded at most once.
    fn full_snapshot(&mut self) -> Result<Bytes, EncodeError> {
        if let Some(bytes) = &self.full {
            return Ok(bytes.clone());
        }
        let state = self
            .state
            .take()
            .expect("the tick's state should be kept until its full snapshot is encoded");
        let msg: Msg<G> = ServerMsg::Snapshot(Snapshot {
            tick: self.tick,
            server_time_ms: self.time_ms,
            state,
        });
        let bytes = self.encode(&msg, "full")?;
        self.full = Some(bytes.clone());
        Ok(bytes)
    }

    /// This tick's delta for a client that acknowledged `acked`, encoded once per baseline.
    fn delta_snapshot(&mut self, acked: u64) -> Result<Bytes, EncodeError> {
        let base_tick = self.history.baseline_for(acked);
        if base_tick == 0 {
            self.metrics.delta_rebaselines_total.inc();
        }
        if let Some((_, bytes)) = self.deltas.iter().find(|(b, _)| *b == base_tick) {
            return Ok(bytes.clone());
        }
        let Some(patch) = self
            .history
            .patch_from(base_tick)
            .filter(|_| self.history.latest().is_some_and(|(t, _)| t == self.tick))
        else {
            // Nothing replicated this tick (deltas turned on mid-tick): a full snapshot is
            // always a valid answer.
            return self.full_snapshot();
        };
        let msg: Msg<G> = ServerMsg::Delta(DeltaSnapshot {
            tick: self.tick,
            base_tick,
            server_time_ms: self.time_ms,
            patch,
        });
        let kind = if base_tick == 0 {
            "delta_full"
        } else {
            "delta"
        };
        let bytes = self.encode(&msg, kind)?;
        self.deltas.push((base_tick, bytes.clone()));
        Ok(bytes)
    }

    fn encode(&mut self, msg: &Msg<G>, kind: &str) -> Result<Bytes, EncodeError> {
        encode_into(msg, &mut self.encode_buf)?;
        // One allocation per encoding; every seat gets a reference-counted handle to it.
        let bytes = Bytes::copy_from_slice(&self.encode_buf);
        self.metrics.snapshot_encodings_total.inc();
        self.metrics.snapshot_bytes_total.inc_by(bytes.len() as u64);
        self.metrics
            .snapshot_size_bytes
            .with_label_values(&[kind])
            .observe(bytes.len() as f64);
        Ok(bytes)
    }

    fn fan_out(&mut self, ctx: &mut Context<Self>) -> Result<(), EncodeError> {
        let mut dropped = 0;
        let mut held = 0;
        let mut offers = 0;
        let mut i = 0;
        while i < self.members.len() {
            let m = &self.members[i];
            if m.detached_since.is_some() {
                i += 1;
                continue;
            }
            if self.tick.saturating_sub(m.seat.taken_tick()) > self.stall_ticks {
                let m = self.members.swap_remove(i);
                self.disconnect_stalled(ctx, m);
                continue;
            }
            if m.seat.deltas() && self.held_by_ack_clock(&m.seat) {
                held += 1;
                i += 1;
                continue;
            }
            let bytes = if m.seat.deltas() {
                let acked = m.seat.acked_tick();
                self.metrics.delta_offers_total.inc();
                self.delta_snapshot(acked)?
            } else {
                self.full_snapshot()?
            };
            offers += 1;
            let m = &self.members[i];
            if m.seat.offer(self.tick, bytes) {
                dropped += 1;
            }
            match m.wake.try_send(Wake) {
                // Full: a wake is already queued, the session will find the newest snapshot.
                Ok(()) | Err(SendError::Full(_)) => i += 1,
                // The session is gone without telling us (e.g. it died mid-join): free the seat.
                // The session is gone and its DetachPlayer may not have arrived yet: hold the
                // seat for a resume just the same (a session that died mid-join ends the same way).
                Err(SendError::Closed(_)) => {
                    let player_id = self.members[i].player_id;
                    self.detach(ctx, player_id, None);
                    i += 1;
                }
            }
        }
        if dropped > 0 {
            self.metrics.frames_dropped_total.inc_by(dropped);
        }
        self.metrics.snapshot_offers_total.inc_by(offers as u64);
        if held > 0 {
            self.metrics.delta_held_total.inc_by(held);
        }
        self.last_tick_offers = offers;
        Ok(())
    }

    /// Ack clocking: whether a delta client has too many ticks written to it but not
    /// acknowledged to be sent a newer one. TCP's buffers are sized in bytes, so without this a
    /// client that reads slowly queues seconds of small deltas in its own receive buffer, its
    /// acks fall out of the delta window, it is sent full patches, and it falls further behind.
    /// Bounding the unacknowledged span in ticks keeps its lag (and its baseline) short; the
    /// first tick after its ack moves sends it the newest state, against that ack.
    fn held_by_ack_clock<I>(&self, seat: &Seat<I>) -> bool {
        if self.max_unacked_ticks == 0 {
            return false;
        }
        let (acked, written) = (seat.acked_tick(), seat.taken_tick());
        acked > 0
            && self.tick.saturating_sub(acked) <= self.ack_clock_span
            && written.saturating_sub(acked) >= self.max_unacked_ticks
    }

    /// The session has not taken a snapshot within the stall timeout. It may be frozen (actix
    /// stops polling a session whose socket is full, timers included), so the room acts: it
    /// stops feeding the seat, asks the session to close with 4004 in case it still runs, and
    /// shortly after shuts the socket down from outside, which unblocks actix's dispatcher.
    fn disconnect_stalled(&mut self, ctx: &mut Context<Self>, m: Member<G::Input>) {
        tracing::info!(room_id = %self.id, player_id = %m.player_id, "disconnecting a stalled client");
        self.metrics.stalled_disconnects_total.inc();
        m.seat.request_close(CloseReason {
            code: CloseCode::Other(close::TOO_SLOW),
            description: Some("too slow: snapshots were not read in time".into()),
        });
        let _ = m.wake.try_send(Wake);
        let seat = m.seat.clone();
        ctx.run_later(Duration::from_millis(500), move |_, _| {
            seat.shutdown_connection()
        });
        self.remove_member(m);
    }

    /// Keeps the player in the game with its seat held for the resume grace period, then removes
    /// it unless a new connection has taken the seat back. `seat_id`: only if it is still the
    /// player's current connection.
    fn detach(&mut self, ctx: &mut Context<Self>, player_id: PlayerId, seat_id: Option<u64>) {
        let Some(m) = self.members.iter_mut().find(|m| {
            m.player_id == player_id
                && m.detached_since.is_none()
                && seat_id.is_none_or(|id| m.seat.id() == id)
        }) else {
            return;
        };
        let since = Instant::now();
        m.detached_since = Some(since);
        let last_seq = m.last_seq;
        tracing::info!(room_id = %self.id, %player_id, "connection lost; seat held for a resume");
        // Let go of the controls: a disconnected player should not keep running.
        let neutral = G::Input::default();
        if catch_unwind(AssertUnwindSafe(|| {
            self.game.apply_input(player_id, last_seq, &neutral)
        }))
        .is_err()
        {
            tracing::error!(room_id = %self.id, "game panicked applying a neutral input");
        }
        ctx.run_later(self.config.resume_grace, move |room, _| {
            let expired = room
                .members
                .iter()
                .position(|m| m.player_id == player_id && m.detached_since == Some(since));
            if let Some(i) = expired {
                let m = room.members.swap_remove(i);
                tracing::info!(room_id = %room.id, %player_id, "resume grace over; player left");
                room.remove_member(m);
            }
        });
    }

    fn remove_member(&mut self, m: Member<G::Input>) {
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

    fn fail(&mut self, ctx: &mut Context<Self>, panic: Box<dyn Any + Send>) {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        tracing::error!(room_id = %self.id, panic = %what, players = self.members.len(), "room failed; closing its sessions");
        self.metrics.room_panics_total.inc();
        for m in self.members.drain(..) {
            self.metrics.players.dec();
            m.seat.request_close(CloseReason {
                code: CloseCode::Error,
                description: Some("the room failed; please rejoin".into()),
            });
            let _ = m.wake.try_send(Wake);
        }
        self.registry.do_send(RoomEvent::Failed {
            room_id: self.id.clone(),
        });
        ctx.stop();
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl<G: Game> Actor for Room<G> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        tracing::info!(room_id = %self.id, tick_rate = self.config.tick_rate, "room started");
        // Each room keeps its own phase: rooms created at different instants tick at different
        // instants, which spreads the fan-out over the period. (Aligning every room to one grid
        // saved ~5% CPU but added ~6 ms to the median snapshot age at 1,000 clients, as every
        // session was woken in the same burst: see BENCHMARKS.md.)
        self.schedule = TickSchedule::new(Instant::now(), self.schedule.period());
        let first = self.schedule.first();
        self.arm(ctx, first);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        tracing::info!(room_id = %self.id, tick = self.tick, "room stopped");
    }
}

impl<G: Game> Handler<AddPlayer<G>> for Room<G> {
    type Result = Result<Admitted<G::Info>, RoomError>;

    fn handle(&mut self, msg: AddPlayer<G>, ctx: &mut Context<Self>) -> Self::Result {
        if self.members.len() >= self.config.max_players_per_room {
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
        msg.seat.mark_joined_at(self.tick);
        self.metrics.players.inc();
        self.members.push(Member {
            player_id: msg.player_id,
            name: msg.name,
            resume_token: msg.resume_token,
            seat: msg.seat,
            wake: msg.wake,
            detached_since: None,
            last_seq: 0,
            joined_tick: self.tick,
        });
        Ok(Admitted {
            tick: self.tick,
            tick_rate: self.config.tick_rate,
            max_players: self.config.max_players_per_room.min(u16::MAX as usize) as u16,
            info,
        })
    }
}

impl<G: Game> Handler<RemovePlayer> for Room<G> {
    type Result = ();

    fn handle(&mut self, msg: RemovePlayer, _: &mut Context<Self>) {
        if let Some(i) = self
            .members
            .iter()
            .position(|m| m.player_id == msg.player_id && m.seat.id() == msg.seat_id)
        {
            let m = self.members.swap_remove(i);
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
        let tick = self.tick;
        let m = self
            .members
            .iter_mut()
            .find(|m| m.resume_token == msg.resume_token)
            .ok_or(RoomError::UnknownToken)?;
        // The old connection may not have noticed it is gone yet: close it, it is replaced.
        if m.detached_since.is_none() {
            m.seat.request_close(CloseReason {
                code: CloseCode::Policy,
                description: Some("replaced by a resumed connection".into()),
            });
            let _ = m.wake.try_send(Wake);
        }
        msg.seat.mark_joined_at(tick);
        m.seat = msg.seat;
        m.wake = msg.wake;
        m.detached_since = None;
        m.joined_tick = tick;
        tracing::info!(room_id = %self.id, player_id = %m.player_id, "player resumed");
        let player_id = m.player_id;
        let info =
            catch_unwind(AssertUnwindSafe(|| self.game.info())).map_err(|_| RoomError::Failed)?;
        Ok((
            player_id,
            Admitted {
                tick,
                tick_rate: self.config.tick_rate,
                max_players: self.config.max_players_per_room.min(u16::MAX as usize) as u16,
                info,
            },
        ))
    }
}

impl<G: Game> Handler<Dispose> for Room<G> {
    type Result = ();

    fn handle(&mut self, _: Dispose, ctx: &mut Context<Self>) {
        for m in self.members.drain(..) {
            self.metrics.players.dec();
            m.seat.request_close(CloseReason {
                code: CloseCode::Away,
                description: Some("room closed".into()),
            });
            let _ = m.wake.try_send(Wake);
        }
        ctx.stop();
    }
}

impl<G: Game> Handler<Inspect> for Room<G> {
    type Result = MessageResult<Inspect>;

    fn handle(&mut self, _: Inspect, _: &mut Context<Self>) -> Self::Result {
        MessageResult(RoomDetail {
            id: self.id.to_string(),
            tick: self.tick,
            last_tick_encodings: usize::from(self.full.is_some()) + self.deltas.len(),
            last_tick_offers: self.last_tick_offers,
            baselines_held: self.history.len(),
            players: self
                .members
                .iter()
                .map(|m| PlayerDetail {
                    id: m.player_id,
                    name: m.name.clone(),
                    stats: m.seat.stats(),
                })
                .collect(),
        })
    }
}
