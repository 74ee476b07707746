//! Reading: the server's messages as the bot sees them — fully decoded ([`Bot::next_event`]),
//! cheaply scanned for the load generator's hot path ([`Bot::next_frame`]), or raw
//! ([`Bot::next_bytes`]). Delta snapshots are applied to the bot's baselines on the way in, so
//! its acks name the newest state it holds.

use tickcast_shared::arena::{ArenaServerMsg, QuantizedArena};
use tickcast_shared::delta::DeltaError;
use tickcast_shared::{decode, PackedDelta, ServerMsg};

use super::{Bot, Event, Frame};
use crate::error::BotError;
use crate::snapshot_view::SnapshotView;

impl Bot {
    /// Keeps what the bot must remember of a server message (ids, ticks, the welcome, a redirect).
    fn note(&mut self, msg: &ArenaServerMsg) {
        match msg {
            ServerMsg::Welcome(w) => {
                self.key = *w.player_id.as_bytes();
                self.newest_tick = self.newest_tick.max(w.tick);
                if self.welcome.is_none() {
                    self.welcome = Some(w.clone());
                }
            }
            ServerMsg::Snapshot(s) => self.newest_tick = self.newest_tick.max(s.tick),
            ServerMsg::Delta(d) => self.newest_tick = self.newest_tick.max(d.tick),
            ServerMsg::Packed(d) => self.newest_tick = self.newest_tick.max(d.tick),
            ServerMsg::Redirect(r) => self.redirect = Some(r.clone()),
            ServerMsg::Pong(_) | ServerMsg::Error(_) => {}
        }
    }

    /// Reads and fully decodes the next server message. A close is `Ok(Event::Closed)` the first
    /// time and `Err(BotError::Closed)` after that. Cancel-safe.
    pub async fn next_event(&mut self) -> Result<Event, BotError> {
        let bytes = match self.socket.next_binary().await {
            Ok(b) => b,
            Err(BotError::Closed(c)) if !self.close_reported() => return Ok(Event::Closed(c)),
            Err(e) => return Err(e),
        };
        let msg: ArenaServerMsg = decode(&bytes)?;
        self.note(&msg);
        Ok(match msg {
            ServerMsg::Welcome(w) => Event::Welcome(w),
            ServerMsg::Snapshot(s) => Event::Snapshot(s),
            ServerMsg::Delta(d) => {
                if let Some(b) = &mut self.baselines {
                    if let Err(e) = b.receive(&d) {
                        tracing::debug!(tick = d.tick, base_tick = d.base_tick, error = %e, "delta dropped");
                    }
                }
                Event::Delta(d)
            }
            ServerMsg::Packed(d) => {
                if let Err(e) = self.receive_packed(&d) {
                    tracing::debug!(tick = d.tick, base_tick = d.base_tick, error = %e, "packed delta dropped");
                }
                Event::Packed(d)
            }
            ServerMsg::Pong(p) => Event::Pong(p),
            ServerMsg::Error(e) => Event::Error(e),
            ServerMsg::Redirect(r) => Event::Redirect(r),
        })
    }

    /// Applies a packed delta to the baselines (at the Welcome's tick rate).
    fn receive_packed(&mut self, d: &PackedDelta) -> Result<&QuantizedArena, DeltaError> {
        let tick_rate = self.welcome.as_ref().map_or(0, |w| w.tick_rate);
        match &mut self.baselines {
            Some(b) => b.receive_packed(d, tick_rate),
            None => Err(DeltaError::Malformed(
                "a packed delta to a bot that joined without deltas",
            )),
        }
    }

    /// Whether a close was already handed to the caller (so the next read is an error).
    fn close_reported(&mut self) -> bool {
        std::mem::replace(&mut self.close_seen, true)
    }

    /// Reads the next message cheaply (see [`Frame`]). The load generator's read path. Cancel-safe.
    pub async fn next_frame(&mut self) -> Result<Frame, BotError> {
        let bytes = match self.socket.next_binary().await {
            Ok(b) => b,
            Err(BotError::Closed(c)) if !self.close_reported() => return Ok(Frame::Closed(c)),
            Err(e) => return Err(e),
        };
        match SnapshotView::scan(&bytes, &self.key)? {
            Some(view) => {
                self.newest_tick = self.newest_tick.max(view.tick);
                Ok(Frame::Snapshot(view))
            }
            None => {
                let msg: ArenaServerMsg = decode(&bytes)?;
                self.note(&msg);
                let tick_rate = self.welcome.as_ref().map_or(0, |w| w.tick_rate);
                let applied = match (&msg, &mut self.baselines) {
                    (ServerMsg::Delta(d), Some(b)) => {
                        Some((d.tick, d.server_time_ms, b.receive(d)))
                    }
                    (ServerMsg::Packed(d), Some(b)) => {
                        Some((d.tick, d.server_time_ms, b.receive_packed(d, tick_rate)))
                    }
                    _ => None,
                };
                Ok(match applied {
                    Some((tick, time, Ok(state))) => {
                        Frame::Snapshot(SnapshotView::of_state(tick, time, state, &self.key))
                    }
                    Some((_, _, Err(e))) => Frame::DeltaRejected(e),
                    None => Frame::Other(msg),
                })
            }
        }
    }

    /// The next binary message exactly as received (e.g. to check that every player of a room
    /// gets the same snapshot bytes). A close is `Err(Closed)`. Cancel-safe.
    pub async fn next_bytes(&mut self) -> Result<Vec<u8>, BotError> {
        let bytes = self.socket.next_binary().await?;
        if let Ok(Some(view)) = SnapshotView::scan(&bytes, &self.key) {
            self.newest_tick = self.newest_tick.max(view.tick);
        }
        Ok(bytes)
    }
}
