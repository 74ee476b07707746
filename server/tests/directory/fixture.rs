//! One directory per test, behind a trait so the conformance suite runs on both.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tickcast_server::directory::{
    Claim, Directory, DirectoryConfig, Epoch, ManualClock, MemoryDirectory, Node, NodeBeat,
    NodeState, RedisDirectory, RoomSummary,
};

use crate::redis_server::RedisServer;

/// Short leases, so the Redis tests see them lapse quickly.
pub const TTL: Duration = Duration::from_millis(300);
/// How long a polled condition may take on a busy machine.
pub const DEADLINE: Duration = Duration::from_secs(10);

pub trait Fixture {
    fn dir(&self) -> Arc<dyn Directory>;

    /// Lets every lease and node record that is not renewed meanwhile lapse, then requires
    /// `cond`: memory moves its clock one TTL on and asks once; Redis asks until real time has
    /// done it (within [`DEADLINE`]). `cond` may renew what must stay alive.
    async fn after_ttl<F, Fut>(&self, what: &str, cond: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>;
}

pub fn config() -> DirectoryConfig {
    DirectoryConfig {
        prefix: "test:".into(),
        lease_ttl: TTL,
        ..DirectoryConfig::default()
    }
}

pub struct Memory {
    dir: Arc<MemoryDirectory>,
    clock: ManualClock,
}

pub async fn memory() -> Memory {
    let clock = ManualClock::default();
    Memory {
        dir: Arc::new(MemoryDirectory::new(config(), clock.clone())),
        clock,
    }
}

impl Fixture for Memory {
    fn dir(&self) -> Arc<dyn Directory> {
        self.dir.clone()
    }

    async fn after_ttl<F, Fut>(&self, what: &str, mut cond: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        self.clock.advance(TTL);
        assert!(cond().await, "one TTL later: {what}");
    }
}

pub struct Redis {
    dir: Arc<RedisDirectory>,
    pub server: RedisServer,
}

pub async fn redis() -> Redis {
    let server = RedisServer::start();
    let dir = RedisDirectory::connect(&server.url(), config())
        .await
        .expect("the directory should connect to a fresh redis-server");
    Redis {
        dir: Arc::new(dir),
        server,
    }
}

impl Fixture for Redis {
    fn dir(&self) -> Arc<dyn Directory> {
        self.dir.clone()
    }

    async fn after_ttl<F, Fut>(&self, what: &str, cond: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        poll_until(what, cond).await;
    }
}

/// Asks `cond` every few milliseconds until it holds; panics naming `what` after [`DEADLINE`].
pub async fn poll_until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + DEADLINE;
    while !cond().await {
        assert!(Instant::now() < deadline, "not within {DEADLINE:?}: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub fn node(id: &str) -> Node {
    Node {
        id: id.into(),
        url: format!("ws://{id}.test:7000"),
    }
}

/// A heartbeat of node `id` with one room per entry of `players`, named `<id>-<i>`.
pub fn beat(id: &str, state: NodeState, players: &[usize]) -> NodeBeat {
    let rooms = players
        .iter()
        .enumerate()
        .map(|(i, &players)| RoomSummary {
            id: format!("{id}-{i}"),
            players,
            capacity: 8,
            tick: 42,
            public: i % 2 == 0,
        })
        .collect();
    NodeBeat {
        node: node(id),
        state,
        rooms,
    }
}

pub fn owned(claim: Claim) -> Epoch {
    match claim {
        Claim::Owned { epoch } => epoch,
        other => panic!("expected to own the room, got {other:?}"),
    }
}
