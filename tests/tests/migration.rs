//! Live room migration on real processes: three (or two) `tickcast-server` nodes on one real
//! `redis-server`, real WebSocket clients that follow a `Redirect` + 4007 by resuming with their
//! token, as the protocol says.
//!
//! - **Drain under load**: 24 rooms × 8 players over three nodes; SIGTERM one. Every one of its
//!   rooms runs on another node within 5 s, every player is back as the same player with its
//!   score, the client gap is a few ticks, a 50 ms sampler of every node's running rooms never
//!   sees a room on two nodes, and the drained node exits 0.
//! - **Adopt racing an abort**: the only other node is paused (SIGSTOP) while a room is offered
//!   to it and let go around the abort deadline (or well after it: the abort wins): whichever of
//!   adopt and abort wins, exactly one node runs the room, and its player plays on as itself.
//!
//! - **Crash with checkpoints** (`--checkpoint-interval 0.5`): `kill -9` a node; its players,
//!   resuming through the live nodes, come back as the same players in rooms restored from their
//!   last image, rolled back by at most one interval.
//!
//! Needs `redis-server` on the PATH (`scripts/test.sh` installs it). Every wait is a polled
//! condition with a deadline.

mod common;
// Shared with other test files: not every helper is used here.
#[allow(dead_code)]
#[path = "common/nodes.rs"]
mod nodes;
#[path = "common/redis_server.rs"]
mod redis_server;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{eventually, Client, Event};
use futures_util::SinkExt;
use nodes::NodeProcess;
use redis_server::RedisServer;
use tickcast_shared::arena::Controls;
use tickcast_shared::{close, encode, ClientMsg, Input, Join, Redirect, ServerMsg};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

const ROOMS: usize = 24;
const PLAYERS: usize = 8;

fn addr_of(url: &str) -> SocketAddr {
    url.strip_prefix("ws://")
        .and_then(|rest| rest.strip_suffix("/ws"))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("not a node url: {url}"))
}

/// The rooms `node` runs now (`GET /rooms?local=true`); `None` while it does not answer.
fn running(addr: SocketAddr) -> Option<BTreeSet<String>> {
    let url = format!("http://{addr}/rooms?local=true");
    let rooms: serde_json::Value = ureq::get(&url)
        .timeout(Duration::from_secs(2))
        .call()
        .ok()?
        .into_json()
        .ok()?;
    let ids = rooms.as_array()?.iter();
    Some(
        ids.filter_map(|r| r["id"].as_str().map(str::to_owned))
            .collect(),
    )
}

/// What the sampler saw: samples taken, and every room seen running on more than one node in
/// one sample (with the indexes of those nodes).
type Sampled = (usize, Vec<(String, Vec<usize>)>);

/// Polls every node's running rooms every 50 ms (all nodes at once) until stopped.
fn sampler(addrs: Vec<SocketAddr>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Sampled> {
    std::thread::spawn(move || {
        let (mut samples, mut doubles) = (0, Vec::new());
        while !stop.load(Ordering::Relaxed) {
            let next = Instant::now() + Duration::from_millis(50);
            let lists: Vec<_> = std::thread::scope(|s| {
                let asks: Vec<_> = addrs.iter().map(|a| s.spawn(move || running(*a))).collect();
                asks.into_iter()
                    .map(|h| h.join().expect("a sampler thread"))
                    .collect()
            });
            samples += 1;
            let mut on: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for (i, list) in lists.iter().enumerate() {
                for room in list.iter().flatten() {
                    on.entry(room.clone()).or_default().push(i);
                }
            }
            doubles.extend(on.into_iter().filter(|(_, nodes)| nodes.len() > 1));
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        (samples, doubles)
    })
}

/// What one player saw across the drain.
#[derive(Debug, Default, Clone)]
struct Trace {
    /// Player ids from each Welcome, in order.
    ids: Vec<uuid::Uuid>,
    /// The player's own score in the last snapshot before each redirect, and in the first
    /// snapshot after the resume that followed.
    scores: Vec<(u32, u32)>,
    /// Tick gaps: first snapshot tick on the new node − last tick on the old one.
    gaps: Vec<u64>,
    /// When it was welcomed on its current node.
    moved_at: Option<Instant>,
    /// Set when something went wrong (a close that is not a redirect …).
    error: Option<String>,
}

/// A player that joins `room` through `addr`, follows redirects by resuming, nudges its
/// controls now and then, and reports what it saw through `trace` until `stop` is set.
async fn player(
    addr: SocketAddr,
    room: String,
    name: String,
    trace: watch::Sender<Trace>,
    mut stop: watch::Receiver<bool>,
) {
    let (mut addr, mut join) = (addr, Join::room(&room, &name));
    let mut before: Option<(u32, u64)> = None;
    let (mut hops, mut seq) = (0, 0);
    'connection: loop {
        let mut c = Client::connect(addr).await;
        c.send(&ClientMsg::Join(join.clone())).await;
        let mut welcomed = false;
        let mut first_after_move = before.is_some();
        let mut me = uuid::Uuid::nil();
        let mut last: Option<(u32, u64)> = None;
        loop {
            let event = tokio::select! {
                e = c.next(Duration::from_secs(10)) => e,
                // The only change ever sent is the stop.
                _ = stop.changed() => {
                    c.close().await;
                    return;
                }
            };
            match event {
                Event::Msg(ServerMsg::Welcome(w)) => {
                    me = w.player_id;
                    join.resume = w.resume_token.clone();
                    join.room = Some(w.room_id.clone());
                    welcomed = true;
                    hops = 0;
                    trace.send_modify(|t| {
                        t.ids.push(w.player_id);
                        t.moved_at = Some(Instant::now());
                    });
                    c.welcome = Some(w);
                }
                Event::Msg(ServerMsg::Snapshot(s)) if welcomed => {
                    let Some(p) = s.state.players.iter().find(|p| p.id == me) else {
                        continue;
                    };
                    if first_after_move {
                        first_after_move = false;
                        if let Some((score, tick)) = before {
                            trace.send_modify(|t| {
                                t.scores.push((score, p.score));
                                t.gaps.push(s.tick.saturating_sub(tick));
                            });
                        }
                    }
                    last = Some((p.score, s.tick));
                    if s.tick % 15 == 0 {
                        let x = if s.tick % 30 == 0 { 1.0 } else { -1.0 };
                        seq += 1;
                        let input = ClientMsg::Input(Input {
                            seq,
                            ack_tick: s.tick,
                            controls: Controls {
                                x,
                                y: x,
                                buttons: 0,
                            },
                        });
                        // The server may be closing this connection (a redirect): a failed
                        // send is that close, read next.
                        let bytes = encode(&input).expect("an input encodes");
                        let _ = c.ws.send(Message::Binary(bytes)).await;
                    }
                }
                Event::Msg(ServerMsg::Redirect(r)) => {
                    let (code, _) = c.expect_close().await;
                    if code != close::REDIRECT {
                        trace.send_modify(|t| t.error = Some(format!("redirect closed {code}")));
                        return;
                    }
                    hops += 1;
                    if hops > Redirect::MAX_HOPS {
                        trace.send_modify(|t| t.error = Some("too many redirects".into()));
                        return;
                    }
                    if welcomed {
                        before = last;
                    }
                    addr = addr_of(&r.url);
                    join = r.join(&join);
                    continue 'connection;
                }
                Event::Msg(_) => {}
                Event::Closed(why) => {
                    trace.send_modify(|t| t.error = Some(format!("closed: {why:?}")));
                    return;
                }
            }
        }
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// `node`'s `/metrics` value of the line starting with `prefix` (0 if absent).
fn metric(node: &NodeProcess, prefix: &str) -> f64 {
    let text = ureq::get(&node.http_url("/metrics"))
        .call()
        .ok()
        .and_then(|r| r.into_string().ok())
        .unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_moves_every_room_of_a_node_under_load_and_every_player_stays_itself() {
    let redis = RedisServer::start();
    let mut nodes: Vec<NodeProcess> = (0..3)
        .map(|i| NodeProcess::start(&format!("n{i}"), &redis.url(), &[]))
        .collect();
    let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.addr).collect();
    let (stop_tx, stop_rx) = watch::channel(false);
    // Room i opens on node i % 3: a named room is claimed by the node its first join reaches.
    let mut traces = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..ROOMS {
        for p in 0..PLAYERS {
            let (tx, rx) = watch::channel(Trace::default());
            let addr = addrs[i % 3];
            let task = player(
                addr,
                format!("m{i}"),
                format!("p{i}-{p}"),
                tx,
                stop_rx.clone(),
            );
            tasks.push(tokio::spawn(task));
            traces.push((i, rx));
        }
    }
    eventually(Duration::from_secs(30), "every player welcomed", || {
        let all = traces.iter().all(|(_, t)| !t.borrow().ids.is_empty());
        let errors: Vec<_> = traces
            .iter()
            .filter_map(|(_, t)| t.borrow().error.clone())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        std::future::ready(all.then_some(()))
    })
    .await;
    let on_n0: BTreeSet<String> = (0..ROOMS)
        .filter(|i| i % 3 == 0)
        .map(|i| format!("m{i}"))
        .collect();
    let n0 = addrs[0];
    let listed = tokio::task::spawn_blocking(move || running(n0))
        .await
        .expect("a blocking task");
    assert_eq!(listed, Some(on_n0.clone()), "n0 runs rooms 0, 3, 6 …");

    let stop_sampling = Arc::new(AtomicBool::new(false));
    let sampling = sampler(addrs.clone(), stop_sampling.clone());
    // Let every room tick (and score) for a moment, then drain n0.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sigterm = Instant::now();
    assert_eq!(nodes[0].id, "n0");
    nodes[0].signal("TERM");

    let moved: Vec<usize> = (0..traces.len())
        .filter(|&k| traces[k].0 % 3 == 0)
        .collect();
    let stuck = |traces: &[(usize, watch::Receiver<Trace>)]| -> Vec<String> {
        moved
            .iter()
            .filter(|&&k| traces[k].1.borrow().ids.len() < 2)
            .map(|&k| format!("room m{}: {:?}", traces[k].0, *traces[k].1.borrow()))
            .collect()
    };
    let resumed_all = Instant::now() + Duration::from_secs(5);
    loop {
        let left = stuck(&traces);
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < resumed_all,
            "{} of {} players of n0 not resumed elsewhere 5 s after SIGTERM: {left:#?}",
            left.len(),
            moved.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = sigterm.elapsed();
    let exit = tokio::task::block_in_place(|| nodes[0].wait_exit(Duration::from_secs(20)));
    assert_eq!(
        exit.map(|s| s.code()),
        Some(Some(0)),
        "the drained node exits 0"
    );

    // The moved rooms run on n1 and n2 now, each on one of them.
    let (a1, a2) = (addrs[1], addrs[2]);
    let (on1, on2) = tokio::task::spawn_blocking(move || (running(a1), running(a2)))
        .await
        .expect("a blocking task");
    let (on1, on2) = (on1.expect("n1 answers"), on2.expect("n2 answers"));
    assert!(on1.is_disjoint(&on2));
    assert_eq!(on1.len() + on2.len(), ROOMS, "{on1:?} {on2:?}");
    let resumed: f64 = nodes[1..]
        .iter()
        .map(|n| metric(n, "tickcast_migrated_players_total{outcome=\"resumed\"} "))
        .sum();
    assert_eq!(
        resumed as usize,
        moved.len(),
        "the targets count every resume"
    );

    stop_sampling.store(true, Ordering::Relaxed);
    let (samples, doubles) = tokio::task::spawn_blocking(move || sampling.join())
        .await
        .expect("a blocking task")
        .expect("the sampler thread");
    assert!(samples >= 10, "{samples} samples");
    assert!(doubles.is_empty(), "rooms seen on two nodes: {doubles:?}");

    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    let mut gaps = Vec::new();
    for &k in &moved {
        let t = traces[k].1.borrow();
        assert_eq!(t.error, None, "{t:?}");
        assert_eq!(t.ids.len(), 2, "one move: {t:?}");
        assert_eq!(t.ids[0], t.ids[1], "the same player after the move: {t:?}");
        let (before, after) = t.scores[0];
        assert!(after >= before, "the score kept: {t:?}");
        gaps.extend(t.gaps.iter().copied());
    }
    for (i, t) in &traces {
        if i % 3 != 0 {
            let t = t.borrow();
            assert_eq!((t.ids.len(), &t.error), (1, &None), "untouched: {t:?}");
        }
    }
    gaps.sort_unstable();
    let (p50, p99, max) = (
        percentile(&gaps, 0.5),
        percentile(&gaps, 0.99),
        gaps.last().copied().unwrap_or(0),
    );
    eprintln!(
        "drain of {} rooms / {} players: all resumed in {took:?}; client gap ticks p50 {p50} p99 {p99} max {max}; {samples} samples",
        on_n0.len(),
        moved.len()
    );
    assert_eq!(gaps.len(), moved.len());
    assert!(
        p99 <= 6,
        "client gap p99 {p99} ticks (p50 {p50}, max {max})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adopt_racing_an_abort_ends_with_exactly_one_running_room() {
    // Let go just before the offer's 3 s deadline: its adopt (on the rings queued in its
    // socket) and the source's abort race; exactly one of them wins.
    race(Duration::from_millis(2950)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_paused_past_the_deadline_loses_to_the_abort_and_the_room_goes_on_where_it_was() {
    let (adopted, aborted) = race(Duration::from_millis(4500)).await;
    assert_eq!((adopted, aborted), (0.0, 1.0), "the abort won");
}

/// A room offered to a node paused (SIGSTOP) for `pause`: returns the source's adopted and
/// aborted migration counts once the room runs on exactly one node.
async fn race(pause: Duration) -> (f64, f64) {
    let redis = RedisServer::start();
    let source = NodeProcess::start("src", &redis.url(), &[]);
    let target = NodeProcess::start("dst", &redis.url(), &[]);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (tx, trace) = watch::channel(Trace::default());
    let play = tokio::spawn(player(source.addr, "race".into(), "p".into(), tx, stop_rx));
    eventually(Duration::from_secs(10), "welcomed", || {
        std::future::ready((!trace.borrow().ids.is_empty()).then_some(()))
    })
    .await;
    // Both nodes heartbeat (1 s lease): the source knows the target is up.
    let src = source.addr;
    eventually(Duration::from_secs(5), "two live nodes", || async move {
        let url = format!("http://{src}/rooms?totals=true");
        let totals = common::get_json(url).await;
        (totals["totals"]["nodes"] == 2).then_some(())
    })
    .await;

    let stop_sampling = Arc::new(AtomicBool::new(false));
    let sampling = sampler(vec![source.addr, target.addr], stop_sampling.clone());
    target.signal("STOP");
    let drain = tokio::task::spawn_blocking(move || {
        ureq::post(&format!("http://{src}/admin/drain?wait=true"))
            .timeout(Duration::from_secs(30))
            .call()
            .map_err(|e| e.to_string())
            .and_then(|r| {
                r.into_json::<serde_json::Value>()
                    .map_err(|e| e.to_string())
            })
    });
    tokio::time::sleep(pause).await;
    target.signal("CONT");
    let report = drain
        .await
        .expect("a blocking task")
        .expect("the drain answers with JSON");
    let health = tokio::task::spawn_blocking(move || {
        match ureq::get(&format!("http://{src}/healthz")).call() {
            Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
            Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
            Err(e) => panic!("GET /healthz: {e}"),
        }
    })
    .await
    .expect("a blocking task");
    assert_eq!(health.0, 503, "a drained node is unhealthy: {health:?}");
    assert!(health.1.contains("\"draining\""), "{health:?}");
    let (s, t) = (source.addr, target.addr);
    let settled = eventually(
        Duration::from_secs(10),
        "the room runs on one node",
        || async move {
            let lists = tokio::task::spawn_blocking(move || (running(s), running(t)))
                .await
                .expect("a blocking task");
            let (Some(on_s), Some(on_t)) = lists else {
                return None;
            };
            let n = usize::from(on_s.contains("race")) + usize::from(on_t.contains("race"));
            (n == 1).then_some((on_s, on_t))
        },
    )
    .await;
    stop_sampling.store(true, Ordering::Relaxed);
    let (_, doubles) = tokio::task::spawn_blocking(move || sampling.join())
        .await
        .expect("a blocking task")
        .expect("the sampler thread");
    assert!(doubles.is_empty(), "the room ran on two nodes: {doubles:?}");
    let results = [
        metric(&source, "tickcast_migrations_total{result=\"adopted\"} "),
        metric(&source, "tickcast_migrations_total{result=\"aborted\"} "),
    ];
    eprintln!("race: drain {report}, running {settled:?}, adopted/aborted {results:?}");
    assert!(results[0] <= 1.0, "adopted at most once");
    // The player plays on as itself wherever the room ended up.
    let first = trace.borrow().ids[0];
    eventually(
        Duration::from_secs(5),
        "the player on the room's node",
        || {
            let t = trace.borrow();
            assert_eq!(t.error, None, "{t:?}");
            assert!(t.ids.iter().all(|id| *id == first), "{t:?}");
            let on_target = settled.1.contains("race");
            std::future::ready((!on_target || t.ids.len() == 2).then_some(()))
        },
    )
    .await;
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), play).await;
    (results[0], results[1])
}

/// Connects to `addr`'s `/ws`, or `None` when nothing answers there (a dead node).
async fn try_connect(addr: SocketAddr) -> Option<Client> {
    let tcp = tokio::net::TcpStream::connect(addr).await.ok()?;
    let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), tcp)
        .await
        .ok()?;
    Some(Client {
        ws,
        welcome: None,
        seq: 0,
        newest_tick: 0,
    })
}

/// What a player saw across its node's crash.
#[derive(Debug, Default, Clone)]
struct Crash {
    ids: Vec<uuid::Uuid>,
    /// The last snapshot tick before its connection dropped, and the first one after it came
    /// back.
    ticks: (u64, Option<u64>),
    refused: bool,
}

/// A player in `room` (opened through `addr`) that, when its connection drops without a close,
/// resumes with its token through the `entries` in turn (following redirects, retrying a node
/// that does not answer) until it is back, refused (4005) or out of time.
async fn crash_player(
    addr: SocketAddr,
    room: String,
    entries: Vec<SocketAddr>,
    out: watch::Sender<Crash>,
    mut stop: watch::Receiver<bool>,
) {
    let mut join = Join::room(&room, "c");
    let (mut target, mut attempt) = (addr, 0usize);
    let mut dropped = false;
    loop {
        if *stop.borrow() {
            return;
        }
        let Some(mut c) = try_connect(target).await else {
            attempt += 1;
            target = entries[attempt % entries.len()];
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        c.send(&ClientMsg::Join(join.clone())).await;
        let mut me = uuid::Uuid::nil();
        loop {
            let event = tokio::select! {
                e = c.next(Duration::from_secs(10)) => e,
                _ = stop.changed() => return c.close().await,
            };
            match event {
                Event::Msg(ServerMsg::Welcome(w)) => {
                    me = w.player_id;
                    join.resume = w.resume_token.clone();
                    join.room = Some(w.room_id.clone());
                    out.send_modify(|o| o.ids.push(w.player_id));
                }
                Event::Msg(ServerMsg::Snapshot(s))
                    if s.state.players.iter().any(|p| p.id == me) =>
                {
                    out.send_modify(|o| match dropped {
                        false => o.ticks.0 = s.tick,
                        true => {
                            o.ticks.1.get_or_insert(s.tick);
                        }
                    });
                }
                Event::Msg(ServerMsg::Redirect(r)) => {
                    target = addr_of(&r.url);
                    join = r.join(&join);
                    break;
                }
                Event::Msg(_) => {}
                Event::Closed(Some((code, _))) if code == close::RESUME_REFUSED => {
                    out.send_modify(|o| o.refused = true);
                    return;
                }
                Event::Closed(Some((code, _))) if code == close::REDIRECT => break,
                Event::Closed(_) => {
                    // The node died (no close frame): back through an entry.
                    dropped = true;
                    attempt += 1;
                    target = entries[attempt % entries.len()];
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    break;
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_checkpoints_the_players_of_a_killed_node_come_back_as_themselves_on_live_nodes() {
    const CRASH_ROOMS: usize = 6;
    const CRASH_PLAYERS: usize = 4;
    const INTERVAL_TICKS: u64 = 15; // 0.5 s at 30 Hz
    let redis = RedisServer::start();
    let mut nodes: Vec<NodeProcess> = (0..3)
        .map(|i| {
            let flags = ["--checkpoint-interval", "0.5"];
            NodeProcess::start(&format!("k{i}"), &redis.url(), &flags)
        })
        .collect();
    let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.addr).collect();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut players = Vec::new();
    for i in 0..CRASH_ROOMS {
        for _ in 0..CRASH_PLAYERS {
            let (tx, rx) = watch::channel(Crash::default());
            let entries = vec![addrs[0], addrs[1]];
            let task = crash_player(addrs[i % 3], format!("k{i}"), entries, tx, stop_rx.clone());
            tokio::spawn(task);
            players.push((i, rx));
        }
    }
    eventually(Duration::from_secs(20), "every player welcomed", || {
        let all = players.iter().all(|(_, p)| !p.borrow().ids.is_empty());
        std::future::ready(all.then_some(()))
    })
    .await;
    // Two checkpoints' time, so every room has one.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    nodes[2].kill();
    let killed = Instant::now();

    let lost: Vec<usize> = (0..players.len())
        .filter(|&k| players[k].0 % 3 == 2)
        .collect();
    eventually(
        Duration::from_secs(20),
        "the killed node's players settled",
        || {
            let settled = lost.iter().all(|&k| {
                let p = players[k].1.borrow();
                p.refused || p.ticks.1.is_some()
            });
            std::future::ready(settled.then_some(()))
        },
    )
    .await;
    let took = killed.elapsed();
    let back: Vec<&usize> = lost
        .iter()
        .filter(|&&k| {
            let p = players[k].1.borrow();
            !p.refused && p.ids.len() == 2 && p.ids[0] == p.ids[1]
        })
        .collect();
    let recovered: f64 = nodes[..2]
        .iter()
        .map(|n| metric(n, "tickcast_rooms_recovered_total "))
        .sum();
    let rollbacks: Vec<u64> = lost
        .iter()
        .filter_map(|&k| {
            let (before, after) = players[k].1.borrow().ticks;
            after.map(|after| before.saturating_sub(after))
        })
        .collect();
    eprintln!(
        "crash: {}/{} players back as themselves in {took:?}; {recovered} rooms recovered; rollback ticks {rollbacks:?}",
        back.len(),
        lost.len()
    );
    let _ = stop_tx.send(true);
    let states: Vec<Crash> = lost
        .iter()
        .map(|&k| players[k].1.borrow().clone())
        .collect();
    assert!(
        back.len() * 100 >= lost.len() * 95,
        "{} of {} back: {states:?}",
        back.len(),
        lost.len()
    );
    assert_eq!(
        recovered as usize,
        CRASH_ROOMS / 3,
        "each of its rooms once"
    );
    assert!(
        rollbacks.iter().all(|&r| r <= INTERVAL_TICKS + 1),
        "rollback within one interval: {rollbacks:?}"
    );
    for (i, p) in &players {
        if i % 3 != 2 {
            assert_eq!(p.borrow().ids.len(), 1, "untouched: {:?}", p.borrow());
        }
    }
}
