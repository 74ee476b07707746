//! Three real server processes on one real `redis-server` (Unix socket, no persistence), each on
//! port 0 with a 1 s lease: rooms spread over the nodes, a join (a quick play, a resume) through
//! the wrong node is redirected to the owner and plays there, a quick play with no room to fill
//! opens a public room on the least-loaded node, two clients racing to create one
//! named room through two nodes end in one room, every node's `/rooms` lists the same set, a
//! `kill -9`'d node's rooms leave the lobby within the lease TTL, and its bots rejoin through
//! the entry on live nodes while the other rooms keep their delivery, a lost lease stops its room
//! (1001), a Redis restart costs local rooms no snapshot while the directory recovers by
//! itself (reconnects counted), and `/rooms?totals=true` gives the cluster's totals. Plus the
//! edges without a cluster: Redis down at start-up, `/matchmake` and totals on one node.
//!
//! Needs `redis-server` on the PATH (`scripts/test.sh` installs it). Every wait is a polled
//! condition with a deadline.

mod common;
#[path = "common/nodes.rs"]
mod nodes;
#[path = "common/redis_server.rs"]
mod redis_server;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{eventually, Client, Event, WAIT};
use nodes::{NodeProcess, LEASE_TTL_SECS};
use redis_server::RedisServer;
use tickcast_shared::{close, ClientMsg, Join, Redirect, ServerMsg};

/// Redis and three nodes `n0`, `n1`, `n2`.
struct TestCluster {
    nodes: Vec<NodeProcess>,
    // Dropped last: the nodes go first.
    redis: RedisServer,
}

impl TestCluster {
    fn start() -> Self {
        let redis = RedisServer::start();
        let nodes = (0..3)
            .map(|i| NodeProcess::start(&format!("n{i}"), &redis.url()))
            .collect();
        TestCluster { nodes, redis }
    }

    fn redis_url(&self) -> String {
        self.redis.url()
    }

    /// Which node id's address is `url`.
    fn node_of(&self, url: &str) -> &NodeProcess {
        self.nodes
            .iter()
            .find(|n| n.ws_url() == url)
            .unwrap_or_else(|| panic!("{url} is no node of this cluster"))
    }
}

/// `GET /rooms` on `node` as its JSON entries; empty while the node answers an error (503 while
/// its directory is unreachable).
async fn rooms_listed(node: &NodeProcess) -> Vec<serde_json::Value> {
    let url = node.http_url("/rooms");
    let rooms: Option<serde_json::Value> = tokio::task::spawn_blocking(move || {
        ureq::get(&url).timeout(WAIT).call().ok()?.into_json().ok()
    })
    .await
    .expect("the blocking task finishes");
    match rooms {
        Some(serde_json::Value::Array(rooms)) => rooms,
        _ => Vec::new(),
    }
}

/// `GET /rooms` on `node` as (room id, node id) pairs; empty while the node answers an error
/// (503 while its directory is unreachable).
async fn lobby(node: &NodeProcess) -> BTreeSet<(String, String)> {
    rooms_listed(node)
        .await
        .iter()
        .map(|r| {
            let field = |k: &str| {
                r[k].as_str()
                    .unwrap_or_else(|| panic!("{k} in {r}"))
                    .to_string()
            };
            (field("id"), field("node"))
        })
        .collect()
}

fn addr_of(url: &str) -> SocketAddr {
    url.strip_prefix("ws://")
        .and_then(|rest| rest.strip_suffix("/ws"))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("not a node url: {url}"))
}

/// Joins room `room` (named) through `addr`, following redirects as a client must (at most 3):
/// returns the welcomed client, the address it plays on and the redirects it followed.
async fn join_following(addr: SocketAddr, name: &str, room: &str) -> (Client, SocketAddr, u32) {
    follow(addr, Join::room(room, name)).await
}

/// Sends `join` through `addr`, following redirects (at most 3, each with [`Redirect::join`]).
async fn follow(addr: SocketAddr, join: Join) -> (Client, SocketAddr, u32) {
    let (mut addr, mut join) = (addr, join);
    for hops in 0..=Redirect::MAX_HOPS {
        let mut c = Client::connect(addr).await;
        c.send(&ClientMsg::Join(join.clone())).await;
        let redirect = loop {
            match c.next(WAIT).await {
                Event::Msg(ServerMsg::Welcome(w)) => {
                    c.welcome = Some(w);
                    return (c, addr, hops);
                }
                Event::Msg(ServerMsg::Redirect(r)) => break r,
                Event::Msg(_) => continue,
                Event::Closed(c) => panic!("{}: closed instead of a welcome: {c:?}", join.name),
            }
        };
        let (code, _) = c.expect_close().await;
        assert_eq!(code, close::REDIRECT, "a Redirect is followed by 4007");
        addr = addr_of(&redirect.url);
        join = redirect.join(&join);
    }
    panic!("{}: more than {} redirects", join.name, Redirect::MAX_HOPS);
}

/// POSTs to `url` and returns its JSON answer.
async fn post_json(url: String) -> serde_json::Value {
    tokio::task::spawn_blocking(move || {
        ureq::post(&url)
            .timeout(WAIT)
            .call()
            .unwrap_or_else(|e| panic!("POST {url}: {e}"))
            .into_json()
            .expect("the answer is JSON")
    })
    .await
    .expect("the blocking task finishes")
}

/// Reads `client`'s snapshots until every one of `players` is in one.
async fn sees_all(client: &mut Client, players: &[uuid::Uuid], what: &str) {
    tokio::time::timeout(WAIT, async {
        loop {
            let s = client.next_snapshot().await;
            if players
                .iter()
                .all(|id| s.state.players.iter().any(|p| p.id == *id))
            {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out after {WAIT:?} waiting for: {what}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_spread_over_the_nodes_and_every_node_lists_the_same_set() {
    let cluster = TestCluster::start();
    let mut clients = Vec::new();
    for (i, node) in cluster.nodes.iter().enumerate() {
        let (c, at, hops) = join_following(node.addr, "p", &format!("spread-{i}")).await;
        assert_eq!(
            (at, hops),
            (node.addr, 0),
            "a new room is created where it is asked for"
        );
        clients.push(c);
    }
    let want: BTreeSet<(String, String)> = (0..3)
        .map(|i| (format!("spread-{i}"), format!("n{i}")))
        .collect();
    for node in &cluster.nodes {
        eventually(
            Duration::from_secs(5),
            &format!(
                "{}'s /rooms to list the three rooms on their nodes",
                node.id
            ),
            || async { (lobby(node).await == want).then_some(()) },
        )
        .await;
    }
    // The cluster's totals, on any node: three nodes, three rooms, three players.
    let answer = common::get_json(cluster.nodes[1].http_url("/rooms?totals=true")).await;
    assert_eq!(
        answer["totals"],
        serde_json::json!({"nodes": 3, "rooms": 3, "players": 3}),
        "{answer}"
    );
    assert_eq!(
        answer["rooms"].as_array().map(Vec::len),
        Some(3),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_through_another_node_is_redirected_to_the_owner_and_plays_there() {
    let cluster = TestCluster::start();
    let (owner_node, other) = (&cluster.nodes[1], &cluster.nodes[2]);
    let (mut a, _, _) = join_following(owner_node.addr, "a", "shared").await;

    // The raw exchange: Redirect to the owner, then close 4007.
    let mut b = Client::connect(other.addr).await;
    b.send(&ClientMsg::Join(Join::room("shared", "b"))).await;
    // The answer to the join, before any snapshot.
    let redirect = match b.next(WAIT).await {
        Event::Msg(ServerMsg::Redirect(r)) => r,
        other => panic!("expected a redirect, got {other:?}"),
    };
    assert_eq!(redirect.room_id, "shared");
    assert_eq!(cluster.node_of(&redirect.url).id, owner_node.id);
    assert_eq!(b.expect_close().await.0, close::REDIRECT);

    let (mut b, at, hops) = join_following(other.addr, "b", "shared").await;
    assert_eq!((at, hops), (owner_node.addr, 1));
    let both = [a.player_id(), b.player_id()];
    sees_all(&mut a, &both, "a to see b in the owner's room").await;
    sees_all(&mut b, &both, "b to see a in the owner's room").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_racing_to_create_one_named_room_through_two_nodes_end_in_one_room() {
    let cluster = TestCluster::start();
    for round in 0..5 {
        let room = format!("race-{round}");
        let (x, y) = (&cluster.nodes[round % 3], &cluster.nodes[(round + 1) % 3]);
        let ((mut a, at_a, _), (mut b, at_b, _)) = tokio::join!(
            join_following(x.addr, "a", &room),
            join_following(y.addr, "b", &room)
        );
        assert_eq!(at_a, at_b, "{room}: both play on one node");
        let (wa, wb) = (a.welcome.as_ref(), b.welcome.as_ref());
        assert_eq!(wa.map(|w| &w.room_id), wb.map(|w| &w.room_id));
        let both = [a.player_id(), b.player_id()];
        sees_all(&mut a, &both, "a to see b").await;
        sees_all(&mut b, &both, "b to see a").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_rooms_leave_every_lobby_within_the_lease_ttl() {
    let mut cluster = TestCluster::start();
    let (_c0, _, _) = join_following(cluster.nodes[0].addr, "p", "stays").await;
    let (_c2, _, _) = join_following(cluster.nodes[2].addr, "p", "dies").await;
    let both: BTreeSet<(String, String)> = [("dies", "n2"), ("stays", "n0")]
        .map(|(r, n)| (r.to_string(), n.to_string()))
        .into();
    eventually(Duration::from_secs(5), "n1 to list both rooms", || async {
        (lobby(&cluster.nodes[1]).await == both).then_some(())
    })
    .await;

    cluster.nodes[2].kill();
    let killed = Instant::now();
    let ttl = Duration::from_secs_f64(LEASE_TTL_SECS);
    let survivors: BTreeSet<(String, String)> = [("stays".to_string(), "n0".to_string())].into();
    for node in &cluster.nodes[..2] {
        // The lease lapses within one TTL; the lobby cache and the poll add a little.
        eventually(
            ttl + Duration::from_secs(2),
            &format!("{}'s /rooms to drop the dead node's room", node.id),
            || async { (lobby(node).await == survivors).then_some(()) },
        )
        .await;
    }
    assert!(killed.elapsed() < ttl + Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_play_and_matchmake_find_the_public_room_on_another_node() {
    let cluster = TestCluster::start();
    let (n0, n1, n2) = (&cluster.nodes[0], &cluster.nodes[1], &cluster.nodes[2]);
    // With no public room anywhere, quick play opens one on an empty node (all are).
    let (mut a, home, _) = follow(n0.addr, Join::any_room("a")).await;
    let home = cluster
        .nodes
        .iter()
        .find(|n| n.addr == home)
        .expect("a plays on a node of the cluster");
    let others: Vec<&NodeProcess> = [n0, n1, n2]
        .into_iter()
        .filter(|n| n.id != home.id)
        .collect();
    let room = a.welcome.as_ref().expect("welcomed").room_id.clone();
    eventually(
        Duration::from_secs(5),
        "another node to list the public room",
        || async {
            lobby(others[0])
                .await
                .contains(&(room.clone(), home.id.clone()))
                .then_some(())
        },
    )
    .await;

    let answer = post_json(others[1].http_url("/matchmake")).await;
    assert_eq!(answer["url"], home.ws_url(), "{answer}");
    assert_eq!(answer["room"], room.as_str(), "{answer}");

    let (mut b, at, hops) = follow(others[0].addr, Join::any_room("b")).await;
    assert_eq!(
        (at, hops),
        (home.addr, 1),
        "redirected to the room with space"
    );
    assert_eq!(b.welcome.as_ref().map(|w| &w.room_id), Some(&room));
    let both = [a.player_id(), b.player_id()];
    sees_all(&mut a, &both, "a to see b").await;
    sees_all(&mut b, &both, "b to see a").await;
}

/// `GET /rooms` on `node` as (room id, players, public) triples.
async fn listed_players(node: &NodeProcess) -> BTreeSet<(String, u64, bool)> {
    rooms_listed(node)
        .await
        .iter()
        .filter_map(|r| {
            Some((
                r["id"].as_str()?.to_string(),
                r["players"].as_u64()?,
                r["public"].as_bool()?,
            ))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_play_with_no_room_to_fill_opens_a_public_room_on_the_least_loaded_node() {
    let cluster = TestCluster::start();
    let (n0, n1, n2) = (&cluster.nodes[0], &cluster.nodes[1], &cluster.nodes[2]);
    let _busy: Vec<_> = futures_util::future::join_all([
        join_following(n0.addr, "p0", "busy0"),
        join_following(n0.addr, "p1", "busy0"),
        join_following(n1.addr, "p2", "busy1"),
    ])
    .await;
    let loaded: BTreeSet<(String, u64, bool)> = [
        ("busy0".to_string(), 2, false),
        ("busy1".to_string(), 1, false),
    ]
    .into();
    eventually(
        Duration::from_secs(5),
        "the nodes' loads in the directory",
        || async { (listed_players(n2).await == loaded).then_some(()) },
    )
    .await;

    // n0 has no public room to fill, and n2 is the emptiest node.
    let (mut a, at, hops) = follow(n0.addr, Join::any_room("a")).await;
    assert_eq!((at, hops), (n2.addr, 1), "placed on the least-loaded node");
    let room = a.welcome.as_ref().expect("welcomed").room_id.clone();
    eventually(
        Duration::from_secs(5),
        "the new room listed public",
        || async {
            listed_players(n1)
                .await
                .contains(&(room.clone(), 1, true))
                .then_some(())
        },
    )
    .await;

    // It is a quick-play room: the next quick play, anywhere, fills it.
    let (mut b, at, _) = follow(n1.addr, Join::any_room("b")).await;
    assert_eq!(at, n2.addr);
    assert_eq!(b.welcome.as_ref().map(|w| &w.room_id), Some(&room));
    let both = [a.player_id(), b.player_id()];
    sees_all(&mut a, &both, "a to see b").await;
    sees_all(&mut b, &both, "b to see a").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_of_a_killed_node_rejoin_through_the_entry_on_live_nodes_and_the_rest_play_on() {
    use tickcast_bot::{LoadConfig, LoadRun, ResumePolicy, RoomChoice};

    let mut cluster = TestCluster::start();
    let entry = cluster.nodes[0].ws_url();
    // One room per node, opened there by an anchor player; the bots come through the entry.
    let rooms = ["on-n0", "on-n1", "on-n2"];
    let mut anchors = Vec::new();
    for (node, room) in cluster.nodes.iter().zip(rooms) {
        anchors.push(join_following(node.addr, "anchor", room).await.0);
    }
    const BOTS: u32 = 6;
    let runs: Vec<_> = rooms
        .iter()
        .map(|room| {
            let mut cfg = LoadConfig::new(entry.clone(), BOTS, Duration::from_secs(8));
            cfg.warmup = Duration::from_secs(1);
            cfg.room = RoomChoice::Named(room.to_string());
            cfg.name_prefix = format!("{room}-");
            cfg.metrics_url = None;
            // Enough attempts to outlast the dead node's lease (1 s) on the way to 4005.
            cfg.resume = ResumePolicy {
                attempts: 8,
                backoff: Duration::from_millis(100),
                attempt_timeout: Duration::from_secs(2),
                budget: Duration::from_secs(5),
            };
            tokio::spawn(LoadRun::new(cfg).run())
        })
        .collect();
    let full: BTreeSet<(String, u64, bool)> = rooms
        .iter()
        .map(|r| (r.to_string(), u64::from(BOTS) + 1, false))
        .collect();
    eventually(Duration::from_secs(10), "every bot in its room", || async {
        (listed_players(&cluster.nodes[1]).await == full).then_some(())
    })
    .await;
    for anchor in anchors {
        anchor.close().await;
    }

    cluster.nodes[2].kill();
    let mut reports = Vec::new();
    for run in runs {
        let report = tokio::time::timeout(Duration::from_secs(30), run)
            .await
            .expect("the run ends")
            .expect("the run task should not panic")
            .expect("the run starts");
        reports.push(report);
    }
    for (room, report) in rooms.iter().zip(&reports) {
        let table = report.table();
        assert_eq!(report.connected, BOTS, "{room}: {table}");
        if *room == "on-n2" {
            // A clear outcome: each lost its connection, could not get its seat back (the
            // node is gone), and joined again through the entry as a new player.
            assert_eq!(
                report.error_kinds.get("closed_1006"),
                Some(&u64::from(BOTS)),
                "{table}"
            );
            assert_eq!(
                (report.resume_failures, report.rejoins),
                (u64::from(BOTS), u64::from(BOTS)),
                "{table}"
            );
            assert_eq!(report.closes.get("1000"), Some(&u64::from(BOTS)), "{table}");
        } else {
            let delivery = report.delivery_by_room.get(*room).copied();
            assert!(
                delivery >= Some(0.99),
                "{room} delivery {delivery:?}: {table}"
            );
            assert_eq!(
                (report.resumes, report.rejoins, report.errors),
                (0, 0, 0),
                "{table}"
            );
        }
    }
    // The dead node's room lives again on a live node: the entry claimed it for the rejoins.
    let lobby = lobby(&cluster.nodes[1]).await;
    assert!(lobby.contains(&("on-n2".into(), "n0".into())), "{lobby:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_through_another_node_is_redirected_to_the_seat() {
    let cluster = TestCluster::start();
    let (n0, n2) = (&cluster.nodes[0], &cluster.nodes[2]);
    let (a, _, _) = join_following(n0.addr, "a", "home").await;
    let welcome = a.welcome.clone().expect("welcomed");
    let token = welcome.resume_token.clone().expect("a resume token");
    drop(a); // the connection is lost; the seat is held for the resume grace

    let resume = Join {
        resume: Some(token),
        ..Join::room("home", "a")
    };
    let (back, at, hops) = follow(n2.addr, resume).await;
    assert_eq!((at, hops), (n0.addr, 1));
    assert_eq!(back.player_id(), welcome.player_id, "the same player");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_loses_a_lease_stops_the_room_and_closes_its_players_with_1001() {
    use tickcast_server::directory::{Directory, DirectoryConfig, RedisDirectory};

    let cluster = TestCluster::start();
    let n1 = &cluster.nodes[1];
    let (mut a, _, _) = join_following(n1.addr, "a", "fenced").await;
    // Another party takes the room's lease away (what a new owner does after the old one
    // paused for a TTL): releasing it at its epoch bumps the epoch, so n1 cannot renew.
    let redis = RedisDirectory::connect(&cluster.redis_url(), DirectoryConfig::default())
        .await
        .expect("the test connects to the cluster's Redis");
    let owner = redis
        .owner("fenced")
        .await
        .expect("redis answers")
        .expect("n1 owns the room");
    assert_eq!(owner.node.id, "n1");
    assert!(redis
        .release("fenced", "n1", owner.epoch)
        .await
        .expect("redis answers"));

    let (code, reason) = a.expect_close().await;
    assert_eq!((code, reason.as_str()), (1001, "room closed"));
    let lost = eventually(
        Duration::from_secs(5),
        "the lease loss to be counted",
        || async {
            let text = common::get_text(n1.http_url("/metrics")).await;
            text.lines()
                .find_map(|l| l.strip_prefix("tickcast_lease_lost_total "))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| *v >= 1.0)
        },
    )
    .await;
    assert_eq!(lost, 1.0);
}

#[test]
fn a_node_whose_redis_is_down_at_start_up_exits_with_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("tickcast-no-redis-{}", std::process::id()));
    let url = format!("redis+unix://{}/nothing.sock", dir.display());
    let t0 = Instant::now();
    let out = nodes::command()
        .args([
            "--port",
            "0",
            "--redis-url",
            &url,
            "--redis-connect-timeout",
            "0.5",
        ])
        .output()
        .expect("the binary runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot join the cluster at"), "{stderr}");
    assert!(stderr.contains(&url), "{stderr}");
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "it gave up after its timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_keeps_local_rooms_ticking_and_the_directory_recovers() {
    let mut cluster = TestCluster::start();
    let (mut a, _, _) = join_following(cluster.nodes[0].addr, "a", "steady").await;
    let listed: (String, String) = ("steady".into(), "n0".into());
    eventually(Duration::from_secs(5), "n2 to list the room", || async {
        lobby(&cluster.nodes[2])
            .await
            .contains(&listed)
            .then_some(())
    })
    .await;

    cluster.redis.kill();
    let window = Duration::from_secs(2);
    let new_room = async {
        // A room no node runs cannot be created while the directory is down.
        let mut b = Client::connect(cluster.nodes[1].addr).await;
        b.send(&ClientMsg::Join(Join::room("new-while-down", "b")))
            .await;
        b.expect_close().await
    };
    let ((got, missing), (code, _)) = tokio::join!(a.count_snapshots(window), new_room);
    assert_eq!(
        code, 1011,
        "a join that needs the directory is refused, retryable"
    );
    assert_eq!(missing, 0, "no snapshot lost while Redis is down");
    let expected = 30.0 * window.as_secs_f64() * common::MIN_RATE_FRACTION;
    assert!(got as f64 >= expected, "{got} snapshots in {window:?}");

    cluster.redis.restart(); // empty: every key is gone
    for node in &cluster.nodes {
        eventually(
            Duration::from_secs(5),
            &format!("{}'s /rooms to list the room again", node.id),
            || async { lobby(node).await.contains(&listed).then_some(()) },
        )
        .await;
    }
    // The lease came back with it: a join through another node is sent to n0, and new rooms
    // can be created again.
    let (_b, at, hops) = join_following(cluster.nodes[1].addr, "b", "steady").await;
    assert_eq!((at, hops), (cluster.nodes[0].addr, 1));
    let (_c, at, _) = join_following(cluster.nodes[1].addr, "c", "new-after").await;
    assert_eq!(at, cluster.nodes[1].addr);
    let (_, missing) = a.count_snapshots(Duration::from_millis(300)).await;
    assert_eq!(missing, 0, "the room was never stopped");
    // Each node saw its directory fail and come back, and reports itself up.
    for node in &cluster.nodes {
        let text = common::get_text(node.http_url("/metrics")).await;
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
        };
        assert!(
            value("tickcast_redis_reconnects_total") >= Some(1.0),
            "{}: {text}",
            node.id
        );
        assert_eq!(value(r#"tickcast_node_state{state="up"}"#), Some(1.0));
        assert_eq!(value(r#"tickcast_node_state{state="draining"}"#), Some(0.0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_node_matchmakes_to_itself() {
    let server = common::start_arena(common::test_config());
    let url = server.ws_url();
    let none = post_json(server.http_url("/matchmake")).await;
    assert_eq!(none, serde_json::json!({"url": url, "room": null}));
    let a = Client::join(server.addr(), Join::any_room("a")).await;
    let room = a.welcome.as_ref().expect("welcomed").room_id.clone();
    let answer = post_json(server.http_url("/matchmake")).await;
    assert_eq!(answer, serde_json::json!({"url": url, "room": room}));
    let listed = common::get_json(server.http_url("/rooms?totals=true")).await;
    assert_eq!(
        listed["totals"],
        serde_json::json!({"nodes": 1, "rooms": 1, "players": 1}),
        "{listed}"
    );
}
