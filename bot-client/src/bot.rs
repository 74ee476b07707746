//! [`Bot`]: one scripted player on one WebSocket connection.
//!
//! The low-level building block of a load run, and the client the end-to-end tests script:
//!
//! ```no_run
//! # async fn demo() -> Result<(), tickcast_bot::BotError> {
//! use std::time::Duration;
//! use tickcast_bot::Bot;
//! use tickcast_shared::{arena::Controls, Join};
//!
//! let mut bot = Bot::connect("ws://127.0.0.1:8080/ws", &Join::any_room("ada")).await?;
//! println!("joined {} at tick {}", bot.welcome().room_id, bot.welcome().tick);
//! let seq = bot.send_input(Controls::new(1.0, 0.0, 0)).await?;
//! let snap = bot.wait_for_ack(seq, Duration::from_secs(2)).await?;
//! assert!(bot.own_state(&snap).is_some_and(|p| p.last_input >= seq));
//! let close = bot.close().await?; // sends 1000, waits for the server's close frame
//! assert_eq!(close.code, 1000);
//! # Ok(()) }
//! ```
//!
//! [`Bot::open`] + [`Bot::join`] split the two steps for tests that want to send something other
//! than a valid join first; [`Bot::send_raw`] sends any frame at all.
//!
//! A bot that joins with `deltas` (`Join::with_deltas`) applies every delta snapshot to its
//! baseline store, acknowledges the newest tick it holds, and reads deltas through the same
//! [`Frame::Snapshot`] / [`Bot::next_snapshot`] as full snapshots.
//!
//! When the connection is lost without a close frame ([`BotError::is_connection_lost`]),
//! [`Bot::resume`] reconnects with the welcome's resume token and carries on as the same player
//! (see [`crate::resume`]); the load run does that by itself.
//!
//! A join answered with a [`Redirect`] and close 4007 (the room is on another node) is followed
//! by [`Bot::connect`] at once, with the same join naming the redirect's room, at most
//! [`Redirect::MAX_HOPS`] times in a row (the rules are [`crate::redirect::Hops`]'s);
//! [`Bot::url`] is then the room's node. A redirect that ends a connection later (a hand-over)
//! is followed by [`Bot::resume`].
//!
//! Where `Bot` lives: this file has the player protocol (open, join, send, close) over a
//! `socket` (frames, traffic counting, the close handshake), `bot/read.rs` the reading of the
//! server's messages; the waits for scripted
//! tests (`next_snapshot`, `wait_for_ack`, `wait_for`) are in `waits`, and
//! [`Bot::resume`] is in [`crate::resume`] with its policy. Those two build on this one; this
//! one imports neither.

use std::fmt;
use std::time::Duration;

pub use tokio_tungstenite::tungstenite::Message;

use tickcast_shared::arena::{
    ArenaClientMsg, ArenaDelta, ArenaServerMsg, ArenaSnapshot, ArenaWelcome, Controls, PlayerState,
    QuantizedArena,
};
use tickcast_shared::delta::{Baselines, DeltaError};
use tickcast_shared::{
    close, encode_into, ClientMsg, ErrorMsg, Input, Join, PackedDelta, Ping, PlayerId, Pong,
    Redirect,
};

use crate::close::CloseInfo;
use crate::error::BotError;
use crate::redirect::Hops;
use crate::snapshot_view::SnapshotView;
use crate::socket::{Socket, Traffic};

mod read;

/// How long [`Bot::connect`] and [`Bot::join`] wait by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`Bot::close`] waits for the server's close frame.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

/// A fully decoded server message, or the end of the connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Welcome(ArenaWelcome),
    Snapshot(ArenaSnapshot),
    /// A delta snapshot (only to a bot that joined with `deltas`).
    Delta(ArenaDelta),
    /// A packed delta snapshot (only to a bot that joined with `packed`).
    Packed(PackedDelta),
    Pong(Pong),
    Error(ErrorMsg),
    /// The room is on another node; close 4007 follows (see [`Bot::redirected`]).
    Redirect(Redirect),
    Closed(CloseInfo),
}

/// A server message read cheaply: snapshots are scanned (see [`SnapshotView`]), the rare other
/// messages fully decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A full snapshot, or a delta already applied to its baseline.
    Snapshot(SnapshotView),
    Other(ArenaServerMsg),
    /// A delta that could not be applied (unknown baseline, malformed patch): dropped, and the
    /// ack stays where it was.
    DeltaRejected(DeltaError),
    Closed(CloseInfo),
}

/// One player connection.
pub struct Bot {
    socket: Socket,
    /// Where [`Bot::resume`] reconnects to.
    url: String,
    /// The join sent, kept so a resume can repeat it with the token (the server ignores the
    /// room and name of a resume, but still validates them, and checks the name against a join
    /// token).
    join: Option<Join>,
    welcome: Option<ArenaWelcome>,
    key: [u8; 16],
    seq: u32,
    newest_tick: u64,
    /// The received states of a bot that joined with `deltas`.
    baselines: Option<Baselines<QuantizedArena>>,
    /// Whether the close was already handed out as an event (later reads are errors).
    close_seen: bool,
    /// The last [`Redirect`] received on this connection.
    redirect: Option<Redirect>,
}

impl fmt::Debug for Bot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bot")
            .field("player_id", &self.player_id())
            .field("seq", &self.seq)
            .field("newest_tick", &self.newest_tick)
            .field("traffic", &self.socket.traffic())
            .field("closed", &self.socket.closed())
            .finish_non_exhaustive()
    }
}

impl Bot {
    /// Opens the WebSocket (TCP with Nagle off, so small inputs are not delayed), without joining.
    pub async fn open(url: &str) -> Result<Bot, BotError> {
        Self::open_timeout(url, DEFAULT_TIMEOUT).await
    }

    /// [`Bot::open`] with a timeout for TCP connect and handshake.
    pub async fn open_timeout(url: &str, timeout: Duration) -> Result<Bot, BotError> {
        let socket = Socket::open(url, timeout).await?;
        Ok(Bot {
            socket,
            url: url.to_string(),
            join: None,
            welcome: None,
            key: [0; 16],
            seq: 0,
            newest_tick: 0,
            baselines: None,
            close_seen: false,
            redirect: None,
        })
    }

    /// Sends `join` and waits for the [`ArenaWelcome`]. A close frame instead (wrong version, room
    /// full, bad name …) is [`BotError::Closed`] with the server's code and reason.
    pub async fn join(&mut self, join: &Join) -> Result<&ArenaWelcome, BotError> {
        self.join_timeout(join, DEFAULT_TIMEOUT).await
    }

    /// [`Bot::join`] with a timeout.
    pub async fn join_timeout(
        &mut self,
        join: &Join,
        timeout: Duration,
    ) -> Result<&ArenaWelcome, BotError> {
        self.send(&ClientMsg::Join(join.clone())).await?;
        self.join = Some(join.clone());
        // A new connection starts without baselines: the server's first delta is full.
        self.baselines = join.deltas.then(Baselines::default);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let event = tokio::time::timeout_at(deadline, self.next_event())
                .await
                .map_err(|_| BotError::Timeout {
                    what: "welcome",
                    after: timeout,
                })??;
            match event {
                Event::Welcome(_) => break,
                Event::Closed(c) => return Err(BotError::Closed(c)),
                // Errors (e.g. 4100) and early snapshots are not the answer to a join; a redirect
                // is noted, and the close after it is the answer.
                Event::Error(_)
                | Event::Pong(_)
                | Event::Snapshot(_)
                | Event::Delta(_)
                | Event::Packed(_)
                | Event::Redirect(_) => continue,
            }
        }
        self.welcome
            .as_ref()
            .ok_or_else(|| BotError::Protocol("welcome lost".into()))
    }

    /// [`Bot::open`] then [`Bot::join`], following redirects to the room's node (see the module
    /// docs). A redirect that cannot be followed is [`BotError::Redirect`].
    pub async fn connect(url: &str, join: &Join) -> Result<Bot, BotError> {
        Self::connect_timeout(url, join, DEFAULT_TIMEOUT).await
    }

    /// [`Bot::connect`] with one timeout for each step (of each hop).
    pub async fn connect_timeout(
        url: &str,
        join: &Join,
        timeout: Duration,
    ) -> Result<Bot, BotError> {
        Self::connect_following(url.to_string(), join.clone(), timeout, Hops::default()).await
    }

    /// Opens and joins, and while the answer is a redirect, opens and joins where it points,
    /// counting the hops in `hops`.
    pub(crate) async fn connect_following(
        mut url: String,
        mut join: Join,
        timeout: Duration,
        mut hops: Hops,
    ) -> Result<Bot, BotError> {
        loop {
            let mut bot = Self::open_timeout(&url, timeout).await?;
            let redirect = match bot.join_timeout(&join, timeout).await {
                Ok(_) => return Ok(bot),
                Err(e @ BotError::Closed(_)) => bot.redirected().cloned().ok_or(e)?,
                Err(e) => return Err(e),
            };
            let (next_url, next_join) = hops.follow(&redirect, &url, &join)?;
            tracing::debug!(from = %url, to = %next_url, room_id = %redirect.room_id, hops = hops.followed(), "following a redirect");
            (url, join) = (next_url, next_join);
        }
    }

    /// The welcome. Panics before a successful [`Bot::join`] (which [`Bot::connect`] includes).
    pub fn welcome(&self) -> &ArenaWelcome {
        self.welcome
            .as_ref()
            .expect("Bot::welcome called before a successful join")
    }

    /// The welcome, if the join succeeded.
    pub fn try_welcome(&self) -> Option<&ArenaWelcome> {
        self.welcome.as_ref()
    }

    /// This bot's player id (after the join).
    pub fn player_id(&self) -> Option<PlayerId> {
        self.welcome.as_ref().map(|w| w.player_id)
    }

    /// The token that gets this bot's player back after a lost connection (see
    /// [`Bot::resume`]); `None` before the join or from a server without resume support.
    pub fn resume_token(&self) -> Option<&str> {
        self.welcome.as_ref()?.resume_token.as_deref()
    }

    /// The URL this bot connected to, and the one [`Bot::resume`] reconnects to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Changes where [`Bot::resume`] reconnects to, e.g. to put a fresh join token in the query
    /// when the first one may have expired.
    pub fn set_url(&mut self, url: impl Into<String>) {
        self.url = url.into();
    }

    /// The [`Redirect`] this connection ended with: the last one received, if the server then
    /// closed with 4007 ([`close::REDIRECT`]). A 4007 without one cannot be followed.
    pub fn redirected(&self) -> Option<&Redirect> {
        let closed = self.socket.closed()?;
        (closed.code == close::REDIRECT)
            .then_some(self.redirect.as_ref())
            .flatten()
    }

    /// The newest snapshot tick received (0 before the first): what inputs carry as `ack_tick`.
    pub fn newest_tick(&self) -> u64 {
        self.newest_tick
    }

    /// What inputs carry as `ack_tick`: with deltas, the newest state held (a baseline the bot
    /// can apply patches to; 0 after a resume until the first delta), else [`Bot::newest_tick`].
    pub fn ack_tick(&self) -> u64 {
        self.baselines
            .as_ref()
            .map_or(self.newest_tick, Baselines::ack_tick)
    }

    /// The newest state rebuilt from deltas (`None` without deltas or before the first).
    pub fn delta_state(&self) -> Option<&QuantizedArena> {
        self.baselines.as_ref()?.latest()
    }

    /// The seq of the last input sent by [`Bot::send_input`] (0 before the first).
    pub fn last_seq(&self) -> u32 {
        self.seq
    }

    /// Bytes and messages so far.
    pub fn traffic(&self) -> Traffic {
        self.socket.traffic()
    }

    /// The server's close, once the connection has ended.
    pub fn close_info(&self) -> Option<&CloseInfo> {
        self.socket.closed()
    }

    /// This bot's own entity in a decoded snapshot.
    pub fn own_state<'s>(&self, snap: &'s ArenaSnapshot) -> Option<&'s PlayerState> {
        let id = self.player_id()?;
        snap.state.players.iter().find(|p| p.id == id)
    }

    /// Encodes and sends any client message.
    pub async fn send(&mut self, msg: &ArenaClientMsg) -> Result<(), BotError> {
        // tungstenite takes ownership of the payload, so one small Vec per message is inherent.
        let mut payload = Vec::with_capacity(32);
        encode_into(msg, &mut payload)?;
        self.send_raw(Message::Binary(payload)).await
    }

    /// Sends one input with the next seq and `ack_tick` = [`Bot::ack_tick`]; returns the seq.
    pub async fn send_input(&mut self, controls: Controls) -> Result<u32, BotError> {
        let seq = self.seq.wrapping_add(1).max(1);
        self.send_input_with_seq(seq, controls).await?;
        Ok(seq)
    }

    /// Sends an input with an explicit seq (to test stale or repeated seqs). Later
    /// [`Bot::send_input`] calls continue from the highest seq sent.
    pub async fn send_input_with_seq(
        &mut self,
        seq: u32,
        controls: Controls,
    ) -> Result<(), BotError> {
        let msg = ClientMsg::Input(Input {
            seq,
            ack_tick: self.ack_tick(),
            controls,
        });
        self.send(&msg).await?;
        self.seq = self.seq.max(seq);
        Ok(())
    }

    /// Sends a ping carrying `client_time`, echoed back in a [`Pong`].
    pub async fn send_ping(&mut self, client_time: f64) -> Result<(), BotError> {
        self.send(&ClientMsg::Ping(Ping { client_time })).await
    }

    /// Sends any WebSocket message as is (text frames, garbage, oversized payloads …).
    pub async fn send_raw(&mut self, msg: Message) -> Result<(), BotError> {
        self.socket.send(msg).await
    }

    /// The join this bot sent (what a resume repeats, with the token).
    pub(crate) fn sent_join(&self) -> Option<&Join> {
        self.join.as_ref()
    }

    /// Takes over `fresh`'s connection (a resume of this bot's player).
    pub(crate) fn adopt(&mut self, fresh: Bot) {
        self.newest_tick = self.newest_tick.max(fresh.newest_tick);
        self.baselines = fresh.baselines;
        self.welcome = fresh.welcome;
        self.socket.take_over(fresh.socket);
        self.close_seen = false;
        self.redirect = fresh.redirect;
    }

    /// Takes over `fresh`'s connection as a new player (a rejoin after the seat was lost, e.g.
    /// with a crashed node): its player, room and ticks replace this bot's; traffic and the
    /// input seq carry on (a higher first seq is as good as 1 to a new player).
    pub(crate) fn adopt_new_player(&mut self, fresh: Bot) {
        self.key = fresh.key;
        self.newest_tick = fresh.newest_tick;
        self.url = fresh.url.clone();
        self.adopt(fresh);
    }

    /// Closes with 1000 and waits (up to [`CLOSE_TIMEOUT`]) for the server's close frame, reading
    /// and discarding anything before it. Returns the server's close (1006 if it sent none).
    pub async fn close(mut self) -> Result<CloseInfo, BotError> {
        self.close_with(1000, "done").await
    }

    /// Closes with any code and reason; see [`Bot::close`].
    pub async fn close_with(&mut self, code: u16, reason: &str) -> Result<CloseInfo, BotError> {
        self.socket.close(code, reason, CLOSE_TIMEOUT).await
    }
}
