//! Quick play across a cluster of three real nodes on one real `redis-server`: a quick play and
//! `POST /matchmake` find the public room on another node, a quick play with no room to fill
//! opens a public room on the least-loaded node, and a burst of quick plays and matchmaking
//! answers through every node lands every player in a room with space, filling rooms in order
//! (no 4001). Plus one node without a cluster: `/matchmake` and the totals point at itself.
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

use cluster::{follow, join_following, listed_players, lobby, post_json, sees_all, TestCluster};
use common::{eventually, Client};
use nodes::NodeProcess;
use tickcast_shared::Join;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_quick_plays_through_every_node_fills_rooms_in_order_without_a_4001() {
    const CAPACITY: usize = 4;
    const PLAYERS: usize = 18;
    let cluster = TestCluster::start_with(&["--max-players-per-room", &CAPACITY.to_string()]);
    eventually(
        Duration::from_secs(5),
        "every node in the directory",
        || async {
            let totals = common::get_json(cluster.nodes[0].http_url("/rooms?totals=true")).await;
            (totals["totals"]["nodes"] == 3).then_some(())
        },
    )
    .await;
    // All at once, spread over the nodes as a load balancer would: half ask `POST /matchmake`
    // and join the answer, half send a quick-play Join; `follow` panics on any close (4001).
    let players = (0..PLAYERS).map(|i| {
        let node: &NodeProcess = &cluster.nodes[i % 3];
        let name = format!("p{i}");
        async move {
            if i % 2 == 0 {
                let answer = post_json(node.http_url("/matchmake")).await;
                let (url, room) = (answer["url"].as_str(), answer["room"].as_str());
                let (Some(url), Some(room)) = (url, room) else {
                    panic!("{name}: no room in {answer}");
                };
                join_following(cluster::addr_of(url), &name, room).await.0
            } else {
                follow(node.addr, Join::any_room(&name)).await.0
            }
        }
    });
    let joined = tokio::time::timeout(
        Duration::from_secs(30),
        futures_util::future::join_all(players),
    )
    .await
    .expect("the burst is seated within its deadline");
    let mut rooms: std::collections::BTreeMap<String, usize> = Default::default();
    for c in &joined {
        let room = c.welcome.as_ref().expect("welcomed").room_id.clone();
        *rooms.entry(room).or_default() += 1;
    }
    // Rooms filled in order: every room full but the last one opened.
    let mut sizes: Vec<usize> = rooms.values().copied().collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(sizes, [4, 4, 4, 4, 2], "{rooms:?}");
    // The lobby agrees once the nodes have listed them.
    let want: BTreeSet<(String, u64, bool)> = rooms
        .iter()
        .map(|(room, n)| (room.clone(), *n as u64, true))
        .collect();
    eventually(
        Duration::from_secs(5),
        "the lobby to list the burst",
        || async { (listed_players(&cluster.nodes[1]).await == want).then_some(()) },
    )
    .await;
    drop(joined);
}
