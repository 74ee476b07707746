//! The `tickcast-server` binary: flags and environment → [`ServerConfig`], logging, signals,
//! and the `token` subcommand that mints a join token for testing. Everything else lives in the
//! library.

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tickcast_server::game::arena::{Arena, ArenaConfig};
use tickcast_server::token::{unix_now, Claims, TokenKey};
use tickcast_server::ServerConfig;

/// An authoritative multiplayer game-state server: WebSocket sessions, fixed-tick rooms,
/// MessagePack snapshots with latest-wins backpressure.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to bind.
    #[arg(long, env = "TICKCAST_BIND", default_value = "127.0.0.1")]
    bind: String,
    /// Port to listen on (0 = any free port; the chosen one is printed).
    #[arg(long, env = "TICKCAST_PORT", default_value_t = 8080)]
    port: u16,
    /// Simulation ticks (and snapshots) per second.
    #[arg(long, env = "TICKCAST_TICK_RATE", default_value_t = 30, value_parser = clap::value_parser!(u16).range(1..=240))]
    tick_rate: u16,
    #[arg(long, env = "TICKCAST_MAX_PLAYERS_PER_ROOM", default_value_t = 16)]
    max_players_per_room: usize,
    #[arg(long, env = "TICKCAST_MAX_ROOMS", default_value_t = 5000)]
    max_rooms: usize,
    /// The built web client to serve at `/`.
    #[arg(long, env = "TICKCAST_STATIC_DIR", default_value = "web-client/dist")]
    static_dir: PathBuf,
    /// The arena's parameters (TOML); built-in defaults when the file is absent.
    #[arg(
        long,
        env = "TICKCAST_ARENA_CONFIG",
        default_value = "assets/arena.toml"
    )]
    arena_config: PathBuf,
    /// Seconds without a snapshot read after which a client is disconnected (close 4004).
    #[arg(long, env = "TICKCAST_STALL_TIMEOUT", default_value_t = 10.0)]
    stall_timeout: f64,
    /// Seconds a player whose connection dropped keeps its seat for a resume (`Join.resume`).
    #[arg(long, env = "TICKCAST_RESUME_GRACE", default_value_t = 15.0)]
    resume_grace: f64,
    /// Seconds a connection may take to join a room.
    #[arg(long, env = "TICKCAST_JOIN_TIMEOUT", default_value_t = 10.0)]
    join_timeout: f64,
    /// Seconds an empty room lives before it is disposed.
    #[arg(long, env = "TICKCAST_EMPTY_ROOM_GRACE", default_value_t = 5.0)]
    empty_room_grace: f64,
    /// Per-connection socket send buffer in bytes (0 = kernel auto-tuning).
    #[arg(long, env = "TICKCAST_SOCKET_SEND_BUFFER", default_value_t = 16 * 1024)]
    socket_send_buffer: usize,
    /// Per-connection HTTP/1 write buffer in bytes.
    #[arg(long, env = "TICKCAST_H1_WRITE_BUFFER", default_value_t = 8 * 1024)]
    h1_write_buffer: usize,
    /// HTTP worker threads (0 = one per CPU).
    #[arg(long, env = "TICKCAST_WORKERS", default_value_t = 0)]
    workers: usize,
    /// Room threads (0 = one per CPU).
    #[arg(long, env = "TICKCAST_ROOM_THREADS", default_value_t = 0)]
    room_threads: usize,
    /// Seed for room RNGs (reproducible rooms); random when absent.
    #[arg(long, env = "TICKCAST_SEED")]
    seed: Option<u64>,
    /// Seconds between server pings.
    #[arg(long, env = "TICKCAST_HEARTBEAT_INTERVAL", default_value_t = 5.0)]
    heartbeat_interval: f64,
    /// Seconds without hearing from a client before it is closed (1008).
    #[arg(long, env = "TICKCAST_CLIENT_TIMEOUT", default_value_t = 15.0)]
    client_timeout: f64,
    /// Open WebSocket sessions at most (further upgrades: HTTP 503).
    #[arg(long, env = "TICKCAST_MAX_CONNECTIONS", default_value_t = 20_000)]
    max_connections: usize,
    /// Open sessions per client IP at most (further upgrades: HTTP 429). Loopback is exempt
    /// unless --limit-loopback.
    #[arg(long, env = "TICKCAST_MAX_CONNECTIONS_PER_IP", default_value_t = 64)]
    max_connections_per_ip: usize,
    /// Apply the per-IP limit to loopback clients too.
    #[arg(long, env = "TICKCAST_LIMIT_LOOPBACK")]
    limit_loopback: bool,
    /// Behind a reverse proxy: take the client IP from the last `Forwarded: for=` (RFC 7239) or
    /// else the last X-Forwarded-For entry.
    #[arg(long, env = "TICKCAST_TRUST_PROXY")]
    trust_proxy: bool,
    /// Browser origins allowed to open /ws, comma-separated (e.g. https://game.example);
    /// any origin when absent. Clients that send no Origin header are always allowed.
    #[arg(long, env = "TICKCAST_ALLOWED_ORIGINS", value_delimiter = ',')]
    allowed_origins: Vec<String>,
    /// Require a signed join token (`/ws?token=…`) made with this secret.
    #[arg(long, env = "TICKCAST_AUTH_SECRET", hide_env_values = true)]
    auth_secret: Option<String>,
    /// Client messages per second a session may sustain, in multiples of the tick rate.
    #[arg(long, env = "TICKCAST_MESSAGE_RATE", default_value_t = 3.0)]
    message_rate: f64,
    /// Messages a session may burst above that rate, in multiples of the tick rate.
    #[arg(long, env = "TICKCAST_MESSAGE_BURST", default_value_t = 2.0)]
    message_burst: f64,
    /// Ticks of state kept per room as delta baselines (0: no deltas, full snapshots for all).
    #[arg(long, env = "TICKCAST_DELTA_WINDOW", default_value_t = tickcast_shared::delta::DEFAULT_WINDOW)]
    delta_window: usize,
    /// Seconds of snapshots a delta client may have unacknowledged before it is sent no newer
    /// one (ack clocking; 0 = off).
    #[arg(long, env = "TICKCAST_DELTA_ACK_LAG", default_value_t = 0.5)]
    delta_ack_lag: f64,
    /// PEM certificate chain: serve https:// and wss:// (with --tls-key).
    #[arg(long, env = "TICKCAST_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "TICKCAST_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Log filter, `RUST_LOG` syntax (e.g. `info,tickcast_server::room=debug`).
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    log: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print a signed join token (what a login service would hand a player).
    Token {
        /// The server's --auth-secret.
        #[arg(long, env = "TICKCAST_AUTH_SECRET", hide_env_values = true)]
        secret: String,
        /// The player name the token allows.
        #[arg(long)]
        name: String,
        /// Seconds until the token expires.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        /// The login service's account id (optional; logged by the server).
        #[arg(long)]
        player_id: Option<String>,
    },
}

fn secs(v: f64, flag: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(v)
        .with_context(|| format!("--{flag} must be a non-negative number of seconds"))
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(Command::Token {
        secret,
        name,
        ttl,
        player_id,
    }) = &args.command
    {
        let token = TokenKey::new(secret.as_bytes()).mint(&Claims {
            name: name.clone(),
            player_id: player_id.clone(),
            expires: unix_now().saturating_add(*ttl),
        });
        println!("{token}");
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&args.log)
                .context("invalid --log / RUST_LOG filter")?,
        )
        .with_writer(std::io::stderr)
        .init();
    match tickcast_server::conn::raise_open_file_limit() {
        Ok(limit) => tracing::debug!(limit, "open file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open file limit"),
    }

    let arena = if args.arena_config.is_file() {
        ArenaConfig::load(&args.arena_config)?
    } else {
        tracing::warn!(path = %args.arena_config.display(), "arena config not found; using built-in defaults");
        ArenaConfig::default()
    };
    let config = ServerConfig {
        tick_rate: args.tick_rate,
        max_players_per_room: args.max_players_per_room.max(1),
        max_rooms: args.max_rooms.max(1),
        stall_timeout: secs(args.stall_timeout, "stall-timeout")?,
        join_timeout: secs(args.join_timeout, "join-timeout")?,
        resume_grace: secs(args.resume_grace, "resume-grace")?,
        empty_room_grace: secs(args.empty_room_grace, "empty-room-grace")?,
        socket_send_buffer: args.socket_send_buffer,
        h1_write_buffer: args.h1_write_buffer.max(1024),
        workers: args.workers,
        room_threads: args.room_threads,
        static_dir: Some(args.static_dir.clone()),
        seed: args.seed,
        heartbeat_interval: secs(args.heartbeat_interval, "heartbeat-interval")?
            .max(Duration::from_millis(100)),
        client_timeout: secs(args.client_timeout, "client-timeout")?,
        max_connections: args.max_connections,
        delta_window: args.delta_window.min(tickcast_shared::delta::MAX_WINDOW),
        delta_ack_lag: secs(args.delta_ack_lag, "delta-ack-lag")?,
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
        tls: match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(tickcast_server::tls::load_pem(cert, key)?),
            _ => None,
        },
        ..ServerConfig::default()
    };
    let listener = TcpListener::bind((args.bind.as_str(), args.port))
        .with_context(|| format!("cannot listen on {}:{}", args.bind, args.port))?;
    let addr = listener.local_addr()?;
    if !args.static_dir.join("index.html").is_file() {
        tracing::warn!(dir = %args.static_dir.display(), "web client not built; serving a help page at /");
    }
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!(%addr, tick_rate = config.tick_rate, tls = config.tls.is_some(),
        auth = config.auth.is_some(), origins = ?config.allowed_origins, "tickcast listening");
    // Scripts and tests read this line to find the port when --port 0 is used.
    println!("tickcast listening on {scheme}://{addr}");

    tickcast_server::run(
        listener,
        config,
        move |seed| Arena::new(arena, seed),
        shutdown_signal(),
    )
    .await?;
    tracing::info!("bye");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler should succeed at startup");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
