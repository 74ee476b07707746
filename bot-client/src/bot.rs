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

use std::fmt;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub use tokio_tungstenite::tungstenite::Message;

use tickcast_shared::arena::{
    ArenaClientMsg, ArenaDelta, ArenaServerMsg, ArenaSnapshot, ArenaWelcome, Controls, PlayerState,
    QuantizedArena,
};
use tickcast_shared::delta::{Baselines, DeltaError};
use tickcast_shared::{
    decode, encode_into, ClientMsg, ErrorMsg, Input, Join, Ping, PlayerId, Pong, ServerMsg,
    Snapshot,
};

use crate::error::BotError;
use crate::resume::{after_failure, AfterFailure, ResumeError, ResumePolicy, Resumed};
use crate::snapshot_view::SnapshotView;

/// How long [`Bot::connect`] and [`Bot::join`] wait by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`Bot::close`] waits for the server's close frame.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

/// The close frame the server sent (code 1006 and an empty reason when the connection ended
/// without one, as RFC 6455 specifies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    pub code: u16,
    pub reason: String,
}

impl CloseInfo {
    /// Code 1006: the connection ended without a close frame.
    pub const ABNORMAL: u16 = 1006;

    /// Whether the connection was lost rather than closed (code 1006, or the server's 4006
    /// heartbeat timeout): the server then holds the player's seat for a resume, while after any
    /// other close frame it has already removed it.
    pub fn is_lost(&self) -> bool {
        self.code == Self::ABNORMAL || tickcast_shared::close::is_resumable(self.code)
    }

    fn abnormal() -> Self {
        CloseInfo {
            code: Self::ABNORMAL,
            reason: String::new(),
        }
    }
}

impl fmt::Display for CloseInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reason.is_empty() {
            write!(f, "code {}", self.code)
        } else {
            write!(f, "code {} ({})", self.code, self.reason)
        }
    }
}

/// Bytes and messages a bot sent and received, counted as WebSocket frames (payload plus frame
/// header; TCP/IP overhead not included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub messages_in: u64,
    pub messages_out: u64,
}

/// A fully decoded server message, or the end of the connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Welcome(ArenaWelcome),
    Snapshot(ArenaSnapshot),
    /// A delta snapshot (only to a bot that joined with `deltas`).
    Delta(ArenaDelta),
    Pong(Pong),
    Error(ErrorMsg),
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
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
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
    traffic: Traffic,
    closed: Option<CloseInfo>,
    /// Whether the close was already handed out as an event (later reads are errors).
    close_seen: bool,
}

impl fmt::Debug for Bot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bot")
            .field("player_id", &self.player_id())
            .field("seq", &self.seq)
            .field("newest_tick", &self.newest_tick)
            .field("traffic", &self.traffic)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

/// WebSocket frame header size for a payload of `len` bytes (+4 for the client's mask).
fn frame_header(len: usize, masked: bool) -> u64 {
    let base = match len {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    };
    base + if masked { 4 } else { 0 }
}

impl Bot {
    /// Opens the WebSocket (TCP with Nagle off, so small inputs are not delayed), without joining.
    pub async fn open(url: &str) -> Result<Bot, BotError> {
        Self::open_timeout(url, DEFAULT_TIMEOUT).await
    }

    /// [`Bot::open`] with a timeout for TCP connect and handshake.
    pub async fn open_timeout(url: &str, timeout: Duration) -> Result<Bot, BotError> {
        if !(url.starts_with("ws://") || url.starts_with("wss://")) {
            return Err(BotError::Url {
                url: url.to_string(),
                reason: "expected ws:// or wss://".into(),
            });
        }
        // Write each message out on flush; no 128 KiB staging buffer per connection.
        let config = WebSocketConfig {
            write_buffer_size: 0,
            ..WebSocketConfig::default()
        };
        let connect = tokio_tungstenite::connect_async_with_config(url, Some(config), true);
        let (ws, _response) = tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| BotError::Timeout {
                what: "connect",
                after: timeout,
            })?
            .map_err(|e| BotError::Connect(Box::new(e)))?;
        Ok(Bot {
            ws,
            url: url.to_string(),
            join: None,
            welcome: None,
            key: [0; 16],
            seq: 0,
            newest_tick: 0,
            baselines: None,
            traffic: Traffic::default(),
            closed: None,
            close_seen: false,
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
                // Errors (e.g. 4100) and early snapshots are not the answer to a join.
                Event::Error(_) | Event::Pong(_) | Event::Snapshot(_) | Event::Delta(_) => continue,
            }
        }
        self.welcome
            .as_ref()
            .ok_or_else(|| BotError::Protocol("welcome lost".into()))
    }

    /// [`Bot::open`] then [`Bot::join`].
    pub async fn connect(url: &str, join: &Join) -> Result<Bot, BotError> {
        Self::connect_timeout(url, join, DEFAULT_TIMEOUT).await
    }

    /// [`Bot::connect`] with one timeout for each step.
    pub async fn connect_timeout(
        url: &str,
        join: &Join,
        timeout: Duration,
    ) -> Result<Bot, BotError> {
        let mut bot = Self::open_timeout(url, timeout).await?;
        bot.join_timeout(join, timeout).await?;
        Ok(bot)
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
        self.traffic
    }

    /// The server's close, once the connection has ended.
    pub fn close_info(&self) -> Option<&CloseInfo> {
        self.closed.as_ref()
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
        let (len, counted) = match &msg {
            Message::Binary(b) => (b.len(), true),
            Message::Text(t) => (t.len(), true),
            Message::Ping(b) | Message::Pong(b) => (b.len(), false),
            _ => (0, false),
        };
        self.ws
            .send(msg)
            .await
            .map_err(|e| BotError::WebSocket(Box::new(e)))?;
        self.traffic.bytes_out += len as u64 + frame_header(len, true);
        if counted {
            self.traffic.messages_out += 1;
        }
        Ok(())
    }

    /// Reads the next binary message (skipping WebSocket pings/pongs, which tungstenite answers).
    /// `Err(Closed)` once the connection has ended.
    async fn next_binary(&mut self) -> Result<Vec<u8>, BotError> {
        if let Some(c) = &self.closed {
            return Err(BotError::Closed(c.clone()));
        }
        loop {
            let msg = match self.ws.next().await {
                None => {
                    let c = CloseInfo::abnormal();
                    self.closed = Some(c.clone());
                    return Err(BotError::Closed(c));
                }
                Some(Err(e)) => {
                    use tokio_tungstenite::tungstenite::error::ProtocolError;
                    use tokio_tungstenite::tungstenite::Error as E;
                    // An EOF without a close frame is a protocol error to tungstenite, but to a
                    // client it is a lost connection like a reset: 1006, resumable.
                    if matches!(
                        e,
                        E::ConnectionClosed
                            | E::AlreadyClosed
                            | E::Io(_)
                            | E::Protocol(ProtocolError::ResetWithoutClosingHandshake)
                    ) {
                        let c = CloseInfo::abnormal();
                        self.closed = Some(c.clone());
                        return Err(BotError::Closed(c));
                    }
                    return Err(BotError::WebSocket(Box::new(e)));
                }
                Some(Ok(m)) => m,
            };
            match msg {
                Message::Binary(b) => {
                    self.traffic.bytes_in += b.len() as u64 + frame_header(b.len(), false);
                    self.traffic.messages_in += 1;
                    return Ok(b);
                }
                Message::Close(frame) => {
                    let c = frame.map_or_else(CloseInfo::abnormal, |f| CloseInfo {
                        code: u16::from(f.code),
                        reason: f.reason.into_owned(),
                    });
                    self.closed = Some(c.clone());
                    return Err(BotError::Closed(c));
                }
                Message::Text(t) => {
                    return Err(BotError::Protocol(format!(
                        "text frame of {} bytes (the protocol is binary only)",
                        t.len()
                    )))
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            }
        }
    }

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
            ServerMsg::Pong(_) | ServerMsg::Error(_) => {}
        }
    }

    /// Reads and fully decodes the next server message. A close is `Ok(Event::Closed)` the first
    /// time and `Err(BotError::Closed)` after that. Cancel-safe.
    pub async fn next_event(&mut self) -> Result<Event, BotError> {
        let bytes = match self.next_binary().await {
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
            ServerMsg::Pong(p) => Event::Pong(p),
            ServerMsg::Error(e) => Event::Error(e),
        })
    }

    /// Whether a close was already handed to the caller (so the next read is an error).
    fn close_reported(&mut self) -> bool {
        std::mem::replace(&mut self.close_seen, true)
    }

    /// Reads the next message cheaply (see [`Frame`]). The load generator's read path. Cancel-safe.
    pub async fn next_frame(&mut self) -> Result<Frame, BotError> {
        let bytes = match self.next_binary().await {
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
                match (msg, &mut self.baselines) {
                    (ServerMsg::Delta(d), Some(b)) => Ok(match b.receive(&d) {
                        Ok(state) => Frame::Snapshot(SnapshotView::of_state(&d, state, &self.key)),
                        Err(e) => Frame::DeltaRejected(e),
                    }),
                    (msg, _) => Ok(Frame::Other(msg)),
                }
            }
        }
    }

    /// The next binary message exactly as received (e.g. to check that every player of a room
    /// gets the same snapshot bytes). A close is `Err(Closed)`. Cancel-safe.
    pub async fn next_bytes(&mut self) -> Result<Vec<u8>, BotError> {
        let bytes = self.next_binary().await?;
        if let Ok(Some(view)) = SnapshotView::scan(&bytes, &self.key) {
            self.newest_tick = self.newest_tick.max(view.tick);
        }
        Ok(bytes)
    }

    /// The next snapshot, skipping pongs and non-fatal errors. A close is `Err(Closed)`.
    pub async fn next_snapshot(&mut self) -> Result<ArenaSnapshot, BotError> {
        loop {
            match self.next_event().await? {
                Event::Snapshot(s) => return Ok(s),
                // Applied by next_event; hand out the rebuilt state (if it applied).
                Event::Delta(d) => {
                    if let Some(state) = self
                        .baselines
                        .as_ref()
                        .filter(|b| b.ack_tick() == d.tick)
                        .and_then(Baselines::latest)
                    {
                        return Ok(Snapshot {
                            tick: d.tick,
                            server_time_ms: d.server_time_ms,
                            state: state.to_state(),
                        });
                    }
                }
                Event::Closed(c) => return Err(BotError::Closed(c)),
                _ => continue,
            }
        }
    }

    /// Reads snapshots until one shows this bot's `last_input >= seq`, within `timeout`.
    pub async fn wait_for_ack(
        &mut self,
        seq: u32,
        timeout: Duration,
    ) -> Result<ArenaSnapshot, BotError> {
        let fut = async {
            loop {
                let snap = self.next_snapshot().await?;
                if self.own_state(&snap).is_some_and(|p| p.last_input >= seq) {
                    return Ok(snap);
                }
            }
        };
        tokio::time::timeout(timeout, fut)
            .await
            .map_err(|_| BotError::Timeout {
                what: "input ack",
                after: timeout,
            })?
    }

    /// Reads until `pred` accepts an event, within `timeout` (a close ends the wait with
    /// `Err(Closed)` unless `pred` accepts it).
    pub async fn wait_for(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&Event) -> bool,
    ) -> Result<Event, BotError> {
        let fut = async {
            loop {
                let ev = self.next_event().await?;
                if pred(&ev) {
                    return Ok(ev);
                }
                if let Event::Closed(c) = ev {
                    return Err(BotError::Closed(c));
                }
            }
        };
        tokio::time::timeout(timeout, fut)
            .await
            .map_err(|_| BotError::Timeout {
                what: "event",
                after: timeout,
            })?
    }

    /// Gets this bot's player back after its connection was lost (see [`crate::resume`] for
    /// which ends qualify): reconnects to [`Bot::url`] and repeats the join with the welcome's
    /// resume token, up to `policy.attempts` times within `policy.budget`. A 4005 answer (the
    /// grace period is over) ends it at once with [`ResumeError::Refused`].
    ///
    /// On success the bot carries on over the new connection as the same player: the welcome
    /// is the resume's (same player id, room and token), traffic keeps adding up, and
    /// [`Bot::last_seq`] and [`Bot::newest_tick`] continue where they were. The seq must: the
    /// server checks it per connection (any seq is new to a fresh one) but acknowledges per
    /// player, so restarting at 1 would move the player's `last_input` backwards and every
    /// later input up to the old seq would look acknowledged before it was applied.
    ///
    /// On failure the bot is left as it was (ended). Cancel-safe: nothing changes until an
    /// attempt has succeeded.
    pub async fn resume(&mut self, policy: &ResumePolicy) -> Result<Resumed, ResumeError> {
        let started = Instant::now();
        let expected = self.player_id().ok_or(ResumeError::NotJoined)?;
        let token = self.resume_token().ok_or(ResumeError::NoToken)?.to_string();
        let mut join = self.join.clone().ok_or(ResumeError::NotJoined)?;
        join.resume = Some(token);
        let deadline = started + policy.budget;
        let mut attempts = 0;
        let mut last: Option<BotError> = None;
        while attempts < policy.attempts {
            let delay = policy.delay_before(attempts + 1, rand::random());
            if Instant::now() + delay >= deadline {
                break;
            }
            tokio::time::sleep(delay).await;
            attempts += 1;
            let timeout = policy
                .attempt_timeout
                .min(deadline.saturating_duration_since(Instant::now()));
            let attempt =
                tokio::time::timeout(timeout, Bot::connect_timeout(&self.url, &join, timeout))
                    .await
                    .unwrap_or(Err(BotError::Timeout {
                        what: "resume",
                        after: timeout,
                    }));
            let e = match attempt {
                Ok(fresh) => {
                    let got = fresh.player_id();
                    if got != Some(expected) {
                        let mut fresh = fresh;
                        let _ = fresh.close_with(1000, "not my player").await;
                        return Err(ResumeError::WrongPlayer {
                            expected,
                            got: got.unwrap_or_default(),
                        });
                    }
                    self.adopt(fresh);
                    let elapsed = started.elapsed();
                    tracing::info!(player_id = %expected, attempts, elapsed_ms = elapsed.as_millis() as u64, "resumed");
                    return Ok(Resumed { attempts, elapsed });
                }
                Err(e) => e,
            };
            tracing::debug!(player_id = %expected, attempt = attempts, error = %e, "resume attempt failed");
            match after_failure(&e) {
                AfterFailure::Retry => last = Some(e),
                AfterFailure::Stop(refusal) => {
                    tracing::info!(player_id = %expected, attempts, error = %refusal, "resume refused");
                    return Err(refusal);
                }
                AfterFailure::GiveUp => {
                    last = Some(e);
                    break;
                }
            }
        }
        let elapsed = started.elapsed();
        let last = last.unwrap_or(BotError::Timeout {
            what: "resume",
            after: policy.budget,
        });
        tracing::info!(player_id = %expected, attempts, error = %last, "gave up resuming");
        Err(ResumeError::GaveUp {
            attempts,
            elapsed,
            last: Box::new(last),
        })
    }

    /// Takes over `fresh`'s connection (a resume of this bot's player).
    fn adopt(&mut self, fresh: Bot) {
        let t = fresh.traffic;
        self.traffic.bytes_in += t.bytes_in;
        self.traffic.bytes_out += t.bytes_out;
        self.traffic.messages_in += t.messages_in;
        self.traffic.messages_out += t.messages_out;
        self.newest_tick = self.newest_tick.max(fresh.newest_tick);
        self.baselines = fresh.baselines;
        self.welcome = fresh.welcome;
        self.ws = fresh.ws;
        self.closed = None;
        self.close_seen = false;
    }

    /// Closes with 1000 and waits (up to [`CLOSE_TIMEOUT`]) for the server's close frame, reading
    /// and discarding anything before it. Returns the server's close (1006 if it sent none).
    pub async fn close(mut self) -> Result<CloseInfo, BotError> {
        self.close_with(1000, "done").await
    }

    /// Closes with any code and reason; see [`Bot::close`].
    pub async fn close_with(&mut self, code: u16, reason: &str) -> Result<CloseInfo, BotError> {
        if let Some(c) = &self.closed {
            return Ok(c.clone());
        }
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.to_string().into(),
        };
        if let Err(e) = self.ws.close(Some(frame)).await {
            use tokio_tungstenite::tungstenite::Error as E;
            return match e {
                E::ConnectionClosed | E::AlreadyClosed | E::Io(_) => {
                    Ok(self.closed.get_or_insert_with(CloseInfo::abnormal).clone())
                }
                e => Err(BotError::WebSocket(Box::new(e))),
            };
        }
        self.traffic.bytes_out += 2 + reason.len() as u64 + frame_header(2 + reason.len(), true);
        let started = Instant::now();
        while started.elapsed() < CLOSE_TIMEOUT {
            let left = CLOSE_TIMEOUT.saturating_sub(started.elapsed());
            match tokio::time::timeout(left, self.next_binary()).await {
                Err(_) => break,
                Ok(Ok(_)) => continue,
                Ok(Err(BotError::Closed(c))) => return Ok(c),
                Ok(Err(e)) => return Err(e),
            }
        }
        Err(BotError::Timeout {
            what: "close frame",
            after: CLOSE_TIMEOUT,
        })
    }
}
