//! The room registry actor: creates rooms, matches players to rooms, lists them, and disposes a
//! room once it has been empty for a grace period.
//!
//! It decides whether a room may be created (`registry/creation.rs`: the quick-play share of
//! `--max-rooms`, a budget per client address for named rooms) and disposes at once a room whose
//! creator left before anyone else joined.
//!
//! It is the single authority on seat counts: a seat is reserved here before the room is asked
//! to admit the player, so a room being disposed can never receive a player, and "any room with
//! space" never overfills a room. A room runs on the thread of the session that created it
//! (`registry/threads.rs`). The room list and a room's detail are `registry/listing.rs`.
//!
//! Talks to: sessions (join requests), rooms (admit, dispose, inspect; they report leaves and
//! failures back), the HTTP layer (list, inspect).
//!
//! In cluster mode (a [`Cluster`], `--redis-url`) it also owns this node's part of the cluster
//! directory (`registry/cluster.rs`): it claims a room before creating it and redirects a join
//! for a room another node owns, releases a room's lease on dispose, and heartbeats its rooms'
//! leases, stopping a room whose lease is lost. It stays the seat authority for its own rooms:
//! no other node ever seats a player in them.

mod adopt;
mod cluster;
mod creation;
mod listing;
mod messages;
mod migrate;
mod recover;
mod resume;
mod threads;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use rand::Rng;

use crate::config::ServerConfig;
use crate::directory::Epoch;
use crate::game::{Game, GameFactory};
use crate::metrics::Metrics;
use crate::node::Cluster;
use crate::room::{AddPlayer, Dispose, Room, RoomError, RoomEvent, RoomStats};
use crate::room_creation::RoomKind;
use creation::Creation;
pub use threads::{RoomThreads, WorkerThreads};

pub use creation::retry_after_secs;
pub use messages::{
    DisposeAll, InspectRoom, JoinError, JoinRoom, Joined, ListRooms, ResumeRoom, RoomSummary,
};
pub use migrate::{DrainReport, StartDrain};

/// Quick-play room ids are this prefix and 8 lowercase hex digits.
const PUBLIC_ID_PREFIX: &str = "r";

/// Whether `id` has the form of a quick-play id ([`Registry::new_public_id`]). A cluster node
/// that creates a room under such an id opens it public: that is how a quick play placed on
/// another node (`Redirect` to a fresh id) arrives as quick play, with no field on the wire. A
/// player naming such an id by hand gets a public room, which is harmless: others may fill it.
fn is_public_id(id: &str) -> bool {
    id.strip_prefix(PUBLIC_ID_PREFIX).is_some_and(|hex| {
        hex.len() == 8
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// A random quick-play id, of the form `is_public_id` recognises (cluster matchmaking opens
/// rooms under it on any node).
pub fn fresh_public_id() -> String {
    let n: u32 = rand::thread_rng().gen();
    format!("{PUBLIC_ID_PREFIX}{n:08x}")
}

// ---- the actor ----

struct Entry<G: Game> {
    id: Arc<str>,
    addr: Addr<Room<G>>,
    players: usize,
    public: bool,
    created: u64,
    empty_since: Option<Instant>,
    stats: Arc<RoomStats>,
    /// Cluster mode: the epoch of this node's lease on the room.
    epoch: Option<Epoch>,
}

pub struct Registry<G: Game> {
    rooms: BTreeMap<Arc<str>, Entry<G>>,
    /// Resume token → the room holding that player's seat.
    resumable: HashMap<Arc<str>, Arc<str>>,
    factory: Arc<dyn GameFactory<Game = G>>,
    threads: RoomThreads,
    created: u64,
    config: Arc<ServerConfig>,
    metrics: Arc<Metrics>,
    cluster: Option<cluster::Part>,
    creation: Creation,
    /// Drains and live migrations (cluster mode; `registry/migrate.rs`).
    migration: migrate::Part,
}

/// What a new room actor is built with (see [`Registry::spawn_room`]).
struct RoomEnv<G: Game> {
    config: Arc<ServerConfig>,
    metrics: Arc<Metrics>,
    stats: Arc<RoomStats>,
    registry: Recipient<RoomEvent>,
    _game: std::marker::PhantomData<fn() -> G>,
}

impl<G: Game> Registry<G> {
    pub fn new(
        factory: Arc<dyn GameFactory<Game = G>>,
        threads: RoomThreads,
        config: Arc<ServerConfig>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Registry {
            rooms: BTreeMap::new(),
            resumable: HashMap::new(),
            factory,
            threads,
            created: 0,
            creation: Creation::new(&config),
            config,
            metrics,
            cluster: None,
            migration: migrate::Part::default(),
        }
    }

    /// Makes this registry a cluster node's: rooms are claimed, leased and released through
    /// `cluster`.
    pub fn with_cluster(mut self, cluster: Arc<Cluster>) -> Self {
        self.migration.cluster = Some(cluster.clone());
        self.cluster = Some(cluster::Part::new(cluster));
        self
    }

    fn create(
        &mut self,
        id: Arc<str>,
        public: bool,
        epoch: Option<Epoch>,
        home: Option<&ArbiterHandle>,
        ctx: &mut Context<Self>,
    ) {
        let seed = match self.config.seed {
            Some(s) => s.wrapping_add(self.created),
            None => rand::thread_rng().gen(),
        };
        let (factory, room_id) = (self.factory.clone(), id.clone());
        self.spawn_room(id, public, epoch, home, ctx, move |env| {
            let game = factory.create(seed);
            Room::new(
                room_id,
                game,
                env.config,
                env.metrics,
                env.stats,
                env.registry,
            )
        });
    }

    /// Starts the room `build` makes on the thread [`RoomThreads`] picks (`home`: the creating
    /// session's) and lists it.
    fn spawn_room(
        &mut self,
        id: Arc<str>,
        public: bool,
        epoch: Option<Epoch>,
        home: Option<&ArbiterHandle>,
        ctx: &mut Context<Self>,
        build: impl FnOnce(RoomEnv<G>) -> Room<G> + Send + 'static,
    ) {
        let arbiter = self.threads.pick(home);
        let stats = Arc::new(RoomStats::default());
        let env = RoomEnv {
            config: self.config.clone(),
            metrics: self.metrics.clone(),
            stats: stats.clone(),
            registry: ctx.address().recipient(),
            _game: std::marker::PhantomData,
        };
        let addr = Room::start_in_arbiter(&arbiter, move |_| build(env));
        self.metrics.rooms.inc();
        self.creation
            .created(&id, RoomKind::of(public), &self.metrics);
        self.rooms.insert(
            id.clone(),
            Entry {
                id,
                addr,
                players: 0,
                public,
                created: self.created,
                empty_since: None,
                stats,
                epoch,
            },
        );
        self.created += 1;
    }

    /// The public room with space that has the most players (rooms fill before new ones open),
    /// and its player count.
    fn pick_public(&self) -> Option<(Arc<str>, usize)> {
        self.rooms
            .values()
            .filter(|e| e.public && e.players < self.config.max_players_per_room)
            .max_by_key(|e| (e.players, std::cmp::Reverse(e.created)))
            .map(|e| (e.id.clone(), e.players))
    }

    /// A fresh quick-play room id, of the form [`is_public_id`] recognises.
    fn new_public_id(&self) -> Arc<str> {
        loop {
            let n: u32 = rand::thread_rng().gen();
            let id: Arc<str> = format!("{PUBLIC_ID_PREFIX}{n:08x}").into();
            if !self.rooms.contains_key(&id) {
                return id;
            }
        }
    }

    fn release(&mut self, room_id: &Arc<str>, ctx: &mut Context<Self>) {
        let Some(e) = self.rooms.get_mut(room_id) else {
            return;
        };
        e.players = e.players.saturating_sub(1);
        if e.players == 0 {
            e.empty_since = Some(Instant::now());
            if self.creation.left_alone(room_id) {
                return self.dispose(room_id, "its creator left before anyone else joined");
            }
            let id = room_id.clone();
            ctx.run_later(self.config.empty_room_grace, move |reg, _| {
                reg.dispose_if_idle(&id)
            });
        }
    }

    fn dispose_if_idle(&mut self, id: &Arc<str>) {
        let idle = self.rooms.get(id).is_some_and(|e| {
            e.players == 0
                && e.empty_since
                    .is_some_and(|t| t.elapsed() >= self.config.empty_room_grace)
        });
        if idle {
            self.dispose(id, "empty for the grace period");
        }
    }

    fn dispose(&mut self, id: &Arc<str>, why: &'static str) {
        self.creation.forget(id);
        if let Some(e) = self.rooms.remove(id) {
            tracing::info!(room_id = %id, why, "disposing empty room");
            e.addr.do_send(Dispose);
            self.metrics.rooms.dec();
            if let Some(release) = self.release_lease(&e) {
                actix::spawn(release);
            }
        }
    }

    /// Seats the player in room `id`, which exists (or the join fails as `RoomFailed`): the
    /// seat is reserved here first, then the room is asked to admit the player.
    fn seat(&mut self, id: Arc<str>, msg: JoinRoom<G>) -> JoinFuture<G> {
        let max_players = self.config.max_players_per_room;
        let Some(entry) = self.rooms.get_mut(&id) else {
            return Box::pin(fut::ready(Err(JoinError::RoomFailed)));
        };
        if entry.players >= max_players {
            return Box::pin(fut::ready(Err(JoinError::RoomFull)));
        }
        self.creation.seated(&id, entry.players);
        entry.players += 1;
        entry.empty_since = None;
        let room = entry.addr.clone();
        let (player_id, token) = (msg.player_id, msg.resume_token.clone());
        let add = AddPlayer::<G> {
            player_id: msg.player_id,
            name: msg.name,
            resume_token: msg.resume_token,
            seat: msg.seat,
            wake: msg.wake,
        };
        Box::pin(
            room.send(add)
                .into_actor(self)
                .map(move |res, reg, ctx| match res {
                    Ok(Ok(admitted)) => {
                        reg.resumable.insert(token, id.clone());
                        Ok(Joined {
                            player_id,
                            room,
                            room_id: id,
                            admitted,
                        })
                    }
                    Ok(Err(RoomError::Full)) => {
                        reg.release(&id, ctx);
                        Err(JoinError::RoomFull)
                    }
                    Ok(Err(_)) | Err(_) => {
                        reg.release(&id, ctx);
                        Err(JoinError::RoomFailed)
                    }
                }),
        )
    }
}

/// What a join or resume answers, later.
type JoinFuture<G> = ResponseActFuture<Registry<G>, Result<Joined<G>, JoinError>>;

impl<G: Game> Actor for Registry<G> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Thousands of sessions may join at once; `send` waits for space rather than failing.
        ctx.set_mailbox_capacity(4096);
        self.start_heartbeat(ctx);
        self.listen_doorbell(ctx);
        self.start_checkpoints(ctx);
    }
}

impl<G: Game> Handler<JoinRoom<G>> for Registry<G> {
    type Result = JoinFuture<G>;

    fn handle(&mut self, msg: JoinRoom<G>, ctx: &mut Context<Self>) -> Self::Result {
        if let Some(elsewhere) = self.drain_route(&msg) {
            return elsewhere;
        }
        if self.cluster.is_some() {
            return self.join_in_cluster(msg, ctx);
        }
        let id: Arc<str> = match &msg.room {
            Some(name) => {
                let id: Arc<str> = name.as_str().into();
                if !self.rooms.contains_key(&id) {
                    if let Err(e) = self.admit_creation(RoomKind::Named, msg.client) {
                        return Box::pin(fut::ready(Err(e)));
                    }
                    self.create(id.clone(), false, None, msg.home.as_ref(), ctx);
                }
                id
            }
            None => match self.pick_public() {
                Some((id, _)) => id,
                None => {
                    if let Err(e) = self.admit_creation(RoomKind::QuickPlay, None) {
                        return Box::pin(fut::ready(Err(e)));
                    }
                    let id = self.new_public_id();
                    self.create(id.clone(), true, None, msg.home.as_ref(), ctx);
                    id
                }
            },
        };
        self.seat(id, msg)
    }
}

impl<G: Game> Handler<RoomEvent> for Registry<G> {
    type Result = ();

    fn handle(&mut self, msg: RoomEvent, ctx: &mut Context<Self>) {
        match msg {
            RoomEvent::PlayerLeft {
                room_id,
                resume_token,
            } => {
                self.resumable.remove(&resume_token);
                self.release(&room_id, ctx)
            }
            RoomEvent::Failed { room_id } => {
                self.resumable.retain(|_, room| *room != room_id);
                self.creation.forget(&room_id);
                if let Some(e) = self.rooms.remove(&room_id) {
                    self.metrics.rooms.dec();
                    if let Some(release) = self.release_lease(&e) {
                        actix::spawn(release);
                    }
                }
            }
        }
    }
}

impl<G: Game> Handler<DisposeAll> for Registry<G> {
    type Result = ResponseFuture<()>;

    /// Answers once the leases of a cluster node's rooms are released (bounded), so that other
    /// nodes may create them again at once rather than after the lease TTL.
    fn handle(&mut self, _: DisposeAll, _: &mut Context<Self>) -> Self::Result {
        let mut releases = Vec::new();
        self.creation.forget_all();
        for (_, e) in std::mem::take(&mut self.rooms) {
            e.addr.do_send(Dispose);
            self.metrics.rooms.dec();
            releases.extend(self.release_lease(&e));
        }
        Box::pin(async move {
            let all = futures_util::future::join_all(releases);
            let _ = actix_web::rt::time::timeout(cluster::RELEASE_ON_SHUTDOWN, all).await;
        })
    }
}
