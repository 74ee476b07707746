//! A cluster on a Redis reached over TLS (`rediss://`): a real `redis-server` with a TLS port
//! and a certificate signed by a private CA made here (rcgen). Two real nodes that trust that
//! CA (`--redis-ca`) share the directory through it; a node that trusts only the system's roots
//! refuses the server and exits with a clear error.
//!
//! Needs `redis-server` built with TLS (Debian's 7.x is) on the PATH. Every wait is a polled
//! condition with a deadline.

#[path = "common/cluster.rs"]
mod cluster;
mod common;
#[path = "common/nodes.rs"]
mod nodes;
#[path = "common/redis_server.rs"]
mod redis_server;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cluster::{join_following, lobby};
use common::eventually;
use nodes::NodeProcess;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use redis_server::RedisServer;

/// A private CA and a Redis whose certificate (for 127.0.0.1) it signed; the CA's PEM file
/// lives in a temporary directory removed on drop.
struct TlsRedis {
    redis: RedisServer,
    ca_file: PathBuf,
}

impl TlsRedis {
    fn start() -> Self {
        let ca_key = KeyPair::generate().expect("a CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).expect("a CA certificate");
        let key = KeyPair::generate().expect("a server key");
        let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
            .expect("server params")
            .signed_by(&key, &ca, &ca_key)
            .expect("a server certificate signed by the CA");
        let redis = RedisServer::start_tls(&cert.pem(), &key.serialize_pem());
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("tickcast-ca-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).expect("writable");
        TlsRedis { redis, ca_file }
    }

    fn ca_flag(&self) -> String {
        format!("--redis-ca={}", self.ca_file.display())
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        if let Some(dir) = self.ca_file.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_that_trust_the_private_ca_share_the_directory_over_rediss() {
    let tls = TlsRedis::start();
    let url = tls.redis.tls_url();
    let ca = tls.ca_flag();
    let nodes: Vec<_> = (0..2)
        .map(|i| NodeProcess::start(&format!("t{i}"), &url, &[ca.as_str()]))
        .collect();
    let (_a, at, _) = join_following(nodes[0].addr, "a", "secure").await;
    assert_eq!(at, nodes[0].addr);
    let want: BTreeSet<(String, String)> = [("secure".to_string(), nodes[0].id.clone())].into();
    eventually(
        Duration::from_secs(5),
        "t1 to list t0's room, read from Redis over TLS",
        || async { (lobby(&nodes[1]).await == want).then_some(()) },
    )
    .await;
    // A join through t1 finds the owner in the directory too.
    let (_b, at, hops) = join_following(nodes[1].addr, "b", "secure").await;
    assert_eq!((at, hops), (nodes[0].addr, 1));
}

#[test]
fn a_node_that_does_not_trust_the_redis_certificate_exits_with_a_clear_error() {
    let tls = TlsRedis::start();
    let url = tls.redis.tls_url();
    let mut node = nodes::command(); // built before the clock starts
    let t0 = Instant::now();
    let out = node
        .args(["--port", "0", "--redis-url", &url])
        .args(["--redis-connect-timeout", "0.5"])
        .output()
        .expect("the binary runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot join the cluster at"), "{stderr}");
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
    assert!(t0.elapsed() < Duration::from_secs(10), "it gave up in time");
}
