//! Feeding a player's queued inputs to the game: once per tick, and once more when its
//! connection is lost, followed by the neutral input that lets go of its controls.
//!
//! The seq promise of [`Game::apply_input`] is kept here and in the seat: the seat only queues
//! increasing seqs (and carries them over a resume, see `seat.rs`), and the neutral input
//! repeats the last seq, since it is no new client input and must not move the player's ack.
//!
//! Talks to: nobody. Called by the room (`room.rs`), which catches the game's panics.

use tickcast_shared::PlayerId;

use crate::game::Game;
use crate::seat::Seat;

/// Applies every input queued in `seat` for `player`, oldest first. `buf` is the room's scratch
/// buffer (kept to avoid an allocation per tick); it is left empty.
pub fn apply_queued<G: Game>(
    game: &mut G,
    player: PlayerId,
    seat: &Seat<G::Input>,
    buf: &mut Vec<(u32, G::Input)>,
) {
    seat.drain_inputs(buf);
    for (seq, input) in buf.drain(..) {
        game.apply_input(player, seq, &input);
    }
}

/// The player's connection is lost: what it queued before the loss is applied, then the
/// neutral input, so a disconnected player stands still rather than running on its last
/// controls until the resume grace is over.
pub fn release_controls<G: Game>(
    game: &mut G,
    player: PlayerId,
    seat: &Seat<G::Input>,
    buf: &mut Vec<(u32, G::Input)>,
) {
    apply_queued(game, player, seat, buf);
    game.apply_input(player, seat.last_input_seq(), &G::Input::default());
}

#[cfg(test)]
mod tests {
    use tickcast_shared::arena::Controls;
    use uuid::Uuid;

    use super::*;
    use crate::game::arena::{Arena, ArenaConfig};

    const P: PlayerId = Uuid::from_bytes([1; 16]);

    fn arena() -> Arena {
        let mut game = Arena::new(ArenaConfig::default(), 7);
        game.player_joined(P, "p");
        game
    }

    fn me(game: &Arena) -> (u32, f32, f32) {
        let state = game.snapshot();
        let p = state
            .players
            .iter()
            .find(|p| p.id == P)
            .expect("the player is in the game");
        (p.last_input, p.vx, p.vy)
    }

    #[test]
    fn queued_inputs_are_applied_oldest_first_and_the_queue_is_emptied() {
        let (mut game, seat, mut buf) = (arena(), Seat::new(), Vec::new());
        seat.push_input(1, Controls::new(-1.0, 0.0, 0))
            .expect("first");
        seat.push_input(2, Controls::new(1.0, 0.0, 0))
            .expect("increasing");
        apply_queued(&mut game, P, &seat, &mut buf);
        game.step(0.1);
        let (ack, vx, _) = me(&game);
        assert_eq!(ack, 2);
        assert!(vx > 0.0, "the newest controls hold: {vx}");
        assert!(buf.is_empty());
        apply_queued(&mut game, P, &seat, &mut buf);
        assert_eq!(me(&game).0, 2, "nothing left to apply");
    }

    #[test]
    fn a_lost_player_lets_go_of_the_controls_it_had_queued() {
        let (mut game, seat, mut buf) = (arena(), Seat::new(), Vec::new());
        seat.push_input(1, Controls::new(1.0, 0.0, 0))
            .expect("first");
        apply_queued(&mut game, P, &seat, &mut buf);
        // Queued after the last tick, before the connection was lost.
        seat.push_input(2, Controls::new(0.0, 1.0, 0))
            .expect("increasing");
        release_controls(&mut game, P, &seat, &mut buf);
        game.step(0.1);
        let (ack, vx, vy) = me(&game);
        assert_eq!(ack, 2, "the ack is the last input the client sent");
        assert_eq!(
            (vx, vy),
            (0.0, 0.0),
            "standing still, not running on 1 or 2"
        );
    }

    #[test]
    fn the_neutral_input_repeats_the_last_seq_and_a_resume_carries_on_above_it() {
        let (mut game, seat, mut buf) = (arena(), Seat::new(), Vec::new());
        seat.push_input(41, Controls::new(1.0, 0.0, 0))
            .expect("first");
        release_controls(&mut game, P, &seat, &mut buf);
        assert_eq!(me(&game).0, 41);
        let resumed = Seat::new();
        resumed.continue_inputs_from(&seat);
        assert!(resumed.push_input(41, Controls::default()).is_err());
        resumed
            .push_input(42, Controls::default())
            .expect("above the neutral's seq");
        apply_queued(&mut game, P, &resumed, &mut buf);
        assert_eq!(me(&game).0, 42);
    }
}
