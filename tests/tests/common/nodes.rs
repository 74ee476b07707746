//! Real `tickcast-server` processes as cluster nodes: the binary, on port 0, on one Redis, with a
//! short lease TTL. Each node is killed (SIGKILL) on drop.
//!
//! The binary is built on first use with the cargo that runs the tests (this test crate cannot
//! name another package's binary through `CARGO_BIN_EXE_*`), into the same target directory.
//! Nodes log errors only; `TICKCAST_TEST_LOG=info` (any `--log` filter) shows more when a test
//! fails.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

/// The lease TTL the nodes run with (seconds): a dead node's rooms leave the lobby within it.
pub const LEASE_TTL_SECS: f64 = 1.0;

/// The address a just-spawned server (stdout piped) prints on its first line.
pub fn listening_address(child: &mut Child) -> SocketAddr {
    let stdout = child.stdout.take().expect("stdout is piped");
    let line = BufReader::new(stdout)
        .lines()
        .next()
        .expect("the server prints its address")
        .expect("stdout is readable");
    line.strip_prefix("tickcast listening on http://")
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
}

/// The `tickcast-server` binary, built once per test process.
pub fn binary() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        // target/<profile>/deps/<this test> → target/<profile>
        let exe = std::env::current_exe().expect("the test knows its own path");
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("the test runs from target/<profile>/deps")
            .to_path_buf();
        let mut build = Command::new(env!("CARGO"));
        build.args([
            "build",
            "--quiet",
            "-p",
            "tickcast-server",
            "--bin",
            "tickcast-server",
        ]);
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        if let Some(target) = profile_dir.parent() {
            build.arg("--target-dir").arg(target);
        }
        let status = build
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo should run");
        assert!(status.success(), "building tickcast-server failed");
        profile_dir.join("tickcast-server")
    })
}

/// The binary, quiet and without the web client, ready for more flags.
pub fn command() -> Command {
    let mut command = Command::new(binary());
    command.args([
        "--log",
        &std::env::var("TICKCAST_TEST_LOG").unwrap_or_else(|_| "error".into()),
        "--static-dir",
        "/nonexistent",
    ]);
    command.args(["--arena-config", "/nonexistent"]);
    command
}

/// One node process.
pub struct NodeProcess {
    pub id: String,
    pub addr: SocketAddr,
    child: Child,
}

impl NodeProcess {
    /// Starts node `id` on `redis_url` with the extra flags `args`, and waits for the address
    /// it prints.
    pub fn start(id: &str, redis_url: &str, args: &[&str]) -> Self {
        let mut child = command()
            .args(["--port", "0", "--redis-url", redis_url, "--node-id", id])
            .args(args)
            .args(["--lease-ttl", &LEASE_TTL_SECS.to_string()])
            .args(["--workers", "1", "--room-threads", "1"])
            .args(["--redis-connect-timeout", "5"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server binary should start");
        // The first line comes before the node connects to Redis; a node that cannot connect
        // exits, and then `addr` is refused by the tests' first request.
        let addr = listening_address(&mut child);
        NodeProcess {
            id: id.into(),
            addr,
            child,
        }
    }

    /// The URL other nodes redirect to (the default `--public-url`).
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends `signal` (`TERM`, `STOP`, `CONT` …) to the process with `kill(1)`.
    #[allow(dead_code)] // not every test file that includes this one signals nodes
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill(1) should run");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits up to `timeout` for the process to exit; its exit status, `None` if it still runs.
    #[allow(dead_code)] // not every test file that includes this one waits for an exit
    pub fn wait_exit(&mut self, timeout: std::time::Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("the child can be waited on") {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// `kill -9`: no shutdown, no lease released.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
