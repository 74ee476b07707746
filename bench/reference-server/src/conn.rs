//! One connection: the WebSocket handshake, the join, then a loop that reads the client's
//! frames and writes whatever its latest-wins slot holds.
//!
//! Talks to: its room (`room.rs`) through [`RoomCmd`]s, and the [`Lobby`] once, for the join.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tickcast_shared::arena::{ArenaClientMsg, ArenaServerMsg};
use tickcast_shared::{close, decode_client, encode, validate, Join, PlayerId, Pong};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::lobby::Lobby;
use crate::room::{self, Room, RoomCmd};

/// A room as the lobby hands it out: where its commands go.
pub type RoomHandle = mpsc::UnboundedSender<RoomCmd>;

/// What every connection shares.
pub struct Server {
    pub lobby: Mutex<Lobby<RoomHandle>>,
    pub tick_rate: u16,
    pub room_size: u16,
}

/// A player placed in a room: where its commands go, who it is, its slot and its welcome.
struct Joined {
    room: RoomHandle,
    player: PlayerId,
    slot: watch::Receiver<Option<Bytes>>,
    welcome: Vec<u8>,
}

impl Server {
    /// Joins `name` to the lobby's room for it (opening one if needed) and waits for the
    /// welcome; `None` if the room ended in between.
    async fn join(&self, name: String) -> Option<Joined> {
        let player = PlayerId::new_v4();
        let (slot, slot_rx) = watch::channel(None);
        let (welcome_tx, welcome_rx) = oneshot::channel();
        let room = {
            let mut lobby = self
                .lobby
                .lock()
                .expect("the lobby lock should never be poisoned");
            lobby.place(
                |room| !room.is_closed(),
                |id| {
                    let (tx, rx) = mpsc::unbounded_channel();
                    let seed = player.as_u64_pair().0;
                    let room = Room::new(id, self.tick_rate, self.room_size, seed);
                    tokio::spawn(room::run(room, rx));
                    tx
                },
            )
        };
        let cmd = RoomCmd::Join {
            player,
            name,
            slot,
            welcome: welcome_tx,
        };
        room.send(cmd).ok()?;
        let welcome = welcome_rx.await.ok()?;
        Some(Joined {
            room,
            player,
            slot: slot_rx,
            welcome: encode(&ArenaServerMsg::Welcome(welcome)).ok()?,
        })
    }
}

/// Serves one TCP connection until either side ends it.
pub async fn serve(server: Arc<Server>, tcp: TcpStream) {
    let _ = tcp.set_nodelay(true);
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let join = match ws.next().await {
        Some(Ok(Message::Binary(b))) => decode_client::<ArenaClientMsg>(&b).ok(),
        _ => return,
    };
    let name = match join {
        Some(ArenaClientMsg::Join(Join { version, name, .. }))
            if version == tickcast_shared::PROTOCOL_VERSION =>
        {
            validate::player_name(&name).ok()
        }
        Some(ArenaClientMsg::Join(_)) => return refuse(ws, close::VERSION_MISMATCH).await,
        _ => None,
    };
    let Some(name) = name else {
        return refuse(ws, close::INVALID_JOIN).await;
    };
    let Some(mut joined) = server.join(name).await else {
        return refuse(ws, close::INTERNAL_ERROR).await;
    };
    let welcome = std::mem::take(&mut joined.welcome);
    if ws.send(Message::Binary(welcome)).await.is_ok() {
        play(&mut ws, &joined.room, joined.player, &mut joined.slot).await;
    }
    let _ = joined.room.send(RoomCmd::Leave {
        player: joined.player,
    });
}

/// The joined player's loop: a frame from the client, or a newer snapshot to send.
async fn play(
    ws: &mut WebSocketStream<TcpStream>,
    room: &RoomHandle,
    player: PlayerId,
    slot: &mut watch::Receiver<Option<Bytes>>,
) {
    loop {
        let out = tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(Message::Binary(b))) => match decode_client::<ArenaClientMsg>(&b) {
                    Ok(ArenaClientMsg::Input(i)) => {
                        let cmd = RoomCmd::Input { player, seq: i.seq, controls: i.controls };
                        if room.send(cmd).is_err() {
                            return;
                        }
                        None
                    }
                    Ok(ArenaClientMsg::Ping(p)) => {
                        let pong = Pong { client_time: p.client_time, server_time_ms: unix_ms() };
                        encode(&ArenaServerMsg::Pong(pong)).ok()
                    }
                    // A second join, or garbage: a yardstick need not answer it.
                    _ => None,
                },
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => None,
            },
            changed = slot.changed() => {
                if changed.is_err() {
                    return;
                }
                slot.borrow_and_update().as_ref().map(|b| b.to_vec())
            }
        };
        if let Some(bytes) = out {
            if ws.send(Message::Binary(bytes)).await.is_err() {
                return;
            }
        }
    }
}

async fn refuse(mut ws: WebSocketStream<TcpStream>, code: u16) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: "".into(),
    };
    let _ = ws.close(Some(frame)).await;
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
