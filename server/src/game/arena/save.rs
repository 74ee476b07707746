//! The arena's saved form: what [`Game::save`](crate::game::Game::save) writes for an [`Arena`]
//! and [`Game::restore`](crate::game::Game::restore) reads back, so that a room can move to
//! another node (or come back from a checkpoint) and go on bit for bit.
//!
//! Layout ([`ARENA_SAVE_VERSION`], then a positional MessagePack body, see
//! [`crate::game::saved`]):
//!
//! ```text
//! [ config:  [ [width, height, player_radius, orb_radius, accel, max_speed, drag, boost], orb_count ],
//!   rng:     [ seed: bin(32), stream: u64, word_pos: bin(16) (u128, big-endian) ],
//!   players: [ [id: bin(16), name, x, y, vx, vy, score, last_input, [cx, cy, buttons], held?] … ],
//!   orbs:    [ [id, x, y] … ],
//!   rounds?: [ play_ticks, over_ticks, tick, [number, phase, ends_at, winner: bin(16) | nil] ] ]
//! ```
//!
//! `held?` (the seat is held for a resume) is an optional trailing `true`, absent when the seat
//! is not held: a save without a held seat is byte for byte what layout 1 was before the flag,
//! and every layout-1 save reads back. A build from before the flag refuses (a typed error, no
//! misreading) a save that holds a seat: its player entry has one field more than it knows.
//!
//! `rounds?` (the round rules, the round clock and the round in progress) is likewise an optional
//! trailing field, absent for an arena without rounds, which saves as layout 1 always did. A
//! build from before rounds refuses a save that has them (one field more than it knows), rather
//! than restoring an arena whose rounds would silently stop.
//!
//! Floats are MessagePack `float 32`: exact. The RNG is its abstract ChaCha state (seed, stream,
//! position in the stream, as `rand_chacha` defines it), not its buffer, so a restored RNG
//! yields the very numbers the original would have. The configuration travels with the game:
//! the restoring node's `arena.toml` may differ, and the room must go on as it was.
//!
//! Talks to: nobody; the parent module's `impl Game for Arena` calls `save` and `restore` here.

use std::collections::HashSet;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tickcast_shared::arena::{ArenaInfo, Orb, Round};

use super::rounds::Rounds;
use super::{Arena, ArenaConfig, ArenaConfigError, Player, RoundRules};
use crate::game::saved::{bin, decode_versioned, encode_versioned};
use crate::game::RestoreError;

/// The layout version of a saved arena (see the module docs).
pub const ARENA_SAVE_VERSION: u8 = 1;

#[derive(Serialize, Deserialize)]
struct SavedArena {
    config: (ArenaInfo, u16),
    rng: SavedRng,
    players: Vec<Player>,
    orbs: Vec<Orb>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rounds: Option<SavedRounds>,
}

/// [`Rounds`] in parts: rules, clock, round.
#[derive(Serialize, Deserialize)]
struct SavedRounds {
    play_ticks: u32,
    over_ticks: u32,
    tick: u64,
    round: Round,
}

/// `ChaCha8Rng`'s abstract state: with it, `from_seed` + `set_stream` + `set_word_pos` give back
/// a generator equal to the original (this is how `rand_chacha`'s own `serde1` feature does it).
#[derive(Serialize, Deserialize)]
struct SavedRng {
    #[serde(with = "bin")]
    seed: Vec<u8>,
    stream: u64,
    word_pos: u128,
}

pub(super) fn save(arena: &Arena) -> Vec<u8> {
    let saved = SavedArena {
        config: (arena.config.info, arena.config.orb_count),
        rng: SavedRng {
            seed: arena.rng.get_seed().to_vec(),
            stream: arena.rng.get_stream(),
            word_pos: arena.rng.get_word_pos(),
        },
        players: arena.players.clone(),
        orbs: arena.orbs.clone(),
        rounds: arena.rounds.as_ref().map(|r| SavedRounds {
            play_ticks: r.rules().play_ticks,
            over_ticks: r.rules().over_ticks,
            tick: r.tick(),
            round: r.round(),
        }),
    };
    encode_versioned(ARENA_SAVE_VERSION, &saved)
}

pub(super) fn restore(bytes: &[u8]) -> Result<Arena, RestoreError> {
    let saved: SavedArena = decode_versioned(ARENA_SAVE_VERSION, bytes)?;
    let (info, orb_count) = saved.config;
    let rounds = saved.rounds.map(restore_rounds).transpose()?;
    let config = ArenaConfig {
        info,
        orb_count,
        rounds: rounds.as_ref().map(Rounds::rules),
    };
    config.validate().map_err(|e| match e {
        ArenaConfigError::Invalid(why) => RestoreError::Invalid(why),
        _ => RestoreError::Invalid("invalid arena config"),
    })?;
    check_entities(&config, &saved.players, &saved.orbs)?;
    let seed: [u8; 32] = saved
        .rng
        .seed
        .as_slice()
        .try_into()
        .map_err(|_| RestoreError::Invalid("the RNG seed must be 32 bytes"))?;
    let mut rng = ChaCha8Rng::from_seed(seed);
    rng.set_stream(saved.rng.stream);
    rng.set_word_pos(saved.rng.word_pos);
    Ok(Arena {
        config,
        rng,
        players: saved.players,
        orbs: saved.orbs,
        rounds,
    })
}

fn restore_rounds(saved: SavedRounds) -> Result<Rounds, RestoreError> {
    let rules = RoundRules {
        play_ticks: saved.play_ticks,
        over_ticks: saved.over_ticks,
    };
    Rounds::from_parts(rules, saved.tick, saved.round).ok_or(RestoreError::Invalid(
        "the rounds are not a state the rules allow",
    ))
}

/// What the arena itself maintains: orbs `0..orb_count` in order, finite numbers everywhere (a
/// NaN would spread through the physics and into every snapshot), one entry per player.
fn check_entities(
    config: &ArenaConfig,
    players: &[Player],
    orbs: &[Orb],
) -> Result<(), RestoreError> {
    if orbs.len() != usize::from(config.orb_count) {
        return Err(RestoreError::Invalid("the arena must hold orb_count orbs"));
    }
    if orbs.iter().zip(0..).any(|(o, i)| o.id != i) {
        return Err(RestoreError::Invalid("orbs must be numbered 0.. in order"));
    }
    let finite = |v: &[f32]| v.iter().all(|v| v.is_finite());
    if !orbs.iter().all(|o| finite(&[o.x, o.y])) {
        return Err(RestoreError::Invalid("an orb's position is not finite"));
    }
    let moving = |p: &Player| [p.x, p.y, p.vx, p.vy, p.controls.x, p.controls.y];
    if !players.iter().all(|p| finite(&moving(p))) {
        return Err(RestoreError::Invalid("a player's motion is not finite"));
    }
    let mut ids = HashSet::with_capacity(players.len());
    if !players.iter().all(|p| ids.insert(p.id)) {
        return Err(RestoreError::Invalid("a player is in the arena twice"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use tickcast_shared::arena::Controls;
    use uuid::Uuid;

    use super::*;
    use crate::game::Game;

    const DT: f32 = 1.0 / 30.0;

    fn pid(n: u8) -> Uuid {
        Uuid::from_bytes([n; 16])
    }

    fn small() -> ArenaConfig {
        let mut c = ArenaConfig::default();
        c.info.width = 120.0;
        c.info.height = 90.0;
        c.orb_count = 3;
        c
    }

    #[test]
    fn a_restored_arena_draws_the_same_random_numbers() {
        let mut a = Arena::new(ArenaConfig::default(), 5);
        a.player_joined(pid(1), "a");
        let mut b = Arena::restore(&a.save()).unwrap();
        assert_eq!(
            a.rng, b.rng,
            "the generator is equal, buffer position included"
        );
        a.player_joined(pid(2), "b");
        b.player_joined(pid(2), "b");
        assert_eq!(a.position(pid(2)), b.position(pid(2)));
    }

    #[test]
    fn a_restored_arena_keeps_its_own_config_and_held_controls() {
        let mut a = Arena::new(small(), 1);
        a.player_joined(pid(1), "a");
        a.apply_input(pid(1), 9, &Controls::new(0.5, -1.0, Controls::BOOST));
        let mut b = Arena::restore(&a.save()).unwrap();
        assert_eq!(b.info(), small().info);
        a.step(DT);
        b.step(DT);
        assert_eq!(a.snapshot(), b.snapshot(), "the held stick still pushes");
        assert_eq!(b.snapshot().players[0].last_input, 9);
    }

    #[test]
    fn saving_a_restored_arena_gives_the_same_bytes() {
        let mut a = Arena::new(small(), 3);
        a.player_joined(pid(1), "é");
        a.step(DT);
        let bytes = a.save();
        assert_eq!(Arena::restore(&bytes).unwrap().save(), bytes);
    }

    #[test]
    fn the_saved_arena_layout_is_pinned() {
        let mut c = small();
        c.orb_count = 1;
        let mut a = Arena::new(c, 0);
        a.player_joined(pid(7), "z");
        a.place_player(pid(7), 30.0, 40.0);
        a.place_orb(0, 1.5, 2.5);
        let hex: String = a.save().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex, PINNED_ARENA,
            "a layout change needs a new ARENA_SAVE_VERSION"
        );
    }

    /// Version 1, then `[config, rng, players, orbs]`.
    const PINNED_ARENA: &str = concat!(
        "01",
        "94",
        // config: the eight ArenaInfo floats, orb_count 1
        "9298ca42f00000ca42b40000ca41a00000ca41000000ca44e10000ca43a00000ca3ca3d70aca3fcccccd01",
        // rng: seed (bin 32), stream 0, word_pos 4 (bin 16)
        "93c420ecf273f981b5cd4587f0467306ad6cadd0d0a3e33317e767f29bea72d78a7dfe00",
        "c41000000000000000000000000000000004",
        // players: one [id, "z", 30, 40, 0, 0, score 0, last_input 0, [0, 0, 0]]
        "9199c41007070707070707070707070707070707a17aca41f00000ca42200000ca00000000ca00000000",
        "000093ca00000000ca0000000000",
        // orbs: one [0, 1.5, 2.5]
        "919300ca3fc00000ca40200000",
    );

    #[test]
    fn rounds_are_saved_as_a_trailing_field_and_go_on_after_a_restore() {
        let mut c = small();
        c.orb_count = 1;
        c.rounds = Some(RoundRules {
            play_ticks: 3,
            over_ticks: 2,
        });
        let mut a = Arena::new(c, 0);
        a.player_joined(pid(7), "z");
        a.place_player(pid(7), 30.0, 40.0);
        a.place_orb(0, 1.5, 2.5);
        let bytes = a.save();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        // Five fields; rounds [3, 2, tick 0, [round 1, playing, ends_at 3, no winner]].
        let pinned = format!(
            "{}{}",
            PINNED_ARENA.replacen("0194", "0195", 1),
            "9403020094010003c0"
        );
        assert_eq!(hex, pinned);
        let mut b = Arena::restore(&bytes).unwrap();
        assert_eq!(b.save(), bytes);
        for _ in 0..4 {
            a.step(DT);
            b.step(DT);
            assert_eq!(a.snapshot(), b.snapshot());
        }
        assert_eq!(b.snapshot().round.map(|r| r.number), Some(1));
        assert_eq!(a.save(), b.save());
    }

    #[test]
    fn a_held_seat_is_saved_as_a_trailing_flag_and_restored() {
        let mut c = small();
        c.orb_count = 1;
        let mut a = Arena::new(c, 0);
        a.player_joined(pid(7), "z");
        a.place_player(pid(7), 30.0, 40.0);
        a.place_orb(0, 1.5, 2.5);
        a.player_connection(pid(7), true);
        let bytes = a.save();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let pinned = PINNED_ARENA
            .replace("9199c410", "919ac410")
            .replace("93ca00000000ca0000000000", "93ca00000000ca0000000000c3");
        assert_eq!(hex, pinned, "ten fields, the last one `true`");
        let b = Arena::restore(&bytes).unwrap();
        assert!(b.snapshot().players[0].held);
        assert_eq!(b.save(), bytes);
    }

    /// A change to a saved arena that a test makes.
    type Edit = fn(&mut SavedArena);

    fn refusal(edit: Edit) -> RestoreError {
        let mut a = Arena::new(small(), 2);
        a.player_joined(pid(1), "a");
        let mut saved: SavedArena = decode_versioned(ARENA_SAVE_VERSION, &a.save()).unwrap();
        edit(&mut saved);
        match restore(&encode_versioned(ARENA_SAVE_VERSION, &saved)) {
            Err(e) => e,
            Ok(_) => panic!("the edited arena should have been refused"),
        }
    }

    #[test]
    fn states_the_arena_could_never_reach_are_refused() {
        let cases: [(&str, Edit); 8] = [
            ("finite and > 0", |s| s.config.0.width = f32::NAN),
            ("orb_count", |s| s.config.1 = 4),
            ("numbered", |s| s.orbs[1].id = 7),
            ("orb's position", |s| s.orbs[0].x = f32::INFINITY),
            ("motion", |s| s.players[0].controls.x = f32::NAN),
            ("twice", |s| s.players.push(s.players[0].clone())),
            ("32 bytes", |s| s.rng.seed.truncate(31)),
            ("rounds", |s| {
                s.rounds = Some(SavedRounds {
                    play_ticks: 3,
                    over_ticks: 2,
                    tick: 9,
                    round: Round {
                        number: 1,
                        phase: tickcast_shared::arena::RoundPhase::Playing,
                        ends_at: 3,
                        winner: None,
                    },
                })
            }),
        ];
        for (why, edit) in cases {
            let e = refusal(edit);
            assert!(
                matches!(e, RestoreError::Invalid(_)) && e.to_string().contains(why),
                "{why}: {e}"
            );
        }
    }
}
