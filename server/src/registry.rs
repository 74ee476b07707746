//! The room registry actor: creates rooms, matches players to rooms, lists them, and disposes a
//! room once it has been empty for a grace period.
//!
//! It is the single authority on seat counts: a seat is reserved here before the room is asked
//! to admit the player, so a room being disposed can never receive a player, and "any room with
//! space" never overfills a room. Rooms run on a pool of arbiters (threads), round-robin.
//!
//! Talks to: sessions (join requests), rooms (admit, dispose, inspect; they report leaves and
//! failures back), the HTTP layer (list, inspect).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use rand::Rng;
use tickcast_shared::PlayerId;

use crate::config::ServerConfig;
use crate::game::{Game, GameFactory};
use crate::metrics::Metrics;
use crate::room::{
    AddPlayer, Admitted, Dispose, Inspect, Reattach, Room, RoomDetail, RoomError, RoomEvent,
    RoomStats,
};
use crate::seat::{Seat, Wake};

// ---- messages the registry handles ----

/// A session asks for a seat.
pub struct JoinRoom<G: Game> {
    /// `Some(id)`: that room, created if missing. `None`: any public room with space.
    pub room: Option<String>,
    pub player_id: PlayerId,
    pub name: String,
    /// The new player's resume token (see [`ResumeRoom`]).
    pub resume_token: Arc<str>,
    pub seat: Arc<Seat<G::Input>>,
    pub wake: Recipient<Wake>,
}

impl<G: Game> Message for JoinRoom<G> {
    type Result = Result<Joined<G>, JoinError>;
}

/// A session presents a resume token from an earlier Welcome.
pub struct ResumeRoom<G: Game> {
    pub resume_token: Arc<str>,
    pub seat: Arc<Seat<G::Input>>,
    pub wake: Recipient<Wake>,
}

impl<G: Game> Message for ResumeRoom<G> {
    type Result = Result<Joined<G>, JoinError>;
}

/// A successful join.
pub struct Joined<G: Game> {
    pub player_id: PlayerId,
    pub room: Addr<Room<G>>,
    pub room_id: Arc<str>,
    pub admitted: Admitted<G::Info>,
}

/// Why a join failed; each maps to a close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    #[error("room is full")]
    RoomFull,
    #[error("server is full: no room has space and the room limit is reached")]
    ServerFull,
    #[error("the room failed")]
    RoomFailed,
    #[error("unknown or expired resume token")]
    ResumeRefused,
}

/// `GET /rooms`.
#[derive(Message)]
#[rtype(result = "Vec<RoomSummary>")]
pub struct ListRooms;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct RoomSummary {
    pub id: String,
    pub players: usize,
    pub capacity: usize,
    pub tick: u64,
    /// Created by matchmaking (joinable with "any room"), rather than by name.
    pub public: bool,
}

/// `GET /rooms/{id}`.
#[derive(Message)]
#[rtype(result = "Option<RoomDetail>")]
pub struct InspectRoom(pub String);

/// Dispose every room (server shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct DisposeAll;

// ---- the actor ----

struct Entry<G: Game> {
    id: Arc<str>,
    addr: Addr<Room<G>>,
    players: usize,
    public: bool,
    created: u64,
    empty_since: Option<Instant>,
    stats: Arc<RoomStats>,
}

pub struct Registry<G: Game> {
    rooms: BTreeMap<Arc<str>, Entry<G>>,
    /// Resume token → the room holding that player's seat.
    resumable: HashMap<Arc<str>, Arc<str>>,
    factory: Arc<dyn GameFactory<Game = G>>,
    arbiters: Vec<ArbiterHandle>,
    next_arbiter: usize,
    created: u64,
    config: Arc<ServerConfig>,
    metrics: Arc<Metrics>,
}

impl<G: Game> Registry<G> {
    pub fn new(
        factory: Arc<dyn GameFactory<Game = G>>,
        arbiters: Vec<ArbiterHandle>,
        config: Arc<ServerConfig>,
        metrics: Arc<Metrics>,
    ) -> Self {
        assert!(
            !arbiters.is_empty(),
            "rooms should have at least one arbiter to run on"
        );
        Registry {
            rooms: BTreeMap::new(),
            resumable: HashMap::new(),
            factory,
            arbiters,
            next_arbiter: 0,
            created: 0,
            config,
            metrics,
        }
    }

    fn create(&mut self, id: Arc<str>, public: bool, ctx: &mut Context<Self>) {
        let seed = match self.config.seed {
            Some(s) => s.wrapping_add(self.created),
            None => rand::thread_rng().gen(),
        };
        let arbiter = &self.arbiters[self.next_arbiter % self.arbiters.len()];
        self.next_arbiter += 1;
        let stats = Arc::new(RoomStats::default());
        let (factory, config, metrics, room_stats, registry, room_id) = (
            self.factory.clone(),
            self.config.clone(),
            self.metrics.clone(),
            stats.clone(),
            ctx.address().recipient(),
            id.clone(),
        );
        let addr = Room::start_in_arbiter(arbiter, move |_| {
            Room::new(
                room_id,
                factory.create(seed),
                config,
                metrics,
                room_stats,
                registry,
            )
        });
        self.metrics.rooms.inc();
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
            },
        );
        self.created += 1;
    }

    /// The public room with space that has the most players (rooms fill before new ones open).
    fn pick_public(&self) -> Option<Arc<str>> {
        self.rooms
            .values()
            .filter(|e| e.public && e.players < self.config.max_players_per_room)
            .max_by_key(|e| (e.players, std::cmp::Reverse(e.created)))
            .map(|e| e.id.clone())
    }

    fn new_public_id(&self) -> Arc<str> {
        loop {
            let n: u32 = rand::thread_rng().gen();
            let id: Arc<str> = format!("r{n:08x}").into();
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
            if let Some(e) = self.rooms.remove(id) {
                tracing::info!(room_id = %id, "disposing empty room");
                e.addr.do_send(Dispose);
                self.metrics.rooms.dec();
            }
        }
    }
}

impl<G: Game> Actor for Registry<G> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Thousands of sessions may join at once; `send` waits for space rather than failing.
        ctx.set_mailbox_capacity(4096);
    }
}

impl<G: Game> Handler<JoinRoom<G>> for Registry<G> {
    type Result = ResponseActFuture<Self, Result<Joined<G>, JoinError>>;

    fn handle(&mut self, msg: JoinRoom<G>, ctx: &mut Context<Self>) -> Self::Result {
        let max_players = self.config.max_players_per_room;
        let id: Arc<str> = match msg.room {
            Some(name) => {
                let id: Arc<str> = name.into();
                match self.rooms.get(&id) {
                    Some(e) if e.players >= max_players => {
                        return Box::pin(fut::ready(Err(JoinError::RoomFull)))
                    }
                    Some(_) => {}
                    None if self.rooms.len() >= self.config.max_rooms => {
                        return Box::pin(fut::ready(Err(JoinError::ServerFull)))
                    }
                    None => self.create(id.clone(), false, ctx),
                }
                id
            }
            None => match self.pick_public() {
                Some(id) => id,
                None if self.rooms.len() >= self.config.max_rooms => {
                    return Box::pin(fut::ready(Err(JoinError::ServerFull)))
                }
                None => {
                    let id = self.new_public_id();
                    self.create(id.clone(), true, ctx);
                    id
                }
            },
        };
        let entry = self
            .rooms
            .get_mut(&id)
            .expect("the room should exist: it was found or created just above");
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

impl<G: Game> Handler<ResumeRoom<G>> for Registry<G> {
    type Result = ResponseActFuture<Self, Result<Joined<G>, JoinError>>;

    fn handle(&mut self, msg: ResumeRoom<G>, _: &mut Context<Self>) -> Self::Result {
        let Some((room_id, room)) = self
            .resumable
            .get(&msg.resume_token)
            .and_then(|id| self.rooms.get(id))
            .map(|e| (e.id.clone(), e.addr.clone()))
        else {
            return Box::pin(fut::ready(Err(JoinError::ResumeRefused)));
        };
        let reattach = Reattach::<G> {
            resume_token: msg.resume_token,
            seat: msg.seat,
            wake: msg.wake,
        };
        Box::pin(
            room.send(reattach)
                .into_actor(self)
                .map(move |res, _, _| match res {
                    Ok(Ok((player_id, admitted))) => Ok(Joined {
                        player_id,
                        room,
                        room_id,
                        admitted,
                    }),
                    Ok(Err(RoomError::UnknownToken)) => Err(JoinError::ResumeRefused),
                    Ok(Err(_)) | Err(_) => Err(JoinError::RoomFailed),
                }),
        )
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
                if self.rooms.remove(&room_id).is_some() {
                    self.metrics.rooms.dec();
                }
            }
        }
    }
}

impl<G: Game> Handler<ListRooms> for Registry<G> {
    type Result = MessageResult<ListRooms>;

    fn handle(&mut self, _: ListRooms, _: &mut Context<Self>) -> Self::Result {
        MessageResult(
            self.rooms
                .values()
                .map(|e| RoomSummary {
                    id: e.id.to_string(),
                    players: e.players,
                    capacity: self.config.max_players_per_room,
                    tick: e.stats.tick.load(Relaxed),
                    public: e.public,
                })
                .collect(),
        )
    }
}

impl<G: Game> Handler<InspectRoom> for Registry<G> {
    type Result = ResponseFuture<Option<RoomDetail>>;

    fn handle(&mut self, msg: InspectRoom, _: &mut Context<Self>) -> Self::Result {
        let addr = self.rooms.get(msg.0.as_str()).map(|e| e.addr.clone());
        Box::pin(async move {
            match addr {
                Some(addr) => addr.send(Inspect).await.ok(),
                None => None,
            }
        })
    }
}

impl<G: Game> Handler<DisposeAll> for Registry<G> {
    type Result = ();

    fn handle(&mut self, _: DisposeAll, _: &mut Context<Self>) {
        for (_, e) in std::mem::take(&mut self.rooms) {
            e.addr.do_send(Dispose);
            self.metrics.rooms.dec();
        }
    }
}
