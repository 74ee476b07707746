//! The arena's round as every client sees it: [`Round`], the optional trailing field of
//! [`super::ArenaState`] and [`super::QuantizedArena`] (PROTOCOL.md, "Rounds").
//!
//! The server's arena runs the rounds (`tickcast_server::game::arena::rounds`); this module only
//! says what travels. Talks to: nobody.

use serde::{Deserialize, Serialize};

use crate::PlayerId;

/// The round in progress. Wire: `[number: u32, phase: u8, ends_at: u64, winner: uuid | nil]`.
///
/// Every field is constant for the whole of a phase (`ends_at` is a tick, not a countdown), so a
/// delta carries the round only in the tick its phase changes; a client counts down with
/// `(ends_at − snapshot tick) / tick_rate` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Round {
    /// 1 for the room's first round, then one more per round.
    pub number: u32,
    pub phase: RoundPhase,
    /// The tick whose snapshot is the first of the next phase: the end of play (then the round
    /// is over) or the end of the over-phase (then scores are reset and the next round starts).
    pub ends_at: u64,
    /// In the over-phase, the player with the round's top score, alone at the top. `None` while
    /// playing, and in the over-phase when the top score is shared or nobody scored (a draw).
    /// The winner may have left the room since.
    pub winner: Option<PlayerId>,
}

/// What a round is doing. Wire: a `u8`, 0 playing, 1 over; other values are malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum RoundPhase {
    /// Orbs score.
    Playing,
    /// The round has ended: scores are frozen (orbs do not score) and the winner is announced.
    Over,
}

/// A round phase number that is neither 0 nor 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown round phase {0}")]
pub struct UnknownRoundPhase(pub u8);

impl From<RoundPhase> for u8 {
    fn from(phase: RoundPhase) -> u8 {
        match phase {
            RoundPhase::Playing => 0,
            RoundPhase::Over => 1,
        }
    }
}

impl TryFrom<u8> for RoundPhase {
    type Error = UnknownRoundPhase;

    fn try_from(v: u8) -> Result<Self, UnknownRoundPhase> {
        match v {
            0 => Ok(RoundPhase::Playing),
            1 => Ok(RoundPhase::Over),
            _ => Err(UnknownRoundPhase(v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn a_round_is_four_fields_with_the_phase_as_a_small_int() {
        let round = Round {
            number: 2,
            phase: RoundPhase::Over,
            ends_at: 300,
            winner: Some(Uuid::from_bytes([7; 16])),
        };
        let bytes = rmp_serde::to_vec(&round).unwrap();
        assert_eq!(&bytes[..5], [0x94, 0x02, 0x01, 0xcd, 0x01]);
        assert_eq!(rmp_serde::from_slice::<Round>(&bytes).unwrap(), round);
        let playing = Round {
            phase: RoundPhase::Playing,
            winner: None,
            ..round
        };
        let bytes = rmp_serde::to_vec(&playing).unwrap();
        assert_eq!(bytes, [0x94, 0x02, 0x00, 0xcd, 0x01, 0x2c, 0xc0]);
    }

    #[test]
    fn an_unknown_phase_is_refused() {
        let bytes = [0x94, 0x01, 0x02, 0x10, 0xc0];
        assert!(rmp_serde::from_slice::<Round>(&bytes).is_err());
    }
}
