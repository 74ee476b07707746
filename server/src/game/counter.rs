//! A tiny second game: a shared counter every player can add to. It exists to prove that the room
//! runtime is not arena-shaped — its input, state and info types share nothing with the arena's —
//! and it is small enough to host in tests (including one that panics on purpose).
//!
//! Saved form ([`Game::save`]): [`COUNTER_SAVE_VERSION`], then the [`Counter`]'s fields in
//! declaration order (`[total, [[player, seq]…], pending, panic_on]`).

use serde::{Deserialize, Serialize};
use tickcast_shared::delta::{DeltaError, Diffable};
use tickcast_shared::PlayerId;

use super::saved::{decode_versioned, encode_versioned};
use super::{Game, RestoreError};

/// The layout version of a saved counter (see the module docs).
pub const COUNTER_SAVE_VERSION: u8 = 1;

/// The counter's snapshot state: the total and each player's ack.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CounterState {
    pub total: i64,
    /// `(player, last applied input seq)` in join order.
    pub players: Vec<(PlayerId, u32)>,
}

/// The counter's state is tiny, so its "patch" is simply the whole state.
impl Diffable for CounterState {
    type Patch = CounterState;

    fn diff(&self, next: &Self) -> CounterState {
        next.clone()
    }

    fn apply(&self, patch: &CounterState) -> Result<Self, DeltaError> {
        Ok(patch.clone())
    }
}

/// A shared counter. Input: a delta, clamped to -10..=10. `panic_on` makes a chosen delta panic,
/// to test room supervision.
///
/// Its fields, in this order, are its saved layout: reordering them changes the layout.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Counter {
    total: i64,
    players: Vec<(PlayerId, u32)>,
    pending: i64,
    pub panic_on: Option<i32>,
}

impl Game for Counter {
    type Input = i32;
    type State = CounterState;
    type Info = String;
    type Frame = CounterState;

    fn replicate(state: &CounterState) -> CounterState {
        state.clone()
    }

    fn info(&self) -> String {
        "counter".to_string()
    }

    fn player_joined(&mut self, id: PlayerId, _name: &str) {
        self.players.push((id, 0));
    }

    fn player_left(&mut self, id: PlayerId) {
        self.players.retain(|(p, _)| *p != id);
    }

    fn apply_input(&mut self, id: PlayerId, seq: u32, delta: &i32) {
        if Some(*delta) == self.panic_on {
            panic!("counter asked to panic on {delta}");
        }
        if let Some(p) = self.players.iter_mut().find(|(p, _)| *p == id) {
            p.1 = seq;
            self.pending += i64::from((*delta).clamp(-10, 10));
        }
    }

    fn step(&mut self, _dt: f32) {
        self.total += std::mem::take(&mut self.pending);
    }

    fn snapshot(&self) -> CounterState {
        CounterState {
            total: self.total,
            players: self.players.clone(),
        }
    }

    fn save(&self) -> Vec<u8> {
        encode_versioned(COUNTER_SAVE_VERSION, self)
    }

    fn restore(bytes: &[u8]) -> Result<Self, RestoreError> {
        decode_versioned(COUNTER_SAVE_VERSION, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn inputs_add_up_on_the_next_step() {
        let (a, b) = (Uuid::from_bytes([1; 16]), Uuid::from_bytes([2; 16]));
        let mut g = Counter::default();
        g.player_joined(a, "a");
        g.player_joined(b, "b");
        g.apply_input(a, 1, &3);
        g.apply_input(b, 1, &100);
        assert_eq!(g.snapshot().total, 0, "not applied before the step");
        g.step(0.1);
        assert_eq!(
            g.snapshot(),
            CounterState {
                total: 13,
                players: vec![(a, 1), (b, 1)]
            }
        );
    }

    #[test]
    fn a_restored_counter_keeps_its_pending_inputs_and_its_panic_hook() {
        let a = Uuid::from_bytes([1; 16]);
        let mut g = Counter {
            panic_on: Some(7),
            ..Counter::default()
        };
        g.player_joined(a, "a");
        g.apply_input(a, 4, &5);
        let mut r = Counter::restore(&g.save()).unwrap();
        assert_eq!(r.panic_on, Some(7));
        r.step(0.1);
        assert_eq!(
            r.snapshot(),
            CounterState {
                total: 5,
                players: vec![(a, 4)]
            }
        );
    }

    #[test]
    fn the_saved_counter_layout_is_pinned() {
        let mut g = Counter::default();
        g.player_joined(Uuid::from_bytes([0xab; 16]), "a");
        g.apply_input(Uuid::from_bytes([0xab; 16]), 2, &-3);
        g.step(0.1);
        let mut want = vec![COUNTER_SAVE_VERSION, 0x94, 0xfd, 0x91, 0x92, 0xc4, 16];
        want.extend([0xab; 16]);
        want.extend([0x02, 0x00, 0xc0]);
        assert_eq!(
            g.save(),
            want,
            "a layout change needs a new COUNTER_SAVE_VERSION"
        );
    }
}
