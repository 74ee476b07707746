//! The game layer: the [`Game`] trait the room runtime drives, and the games bundled with
//! tickcast ([`arena`], the demo; [`counter`], a tiny second game that proves the runtime is not
//! arena-shaped).
//!
//! A game is pure and deterministic: no actix, no I/O, no clock. The room actor owns one
//! instance, feeds it inputs and asks it for snapshot state once per tick; unit tests step it
//! tick by tick without any actor.

pub mod arena;
pub mod counter;
pub mod saved;

pub use saved::RestoreError;

use serde::{de::DeserializeOwned, Serialize};
use tickcast_shared::delta::Diffable;
use tickcast_shared::PlayerId;

/// A game the room runtime can host.
///
/// Call order per tick: [`Game::apply_input`] for each queued input (in seq order per player),
/// then one [`Game::step`], then one [`Game::snapshot`] whose result is encoded once and sent to
/// every session of the room.
///
/// A game can travel: [`Game::save`] and [`Game::restore`] move it to another node (a room
/// migration) or back from a checkpoint (see `shared/design/cluster.md` §6–7).
pub trait Game: Send + Unpin + 'static {
    /// The control state a client sends in `Input.controls`. `Default` is "no input": it is
    /// applied when a player's connection drops, so a disconnected player lets go of the stick.
    type Input: DeserializeOwned + Clone + Default + Send + Unpin + 'static;
    /// The entity data sent in `Snapshot.state`. It must carry each player's last applied input
    /// seq, because one encoding serves every session of the room.
    type State: Serialize + Send + Unpin + 'static;
    /// Parameters sent once in `Welcome.game`.
    type Info: Serialize + Clone + Send + 'static;
    /// The state as replicated to delta clients (`ServerMsg::Delta`): the room keeps a window of
    /// these and diffs them per acknowledged baseline. A game without a useful diff can use its
    /// state with "the patch is the whole state".
    type Frame: Diffable + Send + Unpin + 'static;

    /// The replicated form of a snapshot state.
    fn replicate(state: &Self::State) -> Self::Frame;

    /// Parameters a client needs (arena size, physics constants …).
    fn info(&self) -> Self::Info;

    /// A player entered the room.
    fn player_joined(&mut self, id: PlayerId, name: &str);

    /// A player left the room (any kind of disconnect).
    fn player_left(&mut self, id: PlayerId);

    /// The player's connection was lost and its seat is held for a resume (`held: true`), or a
    /// new connection took the seat back (`held: false`). The room calls it on detach and on
    /// resume; when the grace runs out it calls [`Game::player_left`] instead. A game that
    /// shows held seats marks the player in its snapshots; the default ignores it.
    fn player_connection(&mut self, _id: PlayerId, _held: bool) {}

    /// Applies one input; `seq` is the value the snapshot must report as that player's ack. The
    /// runtime guarantees it never decreases: each client input's seq is strictly greater than
    /// the player's previous one (across a resume too), and the neutral `Input::default()`
    /// applied when the player's connection drops repeats the last seq, as it is no new client
    /// input and must not move the ack.
    fn apply_input(&mut self, id: PlayerId, seq: u32, input: &Self::Input);

    /// Advances the simulation by one tick of `dt` seconds.
    fn step(&mut self, dt: f32);

    /// The state to broadcast after this tick.
    fn snapshot(&self) -> Self::State;

    /// Everything the game is, as bytes [`Game::restore`] reads back. The room calls it between
    /// ticks (after a `step`), once per migration or checkpoint.
    ///
    /// The contract is an **exact round trip**: a restored game goes on bit for bit as the
    /// original would have — the same snapshots, frames and saves for the same calls from then
    /// on. So the bytes carry the players (with their last applied input seq and held controls),
    /// every random generator's position, and the game's own configuration (the node that
    /// restores it may have loaded a different one; the room must go on as it was). Floats are
    /// carried bit-exactly. Not carried: anything of the network or the room (connections,
    /// seats, queued inputs, delta history, the tick) — that is the room image's business.
    ///
    /// Use the framing of [`saved`] (a layout version, then the body), so that another build
    /// refuses a layout it does not know instead of misreading it.
    fn save(&self) -> Vec<u8>;

    /// The game [`Game::save`] wrote. The bytes come from outside the process (Redis), so
    /// anything malformed, truncated, of another layout version or inconsistent (a value the
    /// game could never have reached that would break its rules) is a typed error, never a
    /// panic, and a restored game never panics later because of what it was restored from.
    fn restore(bytes: &[u8]) -> Result<Self, RestoreError>
    where
        Self: Sized;
}

/// Makes one game instance per room. `seed` is the room's random seed (rooms are reproducible
/// from it and the inputs).
pub trait GameFactory: Send + Sync + 'static {
    type Game: Game;
    fn create(&self, seed: u64) -> Self::Game;
}

impl<G: Game, F: Fn(u64) -> G + Send + Sync + 'static> GameFactory for F {
    type Game = G;
    fn create(&self, seed: u64) -> G {
        self(seed)
    }
}
