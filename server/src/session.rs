//! The session actor: one per WebSocket connection.
//!
//! It decodes frames (reassembling fragmented messages up to the size limit), validates and
//! forwards the join to the registry and inputs to its seat, answers pings, writes snapshots when
//! its room wakes it, and closes with the right code on any protocol error: 1002 protocol error,
//! 1003 text frame, 1007 malformed message, 1008 policy (join timeout, flood), 1009 too big,
//! 4000–4005 for join refusals, 4006 heartbeat timeout (seat held; see `shared/PROTOCOL.md`). Every data frame, ping and pong
//! is charged to a [`TokenBucket`]: over the rate it is dropped (`tickcast_inputs_dropped_total`),
//! sustained flooding closes with 1008. With `--auth-secret`, the join's name must be the one in
//! the token the upgrade was admitted with (else 4003). A close either side chose removes the
//! player at once; a lost connection (reset, EOF, heartbeat timeout: 4006) detaches it instead, and the
//! room holds the seat for `resume_grace` so a `Join.resume` with the Welcome's token gets the
//! same player back (the room also detaches a seat whose session vanished). It holds
//! its admission [`Ticket`] until it is dropped, which frees its connection slot.
//!
//! Talks to: the registry (join), its room (leave) and its [`Seat`] (snapshots in, inputs out).

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use actix_http::ws::Item;
use actix_web_actors::ws::{self, CloseCode, CloseReason, ProtocolError};
use bytes::BytesMut;
use tickcast_shared::{
    close, decode_client, encode, error_code, validate, ClientMsg, ErrorMsg, Pong, ServerMsg,
    Welcome, PROTOCOL_VERSION,
};
use tokio::sync::watch;
use uuid::Uuid;

use crate::admission::Ticket;
use crate::config::ServerConfig;
use crate::conn::ConnFd;
use crate::frame_guard::Tripped;
use crate::game::Game;
use crate::metrics::Metrics;
use crate::rate_limit::{TokenBucket, Verdict};
use crate::registry::{JoinError, JoinRoom, Joined, Registry, ResumeRoom};
use crate::room::{DetachPlayer, RemovePlayer, Room};
use crate::seat::{Seat, Wake};

// ---- pure checks (also driven by the fuzz targets in `fuzz/`) ----

/// Why a message ends the session: the close code and reason to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: u16,
    pub reason: String,
}

/// Decodes one whole client message (after reassembly): 1007 unless it is exactly one valid
/// tickcast MessagePack message within the size limit.
pub fn decode_message<I: serde::de::DeserializeOwned>(
    bytes: &[u8],
) -> Result<ClientMsg<I>, Refusal> {
    decode_client(bytes).map_err(|e| Refusal {
        code: close::INVALID_PAYLOAD,
        reason: format!("invalid message: {e}"),
    })
}

/// Checks a join's version (4000), name and room id (4003); returns the trimmed name.
pub fn validate_join(join: &tickcast_shared::Join) -> Result<String, Refusal> {
    if join.version != PROTOCOL_VERSION {
        return Err(Refusal {
            code: close::VERSION_MISMATCH,
            reason: format!(
                "protocol version {} is not supported; this server speaks {PROTOCOL_VERSION}",
                join.version
            ),
        });
    }
    let name = validate::player_name(&join.name).map_err(|e| Refusal {
        code: close::INVALID_JOIN,
        reason: format!("invalid name: {e}"),
    })?;
    if let Some(room) = &join.room {
        validate::room_id(room).map_err(|e| Refusal {
            code: close::INVALID_JOIN,
            reason: format!("invalid room id: {e}"),
        })?;
    }
    Ok(name)
}

// ---- the actor ----

/// The registry's answer to a join or a resume.
type JoinRequest<G> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Result<Joined<G>, JoinError>, MailboxError>>>,
>;

/// Mailbox size: a pending wake is enough, more would be stale (see `seat.rs`).
const MAILBOX_CAPACITY: usize = 1;

enum Phase<G: Game> {
    /// Connected, no join yet.
    Lobby,
    /// Join sent to the registry, waiting for the answer.
    Joining,
    Joined {
        room: Addr<Room<G>>,
        room_id: Arc<str>,
        player_id: Uuid,
        seat: Arc<Seat<G::Input>>,
    },
    /// A close frame was queued; everything else is ignored.
    Closing,
}

/// Everything a session needs from the server, shared by all sessions.
pub struct SessionEnv<G: Game> {
    pub registry: Addr<Registry<G>>,
    pub config: Arc<ServerConfig>,
    pub metrics: Arc<Metrics>,
    pub shutdown: watch::Receiver<bool>,
}

impl<G: Game> Clone for SessionEnv<G> {
    fn clone(&self) -> Self {
        SessionEnv {
            registry: self.registry.clone(),
            config: self.config.clone(),
            metrics: self.metrics.clone(),
            shutdown: self.shutdown.clone(),
        }
    }
}

pub struct Session<G: Game> {
    env: SessionEnv<G>,
    conn: Option<ConnFd>,
    oversized: Tripped,
    phase: Phase<G>,
    last_heard: Instant,
    stale_input_reported: bool,
    /// A fragmented message being reassembled.
    fragments: Option<BytesMut>,
    /// Snapshot bytes written since the last unsent-bytes check (see the `Wake` handler).
    written_since_check: usize,
    /// The message rate limit.
    bucket: TokenBucket,
    /// The admission slot (released on drop) and the join token's claims.
    ticket: Option<Ticket>,
}

impl<G: Game> Session<G> {
    pub fn new(env: SessionEnv<G>, conn: Option<ConnFd>, oversized: Tripped) -> Self {
        let tick_rate = f64::from(env.config.tick_rate);
        let bucket = TokenBucket::new(
            env.config.message_rate_factor * tick_rate,
            env.config.message_burst_factor * tick_rate,
            Instant::now(),
        );
        Session {
            env,
            conn,
            oversized,
            phase: Phase::Lobby,
            last_heard: Instant::now(),
            stale_input_reported: false,
            fragments: None,
            written_since_check: usize::MAX,
            bucket,
            ticket: None,
        }
    }

    /// Attaches the admission ticket: held until the session is dropped.
    pub fn with_ticket(mut self, ticket: Ticket) -> Self {
        self.ticket = Some(ticket);
        self
    }

    /// Charges one incoming data frame or ping to the rate limit. `false`: ignore the frame
    /// (dropped, or the session is being closed for flooding).
    fn within_rate(&mut self, ctx: &mut ws::WebsocketContext<Self>) -> bool {
        match self.bucket.take(Instant::now()) {
            Verdict::Accept => true,
            Verdict::Drop => {
                self.env.metrics.inputs_dropped_total.inc();
                false
            }
            Verdict::Close => {
                self.env.metrics.inputs_dropped_total.inc();
                self.close(
                    ctx,
                    close::POLICY_VIOLATION,
                    "input flood: too many messages",
                );
                false
            }
        }
    }

    fn ids(&self) -> (Option<&str>, Option<Uuid>) {
        match &self.phase {
            Phase::Joined {
                room_id, player_id, ..
            } => (Some(room_id), Some(*player_id)),
            _ => (None, None),
        }
    }

    /// Queue a close frame and stop. Protocol-error codes are counted.
    fn close(&mut self, ctx: &mut ws::WebsocketContext<Self>, code: u16, reason: &str) {
        if matches!(self.phase, Phase::Closing) {
            return;
        }
        if matches!(code, 1002 | 1003 | 1007 | 1008 | 1009) {
            self.env.metrics.protocol_closes_total.inc();
        }
        let (room_id, player_id) = self.ids();
        tracing::debug!(?room_id, ?player_id, code, reason, "closing session");
        self.leave_room();
        self.phase = Phase::Closing;
        ctx.close(Some(CloseReason {
            code: CloseCode::from(code),
            description: Some(reason.to_string()),
        }));
        ctx.stop();
    }

    /// Leave the room for good (a close either side chose).
    fn leave_room(&mut self) {
        if let Phase::Joined {
            room,
            player_id,
            seat,
            ..
        } = &self.phase
        {
            room.do_send(RemovePlayer {
                player_id: *player_id,
                seat_id: seat.id(),
            });
        }
    }

    /// The connection was lost without a close: the room holds the seat for a resume.
    fn detach_from_room(&mut self) {
        if let Phase::Joined {
            room,
            player_id,
            seat,
            ..
        } = &self.phase
        {
            room.do_send(DetachPlayer {
                player_id: *player_id,
                seat_id: seat.id(),
            });
        }
    }

    fn send(&self, ctx: &mut ws::WebsocketContext<Self>, msg: &ServerMsg<G::State, G::Info>) {
        match encode(msg) {
            Ok(bytes) => ctx.binary(bytes),
            Err(e) => tracing::error!(error = %e, "could not encode a server message"),
        }
    }

    fn send_error(&self, ctx: &mut ws::WebsocketContext<Self>, code: u16, message: &str) {
        self.send(
            ctx,
            &ServerMsg::Error(ErrorMsg {
                code,
                message: message.to_string(),
            }),
        );
    }

    fn on_message(&mut self, bytes: &[u8], ctx: &mut ws::WebsocketContext<Self>) {
        let msg: ClientMsg<G::Input> = match decode_message(bytes) {
            Ok(m) => m,
            Err(refusal) => {
                self.env.metrics.decode_errors_total.inc();
                return self.close(ctx, refusal.code, &refusal.reason);
            }
        };
        match msg {
            ClientMsg::Join(join) => self.on_join(join, ctx),
            ClientMsg::Input(input) => {
                let Phase::Joined { seat, .. } = &self.phase else {
                    return self.send_error(ctx, error_code::NOT_JOINED, "join a room first");
                };
                seat.ack(input.ack_tick);
                // The seat keeps the player's seq (it carries over a resume).
                if seat.push_input(input.seq, input.controls).is_err() {
                    self.env.metrics.inputs_dropped_total.inc();
                    if !std::mem::replace(&mut self.stale_input_reported, true) {
                        self.send_error(
                            ctx,
                            error_code::STALE_INPUT,
                            "input seq must increase; stale inputs are ignored",
                        );
                    }
                    return;
                }
                self.env.metrics.inputs_total.inc();
            }
            ClientMsg::Ping(ping) => self.send(
                ctx,
                &ServerMsg::Pong(Pong {
                    client_time: ping.client_time,
                    server_time_ms: SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as u64),
                }),
            ),
        }
    }

    fn on_join(&mut self, join: tickcast_shared::Join, ctx: &mut ws::WebsocketContext<Self>) {
        if !matches!(self.phase, Phase::Lobby) {
            return self.send_error(ctx, error_code::ALREADY_JOINED, "already joined; ignored");
        }
        let name = match validate_join(&join) {
            Ok(n) => n,
            Err(refusal) => return self.close(ctx, refusal.code, &refusal.reason),
        };
        if let Some(claims) = self.ticket.as_ref().and_then(|t| t.claims.as_ref()) {
            if claims.name.trim() != name {
                return self.close(
                    ctx,
                    close::INVALID_JOIN,
                    "the name does not match the join token",
                );
            }
            tracing::debug!(account = ?claims.player_id, %name, "token holder joining");
        }
        self.phase = Phase::Joining;
        let deltas = join.deltas && self.env.config.delta_window > 0;
        let seat = Arc::new(Seat::new().with_deltas(deltas));
        let wake = ctx.address().recipient();
        let registry = self.env.registry.clone();
        // A join with a resume token asks for that player back; any other join gets a new
        // player and a fresh token.
        let (request, resume_token): (JoinRequest<G>, Arc<str>) = match join.resume {
            Some(token) => {
                let token: Arc<str> = token.into();
                let request = registry.send(ResumeRoom::<G> {
                    resume_token: token.clone(),
                    seat: seat.clone(),
                    wake,
                });
                (Box::pin(request), token)
            }
            None => {
                let token: Arc<str> = Uuid::new_v4().simple().to_string().into();
                let request = registry.send(JoinRoom::<G> {
                    room: join.room,
                    player_id: Uuid::new_v4(),
                    name,
                    resume_token: token.clone(),
                    seat: seat.clone(),
                    wake,
                });
                (Box::pin(request), token)
            }
        };
        request
            .into_actor(self)
            .map(move |res, act, ctx| {
                if !matches!(act.phase, Phase::Joining) {
                    return; // closed meanwhile; the room frees the seat on its next tick
                }
                match res {
                    Ok(Ok(joined)) => {
                        let a = joined.admitted;
                        let player_id = joined.player_id;
                        tracing::debug!(room_id = %joined.room_id, %player_id, "joined");
                        let welcome = ServerMsg::Welcome(Welcome {
                            player_id,
                            room_id: joined.room_id.to_string(),
                            tick_rate: a.tick_rate,
                            tick: a.tick,
                            max_players: a.max_players,
                            game: a.info,
                            resume_token: Some(resume_token.to_string()),
                        });
                        act.send(ctx, &welcome);
                        act.phase = Phase::Joined {
                            room: joined.room,
                            room_id: joined.room_id,
                            player_id,
                            seat,
                        };
                    }
                    Ok(Err(JoinError::RoomFull)) => {
                        act.close(ctx, close::ROOM_FULL, "room is full")
                    }
                    Ok(Err(JoinError::ServerFull)) => {
                        act.close(ctx, close::SERVER_FULL, "server is full; try again later")
                    }
                    Ok(Err(JoinError::ResumeRefused)) => act.close(
                        ctx,
                        close::RESUME_REFUSED,
                        "resume token unknown or expired; join again without it",
                    ),
                    Ok(Err(JoinError::RoomFailed)) | Err(_) => {
                        act.close(ctx, close::INTERNAL_ERROR, "could not join the room")
                    }
                }
            })
            .spawn(ctx);
    }

    fn on_fragment(&mut self, item: Item, ctx: &mut ws::WebsocketContext<Self>) {
        let max = self.env.config.max_message_bytes;
        match item {
            Item::FirstText(_) => self.close(
                ctx,
                close::UNSUPPORTED_DATA,
                "text frames are not supported; send binary",
            ),
            Item::FirstBinary(b) => {
                if self.fragments.is_some() {
                    return self.close(
                        ctx,
                        close::PROTOCOL_ERROR,
                        "new fragmented message before the last ended",
                    );
                }
                if b.len() > max {
                    return self.close(ctx, close::MESSAGE_TOO_BIG, "message too big");
                }
                self.fragments = Some(BytesMut::from(&b[..]));
            }
            Item::Continue(b) => self.append_fragment(&b, false, ctx),
            Item::Last(b) => self.append_fragment(&b, true, ctx),
        }
    }

    fn append_fragment(&mut self, b: &[u8], last: bool, ctx: &mut ws::WebsocketContext<Self>) {
        let max = self.env.config.max_message_bytes;
        let Some(buf) = self.fragments.as_mut() else {
            return self.close(
                ctx,
                close::PROTOCOL_ERROR,
                "continuation without a first fragment",
            );
        };
        if buf.len() + b.len() > max {
            self.fragments = None;
            return self.close(ctx, close::MESSAGE_TOO_BIG, "message too big");
        }
        buf.extend_from_slice(b);
        if last {
            if let Some(whole) = self.fragments.take() {
                self.on_message(&whole, ctx);
            }
        }
    }
}

impl<G: Game> Actor for Session<G> {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        self.env.metrics.connections.inc();
        self.env.metrics.connections_total.inc();

        let cfg = self.env.config.clone();
        ctx.run_later(cfg.join_timeout, |act, ctx| {
            if matches!(act.phase, Phase::Lobby | Phase::Joining) {
                act.close(
                    ctx,
                    close::POLICY_VIOLATION,
                    "join timeout: send a join first",
                );
            }
        });
        ctx.run_interval(cfg.heartbeat_interval, move |act, ctx| {
            if act.last_heard.elapsed() > cfg.client_timeout {
                // A silent client has most likely lost its connection: keep its seat for a resume.
                act.detach_from_room();
                if matches!(act.phase, Phase::Joined { .. }) {
                    act.phase = Phase::Lobby;
                }
                act.close(
                    ctx,
                    close::TIMED_OUT,
                    "heartbeat timeout: nothing heard; resume with your token",
                );
            } else {
                ctx.ping(b"");
            }
        });
        let mut shutdown = self.env.shutdown.clone();
        ctx.spawn(
            async move {
                let _ = shutdown.wait_for(|down| *down).await;
            }
            .into_actor(self)
            .map(|_, act, ctx| act.close(ctx, close::GOING_AWAY, "server shutting down")),
        );
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.env.metrics.connections.dec();
        // Every close either side chose has already left the room (and moved the phase on), so
        // a session still `Joined` here lost its connection: hold the seat for a resume.
        self.detach_from_room();
    }
}

impl<G: Game> Handler<Wake> for Session<G> {
    type Result = ();

    fn handle(&mut self, _: Wake, ctx: &mut Self::Context) {
        let Phase::Joined { seat, .. } = &self.phase else {
            return;
        };
        if let Some(reason) = seat.close_requested() {
            let code: u16 = reason.code.into();
            let text = reason.description.unwrap_or_default();
            // The room already removed the player: don't ask it again.
            self.phase = Phase::Lobby;
            return self.close(ctx, code, &text);
        }
        // The client is not reading: leave the snapshot pending. If a newer one comes first it
        // replaces this one (a counted drop); the client gets the newest when it reads again.
        // The check is a syscall, so while the socket drains it is made only once per
        // `unsent_limit / 2` bytes written: a full pipe is noticed long before it reaches
        // `SO_SNDBUF` and actix's write buffer, which is when this actor would freeze.
        let limit = self.env.config.unsent_limit;
        if self.written_since_check >= limit / 2 {
            if let Some(fd) = self.conn {
                let unsent = fd.unsent_bytes().unwrap_or(0);
                if unsent > limit {
                    if !seat.shutdown_armed() {
                        // Give the room a way to end this connection should we freeze (a
                        // duplicate descriptor; made now, while the socket is surely open).
                        match fd.duplicate() {
                            Ok(handle) => seat.arm_shutdown(handle),
                            Err(e) => {
                                tracing::warn!(error = %e, "could not duplicate a stalled socket")
                            }
                        }
                    }
                    return;
                }
                self.written_since_check = if unsent == 0 { 0 } else { limit / 2 };
            }
        }
        if let Some(bytes) = seat.take() {
            self.env.metrics.frames_sent_total.inc();
            self.env
                .metrics
                .frame_bytes_sent_total
                .inc_by(bytes.len() as u64);
            self.written_since_check = self.written_since_check.saturating_add(bytes.len());
            ctx.binary(bytes);
        }
    }
}

impl<G: Game> StreamHandler<Result<ws::Message, ProtocolError>> for Session<G> {
    fn handle(&mut self, item: Result<ws::Message, ProtocolError>, ctx: &mut Self::Context) {
        if matches!(self.phase, Phase::Closing) {
            return;
        }
        self.last_heard = Instant::now();
        let msg = match item {
            Ok(m) => m,
            Err(e) => {
                let (code, reason) = if self.oversized.get() || matches!(e, ProtocolError::Overflow)
                {
                    (close::MESSAGE_TOO_BIG, "message too big".to_string())
                } else if matches!(&e, ProtocolError::Io(io) if io.to_string().to_lowercase().contains("utf-8"))
                {
                    (close::INVALID_PAYLOAD, "invalid UTF-8".to_string())
                } else if matches!(e, ProtocolError::Io(_)) {
                    // The connection broke (reset, EOF mid-frame …): no close frame can reach
                    // the client. Stop; `stopped` holds the seat for a resume.
                    tracing::debug!(error = %e, "connection lost");
                    ctx.stop();
                    return;
                } else {
                    (close::PROTOCOL_ERROR, format!("protocol error: {e}"))
                };
                return self.close(ctx, code, &reason);
            }
        };
        match msg {
            ws::Message::Binary(_)
            | ws::Message::Continuation(_)
            | ws::Message::Ping(_)
            | ws::Message::Pong(_)
                if !self.within_rate(ctx) => {}
            ws::Message::Binary(b) => {
                if self.fragments.is_some() {
                    return self.close(
                        ctx,
                        close::PROTOCOL_ERROR,
                        "data frame inside a fragmented message",
                    );
                }
                self.on_message(&b, ctx);
            }
            ws::Message::Continuation(item) => self.on_fragment(item, ctx),
            ws::Message::Text(_) => self.close(
                ctx,
                close::UNSUPPORTED_DATA,
                "text frames are not supported; send binary",
            ),
            ws::Message::Ping(p) => ctx.pong(&p),
            ws::Message::Pong(_) | ws::Message::Nop => {}
            ws::Message::Close(reason) => {
                self.leave_room();
                self.phase = Phase::Closing;
                ctx.close(reason);
                ctx.stop();
            }
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        // The client's half of the stream ended (EOF, reset, or the frame guard cut it off).
        ctx.stop();
    }
}
