//! The messages the registry handles (from sessions and the HTTP layer) and their answers.

use std::net::IpAddr;
use std::sync::Arc;

use actix::prelude::*;
use tickcast_shared::PlayerId;

use crate::game::Game;
use crate::room::{Admitted, Room, RoomDetail};
use crate::seat::Seat;
use crate::wake::WakeHandle;

/// A session asks for a seat.
pub struct JoinRoom<G: Game> {
    /// `Some(id)`: that room, created if missing. `None`: any public room with space.
    pub room: Option<String>,
    pub player_id: PlayerId,
    pub name: String,
    /// The new player's resume token (see [`ResumeRoom`]).
    pub resume_token: Arc<str>,
    pub seat: Arc<Seat<G::Input>>,
    pub wake: WakeHandle,
    /// The client's address as the per-address limits count it (see
    /// `admission::Ticket::limited_ip`): creating a named room is charged to it. `None`
    /// (loopback without `--limit-loopback`) is not charged.
    pub client: Option<IpAddr>,
    /// The session's thread: a room this join creates runs there (see `registry/threads.rs`).
    pub home: Option<ArbiterHandle>,
}

impl<G: Game> Message for JoinRoom<G> {
    type Result = Result<Joined<G>, JoinError>;
}

/// A session presents a resume token from an earlier Welcome.
pub struct ResumeRoom<G: Game> {
    pub resume_token: Arc<str>,
    /// The join's `room`: where a cluster node looks for the owner of a token it does not know.
    pub room: Option<String>,
    pub seat: Arc<Seat<G::Input>>,
    pub wake: WakeHandle,
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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    #[error("room is full")]
    RoomFull,
    #[error("server is full: no room has space and the room limit is reached")]
    ServerFull,
    #[error("the room failed")]
    RoomFailed,
    #[error("unknown or expired resume token")]
    ResumeRefused,
    /// Cluster mode: the room is on another node; the session sends `Redirect` and closes 4007.
    #[error("room {room} is on node {url}")]
    Redirect { url: String, room: String },
    /// Cluster mode: the directory cannot be reached, so no room can be created or found on
    /// another node (rooms already on this node stay joinable).
    #[error("the cluster directory is unavailable")]
    DirectoryUnavailable,
    /// The join would create a room and the client's address has spent its creation budget;
    /// it may create one again after `retry_after` (close 4008).
    #[error("room creation limited for this address; retry after {retry_after:?}")]
    CreationLimited { retry_after: std::time::Duration },
}

/// `GET /rooms`.
#[derive(Message)]
#[rtype(result = "Vec<RoomSummary>")]
pub struct ListRooms;

/// A `GET /rooms` entry (it lives with the directory, which stores it for the cluster's lobby).
pub use crate::directory::RoomSummary;

/// `GET /rooms/{id}`.
#[derive(Message)]
#[rtype(result = "Option<RoomDetail>")]
pub struct InspectRoom(pub String);

/// Dispose every room (server shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct DisposeAll;
