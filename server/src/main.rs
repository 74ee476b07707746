//! The `tickcast-server` binary: parses the flags ([`ServerArgs`], turned into a [`ServerConfig`]
//! by the library), sets up logging and signals, and runs the `token` subcommand that mints a join
//! token for testing. Everything else lives in the library.

use std::net::TcpListener;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tickcast_server::args::ServerArgs;
use tickcast_server::game::arena::Arena;
use tickcast_server::token::{unix_now, Claims, TokenKey};
use tickcast_server::ServerConfig;

/// An authoritative multiplayer game-state server: WebSocket sessions, fixed-tick rooms,
/// MessagePack snapshots with latest-wins backpressure.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    server: ServerArgs,
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

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let Cli {
        command,
        server: args,
    } = Cli::parse();
    if let Some(Command::Token {
        secret,
        name,
        ttl,
        player_id,
    }) = command
    {
        let token = TokenKey::new(secret.as_bytes()).mint(&Claims {
            name,
            player_id,
            expires: unix_now().saturating_add(ttl),
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

    let arena = args.arena()?;
    let config = ServerConfig::try_from(&args)?;
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
