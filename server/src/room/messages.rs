//! The room's messages: what the registry and sessions ask of a room, what it answers, and what
//! it reports back to the registry. Handled in `room.rs`; re-exported there.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use actix::prelude::*;
use tickcast_shared::PlayerId;

use crate::game::Game;
use crate::seat::{Seat, SeatStats};
use crate::wake::WakeHandle;

/// Seat a player (sent by the registry after it reserved the seat).
pub struct AddPlayer<G: Game> {
    pub player_id: PlayerId,
    pub name: String,
    /// The token that lets this player's next connection take the seat back (see [`Reattach`]).
    pub resume_token: Arc<str>,
    pub seat: Arc<Seat<G::Input>>,
    /// Wakes the session (see `wake.rs`).
    pub wake: WakeHandle,
}

impl<G: Game> Message for AddPlayer<G> {
    type Result = Result<Admitted<G::Info>, RoomError>;
}

/// A player's connection dropped without a close (reset, timeout …): keep the player in the game
/// and the seat held for the resume grace period, then remove it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct DetachPlayer {
    pub player_id: PlayerId,
    /// [`Seat::id`] of the lost connection.
    pub seat_id: u64,
}

/// A new connection presents a resume token: give it the detached player back.
pub struct Reattach<G: Game> {
    pub resume_token: Arc<str>,
    pub seat: Arc<Seat<G::Input>>,
    pub wake: WakeHandle,
}

impl<G: Game> Message for Reattach<G> {
    type Result = Result<(PlayerId, Admitted<G::Info>), RoomError>;
}

/// What a session needs for its Welcome.
#[derive(Debug, Clone)]
pub struct Admitted<I> {
    pub tick: u64,
    pub tick_rate: u16,
    pub max_players: u16,
    pub info: I,
}

/// Why the room refused a player.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    #[error("the room is full")]
    Full,
    #[error("the room has failed")]
    Failed,
    #[error("unknown or expired resume token")]
    UnknownToken,
}

/// A player's session ended (any kind of disconnect).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RemovePlayer {
    pub player_id: PlayerId,
    /// [`Seat::id`] of the leaving connection: a resumed player's old connection must not
    /// remove it.
    pub seat_id: u64,
}

/// Stop the room (it is empty and its grace period is over).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Dispose;

/// Per-player detail for `GET /rooms/{id}`.
#[derive(Message)]
#[rtype(result = "RoomDetail")]
pub struct Inspect;

#[derive(Debug, Clone, serde::Serialize)]
pub struct RoomDetail {
    pub id: String,
    pub tick: u64,
    /// Snapshots encoded in the last tick (full, plus one per distinct delta baseline) …
    pub last_tick_encodings: usize,
    /// … and sessions that were offered one.
    pub last_tick_offers: usize,
    /// States kept as delta baselines.
    pub baselines_held: usize,
    pub players: Vec<PlayerDetail>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PlayerDetail {
    pub id: PlayerId,
    pub name: String,
    #[serde(flatten)]
    pub stats: SeatStats,
}

/// What the room tells the registry.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub enum RoomEvent {
    PlayerLeft {
        room_id: Arc<str>,
        resume_token: Arc<str>,
    },
    Failed {
        room_id: Arc<str>,
    },
}

/// Numbers the registry reads without a message (for `GET /rooms`).
#[derive(Debug, Default)]
pub struct RoomStats {
    pub tick: AtomicU64,
}
