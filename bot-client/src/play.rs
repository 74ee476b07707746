//! [`Play`]: one bot's play inside a load run, one handler per event — a timer tick (input,
//! ping, live counters) and an incoming frame (snapshot accounting, pong, server error) — plus
//! what a resume resets and the figures booked at the end.
//!
//! [`crate::session::Session`] runs the loop (the stop signal, ticks, frames) and decides what a
//! lost connection comes to; it calls these handlers, which never end the loop themselves: an
//! `Err` from a handler is the connection's end, for the session to book. The state outlives a
//! resume: seq, ticks, delivery and ack accounting carry on over the new connection.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::{Rng, SeedableRng};
use tokio::time::{Interval, MissedTickBehavior};

use tickcast_shared::arena::ArenaWelcome as Welcome;
use tickcast_shared::{PlayerId, Pong, ServerMsg};

use crate::ack::AckTracker;
use crate::behaviour::Steering;
use crate::bot::{Bot, Frame};
use crate::cadence::Cadence;
use crate::delivery::DeliveryTracker;
use crate::error::BotError;
use crate::held_seats::HeldSeats;
use crate::migration::Migrations;
use crate::outcome::Outcome;
use crate::resume::ResumeError;
use crate::shared::Shared;
use crate::snapshot_view::SnapshotView;
use crate::socket::Traffic;
use crate::tally::Live;

/// Inputs kept waiting for an acknowledgement per bot (8 s at 30 Hz).
const ACK_CAPACITY: usize = 256;
/// An input not acknowledged after this long counts as unacknowledged.
const ACK_OVERDUE: Duration = Duration::from_secs(1);
/// How often a bot adds its live counters to the progress line's.
const PUBLISH_EVERY: Duration = Duration::from_secs(1);

/// One bot's play state, from its welcome to the end of the run (across resumes).
pub(crate) struct Play {
    index: usize,
    shared: Arc<Shared>,
    delivery: DeliveryTracker,
    ack: AckTracker,
    steering: Steering,
    /// Fires at the input rate (at the ping interval for a bot that sends no inputs).
    timer: Interval,
    sends_inputs: bool,
    pings: Cadence,
    next_publish: Instant,
    last_view: Option<SnapshotView>,
    /// Seats that became held, seen in snapshots (see [`HeldSeats`]).
    held_seats: HeldSeats,
    /// Room hand-overs followed (see [`Migrations`]).
    migrations: Migrations,
    /// The bot's traffic when the steady window began (read at the first frame inside it).
    window_start_traffic: Option<Traffic>,
    /// Live counters not yet published to the tally.
    pending_snapshots: u64,
    pending_dropped: u64,
    published: Traffic,
}

impl Play {
    /// Play for bot `index` of the run, which was just welcomed with `welcome` at `now`.
    pub fn new(index: usize, shared: Arc<Shared>, welcome: &Welcome, now: Instant) -> Self {
        let cfg = &shared.config;
        let seed = cfg.seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let steering = Steering::new(cfg.behaviour, seed, &welcome.game, now);
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed.rotate_left(17));
        let sends_inputs = cfg.input_hz > 0.0;
        let period = if sends_inputs {
            Duration::from_secs_f64(1.0 / cfg.input_hz)
        } else {
            cfg.ping_interval
        };
        // Spread the bots' timers over one period so they do not all fire together.
        let offset = period.mul_f64(rng.gen::<f64>());
        let mut timer = tokio::time::interval_at((now + offset).into(), period);
        timer.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let first_ping = now + cfg.ping_interval.mul_f64(rng.gen::<f64>());
        let pings = Cadence::new(first_ping, cfg.ping_interval);
        Play {
            index,
            delivery: DeliveryTracker::new(welcome.tick_rate),
            ack: AckTracker::new(ACK_CAPACITY),
            steering,
            timer,
            sends_inputs,
            pings,
            next_publish: now + PUBLISH_EVERY,
            last_view: None,
            held_seats: HeldSeats::default(),
            migrations: Migrations::default(),
            window_start_traffic: None,
            pending_snapshots: 0,
            pending_dropped: 0,
            published: Traffic::default(),
            shared,
        }
    }

    /// Picks up the run's steady window once the ramp is over (set once, by the run).
    pub fn sync_window(&mut self) {
        if self.delivery.window().is_none() {
            if let Some(w) = self.shared.window.get() {
                self.delivery.set_window(*w);
            }
        }
    }

    /// Waits for the next timer tick. Cancel-safe.
    pub async fn next_tick(&mut self) {
        self.timer.tick().await;
    }

    /// A timer tick: an input (with the behaviour's controls), a ping when one is due, and the
    /// live counters once a second. `Err`: a write failed, the connection is over.
    pub async fn on_tick(&mut self, bot: &mut Bot) -> Result<(), BotError> {
        let now = Instant::now();
        if self.sends_inputs {
            let view = self.last_view;
            let controls = self.steering.controls(
                now,
                view.and_then(|v| v.me),
                view.and_then(|v| v.nearest_orb),
            );
            let seq = bot.send_input(controls).await?;
            self.ack.sent(seq, now);
        }
        if self.pings.due(now) {
            bot.send_ping(self.millis_since_t0(now)).await?;
        }
        if now >= self.next_publish {
            self.next_publish = now + PUBLISH_EVERY;
            self.publish(bot);
        }
        Ok(())
    }

    /// A frame read from `bot` (or the read's failure). Messages the bot cannot use are counted
    /// in `outcome` and play goes on; `Err`: the server closed or the read failed, the
    /// connection is over.
    pub fn on_frame(
        &mut self,
        frame: Result<Frame, BotError>,
        bot: &Bot,
        outcome: &mut Outcome,
    ) -> Result<(), BotError> {
        let now = Instant::now();
        let window = self.delivery.window();
        let in_window = window.is_some_and(|w| w.contains(now));
        if self.window_start_traffic.is_none() && window.is_some_and(|w| now >= w.start) {
            self.window_start_traffic = Some(bot.traffic());
        }
        match frame {
            Ok(Frame::Snapshot(view)) => self.on_snapshot(view, now, in_window),
            Ok(Frame::Other(ServerMsg::Pong(p))) => self.on_pong(&p, now, in_window),
            Ok(Frame::Other(ServerMsg::Error(e))) => {
                *outcome.server_errors.entry(e.code).or_default() += 1;
            }
            Ok(Frame::Other(ServerMsg::Welcome(_))) => {
                outcome.error("protocol_second_welcome".into());
            }
            // Snapshots are scanned, never returned as `Other`.
            Ok(Frame::Other(ServerMsg::Snapshot(_))) => {}
            // Only to a bot that did not join with `deltas` (never, from a server that follows
            // the protocol).
            Ok(Frame::Other(ServerMsg::Delta(_) | ServerMsg::Packed(_))) => {}
            // Noted by the bot; the 4007 close after it ends the connection, and the session's
            // resume follows it to the room's new node.
            Ok(Frame::Other(ServerMsg::Redirect(_))) => {}
            Ok(Frame::DeltaRejected(e)) => {
                tracing::debug!(error = %e, "delta rejected");
                outcome.error("delta_rejected".into());
            }
            Ok(Frame::Closed(c)) => return Err(BotError::Closed(c)),
            Err(e @ (BotError::Decode(_) | BotError::Scan(_) | BotError::Protocol(_))) => {
                tracing::debug!(bot = self.index, error = %e, "bad server message");
                outcome.error(e.kind());
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// A snapshot: delivery (drops, jitter), its age, and the inputs it acknowledges.
    fn on_snapshot(&mut self, view: SnapshotView, now: Instant, in_window: bool) {
        let arrival = self.delivery.record(view.tick, now);
        self.pending_snapshots += 1;
        self.pending_dropped += arrival.dropped;
        let mut shard = self.shared.tally.shard(self.index);
        if let Some(j) = arrival.jitter {
            shard.jitter(j, arrival.in_window);
        }
        if arrival.in_window {
            if let Some(age) = snapshot_age(view.server_time_ms, SystemTime::now()) {
                shard.age(age, true);
            }
        }
        if let Some(me) = view.me {
            self.ack
                .on_snapshot(me.last_input, now, |d| shard.ack(d, in_window));
        }
        drop(shard);
        self.held_seats.see(view.held);
        self.migrations.snapshot(view.tick, now);
        self.last_view = Some(view);
    }

    /// A pong: the round trip of the ping it answers.
    fn on_pong(&mut self, pong: &Pong, now: Instant, in_window: bool) {
        if let Some(rtt) = round_trip(self.millis_since_t0(now), pong.client_time) {
            self.shared.tally.shard(self.index).rtt(rtt, in_window);
        }
    }

    /// The connection ended; `handed_over`: with a redirect and 4007, the room moved to
    /// another node (the session then resumes there, or does not).
    pub fn on_connection_end(&mut self, handed_over: bool) {
        self.migrations.connection_ended(handed_over);
    }

    /// The connection was lost and resumed, as `after` where the bot was `before`, on another
    /// node when `node_changed`: inputs in flight at the loss will never be acknowledged.
    /// Returns how many were abandoned.
    pub fn on_resumed(&mut self, before: PlayerId, after: PlayerId, node_changed: bool) -> usize {
        self.migrations.resumed(before, after, node_changed);
        self.ack.abandon()
    }

    /// The resume failed with `e`, or (`None`) was not tried.
    pub fn on_not_resumed(&mut self, e: Option<&ResumeError>) {
        match e {
            Some(e) => self.migrations.resume_failed(e),
            None => self.migrations.not_followed(),
        }
    }

    /// The seat was lost and the bot joined again, as a new player in another room (`at`):
    /// inputs in flight are abandoned, and delivery starts counting the new room's ticks (the
    /// silence in between is booked as missed). Returns the inputs abandoned.
    pub fn on_rejoined(&mut self, at: Instant) -> usize {
        self.delivery.change_room(at);
        self.last_view = None;
        self.ack.abandon()
    }

    /// Play is over: books the window's traffic, the unacknowledged inputs and the delivery
    /// into `outcome`, and publishes the last live counters.
    pub fn finish(mut self, bot: &Bot, outcome: &mut Outcome) {
        let now = Instant::now();
        let end_traffic = bot.traffic();
        if let Some(w) = self.shared.window.get().copied() {
            if now >= w.start {
                let start = self.window_start_traffic.unwrap_or(end_traffic);
                outcome.window_traffic = end_traffic.since(start);
            }
        }
        let ack = &self.ack;
        outcome.inputs_unacked =
            ack.evicted() + ack.abandoned() + ack.overdue(now, ACK_OVERDUE) as u64;
        outcome.held_seats_seen = self.held_seats.seen();
        self.publish(bot);
        outcome.delivery = Some(self.delivery);
        outcome.migrations = self.migrations;
    }

    /// Publishes live counters for the progress line.
    fn publish(&mut self, bot: &Bot) {
        let live = &self.shared.tally.live;
        let t = bot.traffic();
        Live::add(&live.snapshots, std::mem::take(&mut self.pending_snapshots));
        Live::add(&live.dropped, std::mem::take(&mut self.pending_dropped));
        Live::add(&live.bytes_in, t.bytes_in - self.published.bytes_in);
        Live::add(&live.bytes_out, t.bytes_out - self.published.bytes_out);
        self.published = t;
    }

    /// The ping clock: milliseconds since the run's origin.
    fn millis_since_t0(&self, now: Instant) -> f64 {
        now.duration_since(self.shared.t0).as_secs_f64() * 1000.0
    }
}

/// A snapshot's age: the local wall clock `wall` at arrival − its `server_time_ms`. `None` when
/// the server's clock is ahead of ours.
fn snapshot_age(server_time_ms: u64, wall: SystemTime) -> Option<Duration> {
    let wall = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
    wall.checked_sub(Duration::from_millis(server_time_ms))
}

/// The round trip of a ping sent at `client_time` and answered at `now_ms` (both in ms on the
/// run's clock). `None` for an echo that cannot be ours (from the future, or not a number).
fn round_trip(now_ms: f64, client_time: f64) -> Option<Duration> {
    let rtt = now_ms - client_time;
    (rtt.is_finite() && rtt >= 0.0).then(|| Duration::from_secs_f64(rtt / 1000.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_trip_is_the_time_since_the_echoed_ping_and_nonsense_echoes_are_skipped() {
        assert_eq!(round_trip(1250.0, 1200.0), Some(Duration::from_millis(50)));
        assert_eq!(round_trip(1200.0, 1200.0), Some(Duration::ZERO));
        assert_eq!(round_trip(1200.0, 1250.0), None, "from the future");
        assert_eq!(round_trip(1200.0, f64::NAN), None);
        assert_eq!(round_trip(1200.0, f64::NEG_INFINITY), None);
    }

    #[test]
    fn a_snapshot_age_is_the_wall_clock_past_its_server_time_unless_the_server_is_ahead() {
        let wall = UNIX_EPOCH + Duration::from_millis(10_040);
        assert_eq!(snapshot_age(10_000, wall), Some(Duration::from_millis(40)));
        assert_eq!(snapshot_age(10_041, wall), None);
    }
}
