//! The arena as delta snapshots replicate it: quantised to integers and sorted by id, diffed
//! with the generic [`EntityPatch`] of [`crate::delta`]. The server's room diffs these
//! ([`Diffable`]); clients apply the patches through [`crate::delta::Baselines`] and turn the
//! result back into floats with [`QuantizedArena::to_state`].
//!
//! # Quantisation
//! The arena's positions and velocities travel as integers in hundredths of a unit
//! ([`SCALE`]): 0.005 units at most, a fraction of a pixel at any sane zoom. Integers make a
//! patch exact — the client rebuilds bit for bit the [`QuantizedArena`] the server diffed — and
//! small: a player that moved 3 units this tick costs a 2-byte difference, not a 5-byte float.
//!
//! The round ([`Round`]) is not an entity: a patch carries it whole, and only when it differs
//! from the baseline's (see [`ArenaPatch::round`]).
//!
//! The byte layout is specified in `shared/PROTOCOL.md` ("Delta snapshots").

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{is_false, ArenaState, Orb, PlayerState, Round};
use crate::delta::{DeltaError, Diffable, Entity, EntityPatch, Step};
use crate::EncodeError;
use crate::PlayerId;

/// Positions (units) and velocities (units/s) are sent multiplied by this and rounded.
pub const SCALE: f64 = 100.0;

/// A float in hundredths (see [`SCALE`]); non-finite values become 0, huge ones saturate.
pub fn quantize(v: f32) -> i32 {
    (f64::from(v) * SCALE).round() as i32
}

/// The float a quantised value stands for.
pub fn dequantize(q: i32) -> f32 {
    (f64::from(q) / SCALE) as f32
}

/// The arena's state as replicated: quantised, players sorted by id, orbs sorted by id.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QuantizedArena {
    pub players: Vec<QuantizedPlayer>,
    pub orbs: Vec<QuantizedOrb>,
    /// See [`ArenaState::round`]: on the wire only when there is a round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<Round>,
}

/// A player with position (hundredths of a unit) and velocity (hundredths of a unit per second)
/// as integers. Patchable fields, in mask-bit order: x, y, vx, vy, score, last_input.
///
/// `held` (the seat is held for a resume) is not a patchable field but a fixed part, like the
/// name: a player whose flag flips is sent as removed and added again. A mask bit would make
/// clients from before the flag refuse the whole delta (`BadMask`) for as long as the seat is
/// held; a re-added entity with one more trailing field is what they already decode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantizedPlayer {
    pub id: PlayerId,
    /// Shared with the [`PlayerState`] it was replicated from and with every state derived from
    /// it (a patch only ever keeps a name or replaces the player): a tick's names cost refcount
    /// bumps, not copies. On the wire a string, as before.
    pub name: Arc<str>,
    pub x: i32,
    pub y: i32,
    pub vx: i32,
    pub vy: i32,
    pub score: u32,
    pub last_input: u32,
    /// See [`PlayerState::held`]: on the wire only when `true`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub held: bool,
}

/// An orb with its position in hundredths of a unit. Patchable fields: x, y.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantizedOrb {
    pub id: u16,
    pub x: i32,
    pub y: i32,
}

/// The patch of a [`QuantizedArena`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ArenaPatch {
    pub players: EntityPatch<QuantizedPlayer>,
    pub orbs: EntityPatch<QuantizedOrb>,
    /// The round, only when it differs from the baseline's (absent: the baseline's round goes
    /// on). A round is constant for a whole phase, so a patch carries it only when a phase
    /// changes, or when the baseline is older than the change (or empty). A round never goes
    /// away once there is one, so "absent" never needs to mean "none".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<Round>,
}

fn to_i32(field: usize, v: i64) -> Result<i32, DeltaError> {
    i32::try_from(v).map_err(|_| DeltaError::FieldOutOfRange { field })
}

fn to_u32(field: usize, v: i64) -> Result<u32, DeltaError> {
    u32::try_from(v).map_err(|_| DeltaError::FieldOutOfRange { field })
}

impl Entity for QuantizedPlayer {
    type Id = PlayerId;
    const FIELDS: usize = 6;

    fn id(&self) -> PlayerId {
        self.id
    }

    fn field(&self, i: usize) -> i64 {
        match i {
            0 => self.x.into(),
            1 => self.y.into(),
            2 => self.vx.into(),
            3 => self.vy.into(),
            4 => self.score.into(),
            _ => self.last_input.into(),
        }
    }

    fn set_field(&mut self, i: usize, v: i64) -> Result<(), DeltaError> {
        match i {
            0 => self.x = to_i32(i, v)?,
            1 => self.y = to_i32(i, v)?,
            2 => self.vx = to_i32(i, v)?,
            3 => self.vy = to_i32(i, v)?,
            4 => self.score = to_u32(i, v)?,
            _ => self.last_input = to_u32(i, v)?,
        }
        Ok(())
    }

    fn same_fixed_parts(&self, other: &Self) -> bool {
        // A server's frames (and a client's unpacked states) share one name allocation per
        // player: the pointer settles it without reading the bytes.
        self.held == other.held && (Arc::ptr_eq(&self.name, &other.name) || self.name == other.name)
    }
}

impl Entity for QuantizedOrb {
    type Id = u16;
    const FIELDS: usize = 2;

    fn id(&self) -> u16 {
        self.id
    }

    fn field(&self, i: usize) -> i64 {
        if i == 0 {
            self.x.into()
        } else {
            self.y.into()
        }
    }

    fn set_field(&mut self, i: usize, v: i64) -> Result<(), DeltaError> {
        if i == 0 {
            self.x = to_i32(i, v)?;
        } else {
            self.y = to_i32(i, v)?;
        }
        Ok(())
    }
}

impl Diffable for QuantizedArena {
    type Patch = ArenaPatch;

    fn diff(&self, next: &Self) -> ArenaPatch {
        ArenaPatch {
            players: EntityPatch::diff(&self.players, &next.players),
            orbs: EntityPatch::diff(&self.orbs, &next.orbs),
            round: next.round.filter(|r| self.round.as_ref() != Some(r)),
        }
    }

    fn apply(&self, patch: &ArenaPatch) -> Result<Self, DeltaError> {
        Ok(QuantizedArena {
            players: patch.players.apply(&self.players)?,
            orbs: patch.orbs.apply(&self.orbs)?,
            round: patch.round.or(self.round),
        })
    }

    fn pack(&self, next: &Self, step: Step, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        super::packed::pack(self, next, step, out);
        Ok(())
    }

    fn unpack(&self, bytes: &[u8], step: Step) -> Result<Self, DeltaError> {
        super::packed::unpack(self, bytes, step)
    }
}

impl QuantizedArena {
    /// The replicated form of `state`: quantised and sorted by id.
    pub fn from_state(state: &ArenaState) -> Self {
        let mut players: Vec<QuantizedPlayer> = state
            .players
            .iter()
            .map(|p| QuantizedPlayer {
                id: p.id,
                name: p.name.clone(),
                x: quantize(p.x),
                y: quantize(p.y),
                vx: quantize(p.vx),
                vy: quantize(p.vy),
                score: p.score,
                last_input: p.last_input,
                held: p.held,
            })
            .collect();
        players.sort_unstable_by_key(|p| p.id);
        players.dedup_by_key(|p| p.id);
        let mut orbs: Vec<QuantizedOrb> = state
            .orbs
            .iter()
            .map(|o| QuantizedOrb {
                id: o.id,
                x: quantize(o.x),
                y: quantize(o.y),
            })
            .collect();
        orbs.sort_unstable_by_key(|o| o.id);
        orbs.dedup_by_key(|o| o.id);
        QuantizedArena {
            players,
            orbs,
            round: state.round,
        }
    }

    /// The float state this stands for (within 0.005 of the server's, see [`SCALE`]).
    pub fn to_state(&self) -> ArenaState {
        ArenaState {
            players: self
                .players
                .iter()
                .map(|p| PlayerState {
                    id: p.id,
                    name: p.name.clone(),
                    x: dequantize(p.x),
                    y: dequantize(p.y),
                    vx: dequantize(p.vx),
                    vy: dequantize(p.vy),
                    score: p.score,
                    last_input: p.last_input,
                    held: p.held,
                })
                .collect(),
            orbs: self
                .orbs
                .iter()
                .map(|o| Orb {
                    id: o.id,
                    x: dequantize(o.x),
                    y: dequantize(o.y),
                })
                .collect(),
            round: self.round,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn player(n: u8, x: i32) -> QuantizedPlayer {
        QuantizedPlayer {
            id: Uuid::from_bytes([n; 16]),
            name: format!("p{n}").into(),
            x,
            y: 0,
            vx: 0,
            vy: 0,
            score: 0,
            last_input: 0,
            held: false,
        }
    }

    fn orb(id: u16, x: i32) -> QuantizedOrb {
        QuantizedOrb { id, x, y: 7 }
    }

    #[test]
    fn an_unchanged_state_gives_an_empty_patch() {
        let s = QuantizedArena {
            players: vec![player(1, 5), player(2, 6)],
            orbs: vec![orb(1, 1)],
            round: None,
        };
        assert_eq!(s.diff(&s), ArenaPatch::default());
        assert_eq!(s.apply(&ArenaPatch::default()).unwrap(), s);
    }

    #[test]
    fn a_patch_carries_only_the_changed_fields_as_differences() {
        let base = QuantizedArena {
            players: vec![player(1, 500), player(2, 600), player(3, 0)],
            orbs: vec![orb(1, 1), orb(2, 2)],
            round: None,
        };
        let mut next = base.clone();
        next.players[1].x = 610;
        next.players[1].last_input = 4;
        next.players.remove(0);
        next.players.push(player(9, 1));
        next.orbs[1].x = 90;
        let patch = base.diff(&next);
        assert_eq!(patch.players.removed, vec![0]);
        assert_eq!(patch.players.changed, vec![1, 0b100001, 10, 4]);
        assert_eq!(patch.players.added, vec![player(9, 1)]);
        assert_eq!(patch.orbs.changed, vec![1, 0b01, 88]);
        assert_eq!(base.apply(&patch).unwrap(), next);
    }

    #[test]
    fn a_renamed_entity_is_replaced() {
        let base = QuantizedArena {
            players: vec![player(1, 5)],
            orbs: vec![],
            round: None,
        };
        let mut next = base.clone();
        next.players[0].name = "other".into();
        let patch = base.diff(&next);
        assert_eq!(patch.players.removed, vec![0]);
        assert_eq!(patch.players.added.len(), 1);
        assert_eq!(base.apply(&patch).unwrap(), next);
    }

    #[test]
    fn quantisation_rounds_to_hundredths_and_sorts_by_id() {
        assert_eq!(quantize(1.234_9), 123);
        assert_eq!(quantize(-1.235), -124);
        assert_eq!(quantize(f32::NAN), 0);
        assert_eq!(quantize(f32::INFINITY), i32::MAX);
        assert_eq!(dequantize(-124), -1.24);
        let mut state = ArenaState::default();
        for n in [3u8, 1, 2] {
            state.players.push(PlayerState {
                id: Uuid::from_bytes([n; 16]),
                name: "n".into(),
                x: 1.0,
                y: 2.0,
                vx: 0.5,
                vy: -0.5,
                score: 1,
                last_input: 2,
                held: n == 2,
            });
        }
        let q = QuantizedArena::from_state(&state);
        let ids: Vec<u8> = q.players.iter().map(|p| p.id.as_bytes()[0]).collect();
        assert_eq!(ids, vec![1, 2, 3]);
        assert_eq!((q.players[0].x, q.players[0].vy), (100, -50));
        let held: Vec<bool> = q.players.iter().map(|p| p.held).collect();
        assert_eq!(held, vec![false, true, false]);
        assert!(q.to_state().players[1].held);
    }

    #[test]
    fn a_seat_that_becomes_held_re_adds_the_player_and_no_mask_bit_is_used() {
        let base = QuantizedArena {
            players: vec![player(1, 5), player(2, 6)],
            orbs: vec![],
            round: None,
        };
        let mut next = base.clone();
        next.players[1].held = true;
        next.players[1].x = 9;
        let patch = base.diff(&next);
        assert_eq!(patch.players.removed, vec![1]);
        assert!(patch.players.changed.is_empty());
        assert_eq!(patch.players.added, vec![next.players[1].clone()]);
        assert_eq!(base.apply(&patch).unwrap(), next);
        let back = next.diff(&base);
        assert_eq!(
            (back.players.removed, back.players.added.len()),
            (vec![1], 1)
        );
    }

    #[test]
    fn a_patch_carries_the_round_only_when_it_changed() {
        use crate::arena::RoundPhase;
        let round = |phase, ends_at, winner| Round {
            number: 1,
            phase,
            ends_at,
            winner,
        };
        let base = QuantizedArena {
            players: vec![player(1, 5)],
            orbs: vec![],
            round: Some(round(RoundPhase::Playing, 3600, None)),
        };
        let mut moved = base.clone();
        moved.players[0].x = 6;
        let patch = base.diff(&moved);
        assert_eq!(patch.round, None, "the round goes on unchanged");
        assert_eq!(rmp_serde::to_vec(&patch).unwrap()[0], 0x92, "two fields");
        assert_eq!(base.apply(&patch).unwrap(), moved);

        let mut over = moved.clone();
        over.round = Some(round(RoundPhase::Over, 3750, Some(over.players[0].id)));
        let patch = moved.diff(&over);
        assert_eq!(patch.round, over.round);
        assert_eq!(
            rmp_serde::to_vec(&patch).unwrap()[0],
            0x93,
            "the round trails"
        );
        assert_eq!(moved.apply(&patch).unwrap(), over);

        let full = QuantizedArena::default().diff(&over);
        assert_eq!(full.round, over.round, "a full patch carries the round");
        assert_eq!(QuantizedArena::default().apply(&full).unwrap(), over);
    }

    #[test]
    fn the_held_flag_is_on_the_wire_only_when_set() {
        let mut p = player(1, 5);
        let plain = rmp_serde::to_vec(&p).unwrap();
        assert_eq!(plain[0], 0x98, "eight fields, as before the flag");
        p.held = true;
        let held = rmp_serde::to_vec(&p).unwrap();
        assert_eq!(held[0], 0x99);
        assert_eq!(held.last(), Some(&0xc3));
        assert_eq!(rmp_serde::from_slice::<QuantizedPlayer>(&held).unwrap(), p);
        p.held = false;
        assert_eq!(rmp_serde::from_slice::<QuantizedPlayer>(&plain).unwrap(), p);
    }
}
