//! Three real server processes on one real `redis-server` (Unix socket, no persistence), each on
//! port 0 with a 1 s lease: rooms spread over the nodes, a join through the wrong node is
//! redirected to the owner and plays there, two clients racing to create one named room through
//! two nodes end in one room, every node's `/rooms` lists the same set, and a `kill -9`'d node's
//! rooms leave the lobby within the lease TTL.
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

use common::{eventually, get_json, Client, Event, WAIT};
use nodes::{NodeProcess, LEASE_TTL_SECS};
use redis_server::RedisServer;
use tickcast_shared::{close, ClientMsg, Join, ServerMsg};

/// Redis and three nodes `n0`, `n1`, `n2`.
struct TestCluster {
    nodes: Vec<NodeProcess>,
    // Dropped last: the nodes go first.
    _redis: RedisServer,
}

impl TestCluster {
    fn start() -> Self {
        let redis = RedisServer::start();
        let nodes = (0..3)
            .map(|i| NodeProcess::start(&format!("n{i}"), &redis.url()))
            .collect();
        TestCluster {
            nodes,
            _redis: redis,
        }
    }

    /// Which node id's address is `url`.
    fn node_of(&self, url: &str) -> &NodeProcess {
        self.nodes
            .iter()
            .find(|n| n.ws_url() == url)
            .unwrap_or_else(|| panic!("{url} is no node of this cluster"))
    }
}

/// `GET /rooms` on `node` as (room id, node id) pairs.
async fn lobby(node: &NodeProcess) -> BTreeSet<(String, String)> {
    let rooms = get_json(node.http_url("/rooms")).await;
    rooms
        .as_array()
        .expect("/rooms is a JSON array")
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
/// returns the welcomed client and the address it plays on.
async fn join_following(addr: SocketAddr, name: &str, room: &str) -> (Client, SocketAddr, u32) {
    let mut addr = addr;
    let mut room = room.to_string();
    for hops in 0..=3 {
        let mut c = Client::connect(addr).await;
        c.send(&ClientMsg::Join(Join::room(&room, name))).await;
        let redirect = loop {
            match c.next(WAIT).await {
                Event::Msg(ServerMsg::Welcome(w)) => {
                    c.welcome = Some(w);
                    return (c, addr, hops);
                }
                Event::Msg(ServerMsg::Redirect(r)) => break r,
                Event::Msg(_) => continue,
                Event::Closed(c) => panic!("{name}: closed instead of a welcome: {c:?}"),
            }
        };
        let (code, _) = c.expect_close().await;
        assert_eq!(code, close::REDIRECT, "a Redirect is followed by 4007");
        addr = addr_of(&redirect.url);
        room = redirect.room_id;
    }
    panic!("{name}: more than 3 redirects");
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
