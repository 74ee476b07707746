//! A room: the arena game of `tickcast-server` (the same simulation, so both servers do the
//! same game work), its players' latest-wins snapshot slots, and the task that ticks it.
//!
//! [`Room`] holds the rules and is stepped by hand in the tests; [`run`] only wires it to a
//! clock and a command channel. Connection tasks (`conn.rs`) talk to it through [`RoomCmd`]s,
//! which the room drains once per tick: it is never woken by an input, only by its timer.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tickcast_server::game::arena::{Arena, ArenaConfig};
use tickcast_server::game::Game;
use tickcast_shared::arena::{ArenaServerMsg, ArenaWelcome, Controls};
use tickcast_shared::{encode_into, EncodeError, PlayerId, Snapshot, Welcome};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::MissedTickBehavior;

/// A player's latest-wins slot: the room replaces its content every tick, the connection sends
/// whatever is newest when it gets to it (a snapshot replaced before it was sent is dropped).
pub type Slot = watch::Sender<Option<Bytes>>;

/// What a connection tells its room.
#[derive(Debug)]
pub enum RoomCmd {
    /// A player joins; the room answers with its welcome.
    Join {
        player: PlayerId,
        name: String,
        slot: Slot,
        welcome: oneshot::Sender<ArenaWelcome>,
    },
    Input {
        player: PlayerId,
        seq: u32,
        controls: Controls,
    },
    Leave {
        player: PlayerId,
    },
}

struct Member {
    player: PlayerId,
    last_seq: u32,
    slot: Slot,
}

/// One room's state. See the module docs.
pub struct Room {
    id: String,
    tick_rate: u16,
    max_players: u16,
    game: Arena,
    tick: u64,
    members: Vec<Member>,
    /// The encoding buffer, reused every tick.
    buf: Vec<u8>,
}

impl Room {
    pub fn new(id: String, tick_rate: u16, max_players: u16, seed: u64) -> Self {
        Room {
            id,
            tick_rate,
            max_players,
            game: Arena::new(ArenaConfig::default(), seed),
            tick: 0,
            members: Vec::new(),
            buf: Vec::with_capacity(1024),
        }
    }

    /// Applies one command; a join is answered on its `welcome` channel.
    pub fn apply(&mut self, cmd: RoomCmd) {
        match cmd {
            RoomCmd::Join {
                player,
                name,
                slot,
                welcome,
            } => {
                self.game.player_joined(player, &name);
                self.members.push(Member {
                    player,
                    last_seq: 0,
                    slot,
                });
                // A connection that gave up waiting is noticed by its slot closing.
                let _ = welcome.send(self.welcome(player));
            }
            RoomCmd::Input {
                player,
                seq,
                controls,
            } => {
                // As tickcast's seat: only a seq above the last applied one counts.
                if let Some(m) = self.members.iter_mut().find(|m| m.player == player) {
                    if seq > m.last_seq {
                        m.last_seq = seq;
                        self.game.apply_input(player, seq, &controls);
                    }
                }
            }
            RoomCmd::Leave { player } => {
                self.members.retain(|m| m.player != player);
                self.game.player_left(player);
            }
        }
    }

    fn welcome(&self, player: PlayerId) -> ArenaWelcome {
        Welcome {
            player_id: player,
            room_id: self.id.clone(),
            tick_rate: self.tick_rate,
            tick: self.tick,
            max_players: self.max_players,
            game: self.game.info(),
            resume_token: None,
        }
    }

    /// One tick: step the game, encode its snapshot once, and put the same bytes in every
    /// member's slot. Returns how many members got it.
    pub fn tick(&mut self, server_time_ms: u64) -> Result<usize, EncodeError> {
        self.tick += 1;
        self.game.step(1.0 / f32::from(self.tick_rate));
        let msg = ArenaServerMsg::Snapshot(Snapshot {
            tick: self.tick,
            server_time_ms,
            state: self.game.snapshot(),
        });
        encode_into(&msg, &mut self.buf)?;
        let bytes = Bytes::copy_from_slice(&self.buf);
        for m in &self.members {
            m.slot.send_replace(Some(bytes.clone()));
        }
        Ok(self.members.len())
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

/// Ticks `room` every `1 / tick_rate` seconds, applying the commands queued since the last
/// tick first. Ends when the room is empty after its first player joined, or on an encoding
/// failure (which the arena's state cannot produce).
pub async fn run(mut room: Room, mut commands: mpsc::UnboundedReceiver<RoomCmd>) {
    let period = Duration::from_secs_f64(1.0 / f64::from(room.tick_rate.max(1)));
    let mut timer = tokio::time::interval(period);
    timer.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut had_players = false;
    loop {
        timer.tick().await;
        while let Ok(cmd) = commands.try_recv() {
            room.apply(cmd);
        }
        had_players |= !room.is_empty();
        if had_players && room.is_empty() {
            return;
        }
        if let Err(e) = room.tick(unix_ms()) {
            eprintln!("room {}: {e}", room.id);
            return;
        }
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickcast_shared::decode;

    fn join(room: &mut Room, name: &str) -> (PlayerId, watch::Receiver<Option<Bytes>>) {
        let player = PlayerId::new_v4();
        let (slot, rx) = watch::channel(None);
        let (tx, mut welcome) = oneshot::channel();
        room.apply(RoomCmd::Join {
            player,
            name: name.into(),
            slot,
            welcome: tx,
        });
        let w = welcome
            .try_recv()
            .expect("a join should be welcomed at once");
        assert_eq!((w.player_id, w.room_id.as_str()), (player, "r"));
        (player, rx)
    }

    fn latest(
        rx: &mut watch::Receiver<Option<Bytes>>,
    ) -> Snapshot<tickcast_shared::arena::ArenaState> {
        let bytes = rx
            .borrow_and_update()
            .clone()
            .expect("a snapshot should be in the slot");
        match decode::<ArenaServerMsg>(&bytes).expect("the room's bytes should decode") {
            ArenaServerMsg::Snapshot(s) => s,
            other => panic!("expected a snapshot, got {other:?}"),
        }
    }

    #[test]
    fn every_member_gets_the_same_snapshot_each_tick() {
        let mut room = Room::new("r".into(), 30, 8, 1);
        let (_, mut a) = join(&mut room, "a");
        let (_, mut b) = join(&mut room, "b");
        assert_eq!(room.tick(5).expect("should encode"), 2);
        let (sa, sb) = (latest(&mut a), latest(&mut b));
        assert_eq!(sa, sb);
        assert_eq!(
            (sa.tick, sa.server_time_ms, sa.state.players.len()),
            (1, 5, 2)
        );
    }

    #[test]
    fn the_slot_keeps_only_the_newest_snapshot() {
        let mut room = Room::new("r".into(), 30, 8, 1);
        let (_, mut a) = join(&mut room, "a");
        room.tick(1).expect("should encode");
        room.tick(2).expect("should encode");
        assert_eq!(latest(&mut a).tick, 2);
        assert!(!a.has_changed().expect("the room should hold the slot"));
    }

    #[test]
    fn only_inputs_above_the_last_seq_are_applied_and_acknowledged() {
        let mut room = Room::new("r".into(), 30, 8, 1);
        let (p, mut a) = join(&mut room, "a");
        let input = |seq| RoomCmd::Input {
            player: p,
            seq,
            controls: Controls::new(1.0, 0.0, 0),
        };
        room.apply(input(3));
        room.apply(input(2));
        room.tick(1).expect("should encode");
        assert_eq!(latest(&mut a).state.players[0].last_input, 3);
    }

    #[test]
    fn a_player_who_left_is_gone_from_the_next_snapshot() {
        let mut room = Room::new("r".into(), 30, 8, 1);
        let (p, _a) = join(&mut room, "a");
        let (_, mut b) = join(&mut room, "b");
        room.apply(RoomCmd::Leave { player: p });
        room.tick(1).expect("should encode");
        assert_eq!(latest(&mut b).state.players.len(), 1);
        assert!(!room.is_empty());
    }
}
