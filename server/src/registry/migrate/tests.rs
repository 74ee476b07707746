//! Drains and moves between registries that play the nodes of one [`MemoryDirectory`]
//! cluster: the whole handoff (freeze, image, offer, doorbell, adopt, hand over, resume) without
//! Redis or sockets.

use std::time::Duration;

use super::*;
use crate::config::ServerConfig;
use crate::directory::{Directory, DirectoryConfig, ManualClock, MemoryDirectory, Node};
use crate::game::counter::Counter;
use crate::game::GameFactory;
use crate::image::RoomImage;
use crate::metrics::Metrics;
use crate::registry::{InspectRoom, JoinError, JoinRoom, ResumeRoom, RoomThreads};
use crate::seat::Seat;
use crate::wake::WakeHandle;
use tickcast_shared::close::Close;

fn node(dir: &Arc<MemoryDirectory>, id: &str) -> (Addr<Registry<Counter>>, Arc<Metrics>) {
    node_with(dir, id, ServerConfig::default())
}

fn node_with(
    dir: &Arc<MemoryDirectory>,
    id: &str,
    config: ServerConfig,
) -> (Addr<Registry<Counter>>, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new());
    let node = Node {
        id: id.into(),
        url: format!("ws://{id}/ws"),
    };
    let cluster = Cluster::new(node, dir.clone(), Duration::from_secs(3), metrics.clone());
    let factory: Arc<dyn GameFactory<Game = Counter>> = Arc::new(|_: u64| Counter::default());
    let registry = Registry::new(
        factory,
        // Rooms on their own thread, as in the server: the registry and a room race.
        RoomThreads::dedicated(vec![room_thread()]),
        Arc::new(config),
        metrics.clone(),
    )
    .with_cluster(Arc::new(cluster));
    (registry.start(), metrics)
}

/// One thread for the rooms of every node of a test, started on first use.
fn room_thread() -> actix::ArbiterHandle {
    static ROOMS: std::sync::OnceLock<actix::ArbiterHandle> = std::sync::OnceLock::new();
    ROOMS.get_or_init(|| Arbiter::new().handle()).clone()
}

fn directory() -> Arc<MemoryDirectory> {
    Arc::new(MemoryDirectory::new(
        DirectoryConfig::default(),
        ManualClock::default(),
    ))
}

fn has(metrics: &Metrics, line: &str) -> bool {
    metrics.render().lines().any(|l| l == line)
}

#[actix_web::test]
async fn a_drained_room_moves_to_the_other_node_and_its_player_resumes_there_as_itself() {
    let dir = directory();
    let (a, a_metrics) = node(&dir, "a");
    let (b, b_metrics) = node(&dir, "b");
    let seat = Arc::new(Seat::new());
    let token: Arc<str> = "token-1".into();
    let joined = a
        .send(JoinRoom::<Counter> {
            client: None,
            home: None,
            room: Some("r".into()),
            player_id: uuid::Uuid::new_v4(),
            name: "p".into(),
            resume_token: token.clone(),
            seat: seat.clone(),
            wake: WakeHandle::nobody(),
        })
        .await
        .expect("a runs")
        .expect("a fresh room on a");
    // Both nodes have heartbeaten (at start), so a knows b is up. The rooms' thread is kept
    // busy (5 ms jobs back to back), as a server's worker is: the room answers the handover
    // late, and the drain must wait for it.
    let busy = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let keep_busy = busy.clone();
    let jobs = std::thread::spawn(move || {
        while keep_busy.load(std::sync::atomic::Ordering::Relaxed) {
            let (done, wait) = std::sync::mpsc::channel();
            room_thread().spawn_fn(move || {
                std::thread::sleep(Duration::from_millis(5));
                let _ = done.send(());
            });
            let _ = wait.recv();
        }
    });
    let report = a.send(StartDrain).await.expect("a runs");
    let redirected = seat.close_requested().is_some();
    busy.store(false, std::sync::atomic::Ordering::Relaxed);
    jobs.join().expect("the busy thread");
    assert_eq!(report, DrainReport { moved: 1, left: 0 });

    // a redirected its client to b, before the drain answered (the shutdown that follows
    // closes every session still here with 1001, and a session takes a redirect first), and
    // forgot the room.
    assert!(
        redirected,
        "the redirect is in the seat when the drain answers"
    );
    let to = seat
        .take_redirect()
        .expect("a redirect goes with the close");
    assert_eq!((to.url.as_str(), to.room_id.as_str()), ("ws://b/ws", "r"));
    assert!(a
        .send(InspectRoom("r".into()))
        .await
        .expect("a runs")
        .is_none());
    assert!(has(
        &a_metrics,
        r#"tickcast_migrations_total{result="adopted"} 1"#
    ));

    // b runs it, and the token resumes the same player there.
    let resumed = b
        .send(ResumeRoom::<Counter> {
            resume_token: token,
            room: Some("r".into()),
            seat: Arc::new(Seat::new()),
            wake: WakeHandle::nobody(),
        })
        .await
        .expect("b runs")
        .expect("the seat is held on b");
    assert_eq!(resumed.player_id, joined.player_id);
    assert_eq!(&*resumed.room_id, "r");
    assert!(has(
        &b_metrics,
        r#"tickcast_migrated_players_total{outcome="resumed"} 1"#
    ));
    let owner = dir.owner("r").await.expect("memory").expect("owned");
    assert_eq!(owner.node.id, "b");
}

#[actix_web::test]
async fn a_draining_node_sends_new_rooms_to_the_other_node() {
    let dir = directory();
    let (a, _) = node(&dir, "a");
    let (_b, _) = node(&dir, "b");
    let report = a.send(StartDrain).await.expect("a runs");
    assert_eq!(report, DrainReport { moved: 0, left: 0 });
    let join = |room: Option<&str>| JoinRoom::<Counter> {
        client: None,
        home: None,
        room: room.map(Into::into),
        player_id: uuid::Uuid::new_v4(),
        name: "p".into(),
        resume_token: uuid::Uuid::new_v4().simple().to_string().into(),
        seat: Arc::new(Seat::new()),
        wake: WakeHandle::nobody(),
    };
    for room in [Some("named"), None] {
        match a.send(join(room)).await.expect("a runs") {
            Err(JoinError::Redirect { url, room: to }) => {
                assert_eq!(url, "ws://b/ws");
                if let Some(named) = room {
                    assert_eq!(to, named);
                }
            }
            other => panic!("{room:?}: expected a redirect, got {:?}", other.err()),
        }
    }
}

#[actix_web::test]
async fn with_no_other_node_a_drain_leaves_the_rooms_running() {
    let dir = directory();
    let (a, _) = node(&dir, "a");
    let seat = Arc::new(Seat::new());
    a.send(JoinRoom::<Counter> {
        client: None,
        home: None,
        room: Some("r".into()),
        player_id: uuid::Uuid::new_v4(),
        name: "p".into(),
        resume_token: "t".into(),
        seat: seat.clone(),
        wake: WakeHandle::nobody(),
    })
    .await
    .expect("a runs")
    .expect("joined");
    let report = a.send(StartDrain).await.expect("a runs");
    assert_eq!(report, DrainReport { moved: 0, left: 1 });
    let detail = a.send(InspectRoom("r".into())).await.expect("a runs");
    assert!(detail.is_some(), "still here");
    assert_eq!(seat.close_requested(), None::<Close>);
}

#[actix_web::test]
async fn with_checkpoints_a_resume_on_a_live_node_recovers_an_ownerless_room_as_it_was() {
    let dir = directory();
    let mut cluster = crate::config::ClusterConfig::new("redis://unused");
    cluster.checkpoint_interval = Some(Duration::from_millis(20));
    let config = ServerConfig {
        cluster: Some(cluster),
        ..ServerConfig::default()
    };
    let (a, _) = node_with(&dir, "a", config.clone());
    let (b, b_metrics) = node_with(&dir, "b", config);
    let joined = a
        .send(JoinRoom::<Counter> {
            client: None,
            home: None,
            room: Some("r".into()),
            player_id: uuid::Uuid::new_v4(),
            name: "p".into(),
            resume_token: "t".into(),
            seat: Arc::new(Seat::new()),
            wake: WakeHandle::nobody(),
        })
        .await
        .expect("a runs")
        .expect("joined");
    let image = loop {
        if let Some(bytes) = dir.image("r").await.expect("memory") {
            break RoomImage::decode(&bytes).expect("a valid checkpoint");
        }
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(image.members[0].player_id, joined.player_id);
    // Node a's room is gone, and its lease with it (released here, as its expiry would).
    a.send(crate::registry::DisposeAll).await.expect("a runs");
    assert_eq!(dir.owner("r").await.expect("memory"), None);

    let resumed = b
        .send(ResumeRoom::<Counter> {
            resume_token: "t".into(),
            room: Some("r".into()),
            seat: Arc::new(Seat::new()),
            wake: WakeHandle::nobody(),
        })
        .await
        .expect("b runs")
        .expect("recovered on b");
    assert_eq!(resumed.player_id, joined.player_id);
    assert!(resumed.admitted.tick >= image.tick);
    assert!(has(&b_metrics, "tickcast_rooms_recovered_total 1"));
    let owner = dir.owner("r").await.expect("memory").expect("owned");
    assert_eq!(owner.node.id, "b");
    assert!(owner.epoch > image.epoch, "a new epoch");
}

#[actix_web::test]
async fn with_checkpoints_a_resume_for_a_room_without_an_image_is_refused() {
    let dir = directory();
    let mut cluster = crate::config::ClusterConfig::new("redis://unused");
    cluster.checkpoint_interval = Some(Duration::from_secs(60));
    let config = ServerConfig {
        cluster: Some(cluster),
        ..ServerConfig::default()
    };
    let (b, _) = node_with(&dir, "b", config);
    let refused = b
        .send(ResumeRoom::<Counter> {
            resume_token: "t".into(),
            room: Some("gone".into()),
            seat: Arc::new(Seat::new()),
            wake: WakeHandle::nobody(),
        })
        .await
        .expect("b runs");
    assert!(matches!(refused.err(), Some(JoinError::ResumeRefused)));
}
