//! Property tests of delta snapshots.
//!
//! The central one plays a whole stream: a random sequence of world states on the server, the
//! server's real [`History`] picking each frame's baseline from the acks it has received, a
//! latest-wins slot in between that drops frames at random, acks that arrive late, and the
//! client's real [`Baselines`] applying what it actually got. Every frame the client gets must
//! rebuild exactly the server's state of that tick. It runs twice: with `"delta"` patches and
//! with packed ones (`"d"`, residuals of a prediction over `tick − base_tick` ticks).

use proptest::prelude::*;
use tickcast_shared::arena::{
    dequantize, quantize, ArenaPatch, ArenaServerMsg, ArenaState, PlayerState, QuantizedArena,
    QuantizedOrb, QuantizedPlayer, Round, RoundPhase,
};
use tickcast_shared::delta::{self, Baselines, Diffable, History};
use tickcast_shared::{decode, encode, DeltaSnapshot, PackedDelta};
use uuid::Uuid;

/// Mostly small values (so fields often stay equal), sometimes extremes.
fn value() -> impl Strategy<Value = i32> {
    prop_oneof![4 => -3i32..3, 1 => any::<i32>()]
}

fn counter() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 0u32..3, 1 => any::<u32>()]
}

/// A state whose entities come from small id pools, so consecutive states share many of them.
fn arena() -> impl Strategy<Value = QuantizedArena> {
    let player = (
        prop_oneof![Just("ann"), Just("bob")],
        value(),
        value(),
        value(),
        value(),
        counter(),
        counter(),
        proptest::bool::weighted(0.2),
    );
    (
        proptest::collection::vec(proptest::option::weighted(0.7, player), 6),
        proptest::collection::vec(proptest::option::weighted(0.8, (value(), value())), 6),
        round(),
    )
        .prop_map(|(players, orbs, round)| QuantizedArena {
            players: players
                .into_iter()
                .enumerate()
                .filter_map(|(n, p)| {
                    let (name, x, y, vx, vy, score, last_input, held) = p?;
                    Some(QuantizedPlayer {
                        id: Uuid::from_bytes([n as u8 * 37; 16]),
                        name: name.into(),
                        x,
                        y,
                        vx,
                        vy,
                        score,
                        last_input,
                        held,
                    })
                })
                .collect(),
            orbs: orbs
                .into_iter()
                .enumerate()
                .filter_map(|(n, o)| {
                    let (x, y) = o?;
                    Some(QuantizedOrb { id: n as u16, x, y })
                })
                .collect(),
            round: Some(round),
        })
}

/// A round from a small pool, so consecutive states often keep theirs. (Always a round: a
/// server with rounds never stops having one, and a patch cannot say "no round any more".)
fn round() -> impl Strategy<Value = Round> {
    let phase = prop_oneof![Just(RoundPhase::Playing), Just(RoundPhase::Over)];
    let winner = proptest::option::weighted(0.3, Just(Uuid::nil()));
    (1u32..3, phase, 0u64..3, winner).prop_map(|(number, phase, ends_at, winner)| Round {
        number,
        phase,
        ends_at,
        winner: winner.filter(|_| phase == RoundPhase::Over),
    })
}

/// What happens in one tick of the stream.
#[derive(Debug, Clone)]
struct Step {
    /// The next world state (the previous one with some changes).
    state: QuantizedArena,
    /// Whether the client reads its pending frame this tick (else it stays or is replaced).
    read: bool,
    /// How many ticks the client's ack takes to reach the server.
    ack_delay: usize,
}

fn steps() -> impl Strategy<Value = (usize, Vec<Step>)> {
    (
        1usize..12,
        proptest::collection::vec(
            (
                arena(),
                0u8..4,
                prop_oneof![3 => Just(true), 1 => Just(false)],
                0usize..6,
            ),
            1..80,
        ),
    )
        .prop_map(|(window, raw)| {
            let mut prev = QuantizedArena::default();
            let steps = raw
                .into_iter()
                .map(|(random, keep, read, ack_delay)| {
                    // keep 0: a fresh random state; 1..=3: mostly the previous one.
                    let state = if keep == 0 {
                        random
                    } else {
                        let mut s = prev.clone();
                        for (p, r) in s.players.iter_mut().zip(&random.players) {
                            if r.x % 2 == 0 {
                                p.x = p.x.wrapping_add(r.x);
                                p.last_input = p.last_input.wrapping_add(1);
                            }
                        }
                        if keep == 1 && !random.orbs.is_empty() {
                            s.orbs = random.orbs.clone();
                        }
                        s
                    };
                    prev = state.clone();
                    Step {
                        state,
                        read,
                        ack_delay,
                    }
                })
                .collect();
            (window, steps)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn diff_then_apply_gives_the_next_state(base in arena(), next in arena()) {
        let patch = base.diff(&next);
        prop_assert_eq!(base.apply(&patch), Ok(next));
    }

    #[test]
    fn the_client_rebuilds_every_state_it_receives_under_drops_and_late_acks(
        (window, steps) in steps()
    ) {
        play_stream(window, &steps, None)?;
    }

    #[test]
    fn a_packed_client_rebuilds_every_state_it_receives_under_drops_and_late_acks(
        (window, steps) in steps(),
        tick_rate in prop_oneof![Just(30u16), 1u16..200],
    ) {
        play_stream(window, &steps, Some(tick_rate))?;
    }

    #[test]
    fn pack_then_unpack_gives_the_next_state(
        base in arena(),
        next in arena(),
        ticks in 1u64..70,
        tick_rate in 1u16..200,
    ) {
        let step = delta::Step { ticks, tick_rate };
        let mut bytes = Vec::new();
        base.pack(&next, step, &mut bytes).unwrap();
        prop_assert_eq!(base.unpack(&bytes, step), Ok(next));
    }

    #[test]
    fn arbitrary_packed_bytes_unpack_to_an_error_or_a_state_never_a_panic(
        base in arena(),
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        ticks in any::<u64>(),
        tick_rate in any::<u16>(),
    ) {
        let _ = base.unpack(&bytes, delta::Step { ticks, tick_rate });
        if let Ok(d) = PackedDelta::from_bytes(&bytes) {
            prop_assert!(d.base_tick < d.tick || d.base_tick == 0);
            prop_assert_eq!(PackedDelta::from_bytes(&d.to_bytes()), Ok(d));
        }
    }

    #[test]
    fn dequantised_values_are_within_half_a_hundredth(x in -1.0e5f32..1.0e5, y in -1.0e5f32..1.0e5) {
        let state = ArenaState {
            players: vec![PlayerState {
                id: Uuid::nil(), name: "a".into(), x, y, vx: y, vy: x, score: 1, last_input: 2, held: false,
            }],
            orbs: vec![],
            round: None,
        };
        let back = QuantizedArena::from_state(&state).to_state();
        let p = &back.players[0];
        for (a, b) in [(p.x, x), (p.y, y), (p.vx, y), (p.vy, x)] {
            // Half a hundredth, plus the f32 rounding of the result.
            prop_assert!((a - b).abs() <= 0.005 + b.abs() * 1e-7, "{} vs {}", a, b);
        }
        prop_assert_eq!(dequantize(quantize(x)), p.x);
    }

    #[test]
    fn arbitrary_patches_apply_to_an_error_or_a_state_never_a_panic(
        base in arena(),
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        removed in proptest::collection::vec(0u32..8, 0..4),
        changed in proptest::collection::vec(prop_oneof![-2i64..70, any::<i64>()], 0..20),
    ) {
        if let Ok(patch) = decode::<ArenaPatch>(&bytes) {
            let _ = base.apply(&patch);
        }
        let mut patch = ArenaPatch::default();
        patch.players.removed = removed.clone();
        patch.players.changed = changed.clone();
        patch.orbs.removed = removed;
        patch.orbs.changed = changed;
        let _ = base.apply(&patch);
    }
}

/// Plays `steps` through the server's history, a latest-wins slot that drops what the client
/// does not read, late acks and the client's baselines: `"delta"` patches, or packed ones at
/// `packed = Some(tick_rate)`. Every state the client receives must be the server's.
fn play_stream(window: usize, steps: &[Step], packed: Option<u16>) -> Result<(), TestCaseError> {
    let mut history = History::new(window);
    let mut client: Baselines<QuantizedArena> = Baselines::new(window);
    let mut server_ack = 0u64;
    // Acks in flight: (arrival tick, acked tick).
    let mut acks: Vec<(usize, u64)> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let tick = i as u64 + 1;
        for &(_, acked) in acks.iter().filter(|(at, _)| *at <= i) {
            server_ack = server_ack.max(acked);
        }
        acks.retain(|(at, _)| *at > i);

        history.push(tick, step.state.clone());
        // What the server's room does: keep only what this client may still acknowledge.
        history.forget_before(if server_ack > 0 { server_ack } else { 1 });
        let base_tick = history.baseline_for(server_ack);
        let msg = match packed {
            None => {
                let patch = history
                    .patch_from(base_tick)
                    .expect("the base was just checked");
                ArenaServerMsg::Delta(DeltaSnapshot {
                    tick,
                    base_tick,
                    server_time_ms: 0,
                    patch,
                })
            }
            Some(tick_rate) => {
                let mut patch = Vec::new();
                let packed = history.pack_from(base_tick, tick_rate, &mut patch).unwrap();
                prop_assert!(packed, "the base was just checked");
                ArenaServerMsg::Packed(PackedDelta {
                    tick,
                    base_tick,
                    server_time_ms: 0,
                    patch,
                })
            }
        };
        // The session's latest-wins slot holds only this frame: the one of a tick the client
        // did not read was replaced, never seen.
        let pending = encode(&msg).unwrap();

        if step.read {
            let got = match (decode::<ArenaServerMsg>(&pending).unwrap(), packed) {
                (ArenaServerMsg::Delta(snap), None) => client.receive(&snap).cloned(),
                (ArenaServerMsg::Packed(snap), Some(rate)) => {
                    client.receive_packed(&snap, rate).cloned()
                }
                (other, _) => panic!("not the delta that was sent: {other:?}"),
            };
            prop_assert_eq!(
                got,
                Ok(step.state.clone()),
                "tick {} base {}",
                tick,
                base_tick
            );
            acks.push((i + step.ack_delay, client.ack_tick()));
        }
    }
    Ok(())
}
