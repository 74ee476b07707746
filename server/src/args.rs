//! The server's command-line flags (each with an environment variable) and the one validating
//! conversion from them into a [`ServerConfig`].
//!
//! The binary flattens [`ServerArgs`] into its parser and calls `ServerConfig::try_from`; tests
//! parse flags the same way. A flag's default is read from [`ServerConfig::default()`], so a
//! default is written once, in `config.rs`; the flags that have no `ServerConfig` field (where to
//! listen, the arena file, the log filter) keep their defaults here. Every rule a flag's value is
//! held to is applied in [`TryFrom<&ServerArgs>`] (the cluster flags' in [`ClusterArgs::config`],
//! which it calls) and nowhere else: seconds must be finite and
//! non-negative, a few values are raised to a floor, and `--delta-window` is lowered to
//! [`MAX_WINDOW`] (each with a warning).

use std::fmt::Debug;
use std::path::PathBuf;
use std::time::Duration;

use tickcast_shared::delta::MAX_WINDOW;

use crate::config::ServerConfig;
use crate::game::arena::{ArenaConfig, ArenaConfigError, RoundRules};
use crate::tls::{self, TlsError};
use crate::token::TokenKey;

mod cluster;

pub use self::cluster::{ClusterArgs, MIN_LEASE_TTL};

/// The binary's default `--static-dir`: the web client as `npm run build` leaves it. The library
/// serves no files by default ([`ServerConfig::static_dir`] is `None`).
pub const DEFAULT_STATIC_DIR: &str = "web-client/dist";

/// The shortest heartbeat interval accepted; shorter ones are raised to it.
pub const MIN_HEARTBEAT_INTERVAL: Duration = Duration::from_millis(100);

/// The smallest HTTP/1 write buffer accepted (bytes); smaller ones are raised to it.
pub const MIN_H1_WRITE_BUFFER: usize = 1024;

/// Everything `tickcast-server` is started with (besides its `token` subcommand).
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Address to bind.
    #[arg(long, env = "TICKCAST_BIND", default_value = "127.0.0.1")]
    pub bind: String,
    /// Port to listen on (0 = any free port; the chosen one is printed).
    #[arg(long, env = "TICKCAST_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Simulation ticks (and snapshots) per second.
    #[arg(long, env = "TICKCAST_TICK_RATE", default_value_t = ServerConfig::default().tick_rate,
        value_parser = clap::value_parser!(u16).range(1..=240))]
    pub tick_rate: u16,
    /// Seats per room (at least 1).
    #[arg(long, env = "TICKCAST_MAX_PLAYERS_PER_ROOM",
        default_value_t = ServerConfig::default().max_players_per_room)]
    pub max_players_per_room: usize,
    /// Rooms alive at once (at least 1); a join that needs one more is closed with 4002.
    #[arg(long, env = "TICKCAST_MAX_ROOMS", default_value_t = ServerConfig::default().max_rooms)]
    pub max_rooms: usize,
    /// The built web client to serve at `/`.
    #[arg(long, env = "TICKCAST_STATIC_DIR", default_value = DEFAULT_STATIC_DIR)]
    pub static_dir: PathBuf,
    /// The arena's parameters (TOML); built-in defaults when the file is absent.
    #[arg(
        long,
        env = "TICKCAST_ARENA_CONFIG",
        default_value = "assets/arena.toml"
    )]
    pub arena_config: PathBuf,
    /// Seconds a round of the arena lasts (0 = no rounds: one endless game); then the winner is
    /// announced for --round-over-secs, scores reset and the next round starts.
    #[arg(long, env = "TICKCAST_ROUND_SECS", default_value_t = 120)]
    pub round_secs: u32,
    /// Seconds the end of a round (winner banner, scores frozen) lasts before the next one.
    #[arg(long, env = "TICKCAST_ROUND_OVER_SECS", default_value_t = 5)]
    pub round_over_secs: u32,
    /// Seconds without a snapshot read after which a client is disconnected (close 4004).
    #[arg(long, env = "TICKCAST_STALL_TIMEOUT",
        default_value_t = ServerConfig::default().stall_timeout.as_secs_f64())]
    pub stall_timeout: f64,
    /// Seconds a player whose connection dropped keeps its seat for a resume (`Join.resume`).
    #[arg(long, env = "TICKCAST_RESUME_GRACE",
        default_value_t = ServerConfig::default().resume_grace.as_secs_f64())]
    pub resume_grace: f64,
    /// Seconds a connection may take to join a room (else close 1008).
    #[arg(long, env = "TICKCAST_JOIN_TIMEOUT",
        default_value_t = ServerConfig::default().join_timeout.as_secs_f64())]
    pub join_timeout: f64,
    /// Seconds an empty room lives before it is disposed.
    #[arg(long, env = "TICKCAST_EMPTY_ROOM_GRACE",
        default_value_t = ServerConfig::default().empty_room_grace.as_secs_f64())]
    pub empty_room_grace: f64,
    /// Per-connection socket send buffer in bytes (0 = kernel auto-tuning).
    #[arg(long, env = "TICKCAST_SOCKET_SEND_BUFFER",
        default_value_t = ServerConfig::default().socket_send_buffer)]
    pub socket_send_buffer: usize,
    /// Per-connection HTTP/1 write buffer limit in bytes (at least 1024): the session pauses once
    /// this much is waiting for the socket. actix-http's own 8 KiB buffers are fixed whatever it is.
    #[arg(long, env = "TICKCAST_H1_WRITE_BUFFER",
        default_value_t = ServerConfig::default().h1_write_buffer)]
    pub h1_write_buffer: usize,
    /// HTTP worker threads (0 = one per CPU).
    #[arg(long, env = "TICKCAST_WORKERS", default_value_t = ServerConfig::default().workers)]
    pub workers: usize,
    /// Threads of their own for rooms (0 = rooms run on the HTTP worker threads, each with the
    /// session that created it: fewer cross-thread wakes).
    #[arg(long, env = "TICKCAST_ROOM_THREADS",
        default_value_t = ServerConfig::default().room_threads)]
    pub room_threads: usize,
    /// Seed for room RNGs (reproducible rooms); random when absent.
    #[arg(long, env = "TICKCAST_SEED")]
    pub seed: Option<u64>,
    /// Seconds between server pings (at least 0.1).
    #[arg(long, env = "TICKCAST_HEARTBEAT_INTERVAL",
        default_value_t = ServerConfig::default().heartbeat_interval.as_secs_f64())]
    pub heartbeat_interval: f64,
    /// Seconds without hearing from a client before it is closed (4006; its seat is held for a
    /// resume).
    #[arg(long, env = "TICKCAST_CLIENT_TIMEOUT",
        default_value_t = ServerConfig::default().client_timeout.as_secs_f64())]
    pub client_timeout: f64,
    /// Open WebSocket sessions at most (further upgrades: HTTP 503).
    #[arg(long, env = "TICKCAST_MAX_CONNECTIONS",
        default_value_t = ServerConfig::default().max_connections)]
    pub max_connections: usize,
    /// Open sessions per client IP at most (further upgrades: HTTP 429). Loopback is exempt
    /// unless --limit-loopback.
    #[arg(long, env = "TICKCAST_MAX_CONNECTIONS_PER_IP",
        default_value_t = ServerConfig::default().max_connections_per_ip)]
    pub max_connections_per_ip: usize,
    /// Apply the per-IP limit to loopback clients too.
    #[arg(long, env = "TICKCAST_LIMIT_LOOPBACK")]
    pub limit_loopback: bool,
    /// Behind a reverse proxy: take the client IP from the last `Forwarded: for=` (RFC 7239) or
    /// else the last X-Forwarded-For entry.
    #[arg(long, env = "TICKCAST_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// Browser origins allowed to open /ws, comma-separated (e.g. `https://game.example`);
    /// any origin when absent. Clients that send no Origin header are always allowed.
    #[arg(long, env = "TICKCAST_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Require a signed join token (subprotocol `tickcast.token.…` or `/ws?token=…`) made with this secret.
    #[arg(long, env = "TICKCAST_AUTH_SECRET", hide_env_values = true)]
    pub auth_secret: Option<String>,
    /// Client messages per second a session may sustain, in multiples of the tick rate.
    #[arg(long, env = "TICKCAST_MESSAGE_RATE",
        default_value_t = ServerConfig::default().message_rate_factor)]
    pub message_rate: f64,
    /// Messages a session may burst above that rate, in multiples of the tick rate.
    #[arg(long, env = "TICKCAST_MESSAGE_BURST",
        default_value_t = ServerConfig::default().message_burst_factor)]
    pub message_burst: f64,
    /// Ticks of state kept per room as delta baselines (0: no deltas, full snapshots for all).
    #[arg(long, env = "TICKCAST_DELTA_WINDOW",
        default_value_t = ServerConfig::default().delta_window)]
    pub delta_window: usize,
    /// Seconds of snapshots a delta client may have unacknowledged before it is sent no newer
    /// one (ack clocking; 0 = off).
    #[arg(long, env = "TICKCAST_DELTA_ACK_LAG",
        default_value_t = ServerConfig::default().delta_ack_lag.as_secs_f64())]
    pub delta_ack_lag: f64,
    /// Named rooms one client address may create per second, sustained (further creations are
    /// closed with 4008 and a retry-after; joining existing rooms and quick play are not charged).
    #[arg(long, env = "TICKCAST_ROOM_CREATE_RATE",
        default_value_t = ServerConfig::default().room_create_rate)]
    pub room_create_rate: f64,
    /// Named rooms one client address may create at once, above that rate.
    #[arg(long, env = "TICKCAST_ROOM_CREATE_BURST",
        default_value_t = ServerConfig::default().room_create_burst)]
    pub room_create_burst: f64,
    /// Share of --max-rooms (0 to 1) that only quick play may fill: once only that share is
    /// left, joins that would create a named room are closed with 4002.
    #[arg(long, env = "TICKCAST_QUICK_PLAY_RESERVE",
        default_value_t = ServerConfig::default().quick_play_reserve)]
    pub quick_play_reserve: f64,
    /// PEM certificate chain: serve https:// and wss:// (with --tls-key).
    #[arg(long, env = "TICKCAST_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "TICKCAST_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The cluster flags (`--redis-url` and the ones that need it).
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Bearer token for `POST /admin/drain`. Without it the admin routes are served only when
    /// bound to a loopback address.
    #[arg(long, env = "TICKCAST_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Log filter, `RUST_LOG` syntax (e.g. `info,tickcast_server::room=debug`).
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log: String,
}

/// Why flags could not be turned into a [`ServerConfig`].
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A duration flag that is negative, NaN or too large for a `Duration`.
    #[error("--{flag} must be a non-negative number of seconds (got {value})")]
    Seconds { flag: &'static str, value: f64 },
    /// `--tls-cert` / `--tls-key` could not be loaded.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// `--redis-url` with a scheme the server cannot use.
    #[error("--redis-url must start with redis://, rediss:// or redis+unix:// (got {0:?})")]
    RedisUrl(String),
    /// `--redis-ca` without a `rediss://` URL, or a file that cannot be read.
    #[error("--redis-ca {path:?}: {reason}")]
    RedisCa { path: PathBuf, reason: String },
    /// `--public-url` that clients could not connect to.
    #[error("--public-url must be an absolute ws:// or wss:// URL with a host (got {0:?})")]
    PublicUrl(String),
    /// A rate or count flag that is not a finite number above 0.
    #[error("--{flag} must be a number above 0 (got {value})")]
    Positive { flag: &'static str, value: f64 },
    /// A share flag that is not between 0 and 1.
    #[error("--{flag} must be a share between 0 and 1 (got {value})")]
    Share { flag: &'static str, value: f64 },
    /// A cluster flag given without `--redis-url`.
    #[error("--{0} needs --redis-url")]
    NeedsRedis(&'static str),
}

impl TryFrom<&ServerArgs> for ServerConfig {
    type Error = ConfigError;

    /// Applies every rule once. Call it after logging is set up: a value moved to its bound is
    /// logged as a warning.
    fn try_from(args: &ServerArgs) -> Result<Self, ConfigError> {
        // The fields that have no flag.
        let fixed = ServerConfig::default();
        Ok(ServerConfig {
            tick_rate: args.tick_rate,
            max_players_per_room: at_least("max-players-per-room", args.max_players_per_room, 1),
            max_rooms: at_least("max-rooms", args.max_rooms, 1),
            empty_room_grace: seconds("empty-room-grace", args.empty_room_grace)?,
            stall_timeout: seconds("stall-timeout", args.stall_timeout)?,
            resume_grace: seconds("resume-grace", args.resume_grace)?,
            join_timeout: seconds("join-timeout", args.join_timeout)?,
            heartbeat_interval: at_least(
                "heartbeat-interval",
                seconds("heartbeat-interval", args.heartbeat_interval)?,
                MIN_HEARTBEAT_INTERVAL,
            ),
            client_timeout: seconds("client-timeout", args.client_timeout)?,
            socket_send_buffer: args.socket_send_buffer,
            h1_write_buffer: at_least("h1-write-buffer", args.h1_write_buffer, MIN_H1_WRITE_BUFFER),
            unsent_limit: fixed.unsent_limit,
            max_message_bytes: fixed.max_message_bytes,
            workers: args.workers,
            room_threads: args.room_threads,
            static_dir: Some(args.static_dir.clone()),
            seed: args.seed,
            max_connections: args.max_connections,
            max_connections_per_ip: args.max_connections_per_ip,
            limit_loopback: args.limit_loopback,
            trust_proxy: args.trust_proxy,
            allowed_origins: args
                .allowed_origins
                .iter()
                .map(|o| o.trim().to_string())
                .filter(|o| !o.is_empty())
                .collect(),
            auth: args
                .auth_secret
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| TokenKey::new(s.as_bytes())),
            message_rate_factor: args.message_rate,
            message_burst_factor: args.message_burst,
            // Clients are only required to hold MAX_WINDOW states: a longer window would base
            // deltas on states they may have dropped.
            delta_window: at_most("delta-window", args.delta_window, MAX_WINDOW),
            delta_ack_lag: seconds("delta-ack-lag", args.delta_ack_lag)?,
            room_create_rate: positive("room-create-rate", args.room_create_rate)?,
            room_create_burst: positive("room-create-burst", args.room_create_burst)?.max(1.0),
            quick_play_reserve: share("quick-play-reserve", args.quick_play_reserve)?,
            tls: match (&args.tls_cert, &args.tls_key) {
                (Some(cert), Some(key)) => Some(tls::load_pem(cert, key)?),
                // clap refuses one without the other.
                _ => None,
            },
            cluster: args.cluster.config()?,
            admin_token: args
                .admin_token
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        })
    }
}

impl ServerArgs {
    /// The arena's parameters from `--arena-config`, or the built-in ones (with a warning) when
    /// there is no such file, with the rounds of `--round-secs` and `--round-over-secs`.
    pub fn arena(&self) -> Result<ArenaConfig, ArenaConfigError> {
        let mut arena = if self.arena_config.is_file() {
            ArenaConfig::load(&self.arena_config)?
        } else {
            tracing::warn!(path = %self.arena_config.display(), "arena config not found; using built-in defaults");
            ArenaConfig::default()
        };
        arena.rounds = RoundRules::from_secs(self.round_secs, self.round_over_secs, self.tick_rate);
        Ok(arena)
    }
}

fn seconds(flag: &'static str, value: f64) -> Result<Duration, ConfigError> {
    Duration::try_from_secs_f64(value).map_err(|_| ConfigError::Seconds { flag, value })
}

fn positive(flag: &'static str, value: f64) -> Result<f64, ConfigError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(ConfigError::Positive { flag, value })
    }
}

fn share(flag: &'static str, value: f64) -> Result<f64, ConfigError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::Share { flag, value })
    }
}

fn at_least<T: Ord + Debug>(flag: &'static str, value: T, min: T) -> T {
    if value < min {
        tracing::warn!(flag, requested = ?value, using = ?min, "raised to the minimum");
        min
    } else {
        value
    }
}

fn at_most<T: Ord + Debug>(flag: &'static str, value: T, max: T) -> T {
    if value > max {
        tracing::warn!(flag, requested = ?value, using = ?max, "lowered to the maximum");
        max
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use clap::{Args as _, Command, FromArgMatches as _};

    use super::*;

    /// Parses `flags` as the binary would, ignoring the environment (so a `TICKCAST_*` or
    /// `RUST_LOG` variable in the test's environment cannot change the outcome).
    fn parse(flags: &[&str]) -> Result<ServerArgs, clap::Error> {
        let matches = ServerArgs::augment_args(Command::new("tickcast-server"))
            .mut_args(|a| a.env(None::<&str>))
            .try_get_matches_from(
                std::iter::once("tickcast-server").chain(flags.iter().copied()),
            )?;
        ServerArgs::from_arg_matches(&matches)
    }

    fn config(flags: &[&str]) -> Result<ServerConfig, ConfigError> {
        ServerConfig::try_from(&parse(flags).expect("the test's flags should parse"))
    }

    #[test]
    fn without_flags_the_config_is_the_library_default_serving_the_web_client() {
        let from_flags = config(&[]).expect("the defaults are valid");
        assert_eq!(
            from_flags.static_dir.as_deref(),
            Some(std::path::Path::new(DEFAULT_STATIC_DIR))
        );
        let library = ServerConfig {
            static_dir: Some(DEFAULT_STATIC_DIR.into()),
            ..ServerConfig::default()
        };
        // ServerConfig holds a rustls config and a key, so it has no PartialEq; its Debug form
        // shows every field.
        assert_eq!(format!("{from_flags:?}"), format!("{library:?}"));
    }

    #[test]
    fn rounds_last_two_minutes_by_default_in_ticks_and_zero_turns_them_off() {
        let missing = "--arena-config=/nonexistent/arena.toml";
        let arena = |flags: &[&str]| {
            let args = parse(&[&[missing], flags].concat()).expect("the flags should parse");
            args.arena().expect("the built-in arena is valid").rounds
        };
        let rules = arena(&[]).expect("rounds are on by default");
        assert_eq!((rules.play_ticks, rules.over_ticks), (120 * 30, 5 * 30));
        let rules = arena(&[
            "--round-secs",
            "60",
            "--round-over-secs",
            "3",
            "--tick-rate",
            "20",
        ])
        .expect("rounds are on");
        assert_eq!((rules.play_ticks, rules.over_ticks), (1200, 60));
        assert_eq!(arena(&["--round-secs", "0"]), None);
    }

    #[test]
    fn room_creation_flags_must_be_positive_rates_and_a_share() {
        let c = config(&["--room-create-rate", "0.2", "--room-create-burst", "0.5"]).expect("ok");
        assert_eq!(
            (c.room_create_rate, c.room_create_burst),
            (0.2, 1.0),
            "burst ≥ 1"
        );
        for bad in [["--room-create-rate", "0"], ["--room-create-burst", "NaN"]] {
            let err = config(&bad).expect_err("not a positive number");
            assert!(
                matches!(err, ConfigError::Positive { .. }),
                "{bad:?}: {err:?}"
            );
        }
        assert_eq!(
            config(&["--quick-play-reserve", "0"])
                .expect("ok")
                .quick_play_reserve,
            0.0
        );
        let err = config(&["--quick-play-reserve", "1.5"]).expect_err("not a share");
        assert!(
            err.to_string()
                .starts_with("--quick-play-reserve must be a share"),
            "{err}"
        );
    }

    #[test]
    fn seconds_are_fractional_and_zero_is_allowed() {
        let c = config(&["--delta-ack-lag", "0", "--stall-timeout", "2.5"]).expect("valid");
        assert_eq!(c.delta_ack_lag, Duration::ZERO);
        assert_eq!(c.stall_timeout, Duration::from_millis(2500));
    }

    #[test]
    fn negative_nan_and_infinite_seconds_are_refused_naming_the_flag() {
        for value in ["-1", "NaN", "inf"] {
            let flag = format!("--resume-grace={value}");
            let err = config(&[&flag]).expect_err("not a duration");
            assert!(
                matches!(
                    err,
                    ConfigError::Seconds {
                        flag: "resume-grace",
                        ..
                    }
                ),
                "{value}: {err:?}"
            );
            assert!(
                err.to_string().starts_with("--resume-grace must be"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_delta_window_over_the_maximum_is_lowered_to_it() {
        let over = (MAX_WINDOW + 1).to_string();
        let c = config(&["--delta-window", &over]).expect("valid");
        assert_eq!(c.delta_window, MAX_WINDOW);
        let at = MAX_WINDOW.to_string();
        assert_eq!(
            config(&["--delta-window", &at])
                .expect("valid")
                .delta_window,
            MAX_WINDOW
        );
    }

    #[test]
    fn a_delta_window_of_zero_turns_deltas_off() {
        let c = config(&["--delta-window", "0"]).expect("valid");
        assert!(!c.deltas_enabled());
        assert!(config(&[]).expect("valid").deltas_enabled());
    }

    #[test]
    fn values_below_their_floor_are_raised_to_it() {
        let c = config(&[
            "--max-players-per-room=0",
            "--max-rooms=0",
            "--h1-write-buffer=10",
            "--heartbeat-interval=0.01",
        ])
        .expect("valid");
        assert_eq!(c.max_players_per_room, 1);
        assert_eq!(c.max_rooms, 1);
        assert_eq!(c.h1_write_buffer, MIN_H1_WRITE_BUFFER);
        assert_eq!(c.heartbeat_interval, MIN_HEARTBEAT_INTERVAL);
    }

    #[test]
    fn a_heartbeat_longer_than_the_client_timeout_is_accepted_as_given() {
        let c = config(&["--heartbeat-interval=20", "--client-timeout=15"]).expect("valid");
        assert_eq!(c.heartbeat_interval, Duration::from_secs(20));
        assert_eq!(c.client_timeout, Duration::from_secs(15));
    }

    #[test]
    fn tick_rates_outside_1_to_240_are_refused_by_the_parser() {
        for bad in ["0", "241"] {
            assert!(parse(&["--tick-rate", bad]).is_err(), "{bad}");
        }
        assert_eq!(
            config(&["--tick-rate", "240"]).expect("valid").tick_rate,
            240
        );
    }

    #[test]
    fn origins_are_trimmed_and_empty_entries_dropped() {
        let c = config(&[
            "--allowed-origins",
            " https://a.example, ,https://b.example,",
        ])
        .expect("valid");
        assert_eq!(
            c.allowed_origins,
            ["https://a.example", "https://b.example"]
        );
    }

    #[test]
    fn an_empty_auth_secret_means_no_auth() {
        assert!(config(&["--auth-secret", ""])
            .expect("valid")
            .auth
            .is_none());
        assert!(config(&["--auth-secret", "s"])
            .expect("valid")
            .auth
            .is_some());
    }

    #[test]
    fn without_a_redis_url_there_is_no_cluster_and_cluster_flags_are_refused() {
        assert!(config(&[]).expect("valid").cluster.is_none());
        let err = config(&["--node-id", "a"]).expect_err("needs redis");
        assert!(matches!(err, ConfigError::NeedsRedis("node-id")), "{err:?}");
        let err = config(&["--public-url", "ws://h/ws"]).expect_err("needs redis");
        assert!(
            matches!(err, ConfigError::NeedsRedis("public-url")),
            "{err:?}"
        );
    }

    #[test]
    fn a_redis_url_makes_a_cluster_node_with_a_fresh_id_and_the_defaults() {
        let a = config(&["--redis-url", "redis+unix:///tmp/r.sock"]).expect("valid");
        let b = config(&["--redis-url", "redis://127.0.0.1:6379"]).expect("valid");
        let (a, b) = (a.cluster.expect("a node"), b.cluster.expect("a node"));
        assert_ne!(a.node_id, b.node_id, "each process gets its own id");
        assert_eq!(a.lease_ttl, Duration::from_secs(6));
        assert_eq!(a.public_url, None, "taken from the bound address");
        let c = config(&[
            "--redis-url=redis://r",
            "--node-id=n1",
            "--lease-ttl=1",
            "--public-url=wss://play.example/n/n1/ws",
            "--redis-connect-timeout=0",
        ])
        .expect("valid")
        .cluster
        .expect("a node");
        assert_eq!(c.node_id, "n1");
        assert_eq!(c.lease_ttl, Duration::from_secs(1));
        assert_eq!(c.connect_timeout, Duration::ZERO);
        assert_eq!(c.public_url.as_deref(), Some("wss://play.example/n/n1/ws"));
    }

    #[test]
    fn other_schemes_are_refused_with_a_clear_error() {
        let err = config(&["--redis-url", "http://r"]).expect_err("not redis");
        assert!(matches!(err, ConfigError::RedisUrl(_)), "{err:?}");
        assert!(err.to_string().contains("rediss://"), "{err}");
    }

    #[test]
    fn a_tls_redis_trusts_the_system_roots_or_the_ca_file_given() {
        let c = config(&["--redis-url", "rediss://r:6380"]).expect("valid");
        assert_eq!(c.cluster.expect("a node").redis_ca, None);
        let dir = std::env::temp_dir().join(format!("tickcast-args-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, b"PEM").expect("writable");
        let ca_flag = format!("--redis-ca={}", ca.display());
        let c = config(&["--redis-url=rediss://r", &ca_flag]).expect("valid");
        assert_eq!(
            c.cluster.expect("a node").redis_ca.as_deref(),
            Some(&b"PEM"[..])
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_redis_ca_needs_a_tls_url_and_a_readable_file() {
        let err = config(&["--redis-ca", "ca.pem"]).expect_err("no redis");
        assert!(
            matches!(err, ConfigError::NeedsRedis("redis-ca")),
            "{err:?}"
        );
        let err = config(&["--redis-url=redis://r", "--redis-ca=ca.pem"]).expect_err("plain");
        assert!(err.to_string().contains("rediss://"), "{err}");
        let err = config(&["--redis-url=rediss://r", "--redis-ca=/nonexistent/ca.pem"])
            .expect_err("missing");
        assert!(matches!(err, ConfigError::RedisCa { .. }), "{err:?}");
    }

    #[test]
    fn a_public_url_must_be_ws_or_wss_with_a_host() {
        for bad in ["http://h/ws", "ws:///ws", "/ws", "wss://"] {
            let err = config(&["--redis-url=redis://r", "--public-url", bad]).expect_err(bad);
            assert!(matches!(err, ConfigError::PublicUrl(_)), "{bad}: {err:?}");
        }
    }

    #[test]
    fn a_lease_ttl_below_the_floor_is_raised_to_it() {
        let c = config(&["--redis-url=redis://r", "--lease-ttl=0.01"]).expect("valid");
        assert_eq!(c.cluster.expect("a node").lease_ttl, MIN_LEASE_TTL);
    }

    #[test]
    fn a_tls_cert_needs_a_key_and_a_missing_file_is_a_tls_error() {
        assert!(parse(&["--tls-cert", "c.pem"]).is_err());
        assert!(parse(&["--tls-key", "k.pem"]).is_err());
        let err = config(&[
            "--tls-cert",
            "/nonexistent/c.pem",
            "--tls-key",
            "/nonexistent/k.pem",
        ])
        .expect_err("no such files");
        assert!(
            matches!(err, ConfigError::Tls(TlsError::Cert { .. })),
            "{err:?}"
        );
    }
}
