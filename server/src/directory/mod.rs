//! The cluster directory: which node owns which room, which nodes are alive, and every node's
//! room list — the shared state that lets several tickcast nodes act as one server.
//!
//! Nothing here runs a room or touches a socket. The registry, through [`crate::node::Cluster`],
//! calls [`Directory::claim`] before it creates a room, [`Directory::release`] when it disposes
//! one, [`Directory::heartbeat`] every [`DirectoryConfig::heartbeat_interval`] with its room list
//! and leases, and [`Directory::owner`], [`Directory::rooms`] and [`Directory::place`] to route
//! joins, serve `GET /rooms` and matchmake. Two implementations share one contract, checked by one
//! conformance suite (`server/tests/directory/`): [`RedisDirectory`] for a cluster and
//! [`MemoryDirectory`] for single-node mode and unit tests.
//!
//! # Leases, not registrations
//! Everything a node writes expires unless the node keeps renewing it: its node record, its room
//! list and its room leases all carry a TTL ([`DirectoryConfig::lease_ttl`], 6 s, renewed every
//! 2 s). A node that dies, hangs or loses its network simply stops renewing, and its entries vanish
//! by themselves within one TTL — no health-check job, nothing that can leave stale rooms
//! behind (Colyseus's `roomcaches`, which never expire, are the counter-example).
//!
//! # Why fencing epochs
//! A lease alone cannot keep two nodes from running one room: a node paused for longer than the
//! TTL (GC, swap, a partition) still believes it owns the room while another node has claimed it.
//! So every ownership change takes a new, strictly greater **epoch** from a per-room counter that
//! outlives the lease. A renewal succeeds only at the epoch it was granted, so the stale node's
//! next heartbeat reports the room as lost ([`Directory::heartbeat`]) and the node stops it; any
//! later write a node makes for a room (images and checkpoints in the next issue) carries the
//! epoch and is refused when it is not the current one.
//!
//! # Key layout ([`RedisDirectory`]; prefix [`DirectoryConfig::prefix`], default `tc:`)
//! | key | type, TTL | content |
//! |---|---|---|
//! | `tc:{<room>}:owner` | hash, lease TTL | `node`, `url`, `epoch`, `state` (`live`; `moving` is reserved for migration) |
//! | `tc:{<room>}:epoch` | counter, [`DirectoryConfig::epoch_ttl`] (24 h), refreshed by `claim`, `renew`, `release` | the room's fencing token |
//! | `tc:{cluster}:nodes` | sorted set | node id → placement score: its players, `+inf` while draining |
//! | `tc:{cluster}:node:<node>` | string, lease TTL | MessagePack [`NodeInfo`] |
//! | `tc:{cluster}:list:<node>` | string, lease TTL | MessagePack `Vec<RoomSummary>` |
//! | `tc:{<room>}:image` | string, [`DirectoryConfig::image_ttl`] (30 s) | the room's [`RoomImage`](crate::image::RoomImage), written fenced by its owner |
//! | `tc:inbox:<node>` | pub/sub channel | the node's doorbell (`migration.rs`): `adopt`, `adopted` |
//!
//! The `{…}` hash tags put each room's two keys in one Redis Cluster slot, so each room script
//! touches one slot, and put all node keys together, so one script can read every node.
//!
//! # Scripts (`directory/scripts/*.lua`, each atomic)
//! - `claim(room, node)`: if the room has no owner, INCR its epoch and write the owner lease;
//!   otherwise return the owner. All room creation goes through it, so two nodes racing on one
//!   named room get one owner.
//! - `renew(room, node, epoch)`: extend the lease if `node` owns it at `epoch`; if nobody owns it
//!   and no greater epoch was handed out (the lease lapsed, or Redis restarted empty), take it
//!   back at the same epoch; if an older epoch holds it (only after Redis lost writes), take it
//!   over. Otherwise the lease is lost.
//! - `release(room, node, epoch)`: delete the lease if `node` owns it at `epoch`, and bump the
//!   epoch so that a renewal still in flight cannot bring the lease back.
//! - `scan(lists?)`: every live node's record (and room list), dropping dead nodes from the set.
//! - `place()`: the live, undrained node with the lowest score, whose score it bumps by one so
//!   placements spread between heartbeats; dead nodes are dropped on the way.
//!
//! - `offer` / `adopt` / `abort(room, source, epoch, …)`: the fenced handoff of a live room to
//!   another node (`state: moving`, a `target` field, one more epoch INCR at adoption, which
//!   the source's next renewal reports as lost); exactly one of adopt and abort wins an offer.
//!   Rules and the order of calls in `handoff.rs`.
//! - `image(room, node, epoch, bytes)`: the room image, written only by the owner at its epoch.
//!
//! # When the backend fails
//! A node keeps its rooms running whatever the directory says, except for one answer: a lease
//! reported lost. [`DirectoryError::Unavailable`] (Redis down, restarting, timing out) is not a
//! loss — the caller retries on its next heartbeat, and the Redis directory reconnects by itself.
//! A Redis that restarted empty has forgotten every key: the first heartbeat of each node
//! writes its record and list again and takes its leases back at their epochs (`renew`), so
//! the cluster re-registers itself without a new claim and without an epoch going backwards.
//!
//! The price: a node cut off from Redis while the other nodes are not cannot tell that from an
//! outage. After one TTL another node may claim its rooms, and both run them until the cut-off
//! node's next successful heartbeat reports them lost. Its epoch keeps any fenced write out
//! meanwhile; a caller that prefers consistency to availability can stop a room itself once no
//! renewal has succeeded for a TTL.

mod handoff;
mod inbox;
mod memory;
mod redis;
mod state;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

pub use self::memory::{Clock, ManualClock, MemoryDirectory, SystemClock};
pub use self::redis::RedisDirectory;

/// One room in a node's list: a `GET /rooms` entry. It lives here, with the directory that
/// stores it, so that the registry imports the directory and never the other way round.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RoomSummary {
    pub id: String,
    pub players: usize,
    pub capacity: usize,
    pub tick: u64,
    /// Created by matchmaking (joinable with "any room"), rather than by name.
    pub public: bool,
}

/// What every directory operation returns: a `'static` future an actor can spawn.
pub type DirectoryFuture<T> = BoxFuture<'static, Result<T, DirectoryError>>;

/// The cluster's shared state, as the nodes see it. Object-safe: nodes hold an
/// `Arc<dyn Directory>`. Room ids are the protocol's (`[A-Za-z0-9_-]`, see
/// `tickcast_shared::validate::room_id`).
pub trait Directory: Send + Sync + 'static {
    /// Takes ownership of `room` for `node` unless a live lease says another node (or an earlier
    /// life of this one) owns it. Call it before creating a room.
    ///
    /// [`Claim::OwnedBy`] naming `node` itself means a lease from before a restart with the same
    /// node id: `release` it at its epoch and claim again.
    fn claim(&self, room: &str, node: &Node) -> DirectoryFuture<Claim>;

    /// Keeps `node`'s lease on `room` at `epoch` alive (see the `renew` script in the module
    /// docs). `false`: the lease is lost — another node owns the room or a newer epoch was handed
    /// out — and the node must stop the room. [`Directory::heartbeat`] renews in bulk.
    fn renew(&self, room: &str, node: &Node, epoch: Epoch) -> DirectoryFuture<bool>;

    /// Gives up `node`'s lease on `room` at `epoch` (the room was disposed). `false` when the lease
    /// was not (or no longer) `node`'s at `epoch`; nothing changed then.
    fn release(&self, room: &str, node: &str, epoch: Epoch) -> DirectoryFuture<bool>;

    /// The room's current owner, if any lease is live.
    fn owner(&self, room: &str) -> DirectoryFuture<Option<Owner>>;

    /// One round trip for everything a node keeps alive: its record and room list (both with the
    /// lease TTL), its placement score, and a renewal of each of its rooms' leases. Returns the
    /// rooms whose lease is lost; the node must stop them.
    fn heartbeat(&self, beat: NodeBeat, leases: Vec<Lease>) -> DirectoryFuture<Vec<Arc<str>>>;

    /// Every live node (up or draining), lowest placement score first.
    fn nodes(&self) -> DirectoryFuture<Vec<NodeInfo>>;

    /// Every room of the cluster with its node, from the nodes' last heartbeats, in a constant
    /// number of round trips whatever the room count. A dead node's rooms are gone with its
    /// lease.
    fn rooms(&self) -> DirectoryFuture<Vec<ListedRoom>>;

    /// Picks the least-loaded live node that is not draining for a new room, and counts the
    /// placement against it until its next heartbeat. `None`: no such node.
    fn place(&self) -> DirectoryFuture<Option<NodeInfo>>;

    /// Migration, step 1 (the handoff rules are in `handoff.rs`): `source`, owner of `room` at
    /// `epoch`, offers it to `target` and keeps renewing it meanwhile. `false`: not the owner
    /// at that epoch, or the room is offered already.
    fn offer(&self, room: &str, source: &str, epoch: Epoch, target: &str) -> DirectoryFuture<bool>;

    /// Migration, step 2, the commit point: `target` takes the room `source` offered it at
    /// `epoch`, under a new epoch. `None`: the offer is gone (aborted, adopted, never made).
    fn adopt(
        &self,
        room: &str,
        source: &str,
        epoch: Epoch,
        target: &Node,
    ) -> DirectoryFuture<Option<Epoch>>;

    /// Migration, the way back: `source` withdraws its offer of `room` at `epoch`. `false`: it
    /// was adopted already (or never offered). Exactly one of `adopt` and `abort` wins.
    fn abort(&self, room: &str, source: &str, epoch: Epoch) -> DirectoryFuture<bool>;

    /// Migration (and checkpoints): stores `image`, the room's encoded
    /// [`RoomImage`](crate::image::RoomImage), for [`DirectoryConfig::image_ttl`], only while
    /// `node` owns `room` at `epoch` (a fenced write). `false`: not the owner at that epoch,
    /// nothing written.
    fn put_image(
        &self,
        room: &str,
        node: &str,
        epoch: Epoch,
        image: Vec<u8>,
    ) -> DirectoryFuture<bool>;

    /// The room's stored image, if one has not expired.
    fn image(&self, room: &str) -> DirectoryFuture<Option<Vec<u8>>>;

    /// Rings `node`'s doorbell with `message` (pub/sub: at most once, only to a node listening
    /// now). A doorbell carries no state: its receiver re-reads the keys it points at, and its
    /// sender rings again until the state it waits for shows up.
    fn notify(&self, node: &str, message: Vec<u8>) -> DirectoryFuture<()>;

    /// `node`'s doorbell: every message [`Directory::notify`] sends it from now on. It keeps
    /// listening across reconnections (messages sent while it reconnects are lost) until the
    /// receiver is dropped. Call it inside a tokio runtime.
    fn inbox(&self, node: &str) -> tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>;
}

/// A node as other nodes and clients reach it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Node {
    pub id: String,
    /// The ws/wss base URL clients use to reach this node (`--public-url`).
    pub url: String,
}

/// A room's fencing token: strictly greater at each ownership change.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Epoch(pub u64);

impl std::fmt::Display for Epoch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The answer to [`Directory::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller owns the room now, under this new epoch.
    Owned { epoch: Epoch },
    /// Someone holds a live lease on the room.
    OwnedBy(Owner),
}

/// Who holds a room's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub node: Node,
    pub epoch: Epoch,
}

/// A lease a node holds and renews with each heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub room: Arc<str>,
    pub epoch: Epoch,
}

/// Whether a node takes new rooms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    Up,
    /// Moving its rooms away: listed, but never placed on.
    Draining,
}

/// What a node reports about itself at each heartbeat.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeBeat {
    pub node: Node,
    pub state: NodeState,
    /// Every room the node runs (named and public), as `GET /rooms` lists them.
    pub rooms: Vec<RoomSummary>,
}

impl NodeBeat {
    /// The record other nodes read back through [`Directory::nodes`].
    pub fn info(&self) -> NodeInfo {
        NodeInfo {
            node: self.node.clone(),
            state: self.state,
            rooms: self.rooms.len(),
            players: self.rooms.iter().map(|r| r.players).sum(),
        }
    }

    /// The placement score: players, and never for a draining node.
    fn score(&self) -> f64 {
        match self.state {
            NodeState::Up => self.info().players as f64,
            NodeState::Draining => f64::INFINITY,
        }
    }
}

/// A live node, as of its last heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub node: Node,
    pub state: NodeState,
    pub rooms: usize,
    pub players: usize,
}

/// A room of the cluster and the node that runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedRoom {
    pub room: RoomSummary,
    pub node: Node,
}

/// Tunables shared by both implementations.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryConfig {
    /// Prepended to every key, so several clusters (or tests) can share one Redis.
    pub prefix: String,
    /// How long node records, room lists and room leases live without a heartbeat.
    pub lease_ttl: Duration,
    /// How long a room's epoch counter outlives its last lease. Must exceed any time a stale
    /// owner could still act, so it is hours, not seconds.
    pub epoch_ttl: Duration,
    /// How long a room image lives: long enough for the slowest adoption, short enough that a
    /// migration's leftovers do not pile up.
    pub image_ttl: Duration,
}

impl Default for DirectoryConfig {
    fn default() -> Self {
        Self {
            prefix: "tc:".into(),
            lease_ttl: Duration::from_secs(6),
            epoch_ttl: Duration::from_secs(24 * 3600),
            image_ttl: Duration::from_secs(30),
        }
    }
}

impl DirectoryConfig {
    /// A third of the lease TTL, so one late or lost heartbeat never loses a lease.
    pub fn heartbeat_interval(&self) -> Duration {
        self.lease_ttl / 3
    }
}

/// Why a directory operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The backend cannot be reached (down, restarting, timed out). Retry later; a Redis
    /// directory reconnects by itself.
    #[error("directory unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// The backend answered with an error (a script or protocol failure).
    #[error("directory error: {0}")]
    Backend(#[source] BoxError),
    /// The directory's address cannot be used (a malformed URL, an unsupported scheme).
    #[error("invalid directory url: {0}")]
    InvalidUrl(#[source] BoxError),
    /// A stored record does not decode: another version or another program wrote it.
    #[error("directory record {key} is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
}

impl DirectoryError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// The source of a backend error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
