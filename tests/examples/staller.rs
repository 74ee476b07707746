//! A soak helper: opens N WebSocket players that join a room and then **stop reading** (tiny
//! receive buffers), holding them for a while — the slow/stalled clients a public server sees.
//! The server is expected to drop their stale snapshots and disconnect them after its stall
//! timeout (4004, counted in `tickcast_stalled_disconnects_total`).
//!
//! ```sh
//! cargo run --release -p tickcast-tests --example staller -- ws://127.0.0.1:8080/ws 10 8
//! #                                                          URL                     N  seconds
//! ```
//! Localhost only; bounded by its `seconds` argument.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tickcast_shared::arena::{ArenaClientMsg, ArenaServerMsg};
use tickcast_shared::{encode, Join, ServerMsg};
use tokio_tungstenite::tungstenite::Message;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:8080/ws".into());
    let n: usize = args.next().map_or(Ok(10), |s| s.parse())?;
    let secs: u64 = args.next().map_or(Ok(8), |s| s.parse())?;
    let host = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let addr: SocketAddr = host.parse()?;
    anyhow::ensure!(
        addr.ip().is_loopback(),
        "the staller only talks to loopback"
    );

    let mut held = Vec::new();
    for i in 0..n {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
        socket.set_recv_buffer_size(4096)?;
        socket.connect(&addr.into())?;
        socket.set_nonblocking(true)?;
        let tcp = tokio::net::TcpStream::from_std(socket.into())?;
        let (mut ws, _) = tokio_tungstenite::client_async(url.as_str(), tcp).await?;
        let join = ArenaClientMsg::Join(Join::any_room(format!("stall-{i}")));
        ws.send(Message::Binary(encode(&join)?)).await?;
        // Read up to the welcome, then never again.
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Binary(b) = msg {
                if let Ok(ServerMsg::Welcome(_)) = tickcast_shared::decode::<ArenaServerMsg>(&b) {
                    break;
                }
            }
        }
        held.push(ws);
    }
    println!("staller: {} players joined and stopped reading", held.len());
    tokio::time::sleep(Duration::from_secs(secs)).await;
    drop(held);
    println!("staller: released after {secs} s");
    Ok(())
}
