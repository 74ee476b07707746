//! [`RedisDirectory`]: the directory on a Redis 7 server, shared by every node of a cluster.
//!
//! All rules are the Lua scripts in `scripts/` (see the module docs of [`super`]), so each
//! decision is atomic on the server and the same whichever node asks. The connection is one
//! multiplexed [`ConnectionManager`]: clonable into every future, and it reconnects by itself —
//! while Redis is down each operation fails fast with [`DirectoryError::Unavailable`], and the
//! first operations after Redis is back find a fresh connection (a restarted Redis forgot the
//! scripts too; each script call reloads its script when told `NOSCRIPT`).

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, RetryMethod, Script};
use serde::de::DeserializeOwned;

use super::{
    BoxError, Claim, Directory, DirectoryConfig, DirectoryError, DirectoryFuture, Epoch, Lease,
    ListedRoom, Node, NodeBeat, NodeInfo, Owner, RoomSummary,
};

/// How long one connection attempt may take before the operation that needed it fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long Redis may take to answer; a heartbeat of many rooms is still one short script run
/// per room.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// One quick retry per reconnection: an operation waits at most about a second for a Redis
/// that is down, and the next operation starts a new attempt. Heartbeats (every 2 s) keep
/// trying.
const RECONNECT_RETRIES: usize = 1;
const RECONNECT_DELAY: Duration = Duration::from_millis(100);

/// The scripts, hashed once.
struct Scripts {
    claim: Script,
    renew: Script,
    release: Script,
    scan: Script,
    place: Script,
    offer: Script,
    adopt: Script,
    abort: Script,
    image: Script,
}

impl Scripts {
    fn new() -> Self {
        Self {
            claim: Script::new(include_str!("scripts/claim.lua")),
            renew: Script::new(include_str!("scripts/renew.lua")),
            release: Script::new(include_str!("scripts/release.lua")),
            scan: Script::new(include_str!("scripts/scan.lua")),
            place: Script::new(include_str!("scripts/place.lua")),
            offer: Script::new(include_str!("scripts/offer.lua")),
            adopt: Script::new(include_str!("scripts/adopt.lua")),
            abort: Script::new(include_str!("scripts/abort.lua")),
            image: Script::new(include_str!("scripts/image.lua")),
        }
    }
}

/// The key names (layout table in [`super`]).
struct Keys {
    prefix: String,
}

impl Keys {
    fn owner(&self, room: &str) -> String {
        format!("{}{{{room}}}:owner", self.prefix)
    }

    fn epoch(&self, room: &str) -> String {
        format!("{}{{{room}}}:epoch", self.prefix)
    }

    fn nodes(&self) -> String {
        format!("{}{{cluster}}:nodes", self.prefix)
    }

    fn node_prefix(&self) -> String {
        format!("{}{{cluster}}:node:", self.prefix)
    }

    fn list_prefix(&self) -> String {
        format!("{}{{cluster}}:list:", self.prefix)
    }

    fn image(&self, room: &str) -> String {
        format!("{}{{{room}}}:image", self.prefix)
    }

    fn inbox(&self, node: &str) -> String {
        format!("{}inbox:{node}", self.prefix)
    }
}

struct Shared {
    keys: Keys,
    scripts: Scripts,
    lease_ms: u64,
    epoch_ms: u64,
    image_ms: u64,
}

/// The directory on Redis. Cheap to clone: clones share the connection.
#[derive(Clone)]
pub struct RedisDirectory {
    conn: ConnectionManager,
    shared: Arc<Shared>,
    /// For the doorbells' own pub/sub connections.
    client: redis::Client,
}

impl RedisDirectory {
    /// Connects to `url` (`redis://`, `redis+unix://`; `rediss://` needs the redis crate's TLS
    /// feature, not enabled yet). Fails when Redis cannot be reached now; after that, the
    /// connection recovers by itself.
    pub async fn connect(url: &str, config: DirectoryConfig) -> Result<Self, DirectoryError> {
        let client = redis::Client::open(url).map_err(|e| DirectoryError::InvalidUrl(e.into()))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_min_delay(RECONNECT_DELAY)
            .set_max_delay(RECONNECT_DELAY * 4);
        let conn = ConnectionManager::new_with_config(client.clone(), manager_config)
            .await
            .map_err(classify)?;
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1);
        Ok(Self {
            conn,
            shared: Arc::new(Shared {
                keys: Keys {
                    prefix: config.prefix,
                },
                scripts: Scripts::new(),
                lease_ms: millis(config.lease_ttl),
                epoch_ms: millis(config.epoch_ttl),
                image_ms: millis(config.image_ttl),
            }),
            client,
        })
    }

    /// Runs `op` on clones of the connection and the shared parts, as a `'static` future.
    fn run<T, F>(&self, op: impl FnOnce(ConnectionManager, Arc<Shared>) -> F) -> DirectoryFuture<T>
    where
        F: std::future::Future<Output = Result<T, DirectoryError>> + Send + 'static,
    {
        Box::pin(op(self.conn.clone(), self.shared.clone()))
    }
}

impl Directory for RedisDirectory {
    fn claim(&self, room: &str, node: &Node) -> DirectoryFuture<Claim> {
        let (room, node) = (room.to_owned(), node.clone());
        self.run(|mut conn, s| async move {
            let (won, id, url, epoch): (i64, String, String, u64) = s
                .scripts
                .claim
                .key(s.keys.owner(&room))
                .key(s.keys.epoch(&room))
                .arg(&node.id)
                .arg(&node.url)
                .arg(s.lease_ms)
                .arg(s.epoch_ms)
                .invoke_async(&mut conn)
                .await
                .map_err(classify)?;
            let epoch = Epoch(epoch);
            Ok(match won {
                1 => Claim::Owned { epoch },
                _ => Claim::OwnedBy(Owner {
                    node: Node { id, url },
                    epoch,
                }),
            })
        })
    }

    fn renew(&self, room: &str, node: &Node, epoch: Epoch) -> DirectoryFuture<bool> {
        let (room, node) = (room.to_owned(), node.clone());
        self.run(move |mut conn, s| async move {
            let renewed: i64 = renew_invocation(&s, &room, &node, epoch)
                .invoke_async(&mut conn)
                .await
                .map_err(classify)?;
            Ok(renewed == 1)
        })
    }

    fn release(&self, room: &str, node: &str, epoch: Epoch) -> DirectoryFuture<bool> {
        let (room, node) = (room.to_owned(), node.to_owned());
        self.run(move |mut conn, s| async move {
            let released: i64 = s
                .scripts
                .release
                .key(s.keys.owner(&room))
                .key(s.keys.epoch(&room))
                .arg(&node)
                .arg(epoch.0)
                .arg(s.epoch_ms)
                .invoke_async(&mut conn)
                .await
                .map_err(classify)?;
            Ok(released == 1)
        })
    }

    fn owner(&self, room: &str) -> DirectoryFuture<Option<Owner>> {
        let room = room.to_owned();
        self.run(move |mut conn, s| async move {
            let key = s.keys.owner(&room);
            let (id, url, epoch): (Option<String>, Option<String>, Option<u64>) =
                redis::cmd("HMGET")
                    .arg(&key)
                    .arg(&["node", "url", "epoch"])
                    .query_async(&mut conn)
                    .await
                    .map_err(classify)?;
            Ok(match (id, url, epoch) {
                (Some(id), Some(url), Some(epoch)) => Some(Owner {
                    node: Node { id, url },
                    epoch: Epoch(epoch),
                }),
                (None, None, None) => None,
                _ => return Err(corrupt(key, "owner hash lacks node, url or epoch")),
            })
        })
    }

    fn heartbeat(&self, beat: NodeBeat, leases: Vec<Lease>) -> DirectoryFuture<Vec<Arc<str>>> {
        self.run(move |mut conn, s| async move {
            let id = &beat.node.id;
            let record = encode(&beat.info())?;
            let list = encode(&beat.rooms)?;
            let mut pipe = redis::pipe();
            // A restarted Redis has forgotten the renew script; loading it first keeps the whole
            // heartbeat one round trip (the pipeline cannot retry on NOSCRIPT).
            pipe.load_script(&s.scripts.renew).ignore();
            let node_key = format!("{}{id}", s.keys.node_prefix());
            let list_key = format!("{}{id}", s.keys.list_prefix());
            pipe.pset_ex(node_key, record, s.lease_ms).ignore();
            pipe.zadd(s.keys.nodes(), id, beat.score()).ignore();
            pipe.pset_ex(list_key, list, s.lease_ms).ignore();
            for lease in &leases {
                pipe.invoke_script(&renew_invocation(&s, &lease.room, &beat.node, lease.epoch));
            }
            let renewed: Vec<i64> = pipe.query_async(&mut conn).await.map_err(classify)?;
            Ok(leases
                .into_iter()
                .zip(renewed)
                .filter(|(_, renewed)| *renewed != 1)
                .map(|(lease, _)| lease.room)
                .collect())
        })
    }

    fn nodes(&self) -> DirectoryFuture<Vec<NodeInfo>> {
        self.run(|mut conn, s| async move {
            let nodes = scan(&mut conn, &s, false).await?;
            Ok(nodes.into_iter().map(|(info, _)| info).collect())
        })
    }

    fn rooms(&self) -> DirectoryFuture<Vec<ListedRoom>> {
        self.run(|mut conn, s| async move {
            let mut listed = Vec::new();
            for (info, list) in scan(&mut conn, &s, true).await? {
                // A list that expired a moment before its record: the node is on its way out.
                let Some(list) = list else { continue };
                let rooms: Vec<RoomSummary> = decode(&list, "room list")?;
                listed.extend(rooms.into_iter().map(|room| ListedRoom {
                    room,
                    node: info.node.clone(),
                }));
            }
            Ok(listed)
        })
    }

    fn place(&self) -> DirectoryFuture<Option<NodeInfo>> {
        self.run(|mut conn, s| async move {
            let record: Option<Vec<u8>> = s
                .scripts
                .place
                .key(s.keys.nodes())
                .arg(s.keys.node_prefix())
                .invoke_async(&mut conn)
                .await
                .map_err(classify)?;
            record.map(|r| decode(&r, "node record")).transpose()
        })
    }

    fn offer(&self, room: &str, source: &str, epoch: Epoch, target: &str) -> DirectoryFuture<bool> {
        let (room, source, target) = (room.to_owned(), source.to_owned(), target.to_owned());
        self.run(move |mut conn, s| async move {
            let offered: i64 = s
                .scripts
                .offer
                .key(s.keys.owner(&room))
                .arg(&source)
                .arg(epoch.0)
                .arg(&target)
                .invoke_async(&mut conn)
                .await
                .map_err(classify)?;
            Ok(offered == 1)
        })
    }

    fn adopt(
        &self,
        room: &str,
        source: &str,
        epoch: Epoch,
        target: &Node,
    ) -> DirectoryFuture<Option<Epoch>> {
        let (room, source, target) = (room.to_owned(), source.to_owned(), target.clone());
        self.run(move |mut conn, s| async move {
            let adopted: u64 = s
                .scripts
                .adopt
                .key(s.keys.owner(&room))
                .key(s.keys.epoch(&room))
                .arg(&source)
                .arg(epoch.0)
                .arg(&target.id)
                .arg(&target.url)
                .arg(s.lease_ms)
                .arg(s.epoch_ms)
                .invoke_async(&mut conn)
                .await
                .map_err(classify)?;
            // Epochs start at 1: the script answers 0 for "not offered to you".
            Ok((adopted > 0).then_some(Epoch(adopted)))
        })
    }

    fn abort(&self, room: &str, source: &str, epoch: Epoch) -> DirectoryFuture<bool> {
        let (room, source) = (room.to_owned(), source.to_owned());
        self.run(move |mut conn, s| async move {
            let aborted: i64 = s
                .scripts
                .abort
                .key(s.keys.owner(&room))
                .arg(&source)
                .arg(epoch.0)
                .invoke_async(&mut conn)
                .await
                .map_err(classify)?;
            Ok(aborted == 1)
        })
    }

    fn put_image(
        &self,
        room: &str,
        node: &str,
        epoch: Epoch,
        image: Vec<u8>,
    ) -> DirectoryFuture<bool> {
        let (room, node) = (room.to_owned(), node.to_owned());
        self.run(move |mut conn, s| async move {
            let written: i64 = s
                .scripts
                .image
                .key(s.keys.owner(&room))
                .key(s.keys.image(&room))
                .arg(&node)
                .arg(epoch.0)
                .arg(image)
                .arg(s.image_ms)
                .invoke_async(&mut conn)
                .await
                .map_err(classify)?;
            Ok(written == 1)
        })
    }

    fn image(&self, room: &str) -> DirectoryFuture<Option<Vec<u8>>> {
        let room = room.to_owned();
        self.run(move |mut conn, s| async move {
            redis::cmd("GET")
                .arg(s.keys.image(&room))
                .query_async(&mut conn)
                .await
                .map_err(classify)
        })
    }

    fn notify(&self, node: &str, message: Vec<u8>) -> DirectoryFuture<()> {
        let node = node.to_owned();
        self.run(move |mut conn, s| async move {
            let _receivers: i64 = redis::cmd("PUBLISH")
                .arg(s.keys.inbox(&node))
                .arg(message)
                .query_async(&mut conn)
                .await
                .map_err(classify)?;
            Ok(())
        })
    }

    fn inbox(&self, node: &str) -> tokio::sync::mpsc::UnboundedReceiver<Vec<u8>> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let channel = self.shared.keys.inbox(node);
        tokio::spawn(super::inbox::listen(self.client.clone(), channel, tx));
        rx
    }
}

/// `scan.lua`: every live node's record, with its encoded room list when `lists`.
async fn scan(
    conn: &mut ConnectionManager,
    s: &Shared,
    lists: bool,
) -> Result<Vec<(NodeInfo, Option<Vec<u8>>)>, DirectoryError> {
    let list_prefix = if lists {
        s.keys.list_prefix()
    } else {
        String::new()
    };
    let values: Vec<Option<Vec<u8>>> = s
        .scripts
        .scan
        .key(s.keys.nodes())
        .arg(s.keys.node_prefix())
        .arg(list_prefix)
        .invoke_async(conn)
        .await
        .map_err(classify)?;
    let mut values = values.into_iter();
    let mut nodes = Vec::new();
    while let Some(record) = values.next() {
        let record = record.ok_or_else(|| corrupt(s.keys.nodes(), "scan returned no record"))?;
        let list = if lists { values.next().flatten() } else { None };
        nodes.push((decode(&record, "node record")?, list));
    }
    Ok(nodes)
}

fn renew_invocation<'a>(
    s: &'a Shared,
    room: &str,
    node: &Node,
    epoch: Epoch,
) -> redis::ScriptInvocation<'a> {
    let mut invocation = s.scripts.renew.prepare_invoke();
    invocation
        .key(s.keys.owner(room))
        .key(s.keys.epoch(room))
        .arg(&node.id)
        .arg(&node.url)
        .arg(epoch.0)
        .arg(s.lease_ms)
        .arg(s.epoch_ms);
    invocation
}

/// Connection trouble is [`DirectoryError::Unavailable`] (retry later); anything the server
/// refused is [`DirectoryError::Backend`].
fn classify(e: RedisError) -> DirectoryError {
    let transient = e.is_io_error()
        || matches!(
            e.retry_method(),
            // Loading its data set, or a replica promoted: Redis will be back.
            RetryMethod::WaitAndRetry | RetryMethod::RefreshSlotsAndRetry
        );
    if transient {
        DirectoryError::Unavailable(e.into())
    } else {
        DirectoryError::Backend(e.into())
    }
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, DirectoryError> {
    rmp_serde::to_vec_named(value).map_err(|e| DirectoryError::Backend(BoxError::from(e)))
}

fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, DirectoryError> {
    rmp_serde::from_slice(bytes).map_err(|e| corrupt(what.to_owned(), &e.to_string()))
}

fn corrupt(key: String, reason: &str) -> DirectoryError {
    DirectoryError::Corrupt {
        key,
        reason: reason.to_owned(),
    }
}
