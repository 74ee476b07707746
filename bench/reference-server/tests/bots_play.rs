//! The yardstick speaks enough of the protocol for the load bot: a real `tickcast-reference`
//! process on port 0, 16 bots of the `tickcast-bot` library for 3 s, full snapshots.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tickcast_bot::{LoadConfig, LoadRun, SnapshotMode};

/// How long the server may take to print its port.
const START_DEADLINE: Duration = Duration::from_secs(20);

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary and waits (bounded) for its "listening on" line; returns it and its port.
fn start() -> (Server, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tickcast-reference"))
        .args(["--port", "0", "--max-players-per-room", "8"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the reference server should start");
    let stdout = child.stdout.take().expect("stdout should be piped");
    let server = Server(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(START_DEADLINE)
        .expect("the server should print its address in time");
    let port = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (server, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_join_play_and_get_acknowledged_snapshots_from_the_reference_server() {
    let (server, port) = start();
    let mut config = LoadConfig::new(
        format!("ws://127.0.0.1:{port}/ws"),
        16,
        Duration::from_secs(3),
    );
    config.snapshots = SnapshotMode::Full;
    config.metrics_url = None;
    config.server_pid = Some(server.0.id());
    let report = LoadRun::new(config)
        .run()
        .await
        .expect("the load run should complete");
    eprintln!("{}", report.table());

    assert_eq!(report.connected, 16, "every bot joined");
    assert_eq!(report.errors, 0, "no errors: {:?}", report.error_kinds);
    assert_eq!(report.rooms, 2, "rooms of 8");
    assert!(report.delivery >= 0.9, "delivery {}", report.delivery);
    assert!(report.input_ack_ms.count > 0, "inputs were acknowledged");
    assert!(report.rtt_ms.count > 0, "pings were answered");
}
