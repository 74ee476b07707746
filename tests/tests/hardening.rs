//! End-to-end: what the server refuses before a WebSocket exists (connection limits 429/503,
//! origin 403, join tokens 401 and the token's name at join, 4003), TLS (wss with a self-signed
//! certificate), and room supervision (a game that panics takes down only its own room).

mod common;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use futures_util::{SinkExt, StreamExt};
use tickcast_server::game::counter::{Counter, CounterState};
use tickcast_server::token::{unix_now, Claims, TokenKey};
use tickcast_server::{spawn, ServerConfig};
use tickcast_shared::arena::{ArenaInfo, ArenaPatch, ArenaState, Controls};
use tickcast_shared::{close, decode, encode, ClientMsg, Input, Join, ServerMsg};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Tries an upgrade of `url` with extra headers: the socket, or the refusal's status and body.
async fn upgrade(url: &str, headers: &[(&'static str, &str)]) -> Result<Ws, (u16, String)> {
    let mut req = url.into_client_request().expect("a valid URL");
    for (k, v) in headers {
        req.headers_mut()
            .insert(*k, v.parse().expect("a valid header value"));
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(WsError::Http(resp)) => {
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).to_string())
                .unwrap_or_default();
            Err((resp.status().as_u16(), body))
        }
        Err(e) => panic!("unexpected handshake error: {e}"),
    }
}

async fn send<I: serde::Serialize>(ws: &mut Ws, msg: &ClientMsg<I>) {
    let bytes = encode(msg).expect("encodes");
    ws.send(Message::Binary(bytes)).await.expect("send");
}

/// The next message of a socket speaking game `S`/`W`/`P`, or its close code.
async fn next_msg<S, W, P>(ws: &mut Ws) -> Result<ServerMsg<S, W, P>, Option<u16>>
where
    ServerMsg<S, W, P>: serde::de::DeserializeOwned,
{
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await {
            Err(_) => panic!("no server message within {WAIT:?}"),
            Ok(Some(Ok(Message::Binary(b)))) => {
                return Ok(decode(&b).expect("server messages decode"))
            }
            Ok(Some(Ok(Message::Close(f)))) => return Err(f.map(|f| u16::from(f.code))),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) => return Err(None),
        }
    }
}

/// Joins an arena room over `ws`; returns the welcome's room id or the close code.
async fn arena_join(ws: &mut Ws, join: Join) -> Result<String, Option<u16>> {
    send::<Controls>(ws, &ClientMsg::Join(join)).await;
    loop {
        if let ServerMsg::Welcome(w) = next_msg::<ArenaState, ArenaInfo, ArenaPatch>(ws).await? {
            return Ok(w.room_id);
        }
    }
}

// ---- connection limits ----

#[tokio::test]
async fn connection_limits_refuse_the_upgrade_with_429_and_503() {
    let server = start_arena(ServerConfig {
        max_connections: 3,
        max_connections_per_ip: 2,
        limit_loopback: true,
        ..test_config()
    });
    let url = server.ws_url();
    let a = upgrade(&url, &[]).await.expect("first connection");
    let b = upgrade(&url, &[]).await.expect("second connection");
    let (status, body) = upgrade(&url, &[])
        .await
        .expect_err("a third from the same IP");
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("too many connections"), "{body}");
    // The slot comes back when a session ends, however it ends.
    drop(a);
    let c = eventually(WAIT, "a freed per-IP slot", || {
        let url = url.clone();
        async move { upgrade(&url, &[]).await.ok() }
    })
    .await;
    let refused = get_text(server.http_url("/metrics")).await;
    assert!(
        refused.contains("tickcast_upgrades_refused_total{reason=\"per_ip\"}"),
        "{refused}"
    );
    drop((b, c));
    eventually(WAIT, "sessions gone", || async {
        (metric(&server, "tickcast_connections").await == 0.0).then_some(())
    })
    .await;

    // The total limit, with loopback exempt from the per-IP one (the default).
    let server = start_arena(ServerConfig {
        max_connections: 2,
        max_connections_per_ip: 1,
        ..test_config()
    });
    let url = server.ws_url();
    let _a = upgrade(&url, &[]).await.expect("first");
    let _b = upgrade(&url, &[])
        .await
        .expect("second: loopback is not limited per IP");
    let (status, body) = upgrade(&url, &[]).await.expect_err("over the total");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("server full"), "{body}");
    let health = get_json(server.http_url("/healthz")).await;
    assert_eq!(health["status"], "ok");
}

// ---- origins ----

#[tokio::test]
async fn only_allowed_origins_may_upgrade() {
    let server = start_arena(ServerConfig {
        allowed_origins: vec![
            "https://game.example".into(),
            "http://127.0.0.1:8080".into(),
        ],
        ..test_config()
    });
    let url = server.ws_url();
    let (status, _) = upgrade(&url, &[("origin", "https://evil.example")])
        .await
        .expect_err("a foreign origin is refused");
    assert_eq!(status, 403);
    let (status, _) = upgrade(&url, &[("origin", "null")])
        .await
        .expect_err("an opaque origin is refused");
    assert_eq!(status, 403);
    let mut ws = upgrade(&url, &[("origin", "https://game.example")])
        .await
        .expect("an allowed origin");
    arena_join(&mut ws, Join::any_room("browser"))
        .await
        .expect("joins");
    let mut ws = upgrade(&url, &[])
        .await
        .expect("no Origin: not a browser, allowed");
    arena_join(&mut ws, Join::any_room("bot"))
        .await
        .expect("joins");
}

// ---- join tokens ----

#[tokio::test]
async fn join_tokens_are_checked_before_the_upgrade_and_bind_the_name() {
    let key = TokenKey::new("test-secret");
    let server = start_arena(ServerConfig {
        auth: Some(key.clone()),
        ..test_config()
    });
    let url = server.ws_url();
    let mint = |name: &str, expires: u64| {
        key.mint(&Claims {
            name: name.into(),
            player_id: Some("acct-1".into()),
            expires,
        })
    };
    let good = mint("alice", unix_now() + 60);
    let expired = mint("alice", unix_now() - 1);
    let forged = TokenKey::new("wrong").mint(&Claims {
        name: "alice".into(),
        player_id: None,
        expires: unix_now() + 60,
    });
    for (what, query) in [
        ("no token", String::new()),
        ("empty token", "?token=".into()),
        ("garbage", "?token=abc".into()),
        ("expired", format!("?token={expired}")),
        ("forged", format!("?token={forged}")),
    ] {
        let (status, body) = upgrade(&format!("{url}{query}"), &[])
            .await
            .err()
            .unwrap_or_else(|| panic!("{what}: upgraded"));
        assert_eq!(status, 401, "{what}: {body}");
    }
    // A valid token, but a join under another name: 4003.
    let mut ws = upgrade(&format!("{url}?token={good}"), &[])
        .await
        .expect("upgrade");
    let res = arena_join(&mut ws, Join::any_room("mallory")).await;
    assert_eq!(res, Err(Some(close::INVALID_JOIN)));
    // The token's name: welcome.
    let mut ws = upgrade(&format!("{url}?token={good}"), &[])
        .await
        .expect("upgrade");
    arena_join(&mut ws, Join::any_room(" alice "))
        .await
        .expect("joins as alice");
    let m = get_text(server.http_url("/metrics")).await;
    assert!(
        m.contains("tickcast_upgrades_refused_total{reason=\"auth\"} 5"),
        "{m}"
    );
}

// ---- TLS ----

#[tokio::test]
async fn tls_serves_wss_with_a_self_signed_certificate() {
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("a cert");
    // Through PEM files, as the binary loads them.
    let dir = std::env::temp_dir().join(format!("tickcast-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key_pair.serialize_pem()).unwrap();
    let tls = tickcast_server::tls::load_pem(&cert_path, &key_path).expect("the PEMs load");
    let _ = std::fs::remove_dir_all(&dir);
    let server = start_arena(ServerConfig {
        tls: Some(tls),
        ..test_config()
    });
    assert!(server.ws_url().starts_with("wss://"));

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(cert.der().clone())
        .expect("the cert is a valid root");
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_tungstenite::Connector::Rustls(Arc::new(client));
    let port = server.addr().port();
    let connect = || async {
        let tcp = TcpStream::connect(server.addr()).await.expect("tcp");
        tokio_tungstenite::client_async_tls_with_config(
            format!("wss://localhost:{port}/ws"),
            tcp,
            None,
            Some(connector.clone()),
        )
        .await
    };
    let (mut ws, _) = connect().await.expect("the wss handshake succeeds");
    arena_join(&mut ws, Join::room("secure", "tls"))
        .await
        .expect("joins over wss");
    let mut snapshots = 0;
    while snapshots < 5 {
        if let Ok(ServerMsg::Snapshot(_)) =
            next_msg::<ArenaState, ArenaInfo, ArenaPatch>(&mut ws).await
        {
            snapshots += 1;
        }
    }
    // Plain ws:// to the TLS port fails.
    let plain = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr())).await;
    assert!(plain.is_err());
    let _ = ws.close(None).await;
}

/// A self-signed "localhost" certificate: the server's TLS config and a client config that
/// trusts it.
fn tls_pair() -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("a cert");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key_pair.serialize_der().into());
    let server = tickcast_server::tls::server_config(vec![cert.der().clone()], key)
        .expect("a server config");
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(cert.der().clone())
        .expect("the cert is a valid root");
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    (server, Arc::new(client))
}

/// The per-connection socket handle works under TLS too: a wss client that stops reading is
/// detected as stalled and its connection is shut down from outside its frozen session — the
/// server's session count drops while the client still has not read a byte.
#[tokio::test]
async fn a_stalled_wss_client_is_cut_off_like_a_plain_one() {
    let (server_tls, client_tls) = tls_pair();
    let server = start_arena(ServerConfig {
        tls: Some(server_tls),
        stall_timeout: Duration::from_secs(1),
        socket_send_buffer: 4096,
        h1_write_buffer: 1024,
        unsent_limit: 1024,
        ..test_config()
    });
    let addr = server.addr();
    let agent = ureq::AgentBuilder::new()
        .tls_config(client_tls.clone())
        .resolver(move |_: &str| Ok(vec![addr]))
        .timeout(WAIT)
        .build();
    let url = format!("https://localhost:{}/metrics", addr.port());
    let connections = move || {
        let (agent, url) = (agent.clone(), url.clone());
        async move {
            tokio::task::spawn_blocking(move || {
                let text = agent.get(&url).call().expect("GET /metrics over https");
                let text = text.into_string().expect("text");
                text.lines()
                    .find_map(|l| l.strip_prefix("tickcast_connections "))
                    .expect("the gauge")
                    .trim()
                    .parse::<f64>()
                    .expect("a number")
            })
            .await
            .expect("no panic")
        }
    };

    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(2048).unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.set_nonblocking(true).unwrap();
    let tcp = TcpStream::from_std(socket.into()).unwrap();
    let (mut stalled, _) = tokio_tungstenite::client_async_tls_with_config(
        format!("wss://localhost:{}/ws", addr.port()),
        tcp,
        None,
        Some(tokio_tungstenite::Connector::Rustls(client_tls)),
    )
    .await
    .expect("wss handshake");
    arena_join(&mut stalled, Join::room("slow", "stalled"))
        .await
        .expect("joins");
    assert_eq!(connections().await, 1.0);
    // Now it reads nothing. The server must end the session by itself.
    eventually(
        Duration::from_secs(8),
        "the stalled wss session ended",
        || {
            let c = connections.clone();
            async move { (c().await == 0.0).then_some(()) }
        },
    )
    .await;
    drop(stalled);
}

// ---- supervision ----

type CounterMsg = ServerMsg<CounterState, String, CounterState>;

/// Counter-game player: connect, join `room`, wait for the welcome.
async fn counter_player(addr: SocketAddr, room: &str, name: &str) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("connect");
    send::<i32>(&mut ws, &ClientMsg::Join(Join::room(room, name))).await;
    loop {
        match next_msg::<CounterState, String, CounterState>(&mut ws).await {
            Ok(ServerMsg::Welcome(_)) => return ws,
            Ok(_) => {}
            Err(c) => panic!("closed instead of welcome: {c:?}"),
        }
    }
}

#[tokio::test]
async fn a_panicking_room_closes_its_sessions_with_1011_and_others_keep_ticking() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = spawn(listener, test_config(), |_seed| {
        let mut game = Counter::default();
        game.panic_on = Some(13);
        game
    })
    .expect("starts");
    let addr = server.addr();
    let mut doomed_a = counter_player(addr, "doomed", "a").await;
    let mut doomed_b = counter_player(addr, "doomed", "b").await;
    let mut fine = counter_player(addr, "fine", "c").await;
    send(
        &mut fine,
        &ClientMsg::Input(Input {
            seq: 1,
            ack_tick: 0,
            controls: 2i32,
        }),
    )
    .await;

    send(
        &mut doomed_a,
        &ClientMsg::Input(Input {
            seq: 1,
            ack_tick: 0,
            controls: 13i32,
        }),
    )
    .await;
    for ws in [&mut doomed_a, &mut doomed_b] {
        let code = loop {
            match next_msg::<CounterState, String, CounterState>(ws).await {
                Ok(_) => continue,
                Err(code) => break code,
            }
        };
        assert_eq!(code, Some(close::INTERNAL_ERROR));
    }

    // The other room keeps ticking at its rate, and its state is intact.
    let t0 = Instant::now();
    let (mut got, mut first, mut last, mut total) = (0u64, None, 0u64, 0i64);
    while t0.elapsed() < Duration::from_secs(1) {
        if let Ok(CounterMsg::Snapshot(s)) = next_msg(&mut fine).await {
            got += 1;
            first.get_or_insert(s.tick);
            last = s.tick;
            total = s.state.total;
        }
    }
    let expected = t0.elapsed().as_secs_f64() * f64::from(TICK_RATE);
    assert!(
        got as f64 >= expected * 0.9 - 1.0,
        "{got} snapshots, expected ~{expected:.0}"
    );
    assert_eq!(
        last - first.unwrap() + 1,
        got,
        "no tick skipped in the healthy room"
    );
    assert_eq!(total, 2);

    // The registry forgot the failed room; the panic was counted once.
    let rooms = get_json(server.http_url("/rooms")).await;
    let ids: Vec<&str> = rooms
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids, ["fine"], "{rooms}");
    assert_eq!(metric(&server, "tickcast_room_panics_total").await, 1.0);
    assert_eq!(metric(&server, "tickcast_rooms").await, 1.0);
    eventually(WAIT, "only the healthy room's player is left", || async {
        (metric(&server, "tickcast_players").await == 1.0
            && metric(&server, "tickcast_connections").await == 1.0)
            .then_some(())
    })
    .await;
    // A new player can take the failed room's name: it is a fresh room.
    let mut again = counter_player(addr, "doomed", "d").await;
    send(
        &mut again,
        &ClientMsg::Input(Input {
            seq: 1,
            ack_tick: 0,
            controls: 1i32,
        }),
    )
    .await;
    loop {
        if let Ok(CounterMsg::Snapshot(s)) = next_msg(&mut again).await {
            if s.state.total == 1 {
                break;
            }
        }
    }
    assert_eq!(get_json(server.http_url("/healthz")).await["status"], "ok");
}
