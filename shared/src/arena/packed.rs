//! The arena's packed delta patch (`PROTOCOL.md`, "Packed deltas"): the players' section, the
//! orbs' section ([`crate::packed`]), then the round when it changed. The override of
//! [`crate::delta::Diffable::pack`] / `unpack` for [`QuantizedArena`] calls these.
//!
//! Prediction (dead reckoning): a connected player keeps moving at its **new** velocity —
//! `x + round(vx × ticks / tick_rate)`, `vx` in hundredths per second, so the position residual
//! of a player running straight is only its rounding, 0 or ±1 — and its `last_input` goes up by
//! one per tick (clients send one input a tick). A held seat stands still and sends nothing.
//! Velocities, scores and orbs are predicted unchanged.

use uuid::Uuid;

use super::{QuantizedArena, QuantizedOrb, QuantizedPlayer, Round, RoundPhase};
use crate::delta::{DeltaError, Step};
use crate::packed::{pack_entities, unpack_entities, Packable};
use crate::varint::{put_i, put_u, Reader};

/// Fields of a player (mask bits): x, y, vx, vy, score, last_input.
const X: usize = 0;
const Y: usize = 1;
const VX: usize = 2;
const VY: usize = 3;
const LAST_INPUT: usize = 5;

/// Ticks are capped here for prediction, so the arithmetic never overflows whatever a hostile
/// envelope claims (a real step is at most the server's window, 64).
const MAX_PREDICTED_TICKS: u64 = u32::MAX as u64;

/// Up to this many ticks (and an i32 velocity) [`travel`] computes in i64.
const FAST_TICKS: u64 = 1 << 20;

/// `round(v × ticks / tick_rate)`, halves rounded up (towards +∞): where a body moving at `v`
/// hundredths per second is after `ticks` ticks, in hundredths. 0 at a tick rate of 0.
pub fn travel(v: i64, step: Step) -> i64 {
    if step.tick_rate == 0 {
        return 0;
    }
    let ticks = step.ticks.min(MAX_PREDICTED_TICKS);
    // Every honest value: |2·v·ticks + rate| < 2^53, so i64 holds the same arithmetic exactly
    // and the division is one instruction, not the i128 library call (a tenth of a client's
    // instructions per delta went there).
    if let (Ok(v), true) = (i32::try_from(v), ticks <= FAST_TICKS) {
        let rate = i64::from(step.tick_rate);
        return (2 * i64::from(v) * ticks as i64 + rate).div_euclid(2 * rate);
    }
    let (ticks, rate) = (i128::from(ticks), i128::from(step.tick_rate));
    let q = (2 * i128::from(v) * ticks + rate).div_euclid(2 * rate);
    q.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

impl Packable for QuantizedPlayer {
    fn drift(&self, fields: &[i64], i: usize, step: Step) -> i64 {
        if self.held {
            return 0;
        }
        match i {
            X => travel(fields[VX], step),
            Y => travel(fields[VY], step),
            LAST_INPUT => step.ticks.min(MAX_PREDICTED_TICKS) as i64,
            _ => 0,
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.id.as_bytes());
        put_u(out, self.name.len() as u64);
        out.extend_from_slice(self.name.as_bytes());
        for v in [self.x, self.y, self.vx, self.vy] {
            put_i(out, v.into());
        }
        put_u(out, self.score.into());
        put_u(out, self.last_input.into());
        out.push(self.held.into());
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DeltaError> {
        let id = read_uuid(r)?;
        let len = r.count()?;
        let name = std::str::from_utf8(r.take(len)?)
            .map_err(|_| DeltaError::Malformed("a name that is not UTF-8"))?
            .into();
        Ok(QuantizedPlayer {
            id,
            name,
            x: r.i_as()?,
            y: r.i_as()?,
            vx: r.i_as()?,
            vy: r.i_as()?,
            score: r.u_as()?,
            last_input: r.u_as()?,
            held: read_bool(r)?,
        })
    }
}

impl Packable for QuantizedOrb {
    fn write(&self, out: &mut Vec<u8>) {
        put_u(out, self.id.into());
        put_i(out, self.x.into());
        put_i(out, self.y.into());
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DeltaError> {
        Ok(QuantizedOrb {
            id: r.u_as()?,
            x: r.i_as()?,
            y: r.i_as()?,
        })
    }
}

fn read_uuid(r: &mut Reader<'_>) -> Result<Uuid, DeltaError> {
    let bytes: [u8; 16] = r
        .take(16)?
        .try_into()
        .expect("take(16) should give 16 bytes");
    Ok(Uuid::from_bytes(bytes))
}

fn read_bool(r: &mut Reader<'_>) -> Result<bool, DeltaError> {
    match r.byte()? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(DeltaError::Malformed("a flag that is neither 0 nor 1")),
    }
}

fn write_round(round: &Round, out: &mut Vec<u8>) {
    put_u(out, round.number.into());
    out.push(round.phase.into());
    put_u(out, round.ends_at);
    match round.winner {
        None => out.push(0),
        Some(id) => {
            out.push(1);
            out.extend_from_slice(id.as_bytes());
        }
    }
}

fn read_round(r: &mut Reader<'_>) -> Result<Round, DeltaError> {
    Ok(Round {
        number: r.u_as()?,
        phase: RoundPhase::try_from(r.byte()?)
            .map_err(|_| DeltaError::Malformed("an unknown round phase"))?,
        ends_at: r.u()?,
        winner: if read_bool(r)? {
            Some(read_uuid(r)?)
        } else {
            None
        },
    })
}

/// Appends the packed patch from `base` to `next`.
pub(super) fn pack(base: &QuantizedArena, next: &QuantizedArena, step: Step, out: &mut Vec<u8>) {
    pack_entities(&base.players, &next.players, step, out);
    pack_entities(&base.orbs, &next.orbs, step, out);
    if let Some(round) = next.round.filter(|r| base.round.as_ref() != Some(r)) {
        out.push(1);
        write_round(&round, out);
    }
}

/// `base` with the packed patch `bytes` applied. Bytes after the round are ignored: the format
/// grows at the end, as the protocol's arrays do.
pub(super) fn unpack(
    base: &QuantizedArena,
    bytes: &[u8],
    step: Step,
) -> Result<QuantizedArena, DeltaError> {
    let mut r = Reader::new(bytes);
    let players = unpack_entities(&base.players, &mut r, step)?;
    let orbs = unpack_entities(&base.orbs, &mut r, step)?;
    let round = match (r.is_empty(), r.clone().byte()) {
        (true, _) | (false, Ok(0)) => base.round,
        _ => match r.byte()? {
            1 => Some(read_round(&mut r)?),
            _ => return Err(DeltaError::Malformed("a round tag that is neither 0 nor 1")),
        },
    };
    Ok(QuantizedArena {
        players,
        orbs,
        round,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delta::Diffable;

    const STEP: Step = Step {
        ticks: 2,
        tick_rate: 30,
    };

    fn player(n: u8, x: i32, vx: i32) -> QuantizedPlayer {
        QuantizedPlayer {
            id: Uuid::from_bytes([n; 16]),
            name: format!("p{n}").into(),
            x,
            y: 500,
            vx,
            vy: 0,
            score: 0,
            last_input: 10,
            held: false,
        }
    }

    fn packed(base: &QuantizedArena, next: &QuantizedArena, step: Step) -> Vec<u8> {
        let mut out = Vec::new();
        base.pack(next, step, &mut out).expect("packs");
        out
    }

    fn arena(players: Vec<QuantizedPlayer>) -> QuantizedArena {
        QuantizedArena {
            players,
            orbs: vec![QuantizedOrb {
                id: 3,
                x: 10,
                y: 20,
            }],
            round: None,
        }
    }

    #[test]
    fn a_full_patch_rebuilds_the_state() {
        let next = arena(vec![player(1, 100, 32_000), player(2, 200, -5)]);
        let bytes = packed(&QuantizedArena::default(), &next, STEP);
        assert_eq!(QuantizedArena::default().unpack(&bytes, STEP), Ok(next));
    }

    #[test]
    fn a_player_running_straight_costs_nothing() {
        // 320 units/s for two ticks at 30 Hz: 21.33 units, 2133 hundredths; its input seq +2.
        let base = arena(vec![player(1, 10_000, 32_000)]);
        let mut next = base.clone();
        next.players[0].x = 10_000 + 2_133;
        next.players[0].last_input = 12;
        let bytes = packed(&base, &next, STEP);
        assert_eq!(bytes, [0, 0, 0, 0, 0, 0], "three empty lists per section");
        assert_eq!(base.unpack(&bytes, STEP), Ok(next));
    }

    #[test]
    fn a_turning_player_sends_its_velocity_change_and_the_rounding() {
        let base = arena(vec![player(1, 10_000, 32_000), player(2, 0, 0)]);
        let mut next = base.clone();
        next.players[0].vx = 30_000; // travel 2000
        next.players[0].x = 10_000 + 2_001;
        next.players[0].last_input = 12;
        next.players[1].last_input = 12;
        let bytes = packed(&base, &next, STEP);
        // players: no removal, one change (index 0, mask x|vx, +1, −2000), no addition.
        assert_eq!(bytes, [0, 1, 0, 0b101, 2, 0x9f, 0x1f, 0, 0, 0, 0]);
        assert_eq!(base.unpack(&bytes, STEP), Ok(next));
    }

    #[test]
    fn a_held_seat_is_predicted_to_stand_still() {
        let mut base = arena(vec![player(1, 10_000, 0)]);
        base.players[0].held = true;
        let bytes = packed(&base, &base, STEP);
        assert_eq!(bytes, [0, 0, 0, 0, 0, 0]);
        assert_eq!(base.unpack(&bytes, STEP), Ok(base));
    }

    #[test]
    fn the_round_trails_only_when_it_changed() {
        let mut base = arena(vec![player(1, 0, 0)]);
        base.round = Some(Round {
            number: 1,
            phase: RoundPhase::Playing,
            ends_at: 3600,
            winner: None,
        });
        let mut next = base.clone();
        next.players[0].last_input = 12;
        assert_eq!(packed(&base, &next, STEP).len(), 6);
        next.round = Some(Round {
            number: 1,
            phase: RoundPhase::Over,
            ends_at: 3750,
            winner: Some(next.players[0].id),
        });
        let bytes = packed(&base, &next, STEP);
        assert_eq!(bytes[6], 1, "the round's tag");
        assert_eq!(base.unpack(&bytes, STEP), Ok(next.clone()));
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[7, 7, 7]);
        assert_eq!(
            base.unpack(&longer, STEP),
            Ok(next),
            "later additions are ignored"
        );
    }

    #[test]
    fn travel_rounds_halves_up_and_needs_a_tick_rate() {
        let at = |ticks, tick_rate| Step { ticks, tick_rate };
        assert_eq!(travel(32_000, at(1, 30)), 1_067);
        assert_eq!(travel(-32_000, at(1, 30)), -1_067);
        assert_eq!(travel(15, at(1, 30)), 1, "0.5 rounds up");
        assert_eq!(travel(-15, at(1, 30)), 0, "−0.5 rounds up too");
        assert_eq!(travel(i64::MAX, at(u64::MAX, 1)), i64::MAX, "saturates");
        assert_eq!(travel(100, at(3, 0)), 0);
    }

    fn at_30(ticks: u64) -> Step {
        Step {
            ticks,
            tick_rate: 30,
        }
    }

    #[test]
    fn travel_is_the_same_on_both_sides_of_the_i64_shortcut() {
        let exact = |v: i64, s: Step| {
            let (t, r) = (i128::from(s.ticks), i128::from(s.tick_rate));
            (2 * i128::from(v) * t + r).div_euclid(2 * r) as i64
        };
        let vs = [
            0,
            1,
            -1,
            15,
            -15,
            32_000,
            -32_000,
            i64::from(i32::MAX),
            i64::from(i32::MIN),
        ];
        let ticks = [1, 2, 63, FAST_TICKS - 1, FAST_TICKS, FAST_TICKS + 1];
        for v in vs {
            for t in ticks {
                for rate in [1, 29, 30, 60, u16::MAX] {
                    let s = Step {
                        ticks: t,
                        tick_rate: rate,
                    };
                    assert_eq!(travel(v, s), exact(v, s), "{v} × {t} / {rate}");
                }
            }
        }
        let just_past = i64::from(i32::MAX) + 1;
        assert_eq!(travel(just_past, at_30(2)), exact(just_past, at_30(2)));
    }
}
