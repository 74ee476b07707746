//! The arena's rounds: play for a fixed number of ticks, then an over-phase that announces the
//! winner with the scores frozen, then scores reset and the next round starts. Pure: the arena
//! calls [`Rounds::step`] once per [`Game::step`](crate::game::Game::step) and resets the scores
//! when told; tests drive it tick by tick.
//!
//! **The clock is the arena's own step count.** The room steps its game exactly once per tick,
//! starting from tick 0, and a migrated room carries its tick and its game together, so after
//! `n` steps the snapshot about to be taken is the room's tick `n`: the [`Round::ends_at`]
//! clients see is in the room's ticks without the game being told the tick.
//!
//! Talks to: nobody. Owned by [`super::Arena`]; saved with it (see [`super::save`]).

use tickcast_shared::arena::{Round, RoundPhase};
use tickcast_shared::PlayerId;

/// How long the phases last, in ticks (the binary turns `--round-secs` into these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundRules {
    /// Ticks of play per round, at least 1.
    pub play_ticks: u32,
    /// Ticks of the over-phase (winner announced, scores frozen), at least 1.
    pub over_ticks: u32,
}

impl RoundRules {
    /// Phases of `play_secs` and `over_secs` at `tick_rate`; `None` (no rounds: the arena plays
    /// one endless game) when `play_secs` is 0. A non-zero duration lasts at least one tick.
    pub fn from_secs(play_secs: u32, over_secs: u32, tick_rate: u16) -> Option<Self> {
        let ticks = |secs: u32| secs.saturating_mul(u32::from(tick_rate)).max(1);
        (play_secs > 0).then(|| RoundRules {
            play_ticks: ticks(play_secs),
            over_ticks: ticks(over_secs),
        })
    }

    /// Whether these rules could have been made by [`RoundRules::from_secs`] (a restored save is
    /// checked with it).
    pub fn is_valid(&self) -> bool {
        self.play_ticks > 0 && self.over_ticks > 0
    }
}

/// What [`Rounds::step`] asks of the arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundEvent {
    /// Play has ended; the scores stand as the round's result.
    Ended,
    /// A new round has started: reset every score to 0.
    Started,
}

/// The round clock and the round in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rounds {
    rules: RoundRules,
    /// Steps taken: the room's tick of the snapshot taken after the last step.
    tick: u64,
    round: Round,
}

impl Rounds {
    /// Round 1, playing from tick 0 (a new room).
    pub fn new(rules: RoundRules) -> Self {
        Rounds {
            rules,
            tick: 0,
            round: Round {
                number: 1,
                phase: RoundPhase::Playing,
                ends_at: u64::from(rules.play_ticks),
                winner: None,
            },
        }
    }

    /// Rounds as saved: `None` when the parts could never have come from [`Rounds::new`] and
    /// [`Rounds::step`] (a phase longer than its rule, already over, a winner while playing …).
    pub fn from_parts(rules: RoundRules, tick: u64, round: Round) -> Option<Self> {
        let (length, winner_allowed) = match round.phase {
            RoundPhase::Playing => (rules.play_ticks, false),
            RoundPhase::Over => (rules.over_ticks, true),
        };
        let left = round.ends_at.checked_sub(tick)?;
        let valid = rules.is_valid()
            && round.number >= 1
            && (1..=u64::from(length)).contains(&left)
            && (winner_allowed || round.winner.is_none());
        valid.then_some(Rounds { rules, tick, round })
    }

    pub fn rules(&self) -> RoundRules {
        self.rules
    }

    /// Steps taken so far (see the module docs).
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// The round as clients see it after the last step.
    pub fn round(&self) -> Round {
        self.round
    }

    /// Whether collecting an orb scores in the step about to run (only while playing).
    pub fn scoring(&self) -> bool {
        self.round.phase == RoundPhase::Playing
    }

    /// Advances the clock by one step, after the arena's physics and scoring of that step.
    /// `scores` are the players' scores now. When a phase ends, the next one starts at once and
    /// its event says what the arena must do.
    ///
    /// The winner is the player whose score is above everyone else's. A shared top score, or
    /// nobody scoring at all, is a draw: no winner (ties are not broken by join order or ids,
    /// which would hand a player a win it did not earn).
    pub fn step(
        &mut self,
        scores: impl IntoIterator<Item = (PlayerId, u32)>,
    ) -> Option<RoundEvent> {
        // Saturating: a restored clock can be anywhere, and 2^64 ticks never pass in a room.
        self.tick = self.tick.saturating_add(1);
        if self.tick < self.round.ends_at {
            return None;
        }
        Some(match self.round.phase {
            RoundPhase::Playing => {
                self.round = Round {
                    number: self.round.number,
                    phase: RoundPhase::Over,
                    ends_at: self.tick.saturating_add(self.rules.over_ticks.into()),
                    winner: sole_top_scorer(scores),
                };
                RoundEvent::Ended
            }
            RoundPhase::Over => {
                self.round = Round {
                    number: self.round.number.saturating_add(1),
                    phase: RoundPhase::Playing,
                    ends_at: self.tick.saturating_add(self.rules.play_ticks.into()),
                    winner: None,
                };
                RoundEvent::Started
            }
        })
    }
}

/// The player whose score is strictly above every other's and above 0.
fn sole_top_scorer(scores: impl IntoIterator<Item = (PlayerId, u32)>) -> Option<PlayerId> {
    let mut best: Option<(PlayerId, u32)> = None;
    let mut shared = false;
    for (id, score) in scores {
        match best {
            Some((_, top)) if score < top => {}
            Some((_, top)) if score == top => shared = true,
            _ => {
                best = Some((id, score));
                shared = false;
            }
        }
    }
    best.filter(|&(_, top)| top > 0 && !shared)
        .map(|(id, _)| id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn pid(n: u8) -> PlayerId {
        Uuid::from_bytes([n; 16])
    }

    const RULES: RoundRules = RoundRules {
        play_ticks: 4,
        over_ticks: 2,
    };

    /// Steps with no players, returning the events.
    fn idle(r: &mut Rounds, ticks: u32) -> Vec<Option<RoundEvent>> {
        (0..ticks).map(|_| r.step([])).collect()
    }

    #[test]
    fn seconds_become_ticks_and_zero_seconds_means_no_rounds() {
        let rules = RoundRules::from_secs(120, 5, 30).unwrap();
        assert_eq!((rules.play_ticks, rules.over_ticks), (3600, 150));
        assert_eq!(RoundRules::from_secs(0, 5, 30), None);
        assert_eq!(
            RoundRules::from_secs(1, 0, 30).unwrap().over_ticks,
            1,
            "an over-phase lasts at least one tick"
        );
    }

    #[test]
    fn a_round_plays_for_its_ticks_then_is_over_then_the_next_one_starts() {
        let mut r = Rounds::new(RULES);
        assert_eq!((r.round().number, r.round().ends_at), (1, 4));
        assert!(r.scoring());
        assert_eq!(idle(&mut r, 3), [None, None, None]);
        assert_eq!(r.round().phase, RoundPhase::Playing);
        assert_eq!(r.step([]), Some(RoundEvent::Ended), "tick 4 ends play");
        assert_eq!(r.tick(), 4);
        let over = r.round();
        assert_eq!(
            (over.number, over.phase, over.ends_at),
            (1, RoundPhase::Over, 6)
        );
        assert!(!r.scoring(), "scores are frozen while the round is over");
        assert_eq!(r.step([]), None);
        assert_eq!(
            r.step([]),
            Some(RoundEvent::Started),
            "tick 6 starts round 2"
        );
        let next = r.round();
        assert_eq!(
            (next.number, next.phase, next.ends_at),
            (2, RoundPhase::Playing, 10)
        );
        assert!(r.scoring());
    }

    #[test]
    fn ends_at_is_constant_for_a_whole_phase() {
        let mut r = Rounds::new(RULES);
        let mut seen = vec![r.round()];
        for _ in 0..11 {
            r.step([]);
            if seen.last() != Some(&r.round()) {
                seen.push(r.round());
            }
        }
        let ends: Vec<u64> = seen.iter().map(|r| r.ends_at).collect();
        assert_eq!(
            ends,
            [4, 6, 10, 12],
            "one value per phase, changing only with it"
        );
    }

    #[test]
    fn the_sole_top_scorer_wins() {
        let mut r = Rounds::new(RULES);
        idle(&mut r, 3);
        r.step([(pid(1), 3), (pid(2), 5), (pid(3), 0)]);
        assert_eq!(r.round().winner, Some(pid(2)));
        idle(&mut r, 2);
        assert_eq!(r.round().winner, None, "the next round has no winner yet");
    }

    #[test]
    fn a_shared_top_score_or_no_score_is_a_draw() {
        let ended = |scores: &[(PlayerId, u32)]| {
            let mut r = Rounds::new(RULES);
            idle(&mut r, 3);
            assert_eq!(r.step(scores.iter().copied()), Some(RoundEvent::Ended));
            r.round().winner
        };
        assert_eq!(ended(&[(pid(1), 5), (pid(2), 5), (pid(3), 1)]), None);
        assert_eq!(ended(&[(pid(1), 1), (pid(2), 5), (pid(3), 5)]), None);
        assert_eq!(ended(&[(pid(1), 0), (pid(2), 0)]), None);
        assert_eq!(ended(&[]), None);
        assert_eq!(
            ended(&[(pid(1), 5), (pid(2), 5), (pid(3), 6)]),
            Some(pid(3))
        );
    }

    #[test]
    fn saved_parts_are_checked_against_the_rules() {
        let mut r = Rounds::new(RULES);
        idle(&mut r, 5);
        assert_eq!(
            Rounds::from_parts(RULES, r.tick(), r.round()),
            Some(r.clone())
        );
        let round = r.round();
        let refused = [
            (
                RULES,
                5,
                Round {
                    ends_at: 5,
                    ..round
                },
            ),
            (
                RULES,
                5,
                Round {
                    ends_at: 8,
                    ..round
                },
            ),
            (RULES, 7, round),
            (RULES, 5, Round { number: 0, ..round }),
            (
                RoundRules {
                    over_ticks: 0,
                    ..RULES
                },
                5,
                round,
            ),
            (
                RULES,
                5,
                Round {
                    phase: RoundPhase::Playing,
                    winner: Some(pid(1)),
                    ..round
                },
            ),
        ];
        for (rules, tick, round) in refused {
            assert_eq!(Rounds::from_parts(rules, tick, round), None, "{round:?}");
        }
    }
}
