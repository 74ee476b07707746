//! The cluster e2e tests' shared part (`tests/tests/cluster_*.rs` include it by path): three
//! real nodes on one real Redis ([`TestCluster`]), and the client side of a cluster — reading
//! `/rooms`, posting `/matchmake`, joining with redirects followed as a client must.

// Each cluster test file uses a part of it.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::SocketAddr;

use crate::common::{Client, Event, WAIT};
use crate::nodes::NodeProcess;
use crate::redis_server::RedisServer;
use tickcast_shared::{close, ClientMsg, Join, Redirect, ServerMsg};

/// Redis and three nodes `n0`, `n1`, `n2`.
pub struct TestCluster {
    pub nodes: Vec<NodeProcess>,
    // Dropped last: the nodes go first.
    pub redis: RedisServer,
}

impl TestCluster {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Redis and three nodes, each started with the extra flags `args`.
    pub fn start_with(args: &[&str]) -> Self {
        let redis = RedisServer::start();
        let nodes = (0..3)
            .map(|i| NodeProcess::start(&format!("n{i}"), &redis.url(), args))
            .collect();
        TestCluster { nodes, redis }
    }

    pub fn redis_url(&self) -> String {
        self.redis.url()
    }

    /// Which node id's address is `url`.
    pub fn node_of(&self, url: &str) -> &NodeProcess {
        self.nodes
            .iter()
            .find(|n| n.ws_url() == url)
            .unwrap_or_else(|| panic!("{url} is no node of this cluster"))
    }
}

/// `GET /rooms` on `node` as its JSON entries; empty while the node answers an error (503 while
/// its directory is unreachable).
pub async fn rooms_listed(node: &NodeProcess) -> Vec<serde_json::Value> {
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
pub async fn lobby(node: &NodeProcess) -> BTreeSet<(String, String)> {
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

pub fn addr_of(url: &str) -> SocketAddr {
    url.strip_prefix("ws://")
        .and_then(|rest| rest.strip_suffix("/ws"))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("not a node url: {url}"))
}

/// Joins room `room` (named) through `addr`, following redirects as a client must (at most 3):
/// returns the welcomed client, the address it plays on and the redirects it followed.
pub async fn join_following(addr: SocketAddr, name: &str, room: &str) -> (Client, SocketAddr, u32) {
    follow(addr, Join::room(room, name)).await
}

/// Sends `join` through `addr`, following redirects (at most 3, each with [`Redirect::join`]).
pub async fn follow(addr: SocketAddr, join: Join) -> (Client, SocketAddr, u32) {
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
pub async fn post_json(url: String) -> serde_json::Value {
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
pub async fn sees_all(client: &mut Client, players: &[uuid::Uuid], what: &str) {
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

/// `GET /rooms` on `node` as (room id, players, public) triples.
pub async fn listed_players(node: &NodeProcess) -> BTreeSet<(String, u64, bool)> {
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
