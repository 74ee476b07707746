//! The arena: players move in a 2-D box with inertia and collect orbs that respawn at random
//! places. Pure and deterministic for a given seed and input sequence (ChaCha8 RNG, f32 math,
//! players processed in join order).
//!
//! The physics is specified in `shared/PROTOCOL.md` so clients can predict their own player.
//! Play is cut into rounds when the config has [`RoundRules`] (see [`rounds`]). Its saved form,
//! for a room that moves to another node, is in [`save`].

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tickcast_shared::arena::{ArenaInfo, ArenaState, Controls, Orb, PlayerState, QuantizedArena};
use tickcast_shared::PlayerId;

use super::{Game, RestoreError};

mod config;
pub mod rounds;
pub mod save;

pub use config::{ArenaConfig, ArenaConfigError};
pub use rounds::RoundRules;
use rounds::{RoundEvent, Rounds};

/// One player. Its fields, in this order, are its saved layout (see [`save`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Player {
    id: PlayerId,
    /// Shared with every snapshot state taken of this player: a tick's names are refcount
    /// bumps. Saved as a string.
    name: Arc<str>,
    x: f32,
    y: f32,
    vx: f32,
    vy: f32,
    score: u32,
    last_input: u32,
    controls: Controls,
    /// The seat is held for a resume (see [`Game::player_connection`]). Saved as an optional
    /// trailing field, absent when `false`, so saves without a held seat keep layout 1.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    held: bool,
}

/// The arena game. See the module docs.
#[derive(Debug, Clone)]
pub struct Arena {
    config: ArenaConfig,
    rng: ChaCha8Rng,
    players: Vec<Player>,
    orbs: Vec<Orb>,
    /// `Some` when `config.rounds` is.
    rounds: Option<Rounds>,
}

impl Arena {
    pub fn new(config: ArenaConfig, seed: u64) -> Self {
        let mut arena = Arena {
            config,
            rng: ChaCha8Rng::seed_from_u64(seed),
            players: Vec::new(),
            orbs: Vec::with_capacity(config.orb_count as usize),
            rounds: config.rounds.map(Rounds::new),
        };
        for id in 0..config.orb_count {
            let (x, y) = arena.random_point(config.info.orb_radius);
            arena.orbs.push(Orb { id, x, y });
        }
        arena
    }

    fn random_point(&mut self, margin: f32) -> (f32, f32) {
        let c = &self.config.info;
        (
            self.rng.gen_range(margin..=c.width - margin),
            self.rng.gen_range(margin..=c.height - margin),
        )
    }

    /// Position of a player, for tests and tools.
    pub fn position(&self, id: PlayerId) -> Option<(f32, f32)> {
        self.players.iter().find(|p| p.id == id).map(|p| (p.x, p.y))
    }

    /// Puts an orb at a chosen place (tests).
    pub fn place_orb(&mut self, index: usize, x: f32, y: f32) {
        if let Some(o) = self.orbs.get_mut(index) {
            o.x = x;
            o.y = y;
        }
    }

    /// Scores for every player touching an orb, and moves each orb touched.
    fn collect_orbs(&mut self) {
        let c = self.config.info;
        let reach = c.player_radius + c.orb_radius;
        for pi in 0..self.players.len() {
            for oi in 0..self.orbs.len() {
                let (p, o) = (&self.players[pi], self.orbs[oi]);
                let (dx, dy) = (p.x - o.x, p.y - o.y);
                if dx * dx + dy * dy <= reach * reach {
                    self.players[pi].score += 1;
                    let (x, y) = self.random_point(c.orb_radius);
                    self.orbs[oi].x = x;
                    self.orbs[oi].y = y;
                }
            }
        }
    }

    /// Moves a player to a chosen place (tests).
    pub fn place_player(&mut self, id: PlayerId, x: f32, y: f32) {
        if let Some(p) = self.players.iter_mut().find(|p| p.id == id) {
            p.x = x;
            p.y = y;
        }
    }
}

impl Game for Arena {
    type Input = Controls;
    type State = ArenaState;
    type Info = ArenaInfo;
    type Frame = QuantizedArena;

    fn replicate(state: &ArenaState) -> QuantizedArena {
        QuantizedArena::from_state(state)
    }

    fn info(&self) -> ArenaInfo {
        self.config.info
    }

    fn player_joined(&mut self, id: PlayerId, name: &str) {
        let (x, y) = self.random_point(self.config.info.player_radius);
        self.players.push(Player {
            id,
            name: name.into(),
            x,
            y,
            vx: 0.0,
            vy: 0.0,
            score: 0,
            last_input: 0,
            controls: Controls::default(),
            held: false,
        });
    }

    fn player_left(&mut self, id: PlayerId) {
        self.players.retain(|p| p.id != id);
    }

    fn player_connection(&mut self, id: PlayerId, held: bool) {
        if let Some(p) = self.players.iter_mut().find(|p| p.id == id) {
            p.held = held;
        }
    }

    fn apply_input(&mut self, id: PlayerId, seq: u32, input: &Controls) {
        if let Some(p) = self.players.iter_mut().find(|p| p.id == id) {
            p.controls = input.sanitized();
            p.last_input = seq;
        }
    }

    fn step(&mut self, dt: f32) {
        let c = self.config.info;
        let keep = c.drag.powf(dt);
        for p in &mut self.players {
            let k = if p.controls.boost() { c.boost } else { 1.0 };
            p.vx += p.controls.x * c.accel * k * dt;
            p.vy += p.controls.y * c.accel * k * dt;
            p.vx *= keep;
            p.vy *= keep;
            let speed = (p.vx * p.vx + p.vy * p.vy).sqrt();
            let max = c.max_speed * k;
            if speed > max {
                p.vx = p.vx / speed * max;
                p.vy = p.vy / speed * max;
            }
            p.x += p.vx * dt;
            p.y += p.vy * dt;
            let r = c.player_radius;
            if p.x < r || p.x > c.width - r {
                p.x = p.x.clamp(r, c.width - r);
                p.vx = 0.0;
            }
            if p.y < r || p.y > c.height - r {
                p.y = p.y.clamp(r, c.height - r);
                p.vy = 0.0;
            }
        }
        if self.rounds.as_ref().is_none_or(Rounds::scoring) {
            self.collect_orbs();
        }
        if let Some(rounds) = &mut self.rounds {
            let scores = self.players.iter().map(|p| (p.id, p.score));
            if rounds.step(scores) == Some(RoundEvent::Started) {
                for p in &mut self.players {
                    p.score = 0;
                }
            }
        }
    }

    fn snapshot(&self) -> ArenaState {
        ArenaState {
            players: self
                .players
                .iter()
                .map(|p| PlayerState {
                    id: p.id,
                    name: p.name.clone(),
                    x: p.x,
                    y: p.y,
                    vx: p.vx,
                    vy: p.vy,
                    score: p.score,
                    last_input: p.last_input,
                    held: p.held,
                })
                .collect(),
            orbs: self.orbs.clone(),
            round: self.rounds.as_ref().map(Rounds::round),
        }
    }

    fn save(&self) -> Vec<u8> {
        save::save(self)
    }

    fn restore(bytes: &[u8]) -> Result<Self, RestoreError> {
        save::restore(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickcast_shared::arena::RoundPhase;
    use uuid::Uuid;

    const DT: f32 = 1.0 / 30.0;

    fn pid(n: u8) -> PlayerId {
        Uuid::from_bytes([n; 16])
    }

    fn run(seed: u64, ticks: u32) -> Vec<ArenaState> {
        let mut g = Arena::new(ArenaConfig::default(), seed);
        g.player_joined(pid(1), "a");
        g.player_joined(pid(2), "b");
        let mut out = Vec::new();
        for t in 1..=ticks {
            let dir = (t as f32 * 0.1).sin();
            g.apply_input(
                pid(1),
                t,
                &Controls::new(dir, 1.0 - dir.abs(), (t % 3 == 0) as u8),
            );
            g.apply_input(pid(2), t, &Controls::new(-1.0, dir, 0));
            g.step(DT);
            out.push(g.snapshot());
        }
        out
    }

    #[test]
    fn same_seed_and_inputs_give_identical_states() {
        assert_eq!(run(7, 300), run(7, 300));
    }

    #[test]
    fn different_seeds_place_orbs_differently() {
        assert_ne!(run(1, 1)[0].orbs, run(2, 1)[0].orbs);
    }

    #[test]
    fn players_never_leave_the_arena() {
        let c = ArenaConfig::default().info;
        let mut g = Arena::new(ArenaConfig::default(), 3);
        g.player_joined(pid(1), "a");
        for t in 1..=200 {
            g.apply_input(pid(1), t, &Controls::new(1.0, -1.0, Controls::BOOST));
            g.step(DT);
        }
        let s = g.snapshot();
        let p = &s.players[0];
        assert_eq!(p.x, c.width - c.player_radius);
        assert_eq!(p.y, c.player_radius);
        assert_eq!(
            (p.vx, p.vy),
            (0.0, 0.0),
            "velocity into a wall is cancelled"
        );
    }

    #[test]
    fn inertia_builds_speed_gradually_up_to_the_cap() {
        let c = ArenaConfig::default().info;
        let mut g = Arena::new(ArenaConfig::default(), 3);
        g.player_joined(pid(1), "a");
        g.place_player(pid(1), 100.0, 450.0);
        g.apply_input(pid(1), 1, &Controls::new(1.0, 0.0, 0));
        g.step(DT);
        let v1 = g.snapshot().players[0].vx;
        assert!(v1 > 0.0 && v1 < c.max_speed);
        for _ in 0..60 {
            g.step(DT);
        }
        let v = g.snapshot().players[0].vx;
        assert!(v > v1 && v <= c.max_speed + 1e-3, "{v}");
        // Release the stick: drag slows the player down.
        g.apply_input(pid(1), 2, &Controls::default());
        g.step(DT);
        assert!(g.snapshot().players[0].vx < v);
    }

    #[test]
    fn touching_an_orb_scores_and_respawns_it() {
        let mut g = Arena::new(ArenaConfig::default(), 9);
        g.player_joined(pid(1), "a");
        let (x, y) = g.position(pid(1)).unwrap();
        g.place_orb(0, x + 5.0, y);
        g.step(DT);
        let s = g.snapshot();
        assert_eq!(s.players[0].score, 1);
        let o = s.orbs[0];
        assert!((o.x, o.y) != (x + 5.0, y), "the orb moved");
        assert_eq!(s.orbs.len(), ArenaConfig::default().orb_count as usize);
    }

    #[test]
    fn hostile_controls_are_sanitized() {
        let mut g = Arena::new(ArenaConfig::default(), 1);
        g.player_joined(pid(1), "a");
        g.apply_input(pid(1), 1, &Controls::new(f32::NAN, f32::INFINITY, 0));
        g.step(DT);
        let p = &g.snapshot().players[0];
        assert!(p.x.is_finite() && p.y.is_finite());
        assert_eq!((p.vx, p.vy), (0.0, 0.0));
    }

    #[test]
    fn snapshot_reports_the_last_applied_input_per_player() {
        let mut g = Arena::new(ArenaConfig::default(), 1);
        g.player_joined(pid(1), "a");
        g.player_joined(pid(2), "b");
        g.apply_input(pid(1), 5, &Controls::default());
        let s = g.snapshot();
        assert_eq!((s.players[0].last_input, s.players[1].last_input), (5, 0));
        g.player_left(pid(1));
        assert_eq!(g.snapshot().players.len(), 1);
    }

    #[test]
    fn a_held_seat_is_marked_in_snapshots_until_the_player_comes_back() {
        let mut g = Arena::new(ArenaConfig::default(), 1);
        g.player_joined(pid(1), "a");
        g.player_joined(pid(2), "b");
        let held =
            |g: &Arena| -> Vec<bool> { g.snapshot().players.iter().map(|p| p.held).collect() };
        assert_eq!(held(&g), [false, false]);
        g.player_connection(pid(2), true);
        g.step(DT);
        assert_eq!(held(&g), [false, true]);
        g.player_connection(pid(9), true);
        assert_eq!(held(&g), [false, true], "an unknown player changes nothing");
        g.player_connection(pid(2), false);
        assert_eq!(held(&g), [false, false]);
    }

    fn with_rounds(play_ticks: u32, over_ticks: u32) -> Arena {
        let config = ArenaConfig {
            orb_count: 1,
            rounds: Some(RoundRules {
                play_ticks,
                over_ticks,
            }),
            ..ArenaConfig::default()
        };
        Arena::new(config, 4)
    }

    /// Players 1 and 2, far apart.
    fn two_players(g: &mut Arena) {
        g.player_joined(pid(1), "a");
        g.player_joined(pid(2), "b");
        g.place_player(pid(1), 100.0, 100.0);
        g.place_player(pid(2), 1500.0, 800.0);
    }

    /// Puts orb 0 on player 1, so the next step scores for it (while scoring counts).
    fn feed(g: &mut Arena) {
        let (x, y) = g.position(pid(1)).expect("player 1 should be in the arena");
        g.place_orb(0, x, y);
    }

    #[test]
    fn an_arena_without_rounds_has_no_round_in_its_snapshots() {
        let mut g = Arena::new(ArenaConfig::default(), 1);
        g.step(DT);
        assert_eq!(g.snapshot().round, None);
    }

    #[test]
    fn the_round_ends_on_time_with_the_top_scorer_as_winner() {
        let mut g = with_rounds(3, 2);
        two_players(&mut g);
        let round = |g: &Arena| g.snapshot().round.expect("rounds are on");
        assert_eq!((round(&g).number, round(&g).ends_at), (1, 3));
        for _ in 0..3 {
            feed(&mut g);
            g.step(DT);
        }
        let over = round(&g);
        assert_eq!((over.phase, over.ends_at), (RoundPhase::Over, 5));
        assert_eq!(over.winner, Some(pid(1)));
        assert_eq!(
            g.snapshot().players[0].score,
            3,
            "the last tick of play scores"
        );
    }

    #[test]
    fn scores_are_frozen_while_the_round_is_over_and_reset_when_the_next_starts() {
        let mut g = with_rounds(1, 2);
        two_players(&mut g);
        feed(&mut g);
        g.step(DT);
        assert_eq!(g.snapshot().players[0].score, 1);
        feed(&mut g);
        g.step(DT);
        let s = g.snapshot();
        assert_eq!(
            s.players[0].score, 1,
            "touching an orb in the over-phase does not score"
        );
        assert_eq!(s.round.map(|r| r.phase), Some(RoundPhase::Over));
        g.step(DT);
        let s = g.snapshot();
        let round = s.round.expect("rounds are on");
        assert_eq!(
            (round.number, round.phase, round.winner),
            (2, RoundPhase::Playing, None)
        );
        assert_eq!(s.players[0].score, 0, "a new round starts from zero");
    }

    #[test]
    fn rounds_are_deterministic() {
        let play = || {
            let mut g = with_rounds(5, 3);
            g.player_joined(pid(1), "a");
            g.player_joined(pid(2), "b");
            (1..=40)
                .map(|t| {
                    g.apply_input(pid(1), t, &Controls::new(1.0, (t as f32).sin(), 0));
                    g.step(DT);
                    g.snapshot()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(play(), play());
    }
}
