//! Server configuration: every limit and tunable, with safe defaults. [`ServerConfig::default()`]
//! is the one place a default is written: the binary's flags ([`crate::args`]) take theirs from
//! it and turn into a `ServerConfig` through one validating conversion; tests and embedders build
//! it directly. The runtime ([`crate::run`], rooms, sessions) only reads it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tickcast_shared::limits::MAX_CLIENT_MESSAGE_BYTES;

use crate::token::TokenKey;

/// Everything the runtime can be tuned with.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Simulation ticks (and snapshots) per second.
    pub tick_rate: u16,
    /// Seats per room; a join to a full named room is closed with 4001.
    pub max_players_per_room: usize,
    /// Rooms alive at once; a join that needs one more is closed with 4002.
    pub max_rooms: usize,
    /// How long an empty room lives before it is disposed (a player re-joining keeps it).
    pub empty_room_grace: Duration,
    /// A session that has not taken a snapshot for this long is disconnected (close 4004).
    pub stall_timeout: Duration,
    /// How long a player whose connection dropped keeps its seat for a resume (`Join.resume`).
    pub resume_grace: Duration,
    /// A connection that has not joined a room within this time is closed (1008).
    pub join_timeout: Duration,
    /// The server pings this often …
    pub heartbeat_interval: Duration,
    /// … and closes a client it has heard nothing from for this long.
    pub client_timeout: Duration,
    /// `SO_SNDBUF` per connection in bytes (0 = the kernel's auto-tuning, up to ~4 MiB).
    pub socket_send_buffer: usize,
    /// actix's HTTP/1 write buffer per connection; the session freezes once it is full. A limit,
    /// not an allocation: actix-http allocates a fixed 8 KiB write buffer (and an 8 KiB read
    /// buffer) per connection whatever this says, so lowering it saves no memory (BENCHMARKS.md,
    /// "Memory per client").
    pub h1_write_buffer: usize,
    /// A session skips (and so drops) a snapshot while more than this many bytes sit unsent in
    /// its socket: the client is not reading, and a newer snapshot will follow.
    pub unsent_limit: usize,
    /// Largest client message (and frame) in bytes.
    pub max_message_bytes: usize,
    /// HTTP worker threads (sessions); 0 = one per CPU.
    pub workers: usize,
    /// Threads of their own for room actors (rooms are spread over them); 0 = rooms run on the
    /// HTTP worker threads, each on the thread of the session that created it (see
    /// `registry/threads.rs`).
    pub room_threads: usize,
    /// The built web client to serve at `/` (`web-client/dist`).
    pub static_dir: Option<PathBuf>,
    /// Seed for room RNGs; `None` = random. Room `n` gets `seed + n`.
    pub seed: Option<u64>,
    /// Open WebSocket sessions at most; further upgrades get HTTP 503.
    pub max_connections: usize,
    /// Open sessions per client IP at most; further upgrades get HTTP 429.
    pub max_connections_per_ip: usize,
    /// Apply the per-IP limit to loopback peers too (off: local load tests and a same-host proxy
    /// without `trust_proxy` are not limited per IP).
    pub limit_loopback: bool,
    /// Take the client IP from the last `Forwarded: for=` or `X-Forwarded-For` entry (only
    /// behind a reverse proxy that sets it; otherwise clients could pick their own address).
    pub trust_proxy: bool,
    /// Browser origins allowed to upgrade (`https://game.example`); empty = any. Requests without
    /// an `Origin` header (non-browser clients) are always allowed.
    pub allowed_origins: Vec<String>,
    /// When set, `/ws` requires a signed `?token=` (see [`crate::token`]).
    pub auth: Option<TokenKey>,
    /// Client messages per second a session may sustain, as a multiple of the tick rate.
    pub message_rate_factor: f64,
    /// Messages a session may send in a burst above that rate, as a multiple of the tick rate.
    /// Excess messages are dropped; a session that keeps flooding until it has overdrawn a
    /// whole burst is closed with 1008.
    pub message_burst_factor: f64,
    /// Ticks of state each room keeps as delta baselines (`tickcast_shared::delta`); a client
    /// whose ack is older gets a full patch. 0 disables deltas: every client gets full snapshots
    /// (ask [`ServerConfig::deltas_enabled`]). At most [`tickcast_shared::delta::MAX_WINDOW`]
    /// (what clients are required to hold): the flags' conversion lowers a larger value, and a
    /// config built in code must respect it.
    pub delta_window: usize,
    /// Ack clocking of delta clients: a client that has this much of snapshots (in ticks'
    /// time) written to it but not yet acknowledged gets no newer one until its ack catches up.
    /// Byte-based backpressure alone lets a slow reader's own receive buffer hold seconds of
    /// small deltas; this bounds its lag in time instead, which also keeps its baseline inside
    /// the delta window. Zero turns it off. (A client that stops acknowledging altogether is
    /// not held: once its ack leaves the delta window it is fed full patches as before.)
    pub delta_ack_lag: Duration,
    /// Named rooms a client address may create per second, sustained (see
    /// [`crate::room_creation`]); over it, a join that would create one is closed with 4008.
    pub room_create_rate: f64,
    /// Named rooms a client address may create at once, above that rate.
    pub room_create_burst: f64,
    /// The share of `max_rooms` (0..=1) that only quick play may fill: named rooms are refused
    /// (4002) once only this share is left.
    pub quick_play_reserve: f64,
    /// Serve HTTPS/WSS with this rustls configuration (see [`crate::tls`]).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Run as one node of a cluster on Redis (see [`crate::node`]); `None`: a single node that
    /// needs no Redis, as before clusters existed.
    pub cluster: Option<ClusterConfig>,
    /// The bearer token `POST /admin/drain` requires. Without one the admin routes exist only
    /// when the server is bound to a loopback address (see [`crate::http`]).
    pub admin_token: Option<String>,
}

/// How a node joins its cluster (`--redis-url` and friends).
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterConfig {
    /// `redis://…`, `rediss://…` (TLS) or `redis+unix://…` (validated by the flags'
    /// conversion).
    pub redis_url: String,
    /// PEM certificates to trust for a `rediss://` Redis instead of the system's roots
    /// (`--redis-ca`: a private CA).
    pub redis_ca: Option<Vec<u8>>,
    /// This node's id in the directory; unique per process.
    pub node_id: String,
    /// The WebSocket URL clients reach this node at (`ws://host:port/ws`); `None`: the bound
    /// address, known only once the listener is bound (so `--port 0` works).
    pub public_url: Option<String>,
    /// How long node records and room leases live without a heartbeat; heartbeats come every
    /// third of it.
    pub lease_ttl: Duration,
    /// How long start-up keeps retrying a Redis that cannot be reached before it gives up.
    pub connect_timeout: Duration,
    /// How long a drain (SIGTERM, `POST /admin/drain`) may take to move this node's rooms to
    /// other nodes; rooms still here after it close with 1001, as a shutdown's do.
    pub drain_timeout: Duration,
    /// Opt-in crash recovery: each room writes a fenced image to Redis this often, and a resume
    /// for a room whose node died restores the last one on a live node. `None`: off (a dead
    /// node's rooms are lost).
    pub checkpoint_interval: Option<Duration>,
}

impl ClusterConfig {
    /// The defaults for everything but the URL, with a fresh node id.
    pub fn new(redis_url: impl Into<String>) -> Self {
        ClusterConfig {
            redis_url: redis_url.into(),
            redis_ca: None,
            node_id: uuid::Uuid::new_v4().simple().to_string(),
            public_url: None,
            lease_ttl: Duration::from_secs(6),
            connect_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(20),
            checkpoint_interval: None,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            tick_rate: 30,
            max_players_per_room: 16,
            max_rooms: 5000,
            empty_room_grace: Duration::from_secs(5),
            stall_timeout: Duration::from_secs(10),
            resume_grace: Duration::from_secs(15),
            join_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(5),
            client_timeout: Duration::from_secs(15),
            socket_send_buffer: 16 * 1024,
            h1_write_buffer: 8 * 1024,
            unsent_limit: 8 * 1024,
            max_message_bytes: MAX_CLIENT_MESSAGE_BYTES,
            workers: 0,
            room_threads: 0,
            static_dir: None,
            seed: None,
            max_connections: 20_000,
            max_connections_per_ip: 64,
            limit_loopback: false,
            trust_proxy: false,
            allowed_origins: Vec::new(),
            auth: None,
            message_rate_factor: 3.0,
            message_burst_factor: 2.0,
            delta_window: tickcast_shared::delta::DEFAULT_WINDOW,
            delta_ack_lag: Duration::from_millis(500),
            room_create_rate: 0.5,
            room_create_burst: 10.0,
            quick_play_reserve: 0.1,
            tls: None,
            cluster: None,
            admin_token: None,
        }
    }
}

impl ServerConfig {
    /// Whether rooms keep delta baselines, and so whether a client that joins asking for deltas
    /// gets them (otherwise it gets full snapshots, like everyone). Decided by `delta_window`
    /// alone.
    pub fn deltas_enabled(&self) -> bool {
        self.delta_window > 0
    }

    pub(crate) fn cpus() -> usize {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    }

    pub(crate) fn worker_count(&self) -> usize {
        if self.workers == 0 {
            Self::cpus()
        } else {
            self.workers
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binary_and_the_library_allow_5000_rooms_by_default() {
        // The binary always had 5000 (and README says so); the library default was 1000.
        assert_eq!(ServerConfig::default().max_rooms, 5000);
    }

    #[test]
    fn deltas_are_on_by_default_and_off_with_a_window_of_zero() {
        assert!(ServerConfig::default().deltas_enabled());
        let off = ServerConfig {
            delta_window: 0,
            ..ServerConfig::default()
        };
        assert!(!off.deltas_enabled());
    }

    #[test]
    fn the_default_delta_window_is_within_what_clients_hold() {
        let window = ServerConfig::default().delta_window;
        assert!((1..=tickcast_shared::delta::MAX_WINDOW).contains(&window));
    }

    #[test]
    fn zero_workers_means_one_per_cpu_and_rooms_run_on_them_by_default() {
        let c = ServerConfig::default();
        assert_eq!((c.workers, c.room_threads), (0, 0));
        assert_eq!(c.worker_count(), ServerConfig::cpus());
        let set = ServerConfig {
            workers: 3,
            ..ServerConfig::default()
        };
        assert_eq!(set.worker_count(), 3);
    }
}
