//! # tickcast-server — an authoritative, actor-model game-state server
//!
//! Layers, from the socket inwards:
//! - [`tls`]: optional rustls (`https://`, `wss://`);
//! - [`http`]: actix-web routes (`/ws`, `/rooms`, `/healthz`, `/metrics`, static files; the
//!   [`admin`] drain), with
//!   per-connection socket tuning from [`conn`], the [`admission`] checks before an upgrade
//!   (origin, [`token`], connection limits) and the [`frame_guard`] size check;
//! - [`session`]: one actor per WebSocket connection — decode, validate, rate-limit
//!   ([`rate_limit`]), forward, write;
//! - [`registry`]: one actor that creates, matches, lists and disposes rooms;
//! - [`room`]: one actor per room running the fixed-tick loop ([`schedule`]), encoding one
//!   snapshot per tick ([`snapshots`]) and handing it to every [`seat`] (latest wins:
//!   backpressure) as the pure [`delivery`] rules say, with its players kept in [`members`];
//! - [`game`]: the pure, deterministic simulation behind the [`Game`] trait, with the bundled
//!   [`game::arena::Arena`] and a tiny [`game::counter::Counter`].
//!
//! [`run`] is the entry point shared by the binary and the tests; [`spawn`] runs it on a
//! background thread and returns a handle. On shutdown it waits (bounded) for the upgraded
//! connections [`drain`] counts to close.
//!
//! ```
//! use tickcast_server::{game::arena::{Arena, ArenaConfig}, spawn, ServerConfig};
//!
//! let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! let server = spawn(listener, ServerConfig::default(), |seed| Arena::new(ArenaConfig::default(), seed))?;
//! println!("clients connect to {}", server.ws_url());
//! server.shutdown()?; // clients get close 1001
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod admin;
pub mod admission;
pub mod args;
pub mod bell;
pub mod config;
pub mod conn;
pub mod delivery;
pub mod directory;
pub mod drain;
pub mod frame_guard;
pub mod game;
pub mod http;
pub mod image;
pub mod inputs;
pub mod members;
pub mod metrics;
pub mod migration;
pub mod node;
pub mod rate_limit;
pub mod registry;
pub mod room;
pub mod room_creation;
pub mod schedule;
pub mod seat;
pub mod session;
pub mod snapshots;
pub mod tls;
pub mod wake;
/// Join tokens live in the protocol crate (clients and login services mint them too).
pub use tickcast_shared::token;

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Arbiter};
use actix_web::{web, App, HttpServer};
use tokio::sync::oneshot;

pub use config::ServerConfig;
pub use game::{Game, GameFactory};
pub use metrics::Metrics;

use admission::Admission;
use bell::ShutdownBell;
use conn::SocketTuning;
use drain::{OpenConnections, UntilClosed};
use node::Cluster;
use registry::{DisposeAll, Registry, RoomThreads, StartDrain, WorkerThreads};
use session::SessionEnv;

/// How long sessions get to close their connections on shutdown before the rest are cut.
const SHUTDOWN_DRAIN: Duration = Duration::from_millis(1500);

/// Serves tickcast on `listener` (over TLS when `config.tls` is set) until `shutdown` resolves,
/// then closes every session with 1001 and returns within about two seconds — a cluster node
/// first drains (moves its rooms to other nodes, see [`migration`]) for up to its
/// `drain_timeout`. Must run inside an actix `System`.
pub async fn run<F: GameFactory>(
    listener: TcpListener,
    config: ServerConfig,
    factory: F,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let config = Arc::new(config);
    let metrics = Arc::new(Metrics::new());
    let cluster = match &config.cluster {
        Some(c) => {
            let s = if config.tls.is_some() { "s" } else { "" };
            let bound = format!("ws{s}://{}/ws", listener.local_addr()?);
            let cluster = Cluster::connect(c, bound, metrics.clone())
                .await
                .map_err(|e| {
                    io::Error::other(format!(
                        "cannot join the cluster at {} within {:?}: {e}",
                        c.redis_url, c.connect_timeout
                    ))
                })?;
            tracing::info!(node_id = %cluster.node().id, url = %cluster.node().url, "cluster node");
            Some(Arc::new(cluster))
        }
        None => None,
    };
    // The registry has a thread of its own; rooms run where `registry/threads.rs` says.
    let registry_thread = Arbiter::new();
    let room_arbiters: Vec<Arbiter> = (0..config.room_threads).map(|_| Arbiter::new()).collect();
    let workers = WorkerThreads::default();
    let threads = if room_arbiters.is_empty() {
        RoomThreads::workers(workers.clone(), registry_thread.handle())
    } else {
        RoomThreads::dedicated(room_arbiters.iter().map(Arbiter::handle).collect())
    };
    let registry = {
        let (factory, config, metrics, cluster) = (
            Arc::new(factory),
            config.clone(),
            metrics.clone(),
            cluster.clone(),
        );
        Registry::<F::Game>::start_in_arbiter(&registry_thread.handle(), move |_| {
            let registry = Registry::new(factory, threads, config, metrics);
            match cluster {
                Some(cluster) => registry.with_cluster(cluster),
                None => registry,
            }
        })
    };
    let bell = ShutdownBell::default();
    let open = OpenConnections::default();
    let env = SessionEnv {
        registry: registry.clone(),
        config: config.clone(),
        metrics: metrics.clone(),
        bell: bell.clone(),
        open: open.clone(),
    };
    let tuning = SocketTuning {
        send_buffer: config.socket_send_buffer,
    };
    let admission = web::Data::new(Admission::new(config.clone(), metrics.clone()));
    let static_dir = config.static_dir.clone();
    let admin = admin::AdminAccess::new(config.admin_token.clone(), listener.local_addr()?.ip());
    let server = HttpServer::new(move || {
        // Runs on each worker thread as it starts: rooms can then be placed there.
        workers.register_current();
        let admin = admin.clone();
        let static_dir = static_dir.clone();
        let mut app = App::new()
            .app_data(web::Data::new(env.clone()))
            .app_data(admission.clone());
        if let Some(cluster) = &cluster {
            // `http` finds it with an `Option<ClusterData>` extractor: absent on a single node.
            app = app.app_data(web::Data::from(cluster.clone()));
        }
        app.configure(move |cfg| {
            admin::routes::<F::Game>(cfg, admin);
            http::routes::<F::Game>(cfg, static_dir.as_deref())
        })
    })
    .workers(config.worker_count())
    .h1_write_buffer_size(config.h1_write_buffer.max(1))
    .on_connect(move |conn, ext| {
        tuning.on_connect(conn, ext);
        ext.insert(UntilClosed::default());
    })
    // After a session sends its close frame, actix waits this long for the client to close the
    // TCP connection before closing it itself (default 1 s). Browsers wait for the server to
    // close first (RFC 6455 §7.1.1), so the default delayed every close a browser saw —
    // a refused resume, a full room — by a second. 100 ms leaves time for the client's close
    // reply to arrive (closing with it unread would reset the connection).
    .client_disconnect_timeout(Duration::from_millis(100))
    .disable_signals()
    .shutdown_timeout(2);
    let server = match &config.tls {
        Some(tls) => server.listen_rustls_0_23(listener, (**tls).clone())?,
        None => server.listen(listener)?,
    }
    .run();
    let handle = server.handle();
    let mut server_task = actix_web::rt::spawn(server);

    tokio::select! {
        res = &mut server_task => {
            return res.map_err(io::Error::other)?;
        }
        () = shutdown => {}
    }
    if let Some(c) = &config.cluster {
        // A cluster node moves its rooms to other nodes before it goes (see `migration`).
        tracing::info!(timeout = ?c.drain_timeout, "shutting down: draining first");
        let drained = actix_web::rt::time::timeout(c.drain_timeout, registry.send(StartDrain));
        match drained.await {
            Ok(Ok(report)) => tracing::info!(moved = report.moved, left = report.left, "drained"),
            _ => tracing::warn!("the drain timed out; the rooms still here close with 1001"),
        }
    }
    tracing::info!("shutting down: closing sessions with 1001");
    bell.ring();
    // Every session closes with 1001 and its connection then closes; a frozen session never
    // does, hence the bound.
    if actix_web::rt::time::timeout(SHUTDOWN_DRAIN, open.all_closed())
        .await
        .is_err()
    {
        tracing::info!(
            connections = open.count(),
            "shutdown: connections still open after the drain; cutting them"
        );
    }
    handle.stop(false).await;
    let _ = registry.send(DisposeAll).await;
    for a in room_arbiters.into_iter().chain([registry_thread]) {
        a.stop();
    }
    let _ = server_task.await;
    Ok(())
}

/// A server running on a background thread (tests, embedding). Dropping it shuts it down.
pub struct ServerHandle {
    addr: SocketAddr,
    tls: bool,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl ServerHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://ADDR/ws` (`wss://` with TLS)
    pub fn ws_url(&self) -> String {
        let s = if self.tls { "s" } else { "" };
        format!("ws{s}://{}/ws", self.addr)
    }

    /// `http://ADDR{path}` (`https://` with TLS)
    pub fn http_url(&self, path: &str) -> String {
        let s = if self.tls { "s" } else { "" };
        format!("http{s}://{}{path}", self.addr)
    }

    /// Closes every session with 1001 and waits for the server thread to end.
    pub fn shutdown(mut self) -> io::Result<()> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| io::Error::other("the server thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}

/// Runs [`run`] on a new thread with its own actix `System`, serving on `listener`.
pub fn spawn<F: GameFactory>(
    listener: TcpListener,
    config: ServerConfig,
    factory: F,
) -> io::Result<ServerHandle> {
    let addr = listener.local_addr()?;
    let tls = config.tls.is_some();
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("tickcast-server".into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(run(listener, config, factory, async {
                let _ = stopped.await;
            }))
        })?;
    Ok(ServerHandle {
        addr,
        tls,
        stop: Some(stop),
        thread: Some(thread),
    })
}
