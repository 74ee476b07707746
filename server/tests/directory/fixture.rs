//! One directory per test, behind a trait so the conformance suite runs on both.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tickcast_server::directory::{
    Claim, Directory, DirectoryConfig, Epoch, ManualClock, MemoryDirectory, Node, NodeBeat,
    NodeState, RedisDirectory, RoomSummary,
};

use redis::aio::MultiplexedConnection;

use crate::redis_server::RedisServer;

/// The conformance suite's lease TTL: so long that nothing lapses unless a test says so
/// ([`Fixture::after_ttl`]), however slow the machine.
pub const LEASE: Duration = Duration::from_secs(60);
/// Short leases, for the tests that watch Redis expire keys on its own clock.
pub const SHORT_LEASE: Duration = Duration::from_millis(300);
/// How long a polled condition may take on a busy machine.
pub const DEADLINE: Duration = Duration::from_secs(10);

pub trait Fixture {
    fn dir(&self) -> Arc<dyn Directory>;

    /// Lets one lease TTL pass — every lease and node record written before lapses — then
    /// requires `cond`, asked until [`DEADLINE`]. `cond` may renew what must stay alive.
    async fn after_ttl<F, Fut>(&self, what: &str, cond: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>;
}

pub fn config(lease_ttl: Duration) -> DirectoryConfig {
    DirectoryConfig {
        prefix: "test:".into(),
        lease_ttl,
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
        dir: Arc::new(MemoryDirectory::new(config(LEASE), clock.clone())),
        clock,
    }
}

impl Fixture for Memory {
    fn dir(&self) -> Arc<dyn Directory> {
        self.dir.clone()
    }

    async fn after_ttl<F, Fut>(&self, what: &str, cond: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        self.clock.advance(LEASE);
        poll_until(what, cond).await;
    }
}

pub struct Redis {
    dir: Arc<RedisDirectory>,
    lease: Duration,
    pub server: RedisServer,
}

/// A fresh `redis-server` and a directory on it with [`LEASE`] leases.
pub async fn redis() -> Redis {
    redis_with_lease(LEASE).await
}

pub async fn redis_with_lease(lease: Duration) -> Redis {
    let server = RedisServer::start();
    let dir = RedisDirectory::connect(&server.url(), config(lease))
        .await
        .expect("the directory should connect to a fresh redis-server");
    Redis {
        dir: Arc::new(dir),
        lease,
        server,
    }
}

impl Redis {
    /// A plain connection to the test server, to look behind the directory's back.
    pub async fn inspect(&self) -> MultiplexedConnection {
        redis::Client::open(self.server.url())
            .expect("the test server's url should parse")
            .get_multiplexed_async_connection()
            .await
            .expect("a plain connection to the test server")
    }
}

impl Fixture for Redis {
    fn dir(&self) -> Arc<dyn Directory> {
        self.dir.clone()
    }

    /// Does to the keys what one TTL would: deletes every key that has at most a lease TTL
    /// left (owner leases, node records, lists; not the epoch counters or the node set).
    async fn after_ttl<F, Fut>(&self, what: &str, cond: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let lapsed: usize = redis::Script::new(LAPSE)
            .arg("test:*")
            .arg(self.lease.as_millis() as u64)
            .invoke_async(&mut self.inspect().await)
            .await
            .expect("the lapse script should run");
        assert!(lapsed > 0, "nothing to lapse before: {what}");
        poll_until(what, cond).await;
    }
}

const LAPSE: &str = r"
local n = 0
for _, key in ipairs(redis.call('KEYS', ARGV[1])) do
  local left = redis.call('PTTL', key)
  if left > 0 and left <= tonumber(ARGV[2]) then
    redis.call('DEL', key)
    n = n + 1
  end
end
return n
";

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
