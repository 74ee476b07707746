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

use self::convert::{classify, corrupt, decode, encode};
use self::layout::{renew_invocation, scan, Keys, Scripts};
use super::{
    Claim, Directory, DirectoryConfig, DirectoryError, DirectoryFuture, Epoch, Lease, ListedRoom,
    Node, NodeBeat, NodeInfo, Owner, Placement, QuickPlay, RoomSummary,
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

mod convert;
mod layout;

struct Shared {
    keys: Keys,
    scripts: Scripts,
    lease_ms: u64,
    epoch_ms: u64,
    seat_hold_ms: u64,
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
    /// Connects to `url` (`redis://`, `rediss://`, `redis+unix://`). Fails when Redis cannot be
    /// reached now; after that, the connection recovers by itself. A `rediss://` server's
    /// certificate is checked against the system's roots (rustls-native-certs, which also reads
    /// `SSL_CERT_FILE`); see [`RedisDirectory::connect_trusting`] for a private CA.
    pub async fn connect(url: &str, config: DirectoryConfig) -> Result<Self, DirectoryError> {
        Self::connect_trusting(url, None, config).await
    }

    /// [`RedisDirectory::connect`], trusting only the PEM certificates `ca` (a private CA,
    /// `--redis-ca`) for a `rediss://` URL when given.
    pub async fn connect_trusting(
        url: &str,
        ca: Option<&[u8]>,
        config: DirectoryConfig,
    ) -> Result<Self, DirectoryError> {
        let client = match ca {
            None => redis::Client::open(url),
            Some(pem) => redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.to_vec()),
                },
            ),
        }
        .map_err(|e| DirectoryError::InvalidUrl(e.into()))?;
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
        let seat_hold_ms = millis(config.seat_hold());
        Ok(Self {
            conn,
            shared: Arc::new(Shared {
                keys: Keys {
                    prefix: config.prefix,
                },
                scripts: Scripts::new(),
                lease_ms: millis(config.lease_ttl),
                epoch_ms: millis(config.epoch_ttl),
                seat_hold_ms,
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

    fn matchmake(&self, ask: QuickPlay) -> DirectoryFuture<Option<Placement>> {
        self.run(|mut conn, s| async move {
            let mut invocation = s.scripts.matchmake.prepare_invoke();
            invocation.key(s.keys.nodes());
            for key in s.keys.seats() {
                invocation.key(key);
            }
            invocation
                .arg(s.keys.node_prefix())
                .arg(s.seat_hold_ms)
                .arg(&ask.fresh)
                .arg(ask.capacity);
            for r in &ask.rooms {
                invocation
                    .arg(&r.room.id)
                    .arg(&r.node.id)
                    .arg(r.room.players)
                    .arg(r.room.capacity)
                    .arg(u8::from(r.room.public));
            }
            let answer: Option<(String, Vec<u8>, i64)> =
                invocation.invoke_async(&mut conn).await.map_err(classify)?;
            answer
                .map(|(room, record, opened)| {
                    Ok(Placement {
                        room,
                        node: decode(&record, "node record")?,
                        opened: opened == 1,
                    })
                })
                .transpose()
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
