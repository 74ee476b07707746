//! The room actor: owns one [`Game`] instance and runs its fixed-tick loop. It only wires the
//! pure units together and does the I/O:
//! - [`crate::members`]: who is seated, detached, resumed;
//! - [`crate::inputs`]: feeding queued inputs to the game, and letting go on a lost connection;
//! - [`crate::delivery`]: what each seat gets this tick (full, delta, held, stalled);
//! - [`crate::snapshots`]: the tick's encodings (one full, one delta per distinct baseline);
//! - [`crate::schedule`]: when the next tick is due.
//!
//! Per tick it drains each seat's queued inputs into the game, steps it, encodes the snapshot
//! once (per baseline), and offers the same `Bytes` to every seat (latest wins, see
//! [`crate::seat`]), waking each session through the [`crate::wake`] handle it joined with
//! (a flag, no message: it never sends sessions actor messages).
//!
//! Who sits in the room (joins, leaves, held seats, resumes) is `room/seating.rs`; freezing and
//! handing the room over to another node is `room/migrate.rs`.
//!
//! Talks to: sessions (through seats and wakes), the registry (player left, room failed).
//! A panic in the game's code is caught here: the room closes its sessions with 1011, tells the
//! registry, and stops — other rooms, on their own actors, keep ticking.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use tickcast_shared::close::Close;
use tickcast_shared::{EncodeError, PlayerId};

use crate::config::ServerConfig;
use crate::delivery::{Delivery, DeliveryRules};
use crate::game::Game;
use crate::inputs::apply_queued;
use crate::members::{Member, Members};
use crate::metrics::Metrics;
use crate::schedule::TickSchedule;
use crate::snapshots::TickSnapshots;
use crate::wake::WakeHandle;

mod messages;
mod migrate;
mod seating;

pub use messages::{
    AddPlayer, Admitted, DetachPlayer, Dispose, Inspect, PlayerDetail, Reattach, RemovePlayer,
    RoomDetail, RoomError, RoomEvent, RoomStats,
};
pub use migrate::{Freeze, HandOver, TakeImage, Unfreeze};

// ---- the actor ----

/// A member of a room, as the actor stores it.
type RoomMember<G> = Member<<G as Game>::Input, WakeHandle>;

pub struct Room<G: Game> {
    id: Arc<str>,
    game: G,
    members: Members<G::Input, WakeHandle>,
    tick: u64,
    schedule: TickSchedule,
    dt: f32,
    rules: DeliveryRules,
    config: Arc<ServerConfig>,
    metrics: Arc<Metrics>,
    stats: Arc<RoomStats>,
    registry: Recipient<RoomEvent>,
    input_buf: Vec<(u32, G::Input)>,
    /// Seats found stalled, and seats whose session is gone, during a fan-out (player, seat id).
    /// Kept between ticks so that a tick allocates nothing.
    stalled: Vec<(PlayerId, u64)>,
    gone: Vec<(PlayerId, u64)>,
    snapshots: TickSnapshots<G>,
    last_tick_offers: usize,
    /// Migration (`room/migrate.rs`): frozen since then, ticking nothing …
    frozen: Option<Instant>,
    /// … and a tick fell due meanwhile: the unfreeze runs it.
    parked: bool,
    /// Members restored from an image that have not resumed yet, with how long their seat had
    /// been held when the image was taken (counted as resumed or expired for the metrics).
    migrated: std::collections::HashMap<PlayerId, Duration>,
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
        let window = config.delta_window;
        Room {
            id,
            game,
            members: Members::new(config.max_players_per_room),
            tick: 0,
            schedule: TickSchedule::new(Instant::now(), period),
            dt: period.as_secs_f32(),
            rules: DeliveryRules::new(period, config.stall_timeout, config.delta_ack_lag, window),
            snapshots: TickSnapshots::new(window, config.tick_rate, metrics.clone()),
            metrics,
            stats,
            registry,
            input_buf: Vec::new(),
            stalled: Vec::new(),
            gone: Vec::new(),
            last_tick_offers: 0,
            frozen: None,
            parked: false,
            migrated: std::collections::HashMap::new(),
            config,
        }
    }

    fn arm(&mut self, ctx: &mut Context<Self>, deadline: Instant) {
        let wait = deadline.saturating_duration_since(Instant::now());
        ctx.run_later(wait, |room, ctx| room.tick(ctx));
    }

    /// One tick: inputs → step → encode once (per baseline) → offer to every seat.
    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.frozen.is_some() {
            // Migrating: the game stands still until the room is handed over or unfrozen.
            self.parked = true;
            return;
        }
        let started = Instant::now();
        let replicate = self.config.deltas_enabled()
            && self
                .members
                .iter()
                .any(|m| m.is_attached() && m.seat.deltas());
        let stepped = catch_unwind(AssertUnwindSafe(|| {
            for m in self.members.iter() {
                apply_queued(&mut self.game, m.player_id, &m.seat, &mut self.input_buf);
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
        if let Some(frame) = frame {
            self.snapshots.record(self.tick, frame);
            // Acks only move forward: states older than every delta client's ack (or join) can
            // never be a baseline again, so the window holds what the ack lag needs, no more.
            if let Some(floor) = self.members.baseline_floor() {
                self.snapshots.forget_before(floor);
            }
        }
        self.snapshots.begin(self.tick, now_ms(), state);
        if let Err(e) = self.fan_out(ctx) {
            tracing::error!(room_id = %self.id, error = %e, "snapshot encoding failed");
            return self.fail(ctx, Box::new("snapshot encoding failed"));
        }
        self.snapshots.end();

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

    /// Hands each seat what the delivery rules say it gets this tick, and wakes its session.
    /// Seats that must leave the list (stalled) or change state (session gone) are noted and
    /// dealt with after the loop.
    fn fan_out(&mut self, ctx: &mut Context<Self>) -> Result<(), EncodeError> {
        let (mut dropped, mut held, mut offers, mut delta_offers) = (0, 0, 0, 0);
        for m in self.members.iter() {
            let bytes = match self.rules.deliver(self.tick, m.view()) {
                Delivery::Skip => continue,
                Delivery::Evict => {
                    self.stalled.push((m.player_id, m.seat.id()));
                    continue;
                }
                Delivery::Hold => {
                    held += 1;
                    continue;
                }
                Delivery::Full => self.snapshots.full()?,
                Delivery::Delta { acked } => {
                    delta_offers += 1;
                    self.snapshots.delta(acked, m.seat.packed())?
                }
            };
            offers += 1;
            if m.seat.offer(self.tick, bytes) {
                dropped += 1;
            }
            // A wake already pending is fine: the session will find the newest snapshot.
            if m.wake.wake().is_err() {
                // The session is gone (it died mid-join, or its DetachPlayer has not arrived
                // yet): hold the seat for a resume, as a lost connection's is.
                self.gone.push((m.player_id, m.seat.id()));
            }
        }
        while let Some((player_id, seat_id)) = self.stalled.pop() {
            if let Some(m) = self.members.remove(player_id, seat_id) {
                self.disconnect_stalled(ctx, m);
            }
        }
        while let Some((player_id, seat_id)) = self.gone.pop() {
            self.detach(ctx, player_id, Some(seat_id));
        }
        if dropped > 0 {
            self.metrics.frames_dropped_total.inc_by(dropped);
        }
        self.metrics.snapshot_offers_total.inc_by(offers as u64);
        if delta_offers > 0 {
            self.metrics.delta_offers_total.inc_by(delta_offers);
        }
        if held > 0 {
            self.metrics.delta_held_total.inc_by(held);
        }
        self.last_tick_offers = offers;
        Ok(())
    }

    /// The session has not taken a snapshot within the stall timeout. It may be frozen (actix
    /// stops polling a session whose socket is full, timers included), so the room acts: it
    /// stops feeding the seat, asks the session to close with 4004 in case it still runs, and
    /// shortly after shuts the socket down from outside, which unblocks actix's dispatcher.
    fn disconnect_stalled(&mut self, ctx: &mut Context<Self>, m: RoomMember<G>) {
        tracing::info!(room_id = %self.id, player_id = %m.player_id, "disconnecting a stalled client");
        self.metrics.stalled_disconnects_total.inc();
        m.seat.request_close(Close::TooSlow);
        let _ = m.wake.wake();
        let seat = m.seat.clone();
        ctx.run_later(Duration::from_millis(500), move |_, _| {
            seat.shutdown_connection()
        });
        self.remove_member(m);
    }

    /// Closes every session with `close` (the room is going away) and forgets its members.
    fn close_all(&mut self, close: Close) {
        for m in self.members.drain() {
            self.metrics.players.dec();
            m.seat.request_close(close.clone());
            let _ = m.wake.wake();
        }
    }

    fn fail(&mut self, ctx: &mut Context<Self>, panic: Box<dyn Any + Send>) {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        tracing::error!(room_id = %self.id, panic = %what, players = self.members.len(), "room failed; closing its sessions");
        self.metrics.room_panics_total.inc();
        self.close_all(Close::RoomFailed);
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
        self.hold_migrated_seats(ctx);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        tracing::info!(room_id = %self.id, tick = self.tick, "room stopped");
    }
}

impl<G: Game> Handler<Dispose> for Room<G> {
    type Result = ();

    fn handle(&mut self, _: Dispose, ctx: &mut Context<Self>) {
        self.close_all(Close::RoomClosed);
        ctx.stop();
    }
}

impl<G: Game> Handler<Inspect> for Room<G> {
    type Result = MessageResult<Inspect>;

    fn handle(&mut self, _: Inspect, _: &mut Context<Self>) -> Self::Result {
        MessageResult(RoomDetail {
            id: self.id.to_string(),
            tick: self.tick,
            last_tick_encodings: self.snapshots.encodings(),
            last_tick_offers: self.last_tick_offers,
            baselines_held: self.snapshots.baselines_held(),
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
