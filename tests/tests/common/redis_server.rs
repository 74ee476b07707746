//! A real `redis-server` for the tests: Unix socket only (`--port 0` turns TCP off), no
//! persistence, its own temporary directory, killed on drop. It can be killed and restarted on
//! the same socket to test reconnection. [`RedisServer::start_tls`] adds a TLS port.
//!
//! Used by the cluster e2e tests (`tests/tests/cluster_*.rs`) and the directory tests
//! (`server/tests/directory/`, which include this file by path).

// Each test crate that includes it uses a part of it.
#![allow(dead_code)]

use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const START_DEADLINE: Duration = Duration::from_secs(10);

pub struct RedisServer {
    dir: PathBuf,
    child: Option<Child>,
    /// `start_tls`: the TLS port on 127.0.0.1 (the socket stays plain).
    tls_port: Option<u16>,
}

impl RedisServer {
    pub fn start() -> Self {
        let mut server = Self::new();
        server.restart();
        server
    }

    /// A server that also serves TLS on a free 127.0.0.1 port, with the PEM certificate chain
    /// `cert` and its `key`; clients are not asked for certificates.
    ///
    /// Redis has no "port 0" for TLS, so the port is one the OS just handed out and took back:
    /// in the rare case another process takes it meanwhile, the start fails with Redis's log.
    pub fn start_tls(cert: &str, key: &str) -> Self {
        let mut server = Self::new();
        std::fs::write(server.dir.join("cert.pem"), cert).expect("writable");
        std::fs::write(server.dir.join("key.pem"), key).expect("writable");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("the OS hands out a free port")
            .port();
        server.tls_port = Some(port);
        server.restart();
        server
    }

    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("tickcast-redis-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the temporary directory should be writable");
        Self {
            dir,
            child: None,
            tls_port: None,
        }
    }

    /// `rediss://` URL of the TLS port ([`RedisServer::start_tls`]).
    pub fn tls_url(&self) -> String {
        let port = self.tls_port.expect("the server was started with TLS");
        format!("rediss://127.0.0.1:{port}")
    }

    /// `redis+unix://` URL of the socket (the same across restarts).
    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    /// SIGKILLs the server (no shutdown, like a crash); its socket file stays and refuses.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// (Re)starts the server on the same socket, empty, and waits until it accepts connections.
    pub fn restart(&mut self) {
        self.kill();
        let log = std::fs::File::create(self.dir.join("redis.log"))
            .expect("the temporary directory should be writable");
        let mut command = Command::new("redis-server");
        command
            .args(["--port", "0", "--unixsocket"])
            .arg(self.socket())
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(&self.dir);
        if let Some(port) = self.tls_port {
            // The certificate serves as its own CA file: Redis wants one even when it does not
            // ask clients for theirs.
            let (cert, key) = (self.dir.join("cert.pem"), self.dir.join("key.pem"));
            command
                .args(["--tls-port", &port.to_string(), "--tls-auth-clients", "no"])
                .arg("--tls-cert-file")
                .arg(&cert)
                .arg("--tls-key-file")
                .arg(key)
                .arg("--tls-ca-cert-file")
                .arg(cert);
        }
        let spawned = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log file should be clonable"))
            .stderr(log)
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "redis-server is not installed: run scripts/test.sh, or `apt-get install \
                 redis-server` (the directory tests need a real Redis 7)"
            ),
            Err(e) => panic!("redis-server did not start: {e}"),
        };
        self.child = Some(child);
        let deadline = Instant::now() + START_DEADLINE;
        // The old socket file may still exist after a kill; a connection succeeds only once the
        // new server listens.
        while UnixStream::connect(self.socket()).is_err() {
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default();
                panic!("redis-server did not come up ({exited:?}); its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
