//! Every client of a drained room sees its `Redirect` and the 4007 close, even one that keeps
//! sending inputs across the hand-over (issue 12 polish).
//!
//! A session that stopped right after queueing its close frame let the server close the socket
//! with the client's newest inputs unread; that sends a TCP reset, and the reset made the
//! client's kernel throw away the Redirect and close frame it had not read yet (the client saw
//! 1006). Here two real nodes on a real `redis-server`; players on the first one send three inputs
//! every 5 ms and read in between (the node allows the rate: `--message-rate`), and the node is
//! drained (`POST /admin/drain`). Every player must read `Redirect` then close 4007, and its
//! connection must end cleanly after its close answer.
//!
//! Needs `redis-server` on the PATH (`scripts/test.sh` installs it). Every wait has a deadline.

mod common;
#[allow(dead_code)]
#[path = "common/nodes.rs"]
mod nodes;
#[path = "common/redis_server.rs"]
mod redis_server;

use std::net::SocketAddr;
use std::time::Duration;

use common::{eventually, get_json};
use futures_util::{FutureExt, SinkExt, StreamExt};
use nodes::NodeProcess;
use redis_server::RedisServer;
use tickcast_shared::arena::{ArenaServerMsg, Controls};
use tickcast_shared::{close, decode, encode, ClientMsg, Input, Join, ServerMsg};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

const ROOMS: usize = 4;
const PLAYERS: usize = 8;
/// A player's pace: every step it sends [`INPUTS_PER_STEP`] inputs, then reads whatever has
/// arrived. A client that reads in steps (like a bot on a loaded machine) leaves the server's
/// last frames unread for a moment while its inputs are still on their way: the window in which
/// a reset destroys them.
const STEP: Duration = Duration::from_millis(5);
const INPUTS_PER_STEP: u32 = 3;
/// Messages per tick a node lets a client send (`--message-rate`, `--message-burst`): enough for
/// 600 inputs a second at the default 30 Hz without a 1008.
const MESSAGE_RATE: &str = "60";

/// How one player's connection to the drained node ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Ending {
    welcomed: bool,
    redirected: bool,
    /// The close frame's code; `None` while none was read.
    close: Option<u16>,
    /// What ended the connection instead of (or after) a close frame, if not a clean end.
    error: Option<String>,
}

/// Joins `room` on `addr`, then, step by step, sends inputs and reads what has arrived, until the
/// server's close frame (and the end of the connection after it).
async fn flooding_player(addr: SocketAddr, room: String, name: String, out: watch::Sender<Ending>) {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .expect("the node should accept connections");
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), tcp)
        .await
        .expect("the WebSocket handshake should succeed");
    let join = ClientMsg::<Controls>::Join(Join::room(&room, &name));
    let bytes = encode(&join).expect("a join encodes");
    ws.send(Message::Binary(bytes))
        .await
        .expect("the join should be sent");
    let mut step = tokio::time::interval(STEP);
    let (mut seq, mut tick) = (0u32, 0u64);
    loop {
        step.tick().await;
        if out.borrow().welcomed {
            for _ in 0..INPUTS_PER_STEP {
                seq += 1;
                let input = ClientMsg::Input(Input {
                    seq,
                    ack_tick: tick,
                    controls: Controls {
                        x: 1.0,
                        y: 0.0,
                        buttons: 0,
                    },
                });
                let bytes = encode(&input).expect("an input encodes");
                // Once the server has closed, a send may fail: that close is read next.
                let _ = ws.feed(Message::Binary(bytes)).await;
            }
            let _ = ws.flush().await;
        }
        // Everything that has arrived, without waiting for more.
        while let Some(item) = ws.next().now_or_never() {
            match item {
                Some(Ok(Message::Binary(b))) => match decode::<ArenaServerMsg>(&b) {
                    Ok(ServerMsg::Welcome(_)) => out.send_modify(|e| e.welcomed = true),
                    Ok(ServerMsg::Snapshot(s)) => tick = s.tick,
                    Ok(ServerMsg::Redirect(_)) => out.send_modify(|e| e.redirected = true),
                    Ok(_) => {}
                    Err(e) => panic!("a server message that does not decode: {e}"),
                },
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.map_or(1005, |f| u16::from(f.code));
                    out.send_modify(|e| e.close = Some(code));
                    // tungstenite answers the close; the server then ends the connection.
                    let rest = tokio::time::timeout(Duration::from_secs(5), async {
                        loop {
                            match ws.next().await {
                                None => return None,
                                Some(Ok(_)) => continue,
                                Some(Err(e)) => return Some(e.to_string()),
                            }
                        }
                    });
                    let error = rest
                        .await
                        .unwrap_or_else(|_| Some("no end after the close".into()));
                    return out.send_modify(|e| e.error = error);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return out.send_modify(|o| o.error = Some(e.to_string())),
                None => return out.send_modify(|o| o.error = Some("ended without a close".into())),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_sending_across_a_drain_reads_its_redirect_and_4007() {
    let redis = RedisServer::start();
    let flags = [
        "--message-rate",
        MESSAGE_RATE,
        "--message-burst",
        MESSAGE_RATE,
    ];
    let source = NodeProcess::start("src", &redis.url(), &flags);
    let _target = NodeProcess::start("dst", &redis.url(), &flags);
    let src = source.addr;
    // Both nodes heartbeat: the source knows where to move its rooms.
    eventually(Duration::from_secs(5), "two live nodes", || async move {
        let totals = get_json(format!("http://{src}/rooms?totals=true")).await;
        (totals["totals"]["nodes"] == 2).then_some(())
    })
    .await;

    let mut endings = Vec::new();
    let mut tasks = Vec::new();
    for r in 0..ROOMS {
        for p in 0..PLAYERS {
            let (tx, rx) = watch::channel(Ending::default());
            tasks.push(tokio::spawn(flooding_player(
                src,
                format!("r{r}"),
                format!("r{r}-p{p}"),
                tx,
            )));
            endings.push(rx);
        }
    }
    eventually(Duration::from_secs(20), "every player welcomed", || {
        let all = endings.iter().all(|e| e.borrow().welcomed);
        std::future::ready(all.then_some(()))
    })
    .await;
    // Let the inputs flow for a moment, then drain the source.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let drained = tokio::task::spawn_blocking(move || {
        ureq::post(&format!("http://{src}/admin/drain?wait=true"))
            .timeout(Duration::from_secs(30))
            .call()
            .map_err(|e| e.to_string())
            .and_then(|r| r.into_string().map_err(|e| e.to_string()))
    })
    .await
    .expect("a blocking task");
    let report = drained.expect("the drain should answer");

    eventually(Duration::from_secs(15), "every connection ended", || {
        std::future::ready(tasks.iter().all(|t| t.is_finished()).then_some(()))
    })
    .await;
    let endings: Vec<Ending> = endings.iter().map(|e| e.borrow().clone()).collect();
    let clean = Ending {
        welcomed: true,
        redirected: true,
        close: Some(close::REDIRECT),
        error: None,
    };
    let bad: Vec<_> = endings.iter().filter(|e| **e != clean).collect();
    assert!(
        bad.is_empty(),
        "{} of {} players did not end with Redirect + 4007 and a clean close (drain: {report}): {bad:?}",
        bad.len(),
        endings.len()
    );
}
