//! `tickcast-reference`: the yardstick of issue 15. A minimal server for the tickcast arena
//! protocol on a tokio current-thread runtime with tokio-tungstenite — one task per
//! connection, one task per room, a latest-wins slot per client, no actix — so that
//! `scripts/bench-reference.sh` can measure what tickcast-server costs per client against what
//! the same game work costs on a bare stack. **It exists only to measure against**: no resume,
//! no deltas (joins asking for them get full snapshots), no limits, no metrics.
//!
//! Modules: `lobby` (which room a join goes to), `room` (the game, the slots, the tick),
//! `conn` (one WebSocket).

mod conn;
mod lobby;
mod room;

use std::sync::{Arc, Mutex};

use clap::Parser;
use tokio::net::TcpListener;

use conn::Server;
use lobby::Lobby;

/// The tickcast arena protocol on a bare tokio stack, to measure tickcast-server against.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Port on 127.0.0.1 (0: any free port; the chosen one is printed).
    #[arg(long, default_value_t = 8090)]
    port: u16,
    /// Players per room; rooms are filled in order.
    #[arg(long, default_value_t = 8)]
    max_players_per_room: u16,
    /// Ticks (and snapshots) per second.
    #[arg(long, default_value_t = 30)]
    tick_rate: u16,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", args.port)).await?;
    // The same line as tickcast-server's, so scripts find the port the same way.
    println!("tickcast listening on http://{}", listener.local_addr()?);
    let server = Arc::new(Server {
        lobby: Mutex::new(Lobby::new(usize::from(args.max_players_per_room))),
        tick_rate: args.tick_rate.max(1),
        room_size: args.max_players_per_room,
    });
    loop {
        let (tcp, _) = listener.accept().await?;
        tokio::spawn(conn::serve(Arc::clone(&server), tcp));
    }
}
