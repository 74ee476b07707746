//! A tiny second game: a shared counter every player can add to. It exists to prove that the room
//! runtime is not arena-shaped — its input, state and info types share nothing with the arena's —
//! and it is small enough to host in tests (including one that panics on purpose).

use serde::{Deserialize, Serialize};
use tickcast_shared::delta::{DeltaError, Diffable};
use tickcast_shared::PlayerId;

use super::Game;

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
#[derive(Debug, Default)]
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
}
