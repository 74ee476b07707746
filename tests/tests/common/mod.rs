//! Shared helpers for the end-to-end tests: start a real server on port 0 and talk to it with
//! real WebSocket clients (tokio-tungstenite). Every wait has a timeout; nothing sleeps and hopes.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tickcast_server::game::arena::{Arena, ArenaConfig};
use tickcast_server::{spawn, ServerConfig, ServerHandle};
use tickcast_shared::arena::{
    ArenaClientMsg, ArenaServerMsg, ArenaSnapshot, ArenaWelcome, Controls,
};
use tickcast_shared::{decode, encode, ClientMsg, Input, Join, ServerMsg};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub const TICK_RATE: u16 = 30;
pub const WAIT: Duration = Duration::from_secs(5);

/// Snapshots a reader must get, as a fraction of `tick_rate × seconds`. Loose on purpose: on a
/// loaded 2-core machine the room skips ticks it cannot run on time (no catch-up bursts), which
/// lowers the rate without any snapshot being dropped. Drops are checked separately and strictly
/// from tick numbers; this only catches a fan-out that stalls.
pub const MIN_RATE_FRACTION: f64 = 0.7;

/// A config for tests: fast timeouts, fixed seed.
pub fn test_config() -> ServerConfig {
    ServerConfig {
        tick_rate: TICK_RATE,
        max_players_per_room: 8,
        empty_room_grace: Duration::from_millis(300),
        stall_timeout: Duration::from_secs(4),
        resume_grace: Duration::from_secs(1),
        seed: Some(42),
        workers: 2,
        ..ServerConfig::default()
    }
}

/// A real arena server on 127.0.0.1:0.
pub fn start_arena(config: ServerConfig) -> ServerHandle {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding port 0 should work");
    spawn(listener, config, |seed| {
        Arena::new(ArenaConfig::default(), seed)
    })
    .expect("the server should start")
}

/// GET a JSON document from the server (blocking HTTP client on a blocking thread).
pub async fn get_json(url: String) -> serde_json::Value {
    tokio::task::spawn_blocking(move || {
        ureq::get(&url)
            .timeout(WAIT)
            .call()
            .map_err(|e| format!("GET {url}: {e}"))
            .and_then(|r| {
                r.into_json::<serde_json::Value>()
                    .map_err(|e| e.to_string())
            })
    })
    .await
    .expect("the blocking task should not panic")
    .unwrap_or_else(|e| panic!("{e}"))
}

/// GET a text document.
pub async fn get_text(url: String) -> String {
    tokio::task::spawn_blocking(move || {
        ureq::get(&url)
            .timeout(WAIT)
            .call()
            .map_err(|e| format!("GET {url}: {e}"))
            .and_then(|r| r.into_string().map_err(|e| e.to_string()))
    })
    .await
    .expect("the blocking task should not panic")
    .unwrap_or_else(|e| panic!("{e}"))
}

/// One Prometheus sample value (first line starting with `name `).
pub async fn metric(server: &ServerHandle, name: &str) -> f64 {
    metrics(server, &[name]).await[0]
}

/// Several sample values from one scrape, so counters that move together can be compared.
pub async fn metrics(server: &ServerHandle, names: &[&str]) -> Vec<f64> {
    let text = get_text(server.http_url("/metrics")).await;
    names
        .iter()
        .map(|name| {
            text.lines()
                .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
                .unwrap_or_else(|| panic!("metric {name} missing"))
                .trim()
                .parse()
                .expect("a metric value should be a number")
        })
        .collect()
}

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let t0 = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            t0.elapsed() < timeout,
            "timed out after {timeout:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a client saw next.
#[derive(Debug)]
pub enum Event {
    Msg(ArenaServerMsg),
    Closed(Option<(u16, String)>),
}

pub struct Client {
    pub ws: WebSocketStream<TcpStream>,
    pub welcome: Option<ArenaWelcome>,
    pub seq: u32,
    pub newest_tick: u64,
}

impl Client {
    /// Connects to `/ws` over a plain TCP socket (optionally with a small receive buffer, to make
    /// a non-reading client fill up quickly).
    pub async fn connect_with(addr: SocketAddr, recv_buffer: Option<usize>) -> Client {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("a socket should be created");
        if let Some(n) = recv_buffer {
            socket
                .set_recv_buffer_size(n)
                .expect("SO_RCVBUF should be settable");
        }
        socket
            .connect(&addr.into())
            .expect("connecting to the test server should work");
        socket
            .set_nonblocking(true)
            .expect("nonblocking should be settable");
        let tcp = TcpStream::from_std(socket.into()).expect("tokio should adopt the socket");
        let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), tcp)
            .await
            .expect("the WebSocket handshake should succeed");
        Client {
            ws,
            welcome: None,
            seq: 0,
            newest_tick: 0,
        }
    }

    pub async fn connect(addr: SocketAddr) -> Client {
        Self::connect_with(addr, None).await
    }

    /// Connects and joins; panics unless a Welcome comes back.
    pub async fn join(addr: SocketAddr, join: Join) -> Client {
        let mut c = Self::connect(addr).await;
        c.send(&ClientMsg::Join(join)).await;
        c.expect_welcome().await;
        c
    }

    pub async fn expect_welcome(&mut self) -> &ArenaWelcome {
        loop {
            match self.next(WAIT).await {
                Event::Msg(ServerMsg::Welcome(w)) => {
                    self.welcome = Some(w);
                    return self.welcome.as_ref().expect("just set");
                }
                Event::Msg(_) => continue,
                Event::Closed(c) => panic!("closed instead of welcome: {c:?}"),
            }
        }
    }

    pub fn player_id(&self) -> uuid::Uuid {
        self.welcome.as_ref().expect("joined").player_id
    }

    pub async fn send(&mut self, msg: &ArenaClientMsg) {
        let bytes = encode(msg).expect("test messages should encode");
        self.ws
            .send(Message::Binary(bytes))
            .await
            .expect("send should work");
    }

    pub async fn send_raw(&mut self, msg: Message) {
        self.ws.send(msg).await.expect("send should work");
    }

    /// Sends the next input (seq + 1) with these controls.
    pub async fn input(&mut self, controls: Controls) -> u32 {
        self.seq += 1;
        let msg = ClientMsg::Input(Input {
            seq: self.seq,
            ack_tick: self.newest_tick,
            controls,
        });
        self.send(&msg).await;
        self.seq
    }

    /// The next server message or close, within `timeout` (panics on timeout).
    pub async fn next(&mut self, timeout: Duration) -> Event {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let item = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("no server message within {timeout:?}"));
            match item {
                Some(Ok(Message::Binary(b))) => {
                    let msg: ArenaServerMsg = decode(&b).expect("server messages should decode");
                    if let ServerMsg::Snapshot(s) = &msg {
                        self.newest_tick = self.newest_tick.max(s.tick);
                    }
                    return Event::Msg(msg);
                }
                Some(Ok(Message::Close(frame))) => {
                    return Event::Closed(frame.map(|f| (u16::from(f.code), f.reason.into_owned())))
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Event::Closed(None),
            }
        }
    }

    pub async fn next_snapshot(&mut self) -> ArenaSnapshot {
        loop {
            match self.next(WAIT).await {
                Event::Msg(ServerMsg::Snapshot(s)) => return s,
                Event::Msg(_) => continue,
                Event::Closed(c) => panic!("closed while waiting for a snapshot: {c:?}"),
            }
        }
    }

    /// Reads until the server closes; returns the close code and reason.
    pub async fn expect_close(&mut self) -> (u16, String) {
        loop {
            match self.next(WAIT).await {
                Event::Msg(_) => continue,
                Event::Closed(Some(c)) => return c,
                Event::Closed(None) => panic!("connection ended without a close frame"),
            }
        }
    }

    /// Reads snapshots until player `me`'s input `seq` is acknowledged (panics after `WAIT`).
    pub async fn wait_for_ack(&mut self, me: uuid::Uuid, seq: u32) {
        tokio::time::timeout(WAIT, async {
            loop {
                let s = self.next_snapshot().await;
                if s.state
                    .players
                    .iter()
                    .any(|p| p.id == me && p.last_input == seq)
                {
                    return;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("input {seq} was not acknowledged within {WAIT:?}"));
    }

    /// Reads snapshots until player `id` is no longer in them (panics with `what` after `WAIT`).
    pub async fn wait_until_absent(&mut self, id: uuid::Uuid, what: &str) {
        tokio::time::timeout(WAIT, async {
            loop {
                let s = self.next_snapshot().await;
                if s.state.players.iter().all(|p| p.id != id) {
                    return;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("timed out after {WAIT:?} waiting for: {what}"));
    }

    /// Sends `bytes` as one fragmented binary message, cut at the offsets in `cuts`.
    pub async fn send_fragmented(&mut self, bytes: &[u8], cuts: &[usize]) {
        use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
        use tokio_tungstenite::tungstenite::protocol::frame::Frame;
        let mut bounds = vec![0];
        bounds.extend_from_slice(cuts);
        bounds.push(bytes.len());
        for (i, w) in bounds.windows(2).enumerate() {
            let op = if i == 0 { Data::Binary } else { Data::Continue };
            let last = w[1] == bytes.len();
            let frame = Frame::message(bytes[w[0]..w[1]].to_vec(), OpCode::Data(op), last);
            self.send_raw(Message::Frame(frame)).await;
        }
    }

    /// Counts snapshots for `window`; returns (received, distinct consecutive-tick gaps total).
    pub async fn count_snapshots(&mut self, window: Duration) -> (u64, u64) {
        let end = tokio::time::Instant::now() + window;
        let (mut got, mut missing, mut last) = (0u64, 0u64, None::<u64>);
        while tokio::time::Instant::now() < end {
            let Ok(item) = tokio::time::timeout_at(end, self.ws.next()).await else {
                break;
            };
            if let Some(Ok(Message::Binary(b))) = item {
                if let Ok(ServerMsg::Snapshot(s)) = decode::<ArenaServerMsg>(&b) {
                    got += 1;
                    if let Some(l) = last {
                        missing += s.tick.saturating_sub(l + 1);
                    }
                    last = Some(s.tick);
                    self.newest_tick = s.tick;
                }
            } else if !matches!(item, Some(Ok(_))) {
                panic!("connection ended while counting snapshots: {item:?}");
            }
        }
        (got, missing)
    }

    /// Closes first, as a client that is done: the server must echo the close and then end
    /// the TCP connection itself (RFC 6455 §7.1.1), within [`WAIT`] — not keep it open until
    /// the client gives up.
    #[allow(dead_code)] // not every test file that includes this one closes this way
    pub async fn close_and_expect_the_server_to_end_it(mut self) {
        let _ = self.ws.close(None).await;
        let (mut echoed, t0) = (false, Instant::now());
        loop {
            let next = tokio::time::timeout(WAIT.saturating_sub(t0.elapsed()), self.ws.next());
            match next.await {
                Ok(Some(Ok(Message::Close(_)))) => echoed = true,
                Ok(Some(Ok(_))) => {} // sent before the server read the close
                Ok(_) => break,       // the stream ended: the server closed the connection
                Err(_) => panic!("the server kept the connection open {WAIT:?} after the close"),
            }
        }
        assert!(
            echoed,
            "the server ended the connection without echoing the close"
        );
    }

    /// A clean close: send a close frame and read until the server's answer (the handshake a
    /// well-behaved client completes; dropping with unread data would reset the connection).
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
        let _ = tokio::time::timeout(WAIT, async {
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
    }
}

/// Close code helper for tungstenite.
pub fn code(c: CloseCode) -> u16 {
    u16::from(c)
}
