//! The hostile-client suite: every kind of bad input a client on the open internet can send.
//!
//! Each scenario runs against a real server with a well-behaved **watcher** seated in the room
//! the attackers target. For every bad input it asserts the exact close code (or the exact
//! ignore behaviour); throughout the scenario the watcher must receive snapshots at the tick
//! rate with no gap; afterwards the server must be healthy — `/healthz` ok, and
//! `tickcast_connections`, `tickcast_players`, `tickcast_rooms` back to just the watcher.
//!
//! Attackers that need byte-level control (bad frames, half-open sockets, never answering pings)
//! use [`Raw`], a minimal hand-written WebSocket client; the rest use the common tungstenite
//! [`Client`]. `protocol_errors.rs` covers the basic close codes one by one; this suite adds the
//! rest of the list, the watcher and the health checks.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use futures_util::{SinkExt, StreamExt};
use tickcast_server::{ServerConfig, ServerHandle};
use tickcast_shared::arena::{ArenaClientMsg, ArenaServerMsg, ArenaWelcome, Controls};
use tickcast_shared::{close, decode, encode, error_code, ClientMsg, Input, Join, Ping, ServerMsg};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

const ROOM: &str = "target";

// ---- the watcher ----

/// A well-behaved player reading snapshots in the background (and pinging, so a short heartbeat
/// timeout never applies to it).
struct Watcher {
    stop: oneshot::Sender<()>,
    task: JoinHandle<(Client, u64, u64, Duration)>,
}

impl Watcher {
    async fn join(addr: SocketAddr) -> Watcher {
        let mut c = Client::join(addr, Join::room(ROOM, "watcher")).await;
        // Start counting from a fresh snapshot.
        c.next_snapshot().await;
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let t0 = Instant::now();
            let (mut got, mut missing, mut last) = (0u64, 0u64, None::<u64>);
            let mut ping = tokio::time::interval(Duration::from_millis(300));
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = ping.tick() => {
                        c.send(&ClientMsg::Ping(Ping { client_time: 1.0 })).await;
                    }
                    item = c.ws.next() => match item {
                        Some(Ok(Message::Binary(b))) => {
                            if let Ok(ServerMsg::Snapshot(s)) = decode::<ArenaServerMsg>(&b) {
                                got += 1;
                                if let Some(l) = last {
                                    missing += s.tick.saturating_sub(l + 1);
                                }
                                last = Some(s.tick);
                            }
                        }
                        Some(Ok(_)) => {}
                        other => panic!("the watcher's connection ended: {other:?}"),
                    },
                }
            }
            (c, got, missing, t0.elapsed())
        });
        Watcher { stop, task }
    }

    /// Stops watching; asserts the watcher got every snapshot at the tick rate.
    async fn finish(self) -> Client {
        let _ = self.stop.send(());
        let (c, got, missing, elapsed) = self.task.await.expect("the watcher should not panic");
        let expected = elapsed.as_secs_f64() * f64::from(TICK_RATE);
        assert!(
            got as f64 >= expected * 0.9 - 2.0,
            "the watcher got {got} snapshots in {elapsed:?}, expected ~{expected:.0}"
        );
        assert_eq!(missing, 0, "the watcher missed snapshots");
        c
    }
}

/// Waits until the server counts exactly `connections` sessions, `players` players and `rooms`
/// rooms, and `/healthz` says ok.
async fn assert_healthy(server: &ServerHandle, connections: f64, players: f64, rooms: f64) {
    eventually(
        WAIT,
        "connections, players and rooms back to the baseline",
        || async {
            let c = metric(server, "tickcast_connections").await;
            let p = metric(server, "tickcast_players").await;
            let r = metric(server, "tickcast_rooms").await;
            (c == connections && p == players && r == rooms).then_some(())
        },
    )
    .await;
    let health = get_json(server.http_url("/healthz")).await;
    assert_eq!(health["status"], "ok");
    let rooms_list = get_json(server.http_url("/rooms")).await;
    assert_eq!(
        rooms_list.as_array().map(Vec::len),
        Some(rooms as usize),
        "{rooms_list}"
    );
}

/// Runs a scenario: a server, the watcher in [`ROOM`], the attacks; then the watcher and health
/// checks (one connection, one player, one room left).
async fn scenario<F, Fut>(config: ServerConfig, attacks: F)
where
    F: FnOnce(SocketAddr, ServerHandle) -> Fut,
    Fut: std::future::Future<Output = ServerHandle>,
{
    let server = start_arena(config);
    let addr = server.addr();
    let watcher = Watcher::join(addr).await;
    let server = attacks(addr, server).await;
    let watcher_client = watcher.finish().await;
    assert_healthy(&server, 1.0, 1.0, 1.0).await;
    watcher_client.close_and_expect_the_server_to_end_it().await;
}

// ---- a byte-level WebSocket client ----

/// A hand-rolled client: sends any frame, masked or not, and reads the server's frames raw.
struct Raw {
    tcp: TcpStream,
    buf: Vec<u8>,
}

const OP_CONT: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BIN: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;
const FIN: u8 = 0x80;

/// A client→server frame: `b0` = FIN/RSV/opcode bits.
fn frame(b0: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut f = vec![b0];
    let m = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => f.push(m | n as u8),
        n if n <= 0xffff => {
            f.push(m | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(m | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        f.extend_from_slice(payload);
    }
    f
}

fn join_bytes(name: &str) -> Vec<u8> {
    encode(&ArenaClientMsg::Join(Join::room(ROOM, name))).expect("a join encodes")
}

/// The next server frame `(opcode, payload)` from `r` (bytes already read wait in `buf`), or
/// `None` on EOF/reset; panics after `timeout`.
async fn read_frame_from<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
    timeout: Duration,
) -> Option<(u8, Vec<u8>)> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if buf.len() >= 2 {
            let (op, len7) = (buf[0] & 0x0f, usize::from(buf[1] & 0x7f));
            let (hlen, len) = match len7 {
                126 if buf.len() >= 4 => (4, usize::from(u16::from_be_bytes([buf[2], buf[3]]))),
                127 if buf.len() >= 10 => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&buf[2..10]);
                    (10, u64::from_be_bytes(b) as usize)
                }
                126 | 127 => (usize::MAX, 0),
                n => (2, n),
            };
            if hlen != usize::MAX && buf.len() >= hlen + len {
                let payload = buf[hlen..hlen + len].to_vec();
                buf.drain(..hlen + len);
                return Some((op, payload));
            }
        }
        let mut chunk = [0u8; 8192];
        match tokio::time::timeout_at(deadline, r.read(&mut chunk)).await {
            Err(_) => panic!("no frame within {timeout:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return None,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Raw {
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        let req = format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        tcp.write_all(req.as_bytes())
            .await
            .expect("write handshake");
        let mut buf = Vec::new();
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 1024];
            let n = tokio::time::timeout(WAIT, tcp.read(&mut chunk))
                .await
                .expect("handshake answer in time")
                .expect("read handshake");
            assert!(n > 0, "EOF during the handshake");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        Raw {
            tcp,
            buf: buf[end..].to_vec(),
        }
    }

    /// Connects and joins [`ROOM`] as `name`, reading up to the Welcome.
    async fn join(addr: SocketAddr, name: &str) -> Raw {
        Raw::join_welcome(addr, name).await.0
    }

    /// [`Raw::join`], also returning the Welcome.
    async fn join_welcome(addr: SocketAddr, name: &str) -> (Raw, ArenaWelcome) {
        let mut r = Raw::connect(addr).await;
        r.send(&frame(FIN | OP_BIN, &join_bytes(name), true)).await;
        loop {
            let (op, payload) = r.read_frame(WAIT).await.expect("a welcome");
            if op == OP_BIN {
                if let Ok(ServerMsg::Welcome(w)) = decode::<ArenaServerMsg>(&payload) {
                    return (r, w);
                }
            }
            assert_ne!(op, OP_CLOSE, "closed instead of welcome");
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.tcp.write_all(bytes).await.expect("write");
    }

    /// The next server frame `(opcode, payload)`, or `None` on EOF/reset.
    async fn read_frame(&mut self, timeout: Duration) -> Option<(u8, Vec<u8>)> {
        read_frame_from(&mut self.tcp, &mut self.buf, timeout).await
    }

    /// Reads until a close frame; returns its code and reason. Counts the pings seen on the way.
    async fn expect_close(&mut self) -> (u16, String, usize) {
        let mut pings = 0;
        loop {
            match self.read_frame(WAIT).await {
                Some((OP_CLOSE, p)) if p.len() >= 2 => {
                    let reason = String::from_utf8_lossy(&p[2..]).to_string();
                    return (u16::from_be_bytes([p[0], p[1]]), reason, pings);
                }
                Some((OP_PING, _)) => pings += 1,
                Some(_) => {}
                None => panic!("connection ended without a close frame"),
            }
        }
    }

    /// Reads until EOF (the server dropped the connection); panics after `WAIT`.
    async fn expect_eof(&mut self) {
        while self.read_frame(WAIT).await.is_some() {}
    }
}

// ---- scenarios ----

/// Malformed frames at the WebSocket layer, each from a player seated in the watcher's room.
#[tokio::test]
async fn bad_frames_get_their_close_codes() {
    scenario(test_config(), |addr, server| async move {
        let big = vec![0x90u8; 5000];
        let cases: Vec<(&str, Vec<u8>, u16)> = vec![
            (
                "oversized frame",
                frame(FIN | OP_BIN, &big, true),
                close::MESSAGE_TOO_BIG,
            ),
            (
                "text frame",
                frame(FIN | OP_TEXT, b"{\"join\":1}", true),
                close::UNSUPPORTED_DATA,
            ),
            (
                "a text frame that is not UTF-8",
                frame(FIN | OP_TEXT, &[b'h', 0xff, 0xfe], true),
                close::INVALID_PAYLOAD,
            ),
            (
                "unmasked client frame",
                frame(FIN | OP_BIN, &[0x90], false),
                close::PROTOCOL_ERROR,
            ),
            (
                "reserved opcode 0x3",
                frame(FIN | 0x3, &[1], true),
                close::PROTOCOL_ERROR,
            ),
            (
                "continuation without a start",
                frame(FIN | OP_CONT, &[1, 2], true),
                close::PROTOCOL_ERROR,
            ),
            (
                "a new fragmented message before the last ended",
                [frame(OP_BIN, &[0x81], true), frame(OP_BIN, &[0x81], true)].concat(),
                close::PROTOCOL_ERROR,
            ),
            (
                "a whole binary frame inside a fragmented message",
                [
                    frame(OP_BIN, &[0x81], true),
                    frame(FIN | OP_BIN, &[0x90], true),
                ]
                .concat(),
                close::PROTOCOL_ERROR,
            ),
            (
                "a fragmented text message",
                frame(OP_TEXT, b"hi", true),
                close::UNSUPPORTED_DATA,
            ),
            (
                "fragments adding up past the limit",
                [
                    frame(OP_BIN, &[0x90; 600], true),
                    frame(FIN | OP_CONT, &[0x90; 600], true),
                ]
                .concat(),
                close::MESSAGE_TOO_BIG,
            ),
            (
                "a fragmented ping",
                frame(OP_PING, b"x", true),
                close::PROTOCOL_ERROR,
            ),
            (
                "a ping over 125 bytes",
                frame(FIN | OP_PING, &[7; 126], true),
                close::PROTOCOL_ERROR,
            ),
            (
                "a frame declaring 2^63 bytes",
                [
                    0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4,
                ]
                .to_vec(),
                close::MESSAGE_TOO_BIG,
            ),
        ];
        for (i, (what, bytes, want)) in cases.into_iter().enumerate() {
            let mut r = Raw::join(addr, &format!("bad{i}")).await;
            r.send(&bytes).await;
            let (code, reason, _) = r.expect_close().await;
            assert_eq!(code, want, "{what}: closed with {code} ({reason})");
        }
        server
    })
    .await;
}

/// How soon a protocol error's close frame must arrive: far below the 10–15 s a connection that
/// got no close frame used to linger, far above a close sent at once on a loaded machine.
const CLOSE_DEADLINE: Duration = Duration::from_secs(3);

/// A frame with reserved bit `bit` set, from a seated player: no extension is negotiated, so it
/// is a protocol error. The server closes with 1002 at once (not a silent stop and a socket left
/// open), and — a protocol close, not a lost connection — the seat is void: the player leaves the
/// room at once (the health check runs well within the resume grace) and the token gets 4005.
async fn a_reserved_bit_is_closed_with_1002_and_voids_the_seat(bit: u8) {
    let config = ServerConfig {
        resume_grace: Duration::from_secs(30),
        ..test_config()
    };
    scenario(config, |addr, server| async move {
        let closes_before = metric(&server, "tickcast_protocol_closes_total").await;
        let (mut r, welcome) = Raw::join_welcome(addr, "reserved").await;
        let token = welcome.resume_token.expect("the server offers resume");
        r.send(&frame(FIN | OP_BIN | bit, &[0x90], true)).await;
        let (code, reason, _) = tokio::time::timeout(CLOSE_DEADLINE, r.expect_close())
            .await
            .unwrap_or_else(|_| panic!("RSV {bit:#04x}: no close frame within {CLOSE_DEADLINE:?}"));
        assert_eq!(code, close::PROTOCOL_ERROR, "RSV {bit:#04x}: {reason}");
        assert!(reason.contains("reserved bits"), "{reason}");
        tokio::time::timeout(CLOSE_DEADLINE, r.expect_eof())
            .await
            .unwrap_or_else(|_| panic!("RSV {bit:#04x}: the socket stayed open after the close"));
        assert_eq!(
            metric(&server, "tickcast_protocol_closes_total").await - closes_before,
            1.0
        );

        let mut join = Join::room(ROOM, "reserved");
        join.resume = Some(token);
        let mut again = Client::connect(addr).await;
        again.send(&ClientMsg::Join(join)).await;
        let (code, reason) = again.expect_close().await;
        assert_eq!(code, close::RESUME_REFUSED, "RSV {bit:#04x}: {reason}");
        server
    })
    .await;
}

#[tokio::test]
async fn a_frame_with_rsv1_set_is_closed_with_1002_and_voids_the_seat() {
    a_reserved_bit_is_closed_with_1002_and_voids_the_seat(0x40).await;
}

#[tokio::test]
async fn a_frame_with_rsv2_set_is_closed_with_1002_and_voids_the_seat() {
    a_reserved_bit_is_closed_with_1002_and_voids_the_seat(0x20).await;
}

#[tokio::test]
async fn a_frame_with_rsv3_set_is_closed_with_1002_and_voids_the_seat() {
    a_reserved_bit_is_closed_with_1002_and_voids_the_seat(0x10).await;
}

/// Bytes that are not tickcast MessagePack: closed with 1007 on the first offence.
#[tokio::test]
async fn undecodable_messages_are_closed_with_1007() {
    scenario(test_config(), |addr, server| async move {
        let mut truncated_join = join_bytes("cut");
        truncated_join.truncate(truncated_join.len() - 2);
        let mut trailing = encode(&ArenaClientMsg::Ping(Ping { client_time: 1.0 })).unwrap();
        trailing.push(0xc0);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "garbage bytes",
                vec![0xc1, 0xde, 0xad, 0xbe, 0xef, 0x00, 0xff],
            ),
            ("empty message", vec![]),
            ("truncated MessagePack", truncated_join),
            ("a bare string", encode(&"join").unwrap()),
            (
                "an unknown message",
                encode(&serde_json::json!({"hack": [1]})).unwrap(),
            ),
            (
                "join with a number for a name",
                encode(&serde_json::json!({"join": [1, null, 42, null]})).unwrap(),
            ),
            (
                "input with a string seq",
                encode(&serde_json::json!({"input": ["1", 0, [0.0, 0.0, 0]]})).unwrap(),
            ),
            (
                "input with a negative seq",
                encode(&serde_json::json!({"input": [-1, 0, [0.0, 0.0, 0]]})).unwrap(),
            ),
            (
                "input with buttons out of u8 range",
                encode(&serde_json::json!({"input": [1, 0, [0.0, 0.0, 300]]})).unwrap(),
            ),
            ("trailing bytes", trailing),
            ("an extension type", vec![0xd4, 0x01, 0x00]),
            ("deep nesting", [vec![0x91; 500], vec![0xc0]].concat()),
        ];
        let before = metric(&server, "tickcast_decode_errors_total").await;
        let n = cases.len() as f64;
        for (i, (what, bytes)) in cases.into_iter().enumerate() {
            // Half the attackers are seated in the watcher's room, half still in the lobby.
            let mut c = if i % 2 == 0 {
                Client::join(addr, Join::room(ROOM, format!("junk{i}"))).await
            } else {
                Client::connect(addr).await
            };
            c.send_raw(Message::Binary(bytes)).await;
            let (code, reason) = c.expect_close().await;
            assert_eq!(code, close::INVALID_PAYLOAD, "{what}: {code} ({reason})");
        }
        assert!(metric(&server, "tickcast_decode_errors_total").await >= before + n);
        server
    })
    .await;
}

/// A frame declaring 1 GiB, streamed slowly: cut off from the header with 1009 while server
/// memory stays where it was.
#[tokio::test]
async fn a_huge_frame_streamed_slowly_is_cut_off_without_buffering() {
    scenario(test_config(), |addr, server| async move {
        let rss_before = metric(&server, "process_resident_memory_bytes").await;
        let mut r = Raw::join(addr, "slowloris").await;
        r.send(&[0x82, 0xff]).await;
        r.send(&(1u64 << 30).to_be_bytes()).await;
        r.send(&[9, 9, 9, 9]).await;
        // Keep streaming payload (up to 64 MiB, 64 KiB at a time) while waiting for the close:
        // the server must answer from the header, not after buffering what follows.
        const MAX_STREAM: usize = 64 << 20;
        let t0 = Instant::now();
        let (mut rd, mut wr) = r.tcp.split();
        let buf = &mut r.buf;
        let reader = async move {
            loop {
                match read_frame_from(&mut rd, buf, WAIT).await {
                    Some((OP_CLOSE, p)) if p.len() >= 2 => return u16::from_be_bytes([p[0], p[1]]),
                    Some(_) => continue,
                    None => panic!("connection ended without a close frame"),
                }
            }
        };
        let writer = async move {
            let chunk = vec![0x42u8; 64 * 1024];
            let mut sent = 0;
            while sent < MAX_STREAM && wr.write_all(&chunk).await.is_ok() {
                sent += chunk.len();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            sent
        };
        tokio::pin!(reader);
        let code = tokio::select! {
            code = &mut reader => code,
            sent = writer => {
                assert!(sent < MAX_STREAM, "streamed all {sent} bytes without being cut off");
                reader.await
            }
        };
        assert_eq!(code, close::MESSAGE_TOO_BIG);
        assert!(t0.elapsed() < WAIT);
        let rss_after = metric(&server, "process_resident_memory_bytes").await;
        assert!(
            rss_after - rss_before < 16.0 * 1024.0 * 1024.0,
            "RSS grew from {rss_before} to {rss_after}"
        );
        server
    })
    .await;
}

/// NaN, infinities and out-of-range numbers in inputs are neutralised, never applied raw; the
/// attacker stays in the game.
#[tokio::test]
async fn non_finite_and_huge_numbers_in_inputs_are_neutralised() {
    scenario(test_config(), |addr, server| async move {
        let mut c = Client::join(addr, Join::room(ROOM, "nan")).await;
        let info = c.welcome.as_ref().unwrap().game;
        let me = c.player_id();
        // Body layout: [seq, ack_tick, [x, y, buttons]]; x and y may be any float or int.
        let inputs = [
            encode(&BTreeMap::from([(
                "input",
                (1u32, 0u64, (f32::NAN, f32::INFINITY, 255u8)),
            )])),
            encode(&BTreeMap::from([(
                "input",
                (2u32, u64::MAX, (f64::NEG_INFINITY, 1e300f64, 1u8)),
            )])),
            encode(&BTreeMap::from([(
                "input",
                (3u32, 0u64, (u64::MAX, i64::MIN, 0u8)),
            )])),
            encode(&BTreeMap::from([(
                "input",
                (4u32, 0u64, (1e-45f64, -1e38f64, 1u8)),
            )])),
        ];
        for bytes in inputs {
            c.send_raw(Message::Binary(bytes.unwrap())).await;
        }
        // The last input is applied (ack 4), and the player's state stays finite and in bounds.
        for _ in 0..(2 * TICK_RATE) {
            let s = c.next_snapshot().await;
            let p = s.state.players.iter().find(|p| p.id == me).unwrap();
            for v in [p.x, p.y, p.vx, p.vy] {
                assert!(v.is_finite(), "non-finite state: {p:?}");
            }
            assert!((0.0..=info.width).contains(&p.x) && (0.0..=info.height).contains(&p.y));
            if p.last_input == 4 {
                c.close().await;
                return server;
            }
        }
        panic!("the inputs were not applied");
    })
    .await;
}

/// Names: control and invisible characters are refused with 4003; HTML is kept verbatim as
/// text (clients render names as text).
#[tokio::test]
async fn hostile_names_are_refused_or_kept_as_text() {
    scenario(test_config(), |addr, server| async move {
        for name in [
            "line\nbreak",
            "nul\u{0}",
            "bell\u{7}",
            "esc\u{1b}[31m",
            "rtl\u{202e}evil",
            "zero\u{200b}width",
            "\u{feff}bom",
            "   ",
        ] {
            let mut c = Client::connect(addr).await;
            c.send(&ClientMsg::Join(Join::room(ROOM, name))).await;
            let (code, _) = c.expect_close().await;
            assert_eq!(code, close::INVALID_JOIN, "{name:?}");
        }
        let html = "<img src=x onerror=1>";
        assert!(html.chars().count() <= 21);
        let html = &html[..20];
        let mut c = Client::join(addr, Join::room(ROOM, html)).await;
        let s = c.next_snapshot().await;
        assert!(
            s.state.players.iter().any(|p| &*p.name == html),
            "the name is stored verbatim"
        );
        c.close().await;
        server
    })
    .await;
}

/// Replayed and decreasing seqs are ignored (4102 sent once), a second join and inputs before
/// the join are ignored with their error codes; the session stays open.
#[tokio::test]
async fn replays_repeats_and_out_of_order_messages_are_ignored() {
    scenario(test_config(), |addr, server| async move {
        let mut c = Client::connect(addr).await;
        c.input(Controls::default()).await;
        match c.next(WAIT).await {
            Event::Msg(ServerMsg::Error(e)) => assert_eq!(e.code, error_code::NOT_JOINED),
            other => panic!("{other:?}"),
        }
        c.send(&ClientMsg::Join(Join::room(ROOM, "replayer"))).await;
        c.expect_welcome().await;
        let me = c.player_id();
        let send = |seq: u32| {
            encode(&ClientMsg::Input(Input {
                seq,
                ack_tick: 0,
                controls: Controls::new(1.0, 0.0, 0),
            }))
            .unwrap()
        };
        for seq in [5, 5, 3, 1, 5, 0] {
            c.send_raw(Message::Binary(send(seq))).await;
        }
        c.send(&ClientMsg::Join(Join::room(ROOM, "again"))).await;
        let (mut stale, mut again, mut acked) = (0, 0, 0u32);
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(700) {
            match c.next(WAIT).await {
                Event::Msg(ServerMsg::Error(e)) if e.code == error_code::STALE_INPUT => stale += 1,
                Event::Msg(ServerMsg::Error(e)) if e.code == error_code::ALREADY_JOINED => {
                    again += 1
                }
                Event::Msg(ServerMsg::Snapshot(s)) => {
                    let p = s.state.players.iter().find(|p| p.id == me).unwrap();
                    acked = p.last_input;
                    assert!(acked == 0 || acked == 5, "applied a stale seq: {acked}");
                }
                Event::Msg(other) => panic!("{other:?}"),
                Event::Closed(c) => panic!("closed: {c:?}"),
            }
        }
        assert_eq!(
            (stale, again, acked),
            (1, 1, 5),
            "(4102 errors, 4101 errors, ack)"
        );
        c.send_raw(Message::Binary(send(6))).await;
        c.wait_for_ack(me, 6).await;
        c.close().await;
        server
    })
    .await;
}

/// A client flooding inputs: the excess is dropped and counted, and the session is closed with
/// 1008; a client at the normal input rate is never limited.
#[tokio::test]
async fn an_input_flood_is_dropped_then_closed_with_1008() {
    scenario(test_config(), |addr, server| async move {
        let dropped_before = metric(&server, "tickcast_inputs_dropped_total").await;
        let mut steady = Client::join(addr, Join::room(ROOM, "steady")).await;
        let mut flood = Client::join(addr, Join::room(ROOM, "flood")).await;
        // Far over the rate, without waiting for anything.
        for seq in 1..=2000 {
            let msg = ClientMsg::Input(Input {
                seq,
                ack_tick: 0,
                controls: Controls::new(0.0, 1.0, 0),
            });
            if flood
                .ws
                .feed(Message::Binary(encode(&msg).unwrap()))
                .await
                .is_err()
            {
                break;
            }
        }
        let _ = flood.ws.flush().await;
        let (code, reason) = flood.expect_close().await;
        assert_eq!(code, close::POLICY_VIOLATION, "{reason}");
        assert!(reason.contains("flood"), "{reason}");
        let dropped = metric(&server, "tickcast_inputs_dropped_total").await - dropped_before;
        assert!(dropped >= 1.0, "no input was dropped");
        // 1.5 s at the tick rate, every input applied.
        for _ in 0..(TICK_RATE + TICK_RATE / 2) {
            steady.input(Controls::new(1.0, 0.0, 0)).await;
            tokio::time::sleep(Duration::from_millis(1000 / u64::from(TICK_RATE))).await;
        }
        let last = steady.seq;
        let me = steady.player_id();
        steady.wait_for_ack(me, last).await;
        assert_eq!(
            metric(&server, "tickcast_inputs_dropped_total").await - dropped_before,
            dropped,
            "the steady client had inputs dropped"
        );
        steady.close().await;

        // Control frames count too: a flood of WebSocket pings (each would cost a pong) or
        // unsolicited pongs is closed the same way.
        for (i, op) in [OP_PING, OP_PONG].into_iter().enumerate() {
            let mut r = Raw::join(addr, &format!("ctl{i}")).await;
            let burst: Vec<u8> = (0..500).flat_map(|_| frame(FIN | op, b"x", true)).collect();
            r.send(&burst).await;
            let (code, reason, _) = r.expect_close().await;
            assert_eq!(code, close::POLICY_VIOLATION, "opcode {op}: {reason}");
        }
        server
    })
    .await;
}

/// A client that goes silent — never answers pings, sends nothing — is closed with 4006 after
/// the client timeout (its seat held for a resume), and leaves the room after the grace.
#[tokio::test]
async fn a_client_that_never_answers_pings_is_closed_with_4006() {
    let config = ServerConfig {
        heartbeat_interval: Duration::from_millis(200),
        client_timeout: Duration::from_millis(900),
        // A timed-out player's seat is held for a resume; let it go well before the watcher,
        // which stops reading (and answering pings) once it is finished, times out too.
        resume_grace: Duration::from_millis(100),
        ..test_config()
    };
    scenario(config, |addr, server| async move {
        let mut silent = Raw::join(addr, "silent").await;
        let t0 = Instant::now();
        // Raw never answers pings: reading until the close counts them, unanswered.
        let (code, reason, pings) = silent.expect_close().await;
        assert_eq!(code, close::TIMED_OUT);
        assert!(close::is_resumable(code));
        assert!(reason.contains("heartbeat"), "{reason}");
        assert!(pings >= 2, "the server pinged {pings} times");
        assert!(t0.elapsed() < Duration::from_secs(3));
        server
    })
    .await;
}

/// Half-open and broken connections: a client that half-closes (FIN, still reading), one that
/// disconnects in the middle of a frame, one that resets mid-frame, and one that never even
/// completes a join. None leaks a session, a seat or a room.
#[tokio::test]
async fn half_open_and_mid_frame_disconnects_leave_nothing_behind() {
    let config = ServerConfig {
        join_timeout: Duration::from_millis(800),
        ..test_config()
    };
    scenario(config, |addr, server| async move {
        // Half-close: the server sees EOF, ends the session and drops the connection.
        let mut half = Raw::join(addr, "half").await;
        half.tcp.shutdown().await.expect("shutdown(Write)");
        half.expect_eof().await;

        // Mid-frame, orderly close (FIN) after half a frame.
        let mut mid = Raw::join(addr, "mid").await;
        let f = frame(FIN | OP_BIN, &[0x90; 100], true);
        mid.send(&f[..40]).await;
        drop(mid);

        // Mid-frame, reset (RST) — SO_LINGER 0 then close.
        let rst = Raw::join(addr, "rst").await;
        let mut rst = rst;
        rst.send(&frame(FIN | OP_BIN, &[0x90; 100], true)[..7])
            .await;
        let std = rst.tcp.into_std().expect("into_std");
        socket2::SockRef::from(&std)
            .set_linger(Some(Duration::ZERO))
            .expect("SO_LINGER");
        drop(std);

        // Connected, never joins, sends half a frame header and waits: join timeout (1008).
        let mut lobby = Raw::connect(addr).await;
        lobby.send(&[0x82]).await;
        let (code, reason, _) = lobby.expect_close().await;
        assert_eq!(code, close::POLICY_VIOLATION, "{reason}");
        server
    })
    .await;
}
