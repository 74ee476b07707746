//! [`Session`]: one bot's life inside a [`crate::LoadRun`] — (with `--matchmake`, ask the entry
//! node where to play,) connect and join, play (inputs at the
//! input rate, a ping a second, every snapshot accounted), close with 1000, and hand back an
//! [`Outcome`] for the report.
//!
//! A connection lost without a close frame is resumed with the run's [`crate::ResumePolicy`],
//! through the entry URL, and play goes on as the same player (seq, ticks and the delivery and
//! ack accounting carry on; inputs in flight at the loss are abandoned). A resume that fails
//! because the seat is gone (4005, or no answer: the room's node died) is followed by a fresh
//! join through the entry URL, as a new player in a room on a live node; a close from the
//! server ends the bot. A room's hand-over to another node (`Redirect` + 4007) is resumed there
//! at once and counted as a migration (`crate::migration`).
//!
//! The session owns the loop and what a connection's end comes to (`on_connection_end`); each
//! event's handling — a tick, a frame — is [`crate::play::Play`]'s, and the booking rules are
//! [`Outcome`]'s.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{watch, OwnedSemaphorePermit};

use tickcast_shared::close::Code;
use tickcast_shared::{Join, PROTOCOL_VERSION};

use crate::bot::Bot;
use crate::error::BotError;
use crate::join_token::{join_token, with_token};
use crate::load_config::{RoomChoice, SnapshotMode};
use crate::matchmake::Match;
use crate::outcome::Outcome;
use crate::play::Play;
use crate::redirect::node_of;
use crate::resume::{after_failure, AfterFailure, ResumeError};
use crate::shared::Shared;
use crate::stop::stopped;
use crate::tally::Live;

/// Matchmake requests one bot makes at most: a matchmade room can fill up between the answer and
/// the join (other bots got the same answer), closed with 4001 (room full); the bot then asks
/// again.
const MATCHMAKE_ASKS: u32 = 5;

/// Mean pause before asking again (0.5–1.5 times this, spread so the retries do not come back as
/// one burst): about a heartbeat (lease 6 s / 3), when the directory has the room's new count.
const MATCHMAKE_RETRY: Duration = Duration::from_secs(2);

/// One bot of a load run.
pub(crate) struct Session {
    index: usize,
    shared: Arc<Shared>,
    outcome: Outcome,
    /// The node this bot plays on: the run's URL, or the one `--matchmake` answered.
    node_url: String,
}

impl Session {
    pub fn new(index: usize, shared: Arc<Shared>) -> Self {
        Session {
            index,
            node_url: shared.config.url.clone(),
            shared,
            outcome: Outcome::default(),
        }
    }

    /// Runs the bot until `stop` turns true, then closes. `permit` is a connection slot, held
    /// until the join is answered.
    pub async fn run(
        mut self,
        mut stop: watch::Receiver<bool>,
        permit: OwnedSemaphorePermit,
    ) -> Outcome {
        let shared = Arc::clone(&self.shared);
        let cfg = &shared.config;
        let started = Instant::now();
        let mut asks_left = MATCHMAKE_ASKS;
        let connected = loop {
            let room = if cfg.matchmake {
                asks_left -= 1;
                match self.ask_where_to_play(&mut stop).await {
                    Some(room) => room,
                    None => return self.outcome,
                }
            } else {
                self.room()
            };
            let join = self.join(room);
            let url = self.url();
            let connected = tokio::select! {
                r = Bot::connect_timeout(&url, &join, cfg.connect_timeout) => r,
                _ = stopped(&mut stop) => return self.outcome,
            };
            match connected {
                // The answer raced other bots to the room's last seats: ask again once the
                // directory may have heard (room counts travel with the nodes' heartbeats).
                Err(BotError::Closed(c))
                    if cfg.matchmake && c.code == Code::RoomFull.as_u16() && asks_left > 0 =>
                {
                    tracing::debug!(bot = self.index, "matchmade room full, asking again");
                    let pause = MATCHMAKE_RETRY.mul_f64(0.5 + rand::random::<f64>());
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = stopped(&mut stop) => return self.outcome,
                    }
                }
                r => break r,
            }
        };
        drop(permit);
        let mut bot = match connected {
            Ok(bot) => bot,
            Err(e) => {
                Live::add(&self.shared.tally.live.failed, 1);
                tracing::debug!(bot = self.index, error = %e, "join failed");
                self.outcome.join_failed(&e);
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

    /// Plays until the run stops or the connection ends for good; the loop only waits and
    /// dispatches, [`Play`] handles each event. Returns true if the connection ended from the
    /// server's side.
    async fn play(&mut self, bot: &mut Bot, stop: &mut watch::Receiver<bool>) -> bool {
        let shared = Arc::clone(&self.shared);
        let mut play = Play::new(self.index, shared, bot.welcome(), Instant::now());
        let stopped = stopped(stop);
        tokio::pin!(stopped);
        let ended_by_server = loop {
            play.sync_window();
            let event = tokio::select! {
                biased;
                _ = &mut stopped => break false,
                _ = play.next_tick() => play.on_tick(bot).await,
                frame = bot.next_frame() => play.on_frame(frame, bot, &mut self.outcome),
            };
            if let Err(e) = event {
                if !self
                    .on_connection_end(e, bot, &mut play, stopped.as_mut())
                    .await
                {
                    break true;
                }
            }
        };
        play.finish(bot, &mut self.outcome);
        ended_by_server
    }

    /// The connection ended while playing (a close from the server, a failed read or write):
    /// books it, and resumes a lost one when the run's policy allows. Returns whether play goes
    /// on over the resumed connection. `stopped` (the run's end) cancels a resume under way.
    async fn on_connection_end(
        &mut self,
        e: BotError,
        bot: &mut Bot,
        play: &mut Play,
        mut stopped: Pin<&mut impl Future<Output = ()>>,
    ) -> bool {
        let shared = Arc::clone(&self.shared);
        let cfg = &shared.config;
        tracing::debug!(bot = self.index, error = %e, "connection ended");
        // The loss is booked even when the resume works: the connection did drop. (A hand-over
        // is not a loss: it is counted as a migration, see `Play::on_connection_end`.)
        self.outcome.connection_ended(&e);
        play.on_connection_end(bot.redirected().is_some());
        if !cfg.resume.should_resume(&e, bot.resume_token().is_some()) {
            play.on_not_resumed(None);
            return false;
        }
        let (before, node) = (bot.player_id(), node_of(bot.url()).to_owned());
        // Through the entry URL, not the node the bot plays on: that node may be gone, and
        // the entry sends the resume on to the seat's node (PROTOCOL.md, *Redirect*). With a
        // fresh join token, too: the first one may have expired since.
        bot.set_url(self.entry_url());
        let resumed = tokio::select! {
            r = bot.resume(&cfg.resume) => r,
            // The run ended meanwhile; there is no connection left to close.
            // A hand-over under way stays unresolved: the run ended it, not the move.
            _ = stopped.as_mut() => return false,
        };
        match resumed {
            Ok(r) => {
                self.outcome.resumed();
                Live::add(&shared.tally.live.resumes, 1);
                let after = bot.player_id().unwrap_or_default();
                let moved = node_of(bot.url()) != node;
                let abandoned = play.on_resumed(before.unwrap_or_default(), after, moved);
                tracing::debug!(
                    bot = self.index,
                    attempts = r.attempts,
                    elapsed_ms = r.elapsed.as_millis() as u64,
                    abandoned_inputs = abandoned,
                    "connection lost and resumed"
                );
                true
            }
            Err(e) => {
                self.outcome.resume_failed(&e);
                play.on_not_resumed(Some(&e));
                Live::add(&shared.tally.live.resume_failures, 1);
                tracing::debug!(bot = self.index, error = %e, "connection lost, not resumed");
                let seat_gone = matches!(e, ResumeError::Refused(_) | ResumeError::GaveUp { .. });
                seat_gone && self.rejoin(bot, play, stopped).await
            }
        }
    }

    /// `--matchmake`: asks the entry node where to play and moves this bot to the node it
    /// answers; the room to join (`None`: quick play). `None` when the run stopped meanwhile or
    /// the request failed (booked as a failed join).
    async fn ask_where_to_play(
        &mut self,
        stop: &mut watch::Receiver<bool>,
    ) -> Option<Option<String>> {
        let cfg = &self.shared.config;
        let asked = tokio::select! {
            r = Match::ask(&cfg.url, cfg.connect_timeout) => r,
            _ = stopped(stop) => return None,
        };
        match asked {
            Ok(m) => {
                self.node_url = m.url;
                Some(m.room)
            }
            Err(e) => {
                Live::add(&self.shared.tally.live.failed, 1);
                tracing::debug!(bot = self.index, error = %e, "matchmake failed");
                self.outcome.error("matchmake".into());
                None
            }
        }
    }

    /// The seat is gone (a resume refused with 4005, or one that got no answer: the room's
    /// node died and its rooms with it): joins again as a new player through the entry URL,
    /// with the run's first join, under the run's resume policy (its attempts, backoff and
    /// budget; within a lease TTL the entry may still send the bot to the dead node). Returns
    /// whether play goes on.
    async fn rejoin(
        &mut self,
        bot: &mut Bot,
        play: &mut Play,
        mut stopped: Pin<&mut impl Future<Output = ()>>,
    ) -> bool {
        let shared = Arc::clone(&self.shared);
        let policy = shared.config.resume;
        let join = self.join(self.room());
        let deadline = Instant::now() + policy.budget;
        for attempt in 1..=policy.attempts {
            let delay = policy.delay_before(attempt, rand::random());
            let now = Instant::now();
            if now + delay >= deadline {
                break;
            }
            let timeout = policy.attempt_timeout.min(deadline - now - delay);
            let url = self.entry_url();
            let tried = tokio::select! {
                r = async {
                    tokio::time::sleep(delay).await;
                    Bot::connect_timeout(&url, &join, timeout).await
                } => r,
                _ = stopped.as_mut() => return false,
            };
            match tried {
                Ok(fresh) => {
                    bot.adopt_new_player(fresh);
                    let abandoned = play.on_rejoined(Instant::now());
                    self.outcome.rejoined(bot.welcome().room_id.clone());
                    tracing::debug!(bot = self.index, attempt, abandoned_inputs = abandoned, room_id = %bot.welcome().room_id, "rejoined as a new player");
                    return true;
                }
                Err(e) => {
                    tracing::debug!(bot = self.index, attempt, error = %e, "rejoin attempt failed");
                    if matches!(after_failure(&e), AfterFailure::GiveUp) {
                        self.outcome.error(format!("rejoin_{}", e.kind()));
                        return false;
                    }
                }
            }
        }
        self.outcome.error("rejoin_gave_up".into());
        false
    }

    /// The run's room for this bot: a quick play (`None`) or the named room.
    fn room(&self) -> Option<String> {
        match &self.shared.config.room {
            RoomChoice::Any => None,
            RoomChoice::Named(id) => Some(id.clone()),
        }
    }

    /// A join of `room` as a new player.
    fn join(&self, room: Option<String>) -> Join {
        Join {
            version: PROTOCOL_VERSION,
            room,
            name: self.name(),
            resume: None,
            deltas: self.shared.config.snapshots != SnapshotMode::Full,
            packed: self.shared.config.snapshots == SnapshotMode::Packed,
        }
    }

    /// This bot's player name.
    fn name(&self) -> String {
        format!("{}{}", self.shared.config.name_prefix, self.index)
    }

    /// The URL of the node this bot joins at (the entry, or where `--matchmake` sent it), with
    /// a freshly signed join token when the server wants one.
    fn url(&self) -> String {
        self.signed(&self.node_url)
    }

    /// The entry URL, for resumes and rejoins: the node the bot played on may be gone, and the
    /// entry sends a resume on to the seat's node (PROTOCOL.md, *Redirect*).
    fn entry_url(&self) -> String {
        self.signed(&self.shared.config.url)
    }

    fn signed(&self, url: &str) -> String {
        let cfg = &self.shared.config;
        match &cfg.auth_secret {
            None => url.to_owned(),
            Some(secret) => {
                let expires = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .saturating_add(cfg.token_ttl)
                    .as_secs();
                let token = join_token(secret.as_bytes(), &self.name(), "", expires);
                with_token(url, &token)
            }
        }
    }
}
