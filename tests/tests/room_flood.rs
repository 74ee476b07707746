//! End-to-end: one address floods room creation (60 connections in a loop of connect, join a
//! fresh named room, close — the attack of issue 13) while a second address creates and joins
//! rooms and plays, and quick play goes on. The two addresses come from `X-Forwarded-For`
//! behind `--trust-proxy`, as a reverse proxy would set them.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use tickcast_server::ServerConfig;
use tickcast_shared::arena::{ArenaServerMsg, Controls};
use tickcast_shared::close::{ROOM_CREATION_LIMITED, SERVER_FULL};
use tickcast_shared::{decode, ClientMsg, Join, ServerMsg};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const FLOODER: &str = "198.51.100.7";
const PLAYER: &str = "203.0.113.9";
const FLOOD_CONNECTIONS: usize = 60;
/// Each flooding connection starts one join this often at most, so 60 of them try up to 120
/// rooms per second, 240 times the budget's rate (the rules do not depend on the pace). Unpaced
/// or at the 800 joins/s, this test measures the shared CI machine's CPU rather than
/// the rules: at 75 ms the friends got 100 % of their ticks at a load average of 5, but 97–98.6 %
/// at 25 (and 100 % at 25 without the flood), where the flood's connections keep the server's
/// two worker threads busy and their sessions lose the scheduler's wake-up preference.
const FLOOD_PACE: Duration = Duration::from_millis(500);
/// The flood lasts until the players have played for this long (after a catch-up second): 240
/// ticks, so 99 % delivery allows two missed.
const PLAY_FOR: Duration = Duration::from_secs(8);
const BURST: f64 = 10.0;
const RATE: f64 = 0.5;

/// Connects to `/ws` as a client at `ip` (the proxy's `X-Forwarded-For`); `None` if the server
/// refused the upgrade (the per-address connection limit, under the flood).
async fn connect_from(addr: SocketAddr, ip: &str) -> Option<Client> {
    let mut request = format!("ws://{addr}/ws")
        .into_client_request()
        .expect("the URL should make a request");
    request.headers_mut().insert(
        "x-forwarded-for",
        ip.parse().expect("an address should be a header value"),
    );
    let tcp = TcpStream::connect(addr).await.ok()?;
    let (ws, _) = tokio_tungstenite::client_async(request, tcp).await.ok()?;
    Some(Client {
        ws,
        welcome: None,
        seq: 0,
        newest_tick: 0,
    })
}

async fn join_from(addr: SocketAddr, ip: &str, join: Join) -> Client {
    let mut c = connect_from(addr, ip)
        .await
        .expect("the player's address is not limited");
    c.send(&ClientMsg::Join(join)).await;
    c.expect_welcome().await;
    c
}

/// What the flood did, over all its connections.
#[derive(Default)]
struct Flood {
    /// Set when the flood is to end.
    stop: AtomicBool,
    created: AtomicU64,
    limited: AtomicU64,
    full: AtomicU64,
    refused_upgrades: AtomicU64,
}

/// One flooding connection after another until told to stop: connect, join a fresh named room,
/// close.
async fn flood(addr: SocketAddr, n: usize, tally: Arc<Flood>) {
    let mut pace = tokio::time::interval(FLOOD_PACE);
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut i = 0;
    while !tally.stop.load(Relaxed) {
        pace.tick().await;
        i += 1;
        let Some(mut c) = connect_from(addr, FLOODER).await else {
            tally.refused_upgrades.fetch_add(1, Relaxed);
            continue;
        };
        c.send(&ClientMsg::Join(Join::room(
            format!("flood-{n}-{i}"),
            "flood",
        )))
        .await;
        loop {
            match c.next(WAIT).await {
                Event::Msg(ServerMsg::Welcome(_)) => {
                    tally.created.fetch_add(1, Relaxed);
                    break;
                }
                Event::Msg(_) => continue,
                Event::Closed(Some((code, reason))) if code == ROOM_CREATION_LIMITED => {
                    assert!(reason.contains("retry in"), "{reason}");
                    tally.limited.fetch_add(1, Relaxed);
                    break;
                }
                Event::Closed(Some((SERVER_FULL, _))) => {
                    tally.full.fetch_add(1, Relaxed);
                    break;
                }
                Event::Closed(other) => panic!("a flood join ended with {other:?}"),
            }
        }
        c.close().await;
    }
}

/// Floods from its own thread and runtime, as another machine would: the players' reading (on
/// the test's thread) does not queue behind the flood's tasks. Returns when told to stop.
fn start_flood(addr: SocketAddr, tally: Arc<Flood>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("the flood's runtime should start");
        runtime.block_on(async move {
            let tasks: Vec<_> = (0..FLOOD_CONNECTIONS)
                .map(|n| tokio::spawn(flood(addr, n, tally.clone())))
                .collect();
            for t in tasks {
                t.await.expect("a flooding task should not panic");
            }
        });
    })
}

/// Plays for a catch-up second (the player read nothing while the others joined, so the first
/// snapshots it reads are what latest-wins kept of that time), then for `window`: one input per
/// snapshot received. Returns (snapshots received, ticks missed between them) in the window.
async fn play(c: &mut Client, window: Duration) -> (u64, u64) {
    let start = tokio::time::Instant::now() + Duration::from_secs(1);
    let end = start + window;
    let (mut got, mut missed, mut last) = (0u64, 0u64, None::<u64>);
    loop {
        let next = futures_util::StreamExt::next(&mut c.ws);
        let Ok(item) = tokio::time::timeout_at(end, next).await else {
            return (got, missed);
        };
        match item {
            Some(Ok(Message::Binary(b))) => {
                let Ok(ServerMsg::Snapshot(s)) = decode::<ArenaServerMsg>(&b) else {
                    continue;
                };
                if tokio::time::Instant::now() >= start {
                    got += 1;
                    if let Some(l) = last {
                        missed += s.tick.saturating_sub(l + 1);
                    }
                    last = Some(s.tick);
                }
                c.newest_tick = s.tick;
                c.input(Controls::new(1.0, 0.0, 0)).await;
            }
            Some(Ok(_)) => {}
            other => panic!("a player's connection ended while playing: {other:?}"),
        }
    }
}

#[tokio::test]
async fn one_address_flooding_room_creation_locks_nobody_else_out() {
    let server = start_arena(ServerConfig {
        trust_proxy: true,
        max_rooms: 200,
        room_create_rate: RATE,
        room_create_burst: BURST,
        // Long, so that the flood's rooms going away at once is the lone-room rule, not this.
        empty_room_grace: Duration::from_secs(30),
        ..test_config()
    });
    let addr = server.addr();

    // The player's address creates a room before the flood, and a friend joins it.
    let mut alice = join_from(addr, PLAYER, Join::room("friends", "alice")).await;
    let mut bob = join_from(addr, PLAYER, Join::room("friends", "bob")).await;

    let tally = Arc::new(Flood::default());
    let flooders = start_flood(addr, tally.clone());
    // Wait until the flood has spent its budget, so what follows happens under it.
    eventually(
        WAIT,
        "the flood to be refused by its creation budget",
        || {
            let limited = tally.limited.load(Relaxed);
            async move { (limited > 0).then_some(()) }
        },
    )
    .await;

    // During the flood: the other address creates and joins another room, quick play works
    // (for the flooding address too: quick play is not charged), and both friends play.
    let carol = join_from(addr, PLAYER, Join::room("friends-2", "carol")).await;
    let dave = join_from(addr, PLAYER, Join::room("friends-2", "dave")).await;
    let quick = join_from(addr, PLAYER, Join::any_room("erin")).await;
    let quick_flooder = join_from(addr, FLOODER, Join::any_room("frank")).await;
    let window = PLAY_FOR;
    let before = tally.limited.load(Relaxed);
    let ((a_got, a_missed), (b_got, b_missed)) =
        tokio::join!(play(&mut alice, window), play(&mut bob, window));
    let during = tally.limited.load(Relaxed) - before;
    tally.stop.store(true, Relaxed);

    tokio::task::spawn_blocking(move || flooders.join())
        .await
        .expect("the flood's thread should be joined")
        .expect("a flooding task should not panic");
    let created = tally.created.load(Relaxed);
    let limited = tally.limited.load(Relaxed);
    eprintln!(
        "flood: {created} rooms created, {limited} refused with 4008, {} with 4002, {} upgrades \
         refused; alice {a_got} snapshots ({a_missed} missed), bob {b_got} ({b_missed} missed)",
        tally.full.load(Relaxed),
        tally.refused_upgrades.load(Relaxed),
    );

    assert!(
        during as f64 >= 10.0 * PLAY_FOR.as_secs_f64(),
        "the flood went on while the friends played: {during} refusals"
    );
    // The flood got its burst and its rate, nothing more (the rate over the whole test: the
    // flood's start, the game's catch-up second and window, the flood's end, with room to spare).
    let allowed = BURST + RATE * (2.0 * WAIT.as_secs_f64() + 1.0 + PLAY_FOR.as_secs_f64());
    assert!(
        (BURST as u64..=allowed as u64).contains(&created),
        "{created} rooms from one address"
    );
    assert!(limited > created, "the flood was mostly refused: {limited}");
    assert_eq!(tally.full.load(Relaxed), 0, "the server never filled up");
    // The players kept playing: at least 99 % of the ticks delivered, at a sane rate.
    for (who, got, missed) in [("alice", a_got, a_missed), ("bob", b_got, b_missed)] {
        let delivered = got as f64 / (got + missed).max(1) as f64;
        assert!(delivered >= 0.99, "{who}: {got} snapshots, {missed} missed");
        let expected = f64::from(TICK_RATE) * window.as_secs_f64();
        assert!(
            got as f64 >= MIN_RATE_FRACTION * expected,
            "{who}: {got} snapshots"
        );
    }

    // Every flood room's creator left before anyone else joined: all of them are gone at
    // once, not after the 30 s grace; the players' three rooms stay.
    let url = server.http_url("/rooms");
    eventually(WAIT, "the flood's rooms to be disposed", || {
        let url = url.clone();
        async move {
            let rooms = get_json(url).await;
            let ids: Vec<String> = rooms
                .as_array()
                .expect("a list")
                .iter()
                .map(|r| r["id"].as_str().expect("an id").to_string())
                .collect();
            ids.iter()
                .all(|id| !id.starts_with("flood-"))
                .then_some(ids)
        }
    })
    .await;
    let refused = metric(
        &server,
        "tickcast_room_creations_refused_total{reason=\"budget\"}",
    )
    .await;
    assert_eq!(refused as u64, limited);
    let named = metric(&server, "tickcast_rooms_created_total{kind=\"named\"}").await;
    assert_eq!(
        named as u64,
        created + 2,
        "the flood's rooms and friends, friends-2"
    );
    for c in [alice, bob, carol, dave, quick, quick_flooder] {
        c.close().await;
    }
}
