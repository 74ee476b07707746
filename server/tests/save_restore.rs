//! A game that travels goes on exactly as if it had stayed: for random scripts of joins, leaves
//! and inputs, stepping N ticks, saving, carrying the bytes in a room image through its encoding,
//! restoring and stepping M more gives, tick by tick and bit for bit, the snapshots, the
//! replicated frames and the saves of stepping N + M ticks without a break.
//!
//! And a saved arena corrupted on its way back is refused or runs: never a panic.

use proptest::prelude::*;
use serde::Serialize;
use tickcast_server::directory::Epoch;
use tickcast_server::game::arena::{Arena, ArenaConfig, RoundRules};
use tickcast_server::game::counter::Counter;
use tickcast_server::game::Game;
use tickcast_server::image::RoomImage;
use tickcast_shared::arena::Controls;
use tickcast_shared::PlayerId;
use uuid::Uuid;

const DT: f32 = 1.0 / 30.0;
const PLAYERS: u8 = 6;

#[derive(Debug, Clone)]
enum Event {
    Join(u8),
    Leave(u8),
    /// A player's stick and buttons (sent whether or not it is in the game: a game ignores the
    /// inputs of players it does not have).
    Input(u8, f32, f32, u8),
}

fn pid(n: u8) -> PlayerId {
    Uuid::from_bytes([n + 1; 16])
}

/// The room's side of the script: who is in, and each player's input seq.
#[derive(Default)]
struct Script {
    joined: [bool; PLAYERS as usize],
    seqs: [u32; PLAYERS as usize],
}

impl Script {
    fn tick<G: Game>(&mut self, g: &mut G, events: &[Event], input: fn(f32, f32, u8) -> G::Input) {
        for e in events {
            match *e {
                Event::Join(n) if !self.joined[usize::from(n)] => {
                    self.joined[usize::from(n)] = true;
                    g.player_joined(pid(n), &format!("p{n}"));
                }
                Event::Leave(n) if self.joined[usize::from(n)] => {
                    self.joined[usize::from(n)] = false;
                    g.player_left(pid(n));
                }
                Event::Input(n, x, y, buttons) => {
                    self.seqs[usize::from(n)] += 1;
                    g.apply_input(pid(n), self.seqs[usize::from(n)], &input(x, y, buttons));
                }
                Event::Join(_) | Event::Leave(_) => {}
            }
        }
        g.step(DT);
    }
}

/// What the world sees of a game after a tick, as bytes: its snapshot, its replicated frame and
/// its save (so floats compare bit for bit, `-0.0` and NaN included).
fn observe<G: Game>(g: &G) -> [Vec<u8>; 3]
where
    G::Frame: Serialize,
{
    let state = g.snapshot();
    [encode(&state), encode(&G::replicate(&state)), g.save()]
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    rmp_serde::to_vec(value).expect("a game's state should encode")
}

/// The game carried the way a migration carries it: saved into a room image, encoded, decoded,
/// restored from the image's game bytes.
fn travel<G: Game>(g: &G) -> G {
    let image = RoomImage {
        room_id: "moving".into(),
        public: true,
        epoch: Epoch(1),
        tick: 0,
        tick_rate: 30,
        max_players: 16,
        game: g.save(),
        members: Vec::new(),
    };
    let image = RoomImage::decode(&image.encode()).expect("an encoded image should decode");
    G::restore(&image.game).expect("a saved game should restore")
}

/// Runs `ticks` twice, once straight through and once with a move after `split` ticks, and
/// checks that both runs look the same after every tick.
fn goes_on_exactly<G: Game>(
    new: impl Fn() -> G,
    ticks: &[Vec<Event>],
    split: usize,
    input: fn(f32, f32, u8) -> G::Input,
) -> Result<(), TestCaseError>
where
    G::Frame: Serialize,
{
    let (mut straight, mut script) = (new(), Script::default());
    let expected: Vec<_> = ticks
        .iter()
        .map(|events| {
            script.tick(&mut straight, events, input);
            observe(&straight)
        })
        .collect();

    let (mut original, mut script) = (new(), Script::default());
    for events in &ticks[..split] {
        script.tick(&mut original, events, input);
    }
    let mut moved = travel(&original);
    prop_assert_eq!(
        moved.save(),
        original.save(),
        "a restored game saves as it was saved"
    );
    drop(original);
    for (t, events) in ticks.iter().enumerate().skip(split) {
        script.tick(&mut moved, events, input);
        prop_assert!(
            observe(&moved) == expected[t],
            "tick {} after a move at {}",
            t + 1,
            split
        );
    }
    Ok(())
}

fn events() -> impl Strategy<Value = Vec<Vec<Event>>> {
    let stick = prop_oneof![8 => -1.5f32..1.5, 1 => Just(f32::NAN), 1 => Just(-0.0f32)];
    let event = prop_oneof![
        1 => (0..PLAYERS).prop_map(Event::Join),
        1 => (0..PLAYERS).prop_map(Event::Leave),
        6 => (0..PLAYERS, stick.clone(), stick, 0..4u8)
            .prop_map(|(n, x, y, b)| Event::Input(n, x, y, b)),
    ];
    prop::collection::vec(prop::collection::vec(event, 0..5), 1..80)
}

/// A box so small that players keep running into orbs, so orbs respawn and draw from the RNG;
/// and rounds so short that a script of up to 80 ticks goes through several (scores frozen,
/// winners, resets), with the move landing in every phase.
fn cramped() -> ArenaConfig {
    let mut c = ArenaConfig::default();
    c.info.width = 160.0;
    c.info.height = 120.0;
    c.orb_count = 6;
    c.rounds = Some(RoundRules {
        play_ticks: 7,
        over_ticks: 3,
    });
    c
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn a_restored_arena_goes_on_exactly_as_the_original_would_have(
        ticks in events(),
        split in any::<prop::sample::Index>(),
        seed in any::<u64>(),
        small in any::<bool>(),
    ) {
        let config = if small { cramped() } else { ArenaConfig::default() };
        let split = split.index(ticks.len() + 1);
        goes_on_exactly(|| Arena::new(config, seed), &ticks, split, Controls::new)?;
    }

    #[test]
    fn a_restored_counter_goes_on_exactly_as_the_original_would_have(
        ticks in events(),
        split in any::<prop::sample::Index>(),
    ) {
        let split = split.index(ticks.len() + 1);
        let delta = |x: f32, y: f32, _| (x * 10.0) as i32 - (y * 10.0) as i32;
        goes_on_exactly(Counter::default, &ticks, split, delta)?;
    }

    #[test]
    fn a_corrupt_saved_arena_is_refused_or_runs_without_panicking(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ticks in events(),
    ) {
        let mut g = Arena::new(cramped(), 11);
        let mut script = Script::default();
        for events in &ticks {
            script.tick(&mut g, events, Controls::new);
        }
        let mut bytes = g.save();
        for (at, xor) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= xor;
        }
        if let Ok(mut g) = Arena::restore(&bytes) {
            for events in &ticks {
                script.tick(&mut g, events, Controls::new);
            }
            let _ = observe(&g);
        }
    }
}

#[test]
fn a_saved_arena_of_another_game_or_layout_is_refused() {
    let mut counter = Counter::default();
    counter.player_joined(pid(0), "c");
    assert!(Arena::restore(&counter.save()).is_err());
    let mut arena = Arena::new(ArenaConfig::default(), 1).save();
    arena[0] += 1;
    assert!(matches!(
        Arena::restore(&arena),
        Err(tickcast_server::game::RestoreError::UnknownVersion { .. })
    ));
}
