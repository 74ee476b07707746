//! This process as one node of a cluster: its identity ([`Node`]), its handle on the shared
//! [`Directory`], and the few rules a node applies to what the directory says.
//!
//! Only cluster mode has a [`Cluster`] (`--redis-url`); a single node has none and never talks
//! to a directory. The registry owns the one `Arc<Cluster>` of a node and wires it: it claims a
//! room here before creating it, releases it on dispose, and every [`Cluster::heartbeat_interval`]
//! sends one [`Cluster::heartbeat`] (its record, its room list, a renewal of every local room's
//! lease) and stops the rooms it reports lost. The HTTP layer reads the cluster-wide lobby
//! through [`Cluster::rooms`] (cached for [`LOBBY_CACHE`]) and asks [`Cluster::place`] where a
//! new room should go.
//!
//! Every directory call goes through here, so each is timed
//! (`tickcast_directory_latency_seconds{op}`) and each failure counted
//! (`tickcast_redis_errors_total`), and the first success after failures counted as a reconnect
//! (`tickcast_redis_reconnects_total`), in one place; each heartbeat sets
//! `tickcast_node_state{state}`. A failure never stops a local room: the caller
//! answers a join with an error, and the next heartbeat tries again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::config::ClusterConfig;
use crate::directory::{
    Claim, Directory, DirectoryConfig, DirectoryError, DirectoryFuture, Epoch, Lease, ListedRoom,
    Node, NodeBeat, NodeInfo, NodeState, Owner, RedisDirectory, RoomSummary,
};
use crate::metrics::Metrics;

/// How long a read of the cluster's rooms is reused: `GET /rooms` and quick-play joins hit
/// Redis at most about four times a second per node, whatever the traffic.
pub const LOBBY_CACHE: Duration = Duration::from_millis(250);

/// The first wait between start-up attempts to reach Redis; it doubles up to a second.
const FIRST_RETRY: Duration = Duration::from_millis(100);

/// A node's handle on its cluster.
pub struct Cluster {
    node: Node,
    directory: Arc<dyn Directory>,
    lease_ttl: Duration,
    metrics: Arc<Metrics>,
    lobby: Mutex<Option<(Instant, Arc<Vec<ListedRoom>>)>>,
    /// The last directory operation failed: the next one to succeed counts a reconnect.
    failing: Arc<AtomicBool>,
    /// Set once a drain starts (never cleared): heartbeats report the node `draining`.
    draining: AtomicBool,
}

impl Cluster {
    pub fn new(
        node: Node,
        directory: Arc<dyn Directory>,
        lease_ttl: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Cluster {
            node,
            directory,
            lease_ttl,
            metrics,
            lobby: Mutex::new(None),
            failing: Arc::new(AtomicBool::new(false)),
            draining: AtomicBool::new(false),
        }
    }

    /// Connects to the cluster's Redis as `config` says, retrying with backoff for up to
    /// `config.connect_timeout` (a Redis that starts alongside the nodes), then failing with the
    /// last error. `bound_url` is this node's `ws://…/ws` URL when `--public-url` is not given.
    pub async fn connect(
        config: &ClusterConfig,
        bound_url: String,
        metrics: Arc<Metrics>,
    ) -> Result<Self, DirectoryError> {
        let directory_config = DirectoryConfig {
            lease_ttl: config.lease_ttl,
            ..DirectoryConfig::default()
        };
        let deadline = Instant::now() + config.connect_timeout;
        let mut wait = FIRST_RETRY;
        let directory = loop {
            match RedisDirectory::connect(&config.redis_url, directory_config.clone()).await {
                Ok(d) => break d,
                Err(e) if e.is_unavailable() && Instant::now() + wait < deadline => {
                    tracing::warn!(error = %e, retry_in = ?wait, "redis not reachable yet");
                    actix_web::rt::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(1));
                }
                Err(e) => return Err(e),
            }
        };
        let node = Node {
            id: config.node_id.clone(),
            url: config.public_url.clone().unwrap_or(bound_url),
        };
        Ok(Self::new(
            node,
            Arc::new(directory),
            config.lease_ttl,
            metrics,
        ))
    }

    /// This node as the others reach it.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// A third of the lease TTL, so one late or lost heartbeat never loses a lease.
    pub fn heartbeat_interval(&self) -> Duration {
        self.lease_ttl / 3
    }

    /// Takes ownership of `room` for this node (see [`Directory::claim`]).
    pub fn claim(&self, room: &str) -> DirectoryFuture<Claim> {
        self.timed("claim", self.directory.claim(room, &self.node))
    }

    /// Gives up this node's lease on `room` at `epoch` (the room was disposed).
    pub fn release(&self, room: &str, epoch: Epoch) -> DirectoryFuture<bool> {
        self.timed(
            "release",
            self.directory.release(room, &self.node.id, epoch),
        )
    }

    /// Who owns `room`, if anyone.
    pub fn owner(&self, room: &str) -> DirectoryFuture<Option<Owner>> {
        self.timed("owner", self.directory.owner(room))
    }

    /// Every live node with its room and player counts (the cluster's totals in `/rooms`).
    pub fn nodes(&self) -> DirectoryFuture<Vec<NodeInfo>> {
        self.timed("nodes", self.directory.nodes())
    }

    /// Picks the least-loaded node for a new room (see [`Directory::place`]).
    pub fn place(&self) -> DirectoryFuture<Option<NodeInfo>> {
        self.timed("place", self.directory.place())
    }

    /// One heartbeat: this node's record and `rooms`, and a renewal of `leases`. Returns the
    /// rooms whose lease is lost. Then reads how many nodes are alive, for
    /// `tickcast_cluster_nodes`.
    pub fn heartbeat(
        self: &Arc<Self>,
        rooms: Vec<RoomSummary>,
        leases: Vec<Lease>,
    ) -> DirectoryFuture<Vec<Arc<str>>> {
        let state = if self.is_draining() {
            NodeState::Draining
        } else {
            NodeState::Up
        };
        let beat = NodeBeat {
            node: self.node.clone(),
            state,
            rooms,
        };
        for (state, label) in [(NodeState::Up, "up"), (NodeState::Draining, "draining")] {
            let current = i64::from(beat.state == state);
            self.metrics
                .node_state
                .with_label_values(&[label])
                .set(current);
        }
        let cluster = self.clone();
        let renew = self.timed("heartbeat", self.directory.heartbeat(beat, leases));
        Box::pin(async move {
            let lost = renew.await?;
            if let Ok(nodes) = cluster.timed("nodes", cluster.directory.nodes()).await {
                cluster.metrics.cluster_nodes.set(nodes.len() as i64);
            }
            Ok(lost)
        })
    }

    /// From now on this node is draining: its heartbeats say so, which takes it out of
    /// placement (score `+inf`). For good: a drained node is on its way out.
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Migration (see `crate::migration`): offers `room`, held at `epoch`, to `target`.
    pub fn offer(&self, room: &str, epoch: Epoch, target: &str) -> DirectoryFuture<bool> {
        let offer = self.directory.offer(room, &self.node.id, epoch, target);
        self.timed("offer", offer)
    }

    /// Migration: takes `room`, offered by `source` at `epoch`, under a new epoch.
    pub fn adopt(&self, room: &str, source: &str, epoch: Epoch) -> DirectoryFuture<Option<Epoch>> {
        let adopt = self.directory.adopt(room, source, epoch, &self.node);
        self.timed("adopt", adopt)
    }

    /// Migration: withdraws this node's offer of `room` at `epoch`.
    pub fn abort(&self, room: &str, epoch: Epoch) -> DirectoryFuture<bool> {
        self.timed("abort", self.directory.abort(room, &self.node.id, epoch))
    }

    /// Writes `room`'s image, fenced at this node's `epoch`.
    pub fn put_image(&self, room: &str, epoch: Epoch, image: Vec<u8>) -> DirectoryFuture<bool> {
        let put = self.directory.put_image(room, &self.node.id, epoch, image);
        self.timed("put_image", put)
    }

    /// `room`'s stored image.
    pub fn image(&self, room: &str) -> DirectoryFuture<Option<Vec<u8>>> {
        self.timed("image", self.directory.image(room))
    }

    /// Rings `node`'s doorbell.
    pub fn notify(&self, node: &str, message: Vec<u8>) -> DirectoryFuture<()> {
        self.timed("notify", self.directory.notify(node, message))
    }

    /// This node's doorbell (see [`Directory::inbox`]).
    pub fn inbox(&self) -> tokio::sync::mpsc::UnboundedReceiver<Vec<u8>> {
        self.directory.inbox(&self.node.id)
    }

    /// Every room of the cluster, read at most once per [`LOBBY_CACHE`].
    pub fn rooms(self: &Arc<Self>) -> DirectoryFuture<Arc<Vec<ListedRoom>>> {
        if let Some((at, rooms)) = &*self.lobby.lock() {
            if at.elapsed() < LOBBY_CACHE {
                return Box::pin(std::future::ready(Ok(rooms.clone())));
            }
        }
        let cluster = self.clone();
        let read = self.timed("rooms", self.directory.rooms());
        Box::pin(async move {
            let rooms = Arc::new(read.await?);
            *cluster.lobby.lock() = Some((Instant::now(), rooms.clone()));
            Ok(rooms)
        })
    }

    /// Wraps a directory call so that its time and its failure are recorded.
    fn timed<T: Send + 'static>(
        &self,
        op: &'static str,
        call: DirectoryFuture<T>,
    ) -> DirectoryFuture<T> {
        let (metrics, failing) = (self.metrics.clone(), self.failing.clone());
        Box::pin(async move {
            let timer = metrics
                .directory_latency_seconds
                .with_label_values(&[op])
                .start_timer();
            let res = call.await;
            timer.observe_duration();
            match &res {
                Err(e) => {
                    metrics.redis_errors_total.inc();
                    failing.store(true, Ordering::Relaxed);
                    tracing::warn!(op, error = %e, "directory operation failed");
                }
                Ok(_) if failing.swap(false, Ordering::Relaxed) => {
                    metrics.redis_reconnects_total.inc();
                    tracing::info!(op, "directory reachable again");
                }
                Ok(_) => {}
            }
            res
        })
    }
}

/// Quick play's rule, cluster-wide: the public room with space that has the most players (rooms
/// fill before new ones open), whichever node runs it. `None`: every public room is full.
pub fn fullest_public<'a>(
    rooms: impl IntoIterator<Item = &'a ListedRoom>,
) -> Option<&'a ListedRoom> {
    rooms
        .into_iter()
        .filter(|r| r.room.public && r.room.players < r.room.capacity)
        .max_by(|a, b| {
            a.room
                .players
                .cmp(&b.room.players)
                // Ties: the same pick on every node.
                .then_with(|| b.room.id.cmp(&a.room.id))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{ManualClock, MemoryDirectory};

    fn listed(id: &str, players: usize, capacity: usize, public: bool) -> ListedRoom {
        ListedRoom {
            room: RoomSummary {
                id: id.into(),
                players,
                capacity,
                tick: 0,
                public,
            },
            node: Node {
                id: "n".into(),
                url: "ws://n/ws".into(),
            },
        }
    }

    #[test]
    fn quick_play_picks_the_fullest_public_room_with_space() {
        let rooms = [
            listed("a", 3, 4, true),
            listed("full", 4, 4, true),
            listed("named", 3, 4, false),
            listed("b", 1, 4, true),
        ];
        assert_eq!(
            fullest_public(&rooms).map(|r| r.room.id.as_str()),
            Some("a")
        );
    }

    #[test]
    fn quick_play_finds_nothing_when_every_public_room_is_full() {
        let rooms = [listed("full", 4, 4, true), listed("named", 0, 4, false)];
        assert!(fullest_public(&rooms).is_none());
    }

    #[test]
    fn quick_play_breaks_ties_the_same_way_on_every_node() {
        let rooms = [listed("b", 2, 4, true), listed("a", 2, 4, true)];
        let reversed = [listed("a", 2, 4, true), listed("b", 2, 4, true)];
        assert_eq!(
            fullest_public(&rooms).map(|r| r.room.id.as_str()),
            Some("a")
        );
        assert_eq!(
            fullest_public(&reversed).map(|r| r.room.id.as_str()),
            Some("a")
        );
    }

    fn cluster(dir: &Arc<MemoryDirectory>, id: &str) -> Arc<Cluster> {
        Arc::new(Cluster::new(
            Node {
                id: id.into(),
                url: format!("ws://{id}/ws"),
            },
            dir.clone(),
            Duration::from_secs(3),
            Arc::new(Metrics::new()),
        ))
    }

    #[actix_web::test]
    async fn the_lobby_is_read_once_per_cache_period() {
        let dir = Arc::new(MemoryDirectory::new(
            DirectoryConfig::default(),
            ManualClock::default(),
        ));
        let a = cluster(&dir, "a");
        let first = a.rooms().await.expect("memory never fails");
        assert!(first.is_empty());
        a.heartbeat(vec![listed("r1", 1, 4, true).room], vec![])
            .await
            .expect("memory never fails");
        let cached = a.rooms().await.expect("memory never fails");
        assert!(Arc::ptr_eq(&first, &cached), "still the cached read");
        *a.lobby.lock() = None;
        let fresh = a.rooms().await.expect("memory never fails");
        assert_eq!(fresh.len(), 1);
        assert_eq!(fresh[0].node.id, "a");
    }

    #[actix_web::test]
    async fn each_operation_is_timed_by_name() {
        let dir = Arc::new(MemoryDirectory::new(
            DirectoryConfig::default(),
            ManualClock::default(),
        ));
        let a = cluster(&dir, "a");
        let Claim::Owned { epoch } = a.claim("r").await.expect("memory never fails") else {
            panic!("a fresh room is claimed");
        };
        assert!(a.release("r", epoch).await.expect("memory never fails"));
        let text = a.metrics.render();
        assert!(
            text.contains(r#"tickcast_directory_latency_seconds_count{op="claim"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"tickcast_directory_latency_seconds_count{op="release"} 1"#));
    }
}
