//! The session actor: one per WebSocket connection.
//!
//! It decodes frames (reassembling fragmented messages up to the size limit), validates and
//! forwards the join to the registry and inputs to its seat, answers pings once joined (an input
//! or ping before that gets error 4100 and is ignored), writes snapshots when its room wakes it,
//! and closes with the right code on any protocol error: 1002 protocol error (reserved bits
//! included: the frame guard refuses them), 1003 text frame, 1007 malformed message, 1008 policy
//! (join timeout, flood), 1009 too big, 4000–4005 for join refusals, 4006 heartbeat timeout (seat held; see `shared/PROTOCOL.md`). Every data frame, ping and pong
//! is charged to a [`TokenBucket`]: over the rate it is dropped (`tickcast_inputs_dropped_total`),
//! sustained flooding closes with 1008. With `--auth-secret`, the join's name must be the one in
//! the token the upgrade was admitted with (else 4003). A close either side chose removes the
//! player at once; a lost connection (reset, EOF, heartbeat timeout: 4006) detaches it instead, and the
//! room holds the seat for `resume_grace` so a `Join.resume` with the Welcome's token gets the
//! same player back (the room also detaches a seat whose session vanished). It holds
//! its admission [`Ticket`] until it is dropped, which frees its connection slot.
//!
//! The actor only wires three pure units: `session/checks.rs` (what in the client's bytes ends the
//! session, and with which [`Close`] from the protocol crate's list), `session/phase.rs` (where
//! the session stands with its room, and what each transition must tell the room) and
//! `session/linger.rs` (after its own close frame, the session reads and discards until the
//! client's close arrives or a deadline passes, so no reset destroys that frame).
//!
//! The actor's own work is split by job: `session/join.rs` (the join and resume, and what the
//! session keeps of its room) and `session/fragments.rs` (reassembling fragmented messages).
//!
//! Talks to: the registry (join), its room (leave) and its [`Seat`] (snapshots in, inputs out).

mod checks;
mod deliver;
mod fragments;
mod join;
mod linger;
mod phase;
mod tally;

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use actix_http::ws::Item;
use actix_web_actors::ws::{self, ProtocolError};
use bytes::BytesMut;
use tickcast_shared::close::Close;
use tickcast_shared::{
    encode, error_code, ClientMsg, ErrorMsg, Pong, Redirect, ServerMsg, Welcome,
};
use uuid::Uuid;

use crate::admission::Ticket;
use crate::bell::{Entry, ShutdownBell};
use crate::config::ServerConfig;
use crate::conn::ConnFd;
use crate::drain::OpenConnections;
use crate::frame_guard::Tripped;
use crate::game::Game;
use crate::metrics::Metrics;
use crate::rate_limit::{TokenBucket, Verdict};
use crate::registry::{retry_after_secs, JoinError, JoinRoom, Joined, Registry, ResumeRoom};
use crate::room::{DetachPlayer, RemovePlayer, Room};
use crate::seat::Seat;
use crate::wake::{self, Wake, WakeHandle, Wakes};

use checks::is_protocol_close;
pub use checks::{close_frame, decode_message, stream_close, validate_join};
use join::{Membership, Phase};
use linger::{linger_after, while_lingering, Lingering};
use tally::Tally;

// ---- the actor ----

/// Everything a session needs from the server, shared by all sessions.
pub struct SessionEnv<G: Game> {
    pub registry: Addr<Registry<G>>,
    pub config: Arc<ServerConfig>,
    pub metrics: Arc<Metrics>,
    /// Rung when the server shuts down (sessions close with 1001).
    pub bell: ShutdownBell,
    /// The upgraded connections a shutdown waits for.
    pub open: OpenConnections,
}

impl<G: Game> Clone for SessionEnv<G> {
    fn clone(&self) -> Self {
        SessionEnv {
            registry: self.registry.clone(),
            config: self.config.clone(),
            metrics: self.metrics.clone(),
            bell: self.bell.clone(),
            open: self.open.clone(),
        }
    }
}

pub struct Session<G: Game> {
    env: SessionEnv<G>,
    conn: Option<ConnFd>,
    /// Why the frame guard's stream failed, if it did.
    cut: Tripped,
    phase: Phase<G>,
    last_heard: Instant,
    stale_input_reported: bool,
    /// A fragmented message being reassembled.
    fragments: Option<BytesMut>,
    /// What the room wakes this session with (a clone goes with the join) …
    wake: WakeHandle,
    /// … and the stream the actor polls for it (added to the context when it starts).
    wakes: Option<Wakes>,
    /// This session's place on the shutdown bell, while it runs.
    bell_entry: Option<Entry>,
    /// Snapshot bytes written since the last unsent-bytes check (see the `Wake` handler).
    written_since_check: usize,
    /// The message rate limit.
    bucket: TokenBucket,
    /// Frames and inputs not yet added to the shared counters.
    tally: Tally,
    /// The admission slot (released on drop) and the join token's claims.
    ticket: Option<Ticket>,
}

impl<G: Game> Session<G> {
    pub fn new(env: SessionEnv<G>, conn: Option<ConnFd>, cut: Tripped) -> Self {
        let tick_rate = f64::from(env.config.tick_rate);
        let bucket = TokenBucket::new(
            env.config.message_rate_factor * tick_rate,
            env.config.message_burst_factor * tick_rate,
            Instant::now(),
        );
        let (wake, wakes) = wake::channel();
        Session {
            env,
            wake,
            wakes: Some(wakes),
            bell_entry: None,
            conn,
            cut,
            phase: Phase::Lobby,
            last_heard: Instant::now(),
            stale_input_reported: false,
            fragments: None,
            written_since_check: usize::MAX,
            bucket,
            tally: Tally::default(),
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
                self.close(ctx, Close::InputFlood);
                false
            }
        }
    }

    /// Queue the close frame for `close`, leaving the room first if still in one, then stop —
    /// at once, or once the client answers or the linger deadline passes (see `linger.rs`).
    /// Protocol-error codes are counted. Does nothing once a close is under way.
    fn close(&mut self, ctx: &mut ws::WebsocketContext<Self>, close: Close) {
        let Ok(membership) = self.phase.begin_close() else {
            return;
        };
        let frame = close_frame(&close);
        let code = u16::from(frame.code);
        if is_protocol_close(code) {
            self.env.metrics.protocol_closes_total.inc();
        }
        let room_id = membership.as_ref().map(|m| m.room_id.clone());
        let player_id = membership.as_ref().map(|m| m.player_id);
        let reason = frame.description.as_deref().unwrap_or_default();
        tracing::debug!(?room_id, ?player_id, code, reason, "closing session");
        if let Some(m) = membership {
            m.leave();
        }
        ctx.close(Some(frame));
        match linger_after(&close) {
            Some(deadline) => {
                ctx.run_later(deadline, |act, ctx| act.end_linger(ctx));
            }
            None => ctx.stop(),
        }
    }

    /// Ends the wait after our close frame (the client answered, or the deadline passed; either
    /// way the frame has been written long before): shuts the socket down, then stops. Stopping alone is not enough: actix does not end a connection
    /// whose session stopped after a finished close handshake with nothing left to read
    /// (measured: the TCP connection stayed open, both queues empty, until the client gave up).
    /// The shutdown sends the FIN the client waits for; nothing is unread, so it is no reset.
    fn end_linger(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        if let Some(fd) = self.conn {
            match fd.duplicate() {
                Ok(handle) => handle.shutdown(),
                Err(e) => tracing::warn!(error = %e, "could not shut a closed connection down"),
            }
        }
        ctx.stop();
    }

    fn send(
        &self,
        ctx: &mut ws::WebsocketContext<Self>,
        msg: &ServerMsg<G::State, G::Info, <G::Frame as tickcast_shared::delta::Diffable>::Patch>,
    ) {
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
                return self.close(ctx, refusal);
            }
        };
        match msg {
            ClientMsg::Join(join) => self.on_join(join, ctx),
            ClientMsg::Input(input) => {
                let Some(Membership { seat, .. }) = self.phase.membership() else {
                    return self.not_joined(ctx);
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
                if self.tally.input() {
                    self.tally.flush(&self.env.metrics);
                }
            }
            // Like an input, a ping needs an accepted join (PROTOCOL.md: 4100, ignored).
            ClientMsg::Ping(_) if self.phase.membership().is_none() => self.not_joined(ctx),
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

    /// An input or ping before the join was accepted: ignored, with a 4100 error.
    fn not_joined(&self, ctx: &mut ws::WebsocketContext<Self>) {
        self.send_error(ctx, error_code::NOT_JOINED, "join a room first");
    }
}

impl<G: Game> Actor for Session<G> {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if let Some(wakes) = self.wakes.take() {
            ctx.add_stream(wakes);
        }
        self.bell_entry = Some(self.env.bell.enter(self.wake.clone()));
        if self.env.bell.is_down() {
            // Rung before we entered: the wake handler closes.
            let _ = self.wake.wake();
        }
        self.env.metrics.connections.inc();
        self.env.metrics.connections_total.inc();

        let cfg = self.env.config.clone();
        ctx.run_later(cfg.join_timeout, |act, ctx| {
            if act.phase.awaiting_join() {
                act.close(ctx, Close::JoinTimeout);
            }
        });
        ctx.run_interval(cfg.heartbeat_interval, move |act, ctx| {
            if act.phase.is_closing() {
                // Lingering after a close frame: nothing more goes out.
                return;
            }
            if act.last_heard.elapsed() > cfg.client_timeout {
                // A silent client has most likely lost its connection: keep its seat for a resume.
                if let Some(m) = act.phase.release() {
                    m.detach();
                }
                act.close(ctx, Close::HeartbeatTimeout);
            } else {
                ctx.ping(b"");
            }
        });
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.env.metrics.connections.dec();
        if let Some(entry) = self.bell_entry.take() {
            self.env.bell.leave(entry);
        }
        self.tally.flush(&self.env.metrics);
        // Every close either side chose has already left the room (and moved the phase on), so
        // a session still `Joined` here lost its connection: hold the seat for a resume.
        if let Some(m) = self.phase.release() {
            m.detach();
        }
    }
}

impl<G: Game> StreamHandler<Result<ws::Message, ProtocolError>> for Session<G> {
    fn handle(&mut self, item: Result<ws::Message, ProtocolError>, ctx: &mut Self::Context) {
        if self.phase.is_closing() {
            // Our close frame is out: discard until the client's close (or the deadline).
            match while_lingering(&item) {
                Lingering::Discard => {}
                Lingering::Answered => self.end_linger(ctx),
                Lingering::Broken => ctx.stop(),
            }
            return;
        }
        self.last_heard = Instant::now();
        let msg = match item {
            Ok(m) => m,
            Err(e) => {
                return match stream_close(&e, self.cut.get()) {
                    Some(close) => self.close(ctx, close),
                    None => {
                        // The connection broke (reset, EOF mid-frame …): no close frame can
                        // reach the client. Stop; `stopped` holds the seat for a resume.
                        tracing::debug!(error = %e, "connection lost");
                        ctx.stop();
                    }
                };
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
                    return self.close(ctx, Close::DataFrameInFragments);
                }
                self.on_message(&b, ctx);
            }
            ws::Message::Continuation(item) => self.on_fragment(item, ctx),
            ws::Message::Text(_) => self.close(ctx, Close::TextFrame),
            ws::Message::Ping(p) => ctx.pong(&p),
            ws::Message::Pong(_) | ws::Message::Nop => {}
            ws::Message::Close(reason) => {
                // The client chose to close: the player leaves for good. Echo its frame, and
                // end the connection (the client waits for the server to close TCP first).
                if let Ok(Some(m)) = self.phase.begin_close() {
                    m.leave();
                }
                ctx.close(reason);
                if let Some(fd) = self.conn {
                    fd.shutdown_read();
                }
                ctx.stop();
            }
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        // The client's half of the stream ended (EOF, reset, or the frame guard cut it off).
        ctx.stop();
    }
}
