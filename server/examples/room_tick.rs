//! What a room's tick costs the server, in instructions: built for callgrind, whose counts
//! repeat exactly (a shared machine's wall clock does not).
//!
//! The workload: a room of 8 arena players, all turning every tick. Each tick (`tick`) does
//! what `Room::tick` does besides the fan-out: apply one input per player, step, take the
//! snapshot state, replicate it, record it as a baseline (forgetting what every client acked
//! past), then encode the full snapshot once and one packed delta against the tick the clients
//! acknowledged two ticks earlier (a typical ack lag).
//!
//! ```text
//! cargo build --profile profiling -p tickcast-server --example room_tick
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/tick.cg \
//!     target/profiling/examples/room_tick 2000
//! callgrind_annotate --inclusive=yes /tmp/tick.cg | grep -E 'room_tick::tick'
//! ```
//!
//! Divide by the tick count printed. Results are recorded in BENCHMARKS.md.

use std::sync::Arc;

use tickcast_server::game::arena::{Arena, ArenaConfig};
use tickcast_server::game::Game;
use tickcast_server::snapshots::TickSnapshots;
use tickcast_server::Metrics;
use tickcast_shared::arena::Controls;
use uuid::Uuid;

const PLAYERS: usize = 8;
const TICK_RATE: u16 = 30;
const ACK_LAG: u64 = 2;

#[inline(never)]
fn tick(game: &mut Arena, snapshots: &mut TickSnapshots<Arena>, ids: &[Uuid], tick: u64) -> usize {
    for (i, id) in ids.iter().enumerate() {
        let a = i as f32 + tick as f32 * 0.1;
        game.apply_input(*id, tick as u32, &Controls::new(a.cos(), a.sin(), 0));
    }
    game.step(1.0 / f32::from(TICK_RATE));
    let state = game.snapshot();
    let frame = Arena::replicate(&state);
    snapshots.record(tick, frame);
    let acked = tick.saturating_sub(ACK_LAG);
    snapshots.forget_before(acked);
    snapshots.begin(tick, 1_764_000_000_000 + tick * 33, state);
    let full = snapshots.full().expect("a full snapshot should encode");
    let packed = snapshots
        .delta(acked, true)
        .expect("a packed delta should encode");
    snapshots.end();
    full.len() + packed.len()
}

fn main() {
    let ticks: u64 = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("the argument should be a tick count"))
        .unwrap_or(2000);
    let mut game = Arena::new(ArenaConfig::default(), 7);
    let ids: Vec<Uuid> = (0..PLAYERS)
        .map(|i| Uuid::from_u128(i as u128 + 1))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        game.player_joined(*id, &format!("player-{i}"));
    }
    let mut snapshots = TickSnapshots::new(32, TICK_RATE, Arc::new(Metrics::new()));
    let mut bytes = 0;
    for t in 1..=ticks {
        bytes += tick(&mut game, &mut snapshots, &ids, t);
    }
    println!(
        "{ticks} ticks, {:.1} bytes sent per tick (full + packed)",
        bytes as f64 / ticks as f64
    );
}
