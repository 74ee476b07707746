//! The `tickcast-server` binary: flags and environment → [`ServerConfig`], logging, signals.
//! Everything else lives in the library.

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use tickcast_server::game::arena::{Arena, ArenaConfig};
use tickcast_server::ServerConfig;

/// An authoritative multiplayer game-state server: WebSocket sessions, fixed-tick rooms,
/// MessagePack snapshots with latest-wins backpressure.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
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
    /// Log filter, `RUST_LOG` syntax (e.g. `info,tickcast_server::room=debug`).
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    log: String,
}

fn secs(v: f64, flag: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(v)
        .with_context(|| format!("--{flag} must be a non-negative number of seconds"))
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&args.log)
                .context("invalid --log / RUST_LOG filter")?,
        )
        .with_writer(std::io::stderr)
        .init();

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
        empty_room_grace: secs(args.empty_room_grace, "empty-room-grace")?,
        socket_send_buffer: args.socket_send_buffer,
        h1_write_buffer: args.h1_write_buffer.max(1024),
        workers: args.workers,
        room_threads: args.room_threads,
        static_dir: Some(args.static_dir.clone()),
        seed: args.seed,
        ..ServerConfig::default()
    };
    let listener = TcpListener::bind((args.bind.as_str(), args.port))
        .with_context(|| format!("cannot listen on {}:{}", args.bind, args.port))?;
    let addr = listener.local_addr()?;
    if !args.static_dir.join("index.html").is_file() {
        tracing::warn!(dir = %args.static_dir.display(), "web client not built; serving a help page at /");
    }
    tracing::info!(%addr, tick_rate = config.tick_rate, "tickcast listening");
    // Scripts and tests read this line to find the port when --port 0 is used.
    println!("tickcast listening on http://{addr}");

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
