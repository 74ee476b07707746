//! [`Session`]: one bot's life inside a [`crate::LoadRun`] — connect and join, play (inputs at the
//! input rate, a ping a second, every snapshot accounted), close with 1000, and hand back an
//! [`Outcome`] for the report.
//!
//! A connection lost without a close frame is resumed with the run's [`crate::ResumePolicy`]
//! and play goes on as the same player (seq, ticks and the delivery and ack accounting carry
//! on; inputs in flight at the loss are abandoned). A resume that fails ends the bot, as a
//! close from the server does.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::{Rng, SeedableRng};
use tokio::sync::{watch, OwnedSemaphorePermit};
use tokio::time::MissedTickBehavior;

use tickcast_shared::{Join, ServerMsg, PROTOCOL_VERSION};

use crate::ack::AckTracker;
use crate::behaviour::Steering;
use crate::bot::{Bot, Frame, Traffic};
use crate::close::CloseInfo;
use crate::delivery::{DeliveryTracker, Window};
use crate::error::BotError;
use crate::join_token::{join_token, with_token};
use crate::load_config::{LoadConfig, RoomChoice, SnapshotMode};
use crate::snapshot_view::SnapshotView;
use crate::stop::stopped;
use crate::tally::{Live, Tally};

/// Inputs kept waiting for an acknowledgement per bot (8 s at 30 Hz).
const ACK_CAPACITY: usize = 256;
/// An input not acknowledged after this long counts as unacknowledged.
const ACK_OVERDUE: Duration = Duration::from_secs(1);

/// State every session of a run shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: LoadConfig,
    /// Clock origin: ping `client_time` is milliseconds since this instant.
    pub t0: Instant,
    /// The steady window, set once the ramp is over.
    pub window: OnceLock<Window>,
    pub tally: Tally,
}

/// What one bot reports when it is done.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub joined: bool,
    pub room: Option<String>,
    pub tick_rate: Option<u16>,
    pub delivery: Option<DeliveryTracker>,
    /// Traffic inside the steady window.
    pub window_traffic: Traffic,
    pub errors: BTreeMap<String, u64>,
    /// The close code the server sent (join refusal, kick, or its answer to our 1000).
    pub close: Option<u16>,
    pub server_errors: BTreeMap<u16, u64>,
    pub inputs_unacked: u64,
    /// Lost connections resumed, and lost connections that could not be.
    pub resumes: u64,
    pub resume_failures: u64,
}

impl Outcome {
    fn error(&mut self, kind: String) {
        *self.errors.entry(kind).or_default() += 1;
    }
}

/// What one turn of the play loop came to.
enum Turn {
    /// Keep playing.
    Play,
    /// The run is over: close.
    Stop,
    /// The server closed, or a read or write failed: this connection is over (maybe only lost).
    Ended(BotError),
}

/// One bot of a load run.
pub(crate) struct Session {
    index: usize,
    shared: Arc<Shared>,
    outcome: Outcome,
    /// Live counters not yet published to the tally.
    pending_snapshots: u64,
    pending_dropped: u64,
    published: Traffic,
}

impl Session {
    pub fn new(index: usize, shared: Arc<Shared>) -> Self {
        Session {
            index,
            shared,
            outcome: Outcome::default(),
            pending_snapshots: 0,
            pending_dropped: 0,
            published: Traffic::default(),
        }
    }

    /// Runs the bot until `stop` turns true, then closes. `permit` is a connection slot, held
    /// until the join is answered.
    pub async fn run(
        mut self,
        mut stop: watch::Receiver<bool>,
        permit: OwnedSemaphorePermit,
    ) -> Outcome {
        let cfg = &self.shared.config;
        let join = Join {
            version: PROTOCOL_VERSION,
            room: match &cfg.room {
                RoomChoice::Any => None,
                RoomChoice::Named(id) => Some(id.clone()),
            },
            name: self.name(),
            resume: None,
            deltas: cfg.snapshots == SnapshotMode::Delta,
        };
        let url = self.url();
        let started = Instant::now();
        let connected = tokio::select! {
            r = Bot::connect_timeout(&url, &join, cfg.connect_timeout) => r,
            _ = stopped(&mut stop) => {
                drop(permit);
                return self.outcome;
            }
        };
        drop(permit);
        let mut bot = match connected {
            Ok(bot) => bot,
            Err(e) => {
                Live::add(&self.shared.tally.live.failed, 1);
                if let BotError::Closed(c) = &e {
                    self.outcome.close = Some(c.code);
                }
                tracing::debug!(bot = self.index, error = %e, "join failed");
                self.outcome.error(e.kind());
                return self.outcome;
            }
        };
        crate::summary::record(
            &mut self.shared.tally.shard(self.index).join,
            started.elapsed(),
        );
        Live::add(&self.shared.tally.live.connected, 1);
        self.outcome.joined = true;
        self.outcome.room = Some(bot.welcome().room_id.clone());
        self.outcome.tick_rate = Some(bot.welcome().tick_rate);

        let ended_by_server = self.play(&mut bot, &mut stop).await;
        self.publish(&bot);
        if ended_by_server {
            Live::add(&self.shared.tally.live.disconnected, 1);
        } else {
            match bot.close_with(1000, "load run finished").await {
                Ok(c) => self.outcome.close = Some(c.code),
                Err(e) => self.outcome.error(format!("close_{}", e.kind())),
            }
        }
        self.outcome
    }

    /// The play loop. Returns true if the connection ended from the server's side.
    async fn play(&mut self, bot: &mut Bot, stop: &mut watch::Receiver<bool>) -> bool {
        let shared = Arc::clone(&self.shared);
        let cfg = &shared.config;
        let welcome = bot.welcome().clone();
        let mut delivery = DeliveryTracker::new(welcome.tick_rate);
        let mut ack = AckTracker::new(ACK_CAPACITY);
        let now = Instant::now();
        let seed = cfg.seed ^ (self.index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut steering = Steering::new(cfg.behaviour, seed, &welcome.game, now);
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
        let mut next_ping = now + cfg.ping_interval.mul_f64(rng.gen::<f64>());
        let mut next_publish = now + Duration::from_secs(1);
        let mut last_view: Option<SnapshotView> = None;
        let mut window_start_traffic: Option<Traffic> = None;

        let stopped = stopped(stop);
        tokio::pin!(stopped);
        let ended_by_server = loop {
            if delivery.window().is_none() {
                if let Some(w) = shared.window.get() {
                    delivery.set_window(*w);
                }
            }
            let turn = tokio::select! {
                biased;
                _ = &mut stopped => Turn::Stop,
                _ = timer.tick() => {
                    'tick: {
                        let now = Instant::now();
                        if sends_inputs {
                            let controls = steering.controls(
                                now,
                                last_view.and_then(|v| v.me),
                                last_view.and_then(|v| v.nearest_orb),
                            );
                            match bot.send_input(controls).await {
                                Ok(seq) => ack.sent(seq, now),
                                Err(e) => break 'tick Turn::Ended(e),
                            }
                        }
                        if now >= next_ping {
                            next_ping += cfg.ping_interval;
                            if next_ping < now {
                                next_ping = now + cfg.ping_interval;
                            }
                            let client_time = now.duration_since(shared.t0).as_secs_f64() * 1000.0;
                            if let Err(e) = bot.send_ping(client_time).await {
                                break 'tick Turn::Ended(e);
                            }
                        }
                        if now >= next_publish {
                            next_publish = now + Duration::from_secs(1);
                            self.publish(bot);
                        }
                        Turn::Play
                    }
                }
                frame = bot.next_frame() => {
                    let now = Instant::now();
                    let window = delivery.window();
                    let in_window = window.is_some_and(|w| w.contains(now));
                    if window_start_traffic.is_none() && window.is_some_and(|w| now >= w.start) {
                        window_start_traffic = Some(bot.traffic());
                    }
                    match frame {
                        Ok(Frame::Snapshot(view)) => {
                            let arrival = delivery.record(view.tick, now);
                            self.pending_snapshots += 1;
                            self.pending_dropped += arrival.dropped;
                            let mut shard = shared.tally.shard(self.index);
                            if let Some(j) = arrival.jitter {
                                shard.jitter(j, arrival.in_window);
                            }
                            if arrival.in_window {
                                let wall = SystemTime::now()
                                    .duration_since(UNIX_EPOCH)
                                    .unwrap_or_default();
                                let sent = Duration::from_millis(view.server_time_ms);
                                if let Some(age) = wall.checked_sub(sent) {
                                    shard.age(age, true);
                                }
                            }
                            if let Some(me) = view.me {
                                ack.on_snapshot(me.last_input, now, |d| shard.ack(d, in_window));
                            }
                            drop(shard);
                            last_view = Some(view);
                            Turn::Play
                        }
                        Ok(Frame::Other(ServerMsg::Pong(p))) => {
                            let now_ms = now.duration_since(shared.t0).as_secs_f64() * 1000.0;
                            let rtt = now_ms - p.client_time;
                            if rtt.is_finite() && rtt >= 0.0 {
                                shared
                                    .tally
                                    .shard(self.index)
                                    .rtt(Duration::from_secs_f64(rtt / 1000.0), in_window);
                            }
                            Turn::Play
                        }
                        Ok(Frame::Other(ServerMsg::Error(e))) => {
                            *self.outcome.server_errors.entry(e.code).or_default() += 1;
                            Turn::Play
                        }
                        Ok(Frame::Other(ServerMsg::Welcome(_))) => {
                            self.outcome.error("protocol_second_welcome".into());
                            Turn::Play
                        }
                        // Snapshots are scanned, never returned as `Other`.
                        Ok(Frame::Other(ServerMsg::Snapshot(_))) => Turn::Play,
                        // Only to a bot that did not join with `deltas` (never, from a server
                        // that follows the protocol).
                        Ok(Frame::Other(ServerMsg::Delta(_))) => Turn::Play,
                        Ok(Frame::DeltaRejected(e)) => {
                            tracing::debug!(error = %e, "delta rejected");
                            self.outcome.error("delta_rejected".into());
                            Turn::Play
                        }
                        Ok(Frame::Closed(c)) => Turn::Ended(BotError::Closed(c)),
                        Err(e @ (BotError::Decode(_) | BotError::Scan(_) | BotError::Protocol(_))) => {
                            tracing::debug!(bot = self.index, error = %e, "bad server message");
                            self.outcome.error(e.kind());
                            Turn::Play
                        }
                        Err(e) => Turn::Ended(e),
                    }
                }
            };
            let e = match turn {
                Turn::Play => continue,
                Turn::Stop => break false,
                Turn::Ended(e) => e,
            };
            // The loss is booked even when the resume works: the connection did drop.
            let lost = e.is_connection_lost();
            self.failed(e);
            if !lost || !cfg.resume.enabled() || bot.resume_token().is_none() {
                break true;
            }
            if cfg.auth_secret.is_some() {
                // The first join token may have expired since: sign a fresh one.
                bot.set_url(self.url());
            }
            let resumed = tokio::select! {
                r = bot.resume(&cfg.resume) => Some(r),
                _ = &mut stopped => None,
            };
            match resumed {
                // The run ended meanwhile; there is no connection left to close.
                None => break true,
                Some(Ok(r)) => {
                    self.outcome.resumes += 1;
                    Live::add(&shared.tally.live.resumes, 1);
                    let abandoned = ack.abandon();
                    tracing::debug!(
                        bot = self.index,
                        attempts = r.attempts,
                        elapsed_ms = r.elapsed.as_millis() as u64,
                        abandoned_inputs = abandoned,
                        "connection lost and resumed"
                    );
                }
                Some(Err(e)) => {
                    self.outcome.resume_failures += 1;
                    Live::add(&shared.tally.live.resume_failures, 1);
                    if let Some(code) = e.close_code() {
                        self.outcome.close = Some(code);
                    }
                    tracing::debug!(bot = self.index, error = %e, "connection lost, not resumed");
                    self.outcome.error(e.kind());
                    break true;
                }
            }
        };

        let now = Instant::now();
        let window = shared.window.get().copied();
        let end_traffic = bot.traffic();
        if let Some(w) = window {
            if now >= w.start {
                let start = window_start_traffic.unwrap_or(end_traffic);
                self.outcome.window_traffic = Traffic {
                    bytes_in: end_traffic.bytes_in - start.bytes_in,
                    bytes_out: end_traffic.bytes_out - start.bytes_out,
                    messages_in: end_traffic.messages_in - start.messages_in,
                    messages_out: end_traffic.messages_out - start.messages_out,
                };
            }
        }
        self.outcome.inputs_unacked =
            ack.evicted() + ack.abandoned() + ack.overdue(now, ACK_OVERDUE) as u64;
        self.outcome.delivery = Some(delivery);
        ended_by_server
    }

    /// This bot's player name.
    fn name(&self) -> String {
        format!("{}{}", self.shared.config.name_prefix, self.index)
    }

    /// The URL to connect to: the configured one, with a freshly signed join token when the
    /// server wants one.
    fn url(&self) -> String {
        let cfg = &self.shared.config;
        match &cfg.auth_secret {
            None => cfg.url.clone(),
            Some(secret) => {
                let expires = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .saturating_add(cfg.token_ttl)
                    .as_secs();
                let token = join_token(secret.as_bytes(), &self.name(), "", expires);
                with_token(&cfg.url, &token)
            }
        }
    }

    /// Books the end of a connection: a close from the server, or a failed read or write.
    fn failed(&mut self, e: BotError) {
        tracing::debug!(bot = self.index, error = %e, "connection ended");
        if e.is_connection_lost() {
            // A write that failed on a broken connection is the same loss as a read that hit
            // its EOF (whichever the bot noticed first): 1006 either way, as RFC 6455 names it.
            self.outcome.close = Some(CloseInfo::ABNORMAL);
            self.outcome
                .error(format!("closed_{}", CloseInfo::ABNORMAL));
            return;
        }
        if let BotError::Closed(c) = &e {
            self.outcome.close = Some(c.code);
        }
        self.outcome.error(e.kind());
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
}
