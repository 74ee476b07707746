//! A client applying delta snapshots from a hostile or broken server: arbitrary bytes decoded as
//! a `ServerMsg` and, if they are a delta (`"delta"`, or packed `"d"`, applied at 30 Hz), received
//! by a `Baselines` store holding a few states.
//! It must never panic; whatever it accepts must be a state with ids sorted and unique (the
//! invariant every later patch relies on).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tickcast_shared::arena::{ArenaServerMsg, QuantizedArena, QuantizedOrb, QuantizedPlayer};
use tickcast_shared::delta::{Baselines, Diffable};
use tickcast_shared::{decode, DeltaSnapshot, ServerMsg};
use uuid::Uuid;

fn base() -> QuantizedArena {
    QuantizedArena {
        players: (1..=3u8)
            .map(|n| QuantizedPlayer {
                id: Uuid::from_bytes([n; 16]),
                name: format!("p{n}").into(),
                x: i32::from(n) * 100,
                y: -1,
                vx: i32::MAX,
                vy: i32::MIN,
                score: u32::MAX,
                last_input: 0,
                held: false,
            })
            .collect(),
        orbs: (0..4u16)
            .map(|id| QuantizedOrb { id, x: 5, y: 6 })
            .collect(),
        round: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let msg = match decode::<ArenaServerMsg>(data) {
        Ok(m @ (ServerMsg::Delta(_) | ServerMsg::Packed(_))) => m,
        _ => return,
    };
    let mut store: Baselines<QuantizedArena> = Baselines::new(4);
    let seed = DeltaSnapshot {
        tick: 10,
        base_tick: 0,
        server_time_ms: 0,
        patch: QuantizedArena::default().diff(&base()),
    };
    store.receive(&seed).expect("the seed state applies");
    let received = match &msg {
        ServerMsg::Delta(d) => store.receive(d),
        ServerMsg::Packed(d) => store.receive_packed(d, 30),
        _ => unreachable!("only deltas get here"),
    };
    if let Ok(state) = received {
        assert!(state.players.windows(2).all(|w| w[0].id < w[1].id));
        assert!(state.orbs.windows(2).all(|w| w[0].id < w[1].id));
    }
});
