//! The join token in the WebSocket handshake (PROTOCOL.md, Handshake), against the real server
//! binary with `--auth-secret` and its log at trace level: a token offered as the subprotocol
//! `tickcast.token.<TOKEN>` joins and the answer is `tickcast.v1` (a protocol the client offered);
//! a bad one is refused with 401 before the upgrade; `?token=` still works, and a client that
//! offers no subprotocol gets none. Then the server's whole log is searched: no token appears in
//! it, in either form.

// Only the binary's path and its address line are used here.
#[allow(dead_code)]
#[path = "common/nodes.rs"]
mod nodes;

use std::io::Read;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tickcast_shared::arena::{ArenaClientMsg, ArenaServerMsg};
use tickcast_shared::{decode, encode, ClientMsg, Join, ServerMsg, PROTOCOL_VERSION};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

const SECRET: &str = "handshake-test-secret";
const WAIT: Duration = Duration::from_secs(10);

/// The server binary with `--auth-secret` and `--log trace`; its stderr (the log) is read to the
/// end on [`AuthServer::stop`].
struct AuthServer {
    addr: SocketAddr,
    child: Child,
}

impl AuthServer {
    fn start() -> Self {
        let mut child = Command::new(nodes::binary())
            .args(["--port", "0", "--log", "trace", "--auth-secret", SECRET])
            .args([
                "--static-dir",
                "/nonexistent",
                "--arena-config",
                "/nonexistent",
            ])
            .args(["--workers", "1", "--room-threads", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server binary should start");
        let addr = nodes::listening_address(&mut child);
        AuthServer { addr, child }
    }

    /// Stops the server (SIGKILL: the log so far is what matters) and returns its log.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let mut log = String::new();
        self.child
            .stderr
            .take()
            .expect("stderr is piped")
            .read_to_string(&mut log)
            .expect("the log is readable");
        let _ = self.child.wait();
        log
    }
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// A join token for `name`, minted by `tickcast-server token`.
fn mint(name: &str) -> String {
    let out = Command::new(nodes::binary())
        .args(["token", "--secret", SECRET, "--name", name])
        .output()
        .expect("tickcast-server token should run");
    assert!(out.status.success(), "minting failed: {out:?}");
    String::from_utf8(out.stdout)
        .expect("a token is ASCII")
        .lines()
        .last()
        .expect("a token is printed")
        .trim()
        .to_owned()
}

/// Opens `/ws` (with `query`), offering `protocols` when given. The answer's subprotocol, and
/// the socket, or the HTTP status of a refused upgrade.
async fn open(
    addr: SocketAddr,
    query: &str,
    protocols: Option<&str>,
) -> Result<
    (
        Option<String>,
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
    ),
    StatusCode,
> {
    let mut request = format!("ws://{addr}/ws{query}")
        .into_client_request()
        .expect("a valid request");
    if let Some(p) = protocols {
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(p).expect("a valid header"),
        );
    }
    match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("the handshake should finish in time")
    {
        Ok((ws, response)) => {
            let answered = response
                .headers()
                .get("sec-websocket-protocol")
                .map(|v| v.to_str().expect("ASCII").to_owned());
            Ok((answered, ws))
        }
        Err(WsError::Http(response)) => Err(response.status()),
        Err(e) => panic!("unexpected handshake error: {e}"),
    }
}

/// Joins as `name` and waits for the Welcome.
async fn join(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    name: &str,
) {
    let msg: ArenaClientMsg = ClientMsg::Join(Join {
        version: PROTOCOL_VERSION,
        room: Some("handshake".into()),
        name: name.into(),
        resume: None,
        deltas: false,
        packed: false,
    });
    ws.send(Message::Binary(encode(&msg).expect("encodes")))
        .await
        .expect("sends");
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a Welcome in time")
            .expect("the socket stays open")
            .expect("a frame");
        if let Message::Binary(bytes) = frame {
            if let ServerMsg::Welcome(_) = decode::<ArenaServerMsg>(&bytes).expect("decodes") {
                return;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_in_the_subprotocol_joins_a_bad_one_is_refused_and_no_token_is_ever_logged() {
    let server = AuthServer::start();
    let addr = server.addr;
    let alice = mint("alice");
    let bob = mint("bob");

    let offered = format!("tickcast.v1, tickcast.token.{alice}");
    let (answered, mut ws) = open(addr, "", Some(&offered))
        .await
        .expect("a good token in the subprotocol is admitted");
    assert_eq!(
        answered.as_deref(),
        Some("tickcast.v1"),
        "the server answers the protocol, never the token"
    );
    join(&mut ws, "alice").await;

    let forged = format!("{alice}x");
    for bad in [
        format!("tickcast.v1, tickcast.token.{forged}"),
        "tickcast.v1".to_owned(),
    ] {
        assert_eq!(
            open(addr, "", Some(&bad)).await.err(),
            Some(StatusCode::UNAUTHORIZED),
            "refused before the upgrade: {bad}"
        );
    }

    // The query parameter still works; without an offer no subprotocol is answered.
    let (answered, mut ws2) = open(addr, &format!("?token={bob}"), None)
        .await
        .expect("a good token in the query is admitted");
    assert_eq!(answered, None, "no subprotocol offered, none answered");
    join(&mut ws2, "bob").await;

    drop((ws, ws2));
    let log = server.stop();
    assert!(
        log.contains("upgrade refused") && log.lines().count() > 20,
        "the log is at trace level and saw the refusals:\n{log}"
    );
    for token in [&alice, &bob, &forged] {
        assert!(
            !log.contains(token.as_str()),
            "the log contains a token:\n{log}"
        );
        // The signature alone (after the `.`) is secret material too.
        let signature = token.rsplit('.').next().expect("a token has a signature");
        assert!(
            !log.contains(signature),
            "the log contains a token signature"
        );
    }
}
