//! A real `redis-server` for the tests: Unix socket only (`--port 0` turns TCP off), no
//! persistence, its own temporary directory, killed on drop. It can be killed and restarted on
//! the same socket to test reconnection.
//!
//! Used by the cluster e2e tests (`tests/tests/cluster_*.rs`) and the directory tests
//! (`server/tests/directory/`, which include this file by path).

use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const START_DEADLINE: Duration = Duration::from_secs(10);

pub struct RedisServer {
    dir: PathBuf,
    child: Option<Child>,
}

impl RedisServer {
    pub fn start() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("tickcast-redis-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the temporary directory should be writable");
        let mut server = Self { dir, child: None };
        server.restart();
        server
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
        let spawned = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(self.socket())
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(&self.dir)
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
