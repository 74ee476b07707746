//! The bundled demo game's types: the arena's controls, parameters and snapshot state, its
//! replicated (quantised) form for delta snapshots ([`QuantizedArena`], [`ArenaPatch`]), its
//! [`Round`], and
//! aliases that plug them into the generic envelopes of the protocol ([`ArenaClientMsg`],
//! [`ArenaServerMsg`] …).
//!
//! The server's arena game (`tickcast_server::game::arena`), the bots and the browser client
//! speak these; a studio hosting its own game never needs this module — it plugs its own types
//! into [`ClientMsg`], [`ServerMsg`] and [`crate::delta`] the same way. Imports point one way:
//! this module uses the envelopes and [`crate::delta`]; neither knows this module.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{ClientMsg, DeltaSnapshot, Input, PlayerId, ServerMsg, Snapshot, Welcome};

mod packed;
mod quantized;
mod round;

pub use packed::travel;
pub use quantized::{
    dequantize, quantize, ArenaPatch, QuantizedArena, QuantizedOrb, QuantizedPlayer, SCALE,
};
pub use round::{Round, RoundPhase, UnknownRoundPhase};

/// A message from an arena client to the server.
pub type ArenaClientMsg = ClientMsg<Controls>;
/// An arena client's input.
pub type ArenaInput = Input<Controls>;
/// A message from the server to an arena client.
pub type ArenaServerMsg = ServerMsg<ArenaState, ArenaInfo, ArenaPatch>;
/// The reply to an arena client's join, carrying the [`ArenaInfo`].
pub type ArenaWelcome = Welcome<ArenaInfo>;
/// A full arena snapshot.
pub type ArenaSnapshot = Snapshot<ArenaState>;
/// An arena delta snapshot: an [`ArenaPatch`] against a baseline the client acknowledged.
pub type ArenaDelta = DeltaSnapshot<ArenaPatch>;

/// The arena's control state: a direction (each axis in -1..=1, the vector's length is clamped to
/// 1 by the server) and a button bit set.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Controls {
    pub x: f32,
    pub y: f32,
    /// Bit set of [`Controls::BOOST`] ….
    pub buttons: u8,
}

impl Controls {
    /// Hold to move faster.
    pub const BOOST: u8 = 1;

    pub fn new(x: f32, y: f32, buttons: u8) -> Self {
        Controls { x, y, buttons }
    }

    /// The controls with non-finite axes zeroed and the direction clamped to length 1, so that
    /// NaN, infinities and huge values from a hostile client cannot reach the simulation.
    pub fn sanitized(self) -> Self {
        let fix = |v: f32| {
            if v.is_finite() {
                v.clamp(-1.0, 1.0)
            } else {
                0.0
            }
        };
        let (mut x, mut y) = (fix(self.x), fix(self.y));
        let len = (x * x + y * y).sqrt();
        if len > 1.0 {
            x /= len;
            y /= len;
        }
        Controls {
            x,
            y,
            buttons: self.buttons,
        }
    }

    pub fn boost(self) -> bool {
        self.buttons & Self::BOOST != 0
    }
}

/// The arena's parameters, sent once in the [`Welcome`]. Units are arena units and seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ArenaInfo {
    pub width: f32,
    pub height: f32,
    pub player_radius: f32,
    pub orb_radius: f32,
    /// Acceleration at full stick, units/s².
    pub accel: f32,
    /// Top speed, units/s.
    pub max_speed: f32,
    /// Velocity is multiplied by `drag.powf(dt)` each tick (fraction kept per second).
    pub drag: f32,
    /// Multiplier on accel and top speed while [`Controls::BOOST`] is held.
    pub boost: f32,
}

impl Default for ArenaInfo {
    fn default() -> Self {
        ArenaInfo {
            width: 1600.0,
            height: 900.0,
            player_radius: 20.0,
            orb_radius: 8.0,
            accel: 1800.0,
            max_speed: 320.0,
            drag: 0.02,
            boost: 1.6,
        }
    }
}

/// The arena's entities after a tick.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ArenaState {
    pub players: Vec<PlayerState>,
    pub orbs: Vec<Orb>,
    /// The round in progress, on a server that runs rounds. An optional trailing field, on the
    /// wire only when there is a round, so a server without rounds encodes states as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<Round>,
}

/// One player in a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayerState {
    pub id: PlayerId,
    /// Shared, not copied, by the states and replicated frames built from it (see
    /// [`QuantizedPlayer::name`]). On the wire a string.
    pub name: Arc<str>,
    pub x: f32,
    pub y: f32,
    pub vx: f32,
    pub vy: f32,
    pub score: u32,
    /// The seq of the last input of this player the server applied (0 = none): the ack that
    /// client-side prediction reconciles against.
    pub last_input: u32,
    /// The player's connection is lost and its seat is held for a resume: it is frozen until it
    /// comes back or the resume grace runs out. An optional trailing field, on the wire only
    /// when `true`, so every state without a held seat is encoded as before it existed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub held: bool,
}

/// For `skip_serializing_if`: a `false` flag is left off the wire.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// One orb in a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Orb {
    pub id: u16,
    pub x: f32,
    pub y: f32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitized_controls_zero_non_finite_axes_and_clamp_length() {
        let c = Controls::new(f32::NAN, f32::INFINITY, 1).sanitized();
        assert_eq!((c.x, c.y, c.buttons), (0.0, 0.0, 1));
        let c = Controls::new(1e30, 1e30, 0).sanitized();
        assert!(((c.x * c.x + c.y * c.y).sqrt() - 1.0).abs() < 1e-6);
        let c = Controls::new(0.3, -0.4, 0).sanitized();
        assert_eq!((c.x, c.y), (0.3, -0.4));
    }
}
