//! Three real server processes on one real `redis-server` (Unix socket, no persistence), each on
//! port 0 with a 1 s lease, routing joins: rooms spread over the nodes and every node's `/rooms`
//! lists the same set (with the cluster's totals), a join and a resume through the wrong node
//! are redirected to the owner and play there, and two clients racing to create one named room
//! through two nodes end in one room.
//!
//! Needs `redis-server` on the PATH (`scripts/test.sh` installs it). Every wait is a polled
//! condition with a deadline.

#[path = "common/cluster.rs"]
mod cluster;
mod common;
#[path = "common/nodes.rs"]
mod nodes;
#[path = "common/redis_server.rs"]
mod redis_server;

use std::collections::BTreeSet;
use std::time::Duration;

use cluster::{follow, join_following, lobby, sees_all, TestCluster};
use common::{eventually, Client, Event, WAIT};
use tickcast_shared::{close, ClientMsg, Join, ServerMsg};

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
