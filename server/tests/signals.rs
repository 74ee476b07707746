//! The real binary on SIGTERM and SIGINT: every client gets close 1001 and the process exits
//! with status 0 within about two seconds.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tickcast_shared::arena::ArenaClientMsg;
use tickcast_shared::{encode, Join};
use tokio_tungstenite::tungstenite::Message;

/// Starts the binary on port 0 and returns it with the port it printed.
fn start() -> (Child, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tickcast-server"))
        .args([
            "--port",
            "0",
            "--log",
            "warn",
            "--static-dir",
            "/nonexistent",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let line = BufReader::new(stdout)
        .lines()
        .next()
        .expect("the server prints its address")
        .expect("stdout is readable");
    let port = line
        .strip_prefix("tickcast listening on http://127.0.0.1:")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line: {line}"));
    (child, port)
}

async fn joined_client(
    port: u16,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws"))
        .await
        .expect("the WebSocket handshake succeeds");
    let join = encode(&ArenaClientMsg::Join(Join::any_room("sig"))).expect("encodes");
    ws.send(Message::Binary(join)).await.expect("join sent");
    // The first binary frame is the welcome.
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Binary(_)))) => return ws,
            Ok(Some(Ok(_))) => continue,
            other => panic!("no welcome: {other:?}"),
        }
    }
}

async fn signal_closes_clients_with_1001(signal: libc::c_int) {
    let (mut child, port) = start();
    let mut ws = joined_client(port).await;
    let t0 = Instant::now();
    // SAFETY: kill(2) with our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
    let code = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                other => panic!("connection ended without a close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("a close frame within 5 s");
    assert_eq!(code, Some(1001));
    let status = loop {
        if let Some(status) = child.try_wait().expect("waitpid works") {
            break status;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "the server did not exit"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
    eprintln!("exited {:?} after the signal", t0.elapsed());
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "exit took {:?}",
        t0.elapsed()
    );
}

#[tokio::test]
async fn sigterm_closes_clients_with_1001_and_exits() {
    signal_closes_clients_with_1001(libc::SIGTERM).await;
}

#[tokio::test]
async fn sigint_closes_clients_with_1001_and_exits() {
    signal_closes_clients_with_1001(libc::SIGINT).await;
}
