//! [`LoadConfig`]: everything a [`crate::LoadRun`] needs to know, with sensible defaults.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

use crate::behaviour::Behaviour;
use crate::resume::ResumePolicy;

/// Which room bots ask for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RoomChoice {
    /// `room: nil` — the server's matchmaking puts each bot in any room with space.
    #[default]
    Any,
    /// Every bot joins (or creates) this room id.
    Named(String),
}

impl FromStr for RoomChoice {
    type Err = String;
    /// `any` or a room id (`[A-Za-z0-9_-]{1,32}`).
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "any" {
            return Ok(RoomChoice::Any);
        }
        tickcast_shared::validate::room_id(s).map_err(|e| format!("room {s:?}: {e}"))?;
        Ok(RoomChoice::Named(s.to_string()))
    }
}

impl fmt::Display for RoomChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoomChoice::Any => f.write_str("any"),
            RoomChoice::Named(id) => f.write_str(id),
        }
    }
}

impl Serialize for RoomChoice {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Which snapshots the bots ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotMode {
    /// Join with `deltas` and `packed`: packed patches (`"d"`, residuals of a prediction)
    /// against each bot's acknowledged baseline, applied with
    /// `tickcast_shared::delta::Baselines::receive_packed` (what the browser client does).
    #[default]
    Packed,
    /// Join with `deltas` only: `"delta"` patches, the format of clients from before `packed`.
    Delta,
    /// Full snapshots, the same bytes for every player of a room.
    Full,
}

impl fmt::Display for SnapshotMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SnapshotMode::Packed => "packed",
            SnapshotMode::Delta => "delta",
            SnapshotMode::Full => "full",
        })
    }
}

impl FromStr for SnapshotMode {
    type Err = String;
    /// `packed`, `delta` or `full`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "packed" => Ok(SnapshotMode::Packed),
            "delta" => Ok(SnapshotMode::Delta),
            "full" => Ok(SnapshotMode::Full),
            _ => Err(format!("snapshots {s:?}: expected packed, delta or full")),
        }
    }
}

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid load configuration: {0}")]
pub struct ConfigError(pub String);

/// A load run's parameters. Build with [`LoadConfig::new`] and adjust fields.
///
/// Timeline: bots connect (at `ramp_per_second`, or as fast as `max_connecting` allows); when
/// every connection attempt has finished the *ramp* ends and the bots play for `duration`. The
/// first `warmup` of that is excluded; the rest is the *steady window* every figure in the
/// report covers. Then every bot closes with 1000.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadConfig {
    /// The server's WebSocket URL, e.g. `ws://127.0.0.1:8080/ws`.
    pub url: String,
    /// Number of bots (connections).
    pub bots: u32,
    /// Play time after the ramp (warmup included).
    pub duration: Duration,
    /// Start of the play time excluded from the measurements.
    pub warmup: Duration,
    pub room: RoomChoice,
    /// Each bot first asks `POST /matchmake` on the node of `url` (the entry node), then joins
    /// the room it answers at the node it answers (quick play there when it answers no room);
    /// `room` is then unused. The join latency includes that request.
    pub matchmake: bool,
    /// Delta or full snapshots.
    pub snapshots: SnapshotMode,
    /// New connections per second; `None` = as fast as possible.
    pub ramp_per_second: Option<f64>,
    /// Connection attempts in flight at once.
    pub max_connecting: usize,
    /// Inputs per second per bot (0 = none; pings are still sent).
    pub input_hz: f64,
    /// Time between two pings of one bot.
    pub ping_interval: Duration,
    pub behaviour: Behaviour,
    /// Where to scrape server CPU and RSS; `None` = don't.
    pub metrics_url: Option<String>,
    /// The server's pid when it runs on this machine: its CPU and RSS are then read from
    /// `/proc/<pid>` (finer than whole-second `process_cpu_seconds_total`).
    pub server_pid: Option<u32>,
    /// With the server's `--auth-secret`: every bot connects with a join token for its name.
    pub auth_secret: Option<String>,
    /// Lifetime of those tokens (they are checked when a bot connects).
    pub token_ttl: Duration,
    /// Bot names are `{name_prefix}{index}` (at most 20 characters in all).
    pub name_prefix: String,
    /// Timeout for TCP connect + handshake, and again for the welcome.
    pub connect_timeout: Duration,
    /// What a bot does when its connection is lost without a close frame (a reset or an EOF;
    /// see [`crate::resume`]): reconnect with its resume token and play on as the same player,
    /// counted in [`crate::Report::resumes`]. [`ResumePolicy::never`] turns it off.
    ///
    /// Resumes go through the entry URL (the node the bot played on may be gone; the entry
    /// redirects to the seat's node). When the seat is gone — a resume refused with 4005 (the
    /// grace period is over) or one that gives up (its node died) — the bot joins again as a new
    /// player through the entry URL, under the same policy: counted in
    /// [`crate::Report::resume_failures`] and in the report's rejoins, so the loss shows and the
    /// load stays. Close frames from the server (1001 on shutdown, kicks) are never resumed.
    pub resume: ResumePolicy,
    /// Seed for the bots' movement.
    pub seed: u64,
    /// Show the live progress line (only honoured when stdout is a terminal).
    pub progress: bool,
    /// Histogram shards (lock striping); about twice the runtime's worker threads.
    pub shards: usize,
}

impl LoadConfig {
    /// `bots` wandering bots on `url` for `duration`, 30 inputs/s, 1 s warmup, any room, the
    /// metrics URL derived from `url`, no progress line.
    pub fn new(url: impl Into<String>, bots: u32, duration: Duration) -> Self {
        let url = url.into();
        LoadConfig {
            metrics_url: crate::server_metrics::metrics_url_for(&url),
            server_pid: None,
            auth_secret: None,
            token_ttl: Duration::from_secs(3600),
            url,
            bots,
            duration,
            warmup: Duration::from_secs(1).min(duration / 2),
            room: RoomChoice::Any,
            matchmake: false,
            snapshots: SnapshotMode::Packed,
            ramp_per_second: None,
            max_connecting: 256,
            input_hz: 30.0,
            ping_interval: Duration::from_secs(1),
            behaviour: Behaviour::Wander,
            name_prefix: "bot-".into(),
            connect_timeout: Duration::from_secs(10),
            resume: ResumePolicy::default(),
            seed: 1,
            progress: false,
            shards: 2,
        }
    }

    /// Checks the values are usable together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError(m));
        if !(self.url.starts_with("ws://") || self.url.starts_with("wss://")) {
            return bad(format!(
                "url {:?} must start with ws:// or wss://",
                self.url
            ));
        }
        if self.matchmake && crate::matchmake::Match::endpoint_for(&self.url).is_none() {
            return bad(format!(
                "--matchmake needs a ws:// url (its POST /matchmake is plain HTTP), not {:?}",
                self.url
            ));
        }
        if self.bots == 0 {
            return bad("bots must be at least 1".into());
        }
        if self.warmup >= self.duration {
            return bad(format!(
                "warmup ({:?}) must be shorter than duration ({:?})",
                self.warmup, self.duration
            ));
        }
        if !(self.input_hz.is_finite() && (0.0..=1000.0).contains(&self.input_hz)) {
            return bad(format!(
                "input rate {} must be within 0..=1000 Hz",
                self.input_hz
            ));
        }
        if let Some(r) = self.ramp_per_second {
            if !(r.is_finite() && r > 0.0) {
                return bad(format!(
                    "ramp {r} must be a positive number of bots per second"
                ));
            }
        }
        if self.ping_interval.is_zero() {
            return bad("ping interval must be positive".into());
        }
        if !(1..=65_536).contains(&self.max_connecting) || !(1..=1024).contains(&self.shards) {
            return bad(
                "max_connecting must be within 1..=65536 and shards within 1..=1024".into(),
            );
        }
        let r = &self.resume;
        if r.attempts > 100 || (r.enabled() && r.attempt_timeout.is_zero()) {
            return bad(format!(
                "resume attempts ({}) must be within 0..=100, each with a positive timeout",
                r.attempts
            ));
        }
        let longest = format!("{}{}", self.name_prefix, self.bots.saturating_sub(1));
        if let Err(e) = tickcast_shared::validate::player_name(&longest) {
            return bad(format!("bot name {longest:?}: {e}"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_mistakes_are_caught() {
        let c = LoadConfig::new("ws://127.0.0.1:1/ws", 10, Duration::from_secs(5));
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.metrics_url.as_deref(), Some("http://127.0.0.1:1/metrics"));
        let mut w = c.clone();
        w.warmup = Duration::from_secs(5);
        assert!(w.validate().is_err());
        let mut n = c.clone();
        n.name_prefix = "a-very-long-bot-name-".into();
        assert!(n.validate().is_err());
        assert!(LoadConfig::new("http://x", 1, Duration::from_secs(1))
            .validate()
            .is_err());
    }

    #[test]
    fn matchmaking_needs_a_plain_ws_entry_url() {
        let mut c = LoadConfig::new("ws://127.0.0.1:8081/ws", 10, Duration::from_secs(5));
        c.matchmake = true;
        assert_eq!(c.validate(), Ok(()));
        c.url = "wss://lb.example/ws".into();
        assert!(c.validate().is_err());
    }

    #[test]
    fn room_choice_parses() {
        assert_eq!("any".parse(), Ok(RoomChoice::Any));
        assert_eq!("r-1".parse(), Ok(RoomChoice::Named("r-1".into())));
        assert!("a b".parse::<RoomChoice>().is_err());
    }
}
