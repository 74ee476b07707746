//! [`Behaviour`]: how a bot moves, and the steering that turns it into [`Controls`] each input.
//!
//! - `wander`: holds a direction for 0.5–2 s, then picks a new one; turns back toward the centre
//!   near walls; boosts now and then. Looks like a distracted human; keeps every player moving so
//!   snapshots carry changing positions.
//! - `chase`: heads for the orb nearest to it in the last snapshot (wanders until it knows one);
//!   bots compete for orbs, so scores and orb respawns happen.
//! - `idle`: holds still but still sends an input at the input rate (x = y = 0), as an idle
//!   player's client does — input→ack latency is measured the same way.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tickcast_shared::arena::{ArenaInfo, Controls};

use crate::snapshot_view::OwnPlayer;

/// How a bot moves. Parses from `wander`, `chase` or `idle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Behaviour {
    #[default]
    Wander,
    Chase,
    Idle,
}

impl FromStr for Behaviour {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "wander" => Ok(Behaviour::Wander),
            "chase" => Ok(Behaviour::Chase),
            "idle" => Ok(Behaviour::Idle),
            _ => Err(format!(
                "unknown behaviour {s:?}: use wander, chase or idle"
            )),
        }
    }
}

impl fmt::Display for Behaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Behaviour::Wander => "wander",
            Behaviour::Chase => "chase",
            Behaviour::Idle => "idle",
        })
    }
}

/// Per-bot steering state: turns a [`Behaviour`] and the last snapshot into controls.
#[derive(Debug, Clone)]
pub struct Steering {
    behaviour: Behaviour,
    rng: StdRng,
    angle: f32,
    boost: bool,
    next_turn: Instant,
    width: f32,
    height: f32,
    margin: f32,
}

impl Steering {
    /// Steering for one bot; `seed` makes runs reproducible.
    pub fn new(behaviour: Behaviour, seed: u64, arena: &ArenaInfo, now: Instant) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let angle = rng.gen_range(0.0..std::f32::consts::TAU);
        Steering {
            behaviour,
            rng,
            angle,
            boost: false,
            next_turn: now,
            width: arena.width,
            height: arena.height,
            margin: arena.player_radius * 4.0,
        }
    }

    /// The controls to send now. `me` and `orb` come from the newest snapshot, when known.
    pub fn controls(
        &mut self,
        now: Instant,
        me: Option<OwnPlayer>,
        orb: Option<(f32, f32)>,
    ) -> Controls {
        match self.behaviour {
            Behaviour::Idle => Controls::default(),
            Behaviour::Chase => match (me, orb) {
                (Some(p), Some((ox, oy))) => {
                    let (dx, dy) = (ox - p.x, oy - p.y);
                    let len = (dx * dx + dy * dy).sqrt();
                    if len > 1e-3 {
                        Controls::new(dx / len, dy / len, 0)
                    } else {
                        Controls::default()
                    }
                }
                _ => self.wander(now, me),
            },
            Behaviour::Wander => self.wander(now, me),
        }
    }

    fn wander(&mut self, now: Instant, me: Option<OwnPlayer>) -> Controls {
        if now >= self.next_turn {
            self.angle += self.rng.gen_range(-1.5..1.5);
            self.boost = self.rng.gen_bool(0.15);
            self.next_turn = now + Duration::from_millis(self.rng.gen_range(500..2000));
        }
        if let Some(p) = me {
            let near_wall = p.x < self.margin
                || p.y < self.margin
                || p.x > self.width - self.margin
                || p.y > self.height - self.margin;
            if near_wall {
                self.angle = (self.height / 2.0 - p.y).atan2(self.width / 2.0 - p.x)
                    + self.rng.gen_range(-0.5..0.5);
            }
        }
        let buttons = if self.boost { Controls::BOOST } else { 0 };
        Controls::new(self.angle.cos(), self.angle.sin(), buttons)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for b in [Behaviour::Wander, Behaviour::Chase, Behaviour::Idle] {
            assert_eq!(b.to_string().parse::<Behaviour>(), Ok(b));
        }
        assert!("run".parse::<Behaviour>().is_err());
    }

    #[test]
    fn controls_stay_in_range_and_chase_points_at_the_orb() {
        let now = Instant::now();
        let arena = ArenaInfo::default();
        let me = OwnPlayer {
            x: 100.0,
            y: 100.0,
            score: 0,
            last_input: 0,
        };
        let mut s = Steering::new(Behaviour::Chase, 1, &arena, now);
        let c = s.controls(now, Some(me), Some((200.0, 100.0)));
        assert_eq!((c.x, c.y), (1.0, 0.0));
        let mut w = Steering::new(Behaviour::Wander, 2, &arena, now);
        for i in 0..100 {
            let c = w.controls(now + Duration::from_millis(i * 100), Some(me), None);
            assert!((c.x * c.x + c.y * c.y - 1.0).abs() < 1e-3);
        }
        let mut i = Steering::new(Behaviour::Idle, 3, &arena, now);
        assert_eq!(
            i.controls(now, Some(me), Some((1.0, 1.0))),
            Controls::default()
        );
    }
}
