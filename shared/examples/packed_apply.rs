//! What a client pays per packed delta, in instructions: built for callgrind, whose counts
//! repeat exactly (a shared machine's wall clock does not).
//!
//! The workload: an 8-player arena whose players all move and turn every tick, 24 orbs of
//! which one is eaten and respawns elsewhere every 10 ticks, recorded in the server's `History`
//! and packed against the tick the client acknowledged two ticks earlier (a typical ack lag);
//! the client decodes each wire frame (`decode_frame`) and applies it with
//! `Baselines::receive_packed` (`apply_frame`), as the bot does. The frames are built before
//! either runs, so the two functions' inclusive counts are the client's cost alone.
//!
//! ```text
//! cargo build --profile profiling -p tickcast-shared --example packed_apply
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/packed.cg \
//!     target/profiling/examples/packed_apply 2000
//! callgrind_annotate --inclusive=yes /tmp/packed.cg | grep -E 'decode_frame|apply_frame'
//! ```
//!
//! Divide by the delta count printed. Results are recorded in BENCHMARKS.md.

use std::hint::black_box;

use tickcast_shared::arena::{ArenaServerMsg, ArenaState, Orb, PlayerState, QuantizedArena};
use tickcast_shared::delta::{Baselines, DeltaError, History};
use tickcast_shared::{decode, encode_into, PackedDelta, ServerMsg};
use uuid::Uuid;

const PLAYERS: usize = 8;
const ORBS: u16 = 24;
const TICK_RATE: u16 = 30;
const ACK_LAG: u64 = 2;

/// The arena after `tick` ticks: each player runs at 300 units/s along a heading that turns a
/// little every tick (so every player has residuals: the packed worst case).
fn state_at(tick: u64, names: &[String]) -> ArenaState {
    let t = tick as f32 / f32::from(TICK_RATE);
    let players = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let heading = i as f32 + t * 0.7;
            let (vx, vy) = (300.0 * heading.cos(), 300.0 * heading.sin());
            PlayerState {
                id: Uuid::from_u128(i as u128 + 1),
                name: name.as_str().into(),
                x: 800.0 + 200.0 * (i as f32 + t).sin(),
                y: 450.0 + 200.0 * (i as f32 + t).cos(),
                vx,
                vy,
                score: (tick / 10) as u32,
                last_input: tick as u32,
                held: false,
            }
        })
        .collect();
    let eaten = (tick / 10) as u16;
    let orbs = (0..ORBS)
        .map(|n| {
            let id = if n == eaten % ORBS {
                n + ORBS * eaten
            } else {
                n
            };
            Orb {
                id,
                x: f32::from(id % 97) * 16.0,
                y: f32::from(id % 53) * 16.0,
            }
        })
        .collect();
    ArenaState {
        players,
        orbs,
        round: None,
    }
}

/// The wire frames the server sends for ticks 1..=`deltas`.
fn frames(deltas: u64) -> Vec<Vec<u8>> {
    let names: Vec<String> = (0..PLAYERS).map(|i| format!("player-{i}")).collect();
    let mut history: History<QuantizedArena> = History::new(32);
    let mut out = Vec::new();
    for tick in 1..=deltas {
        history.push(tick, QuantizedArena::from_state(&state_at(tick, &names)));
        let base_tick = history.baseline_for(tick.saturating_sub(ACK_LAG));
        let mut patch = Vec::new();
        history
            .pack_from(base_tick, TICK_RATE, &mut patch)
            .expect("a packed patch should encode");
        let msg = ArenaServerMsg::Packed(PackedDelta {
            tick,
            base_tick,
            server_time_ms: 1_764_000_000_000 + tick * 33,
            patch,
        });
        let mut bytes = Vec::new();
        encode_into(&msg, &mut bytes).expect("a packed delta should encode");
        out.push(bytes);
    }
    out
}

#[inline(never)]
fn decode_frame(bytes: &[u8]) -> PackedDelta {
    match decode::<ArenaServerMsg>(bytes) {
        Ok(ServerMsg::Packed(d)) => d,
        other => panic!("a packed delta was encoded, got {other:?}"),
    }
}

#[inline(never)]
fn apply_frame(store: &mut Baselines<QuantizedArena>, d: &PackedDelta) -> Result<(), DeltaError> {
    black_box(store.receive_packed(d, TICK_RATE)?);
    Ok(())
}

fn main() {
    let deltas = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("the argument should be a delta count"))
        .unwrap_or(2000);
    let frames = frames(deltas);
    let bytes: usize = frames.iter().map(Vec::len).sum();
    let mut store: Baselines<QuantizedArena> = Baselines::default();
    for frame in &frames {
        let d = decode_frame(frame);
        apply_frame(&mut store, &d).expect("our own deltas should apply");
    }
    let last = store.latest().expect("a state was received");
    assert_eq!(last.players.len(), PLAYERS);
    println!(
        "{deltas} deltas applied, {:.1} bytes per frame on average",
        bytes as f64 / deltas as f64
    );
}
