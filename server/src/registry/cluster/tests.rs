//! The cluster half of the registry on a [`MemoryDirectory`] shared by registries that play
//! the nodes: claims, redirects, releases and lost leases, without Redis or sockets.

use super::*;
use crate::config::ServerConfig;
use crate::directory::{Directory, DirectoryConfig, ManualClock, MemoryDirectory, Node};
use crate::game::counter::Counter;
use crate::game::GameFactory;
use crate::metrics::Metrics;
use crate::registry::{ResumeRoom, RoomThreads};
use crate::seat::Seat;
use crate::wake::WakeHandle;

/// A registry as node `id` of the cluster on `dir`, with its own metrics.
fn node(dir: &Arc<MemoryDirectory>, id: &str) -> (Addr<Registry<Counter>>, Arc<Metrics>) {
    node_with(dir, id, Duration::from_secs(3), ServerConfig::default())
}

fn node_with(
    dir: &Arc<MemoryDirectory>,
    id: &str,
    lease_ttl: Duration,
    config: ServerConfig,
) -> (Addr<Registry<Counter>>, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new());
    let node = Node {
        id: id.into(),
        url: format!("ws://{id}/ws"),
    };
    let cluster = Cluster::new(node, dir.clone(), lease_ttl, metrics.clone());
    let factory: Arc<dyn GameFactory<Game = Counter>> = Arc::new(|_: u64| Counter::default());
    let config = Arc::new(config);
    let registry = Registry::new(
        factory,
        RoomThreads::dedicated(vec![Arbiter::current()]),
        config,
        metrics.clone(),
    )
    .with_cluster(Arc::new(cluster));
    (registry.start(), metrics)
}

fn join(room: &str) -> JoinRoom<Counter> {
    JoinRoom {
        room: Some(room.into()),
        player_id: uuid::Uuid::new_v4(),
        name: "p".into(),
        resume_token: uuid::Uuid::new_v4().simple().to_string().into(),
        seat: Arc::new(Seat::new()),
        wake: WakeHandle::nobody(),
        client: None,
        home: None,
    }
}

fn directory() -> Arc<MemoryDirectory> {
    Arc::new(MemoryDirectory::new(
        DirectoryConfig::default(),
        ManualClock::default(),
    ))
}

fn count(metrics: &Metrics, line: &str) -> bool {
    metrics.render().lines().any(|l| l == line)
}

#[actix_web::test]
async fn joins_racing_for_a_new_room_on_one_node_share_one_claim_and_one_room() {
    let dir = directory();
    let (a, metrics) = node(&dir, "a");
    // Both are in the registry's mailbox before the first claim is answered.
    let (first, second) = (a.send(join("r")), a.send(join("r")));
    let (first, second) = (first.await, second.await);
    for joined in [first, second] {
        match joined.expect("the registry answers") {
            Ok(j) => assert_eq!(&*j.room_id, "r"),
            Err(e) => panic!("both join the one room: {e:?}"),
        }
    }
    assert!(count(
        &metrics,
        r#"tickcast_directory_latency_seconds_count{op="claim"} 1"#
    ));
    assert_eq!(metrics.rooms.get(), 1);
}

#[actix_web::test]
async fn a_room_another_node_owns_is_a_redirect_to_that_node() {
    let dir = directory();
    let ((a, _), (b, b_metrics)) = (node(&dir, "a"), node(&dir, "b"));
    let on_a = a.send(join("r")).await.expect("the registry answers");
    assert!(on_a.is_ok(), "a creates the room");
    let on_b = b.send(join("r")).await.expect("the registry answers");
    match on_b {
        Err(e) => assert_eq!(
            e,
            JoinError::Redirect {
                url: "ws://a/ws".into(),
                room: "r".into()
            }
        ),
        Ok(_) => panic!("b must not run a's room"),
    }
    assert_eq!(b_metrics.rooms.get(), 0);
    assert!(count(
        &b_metrics,
        r#"tickcast_redirects_total{reason="owner"} 1"#
    ));
}

#[actix_web::test]
async fn a_resume_for_a_room_another_node_owns_is_redirected_and_for_a_free_room_refused() {
    let dir = directory();
    let ((a, _), (b, _)) = (node(&dir, "a"), node(&dir, "b"));
    assert!(a.send(join("r")).await.expect("answers").is_ok());
    let resume = |room: &str| ResumeRoom::<Counter> {
        resume_token: "unknown-here".into(),
        room: Some(room.into()),
        seat: Arc::new(Seat::new()),
        wake: WakeHandle::nobody(),
    };
    match b.send(resume("r")).await.expect("answers") {
        Err(JoinError::Redirect { url, room }) => {
            assert_eq!((&*url, &*room), ("ws://a/ws", "r"))
        }
        other => panic!("expected a redirect, got {:?}", other.err()),
    }
    match b.send(resume("nobody-owns-it")).await.expect("answers") {
        Err(e) => assert_eq!(e, JoinError::ResumeRefused),
        Ok(_) => panic!("an unknown token in a free room is refused"),
    }
}

/// Polls `check` every 10 ms until it holds, or panics with `what` after two seconds.
async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_web::test]
async fn a_disposed_room_releases_its_lease() {
    let dir = directory();
    let config = ServerConfig {
        empty_room_grace: Duration::from_millis(20),
        ..ServerConfig::default()
    };
    let (a, _) = node_with(&dir, "a", Duration::from_secs(3), config);
    let msg = join("r");
    let token = msg.resume_token.clone();
    assert!(a.send(msg).await.expect("answers").is_ok());
    assert!(dir.owner("r").await.expect("memory").is_some());
    a.do_send(crate::room::RoomEvent::PlayerLeft {
        room_id: "r".into(),
        resume_token: token,
    });
    until("the lease to be released", async || {
        dir.owner("r").await.expect("memory").is_none()
    })
    .await;
}

#[actix_web::test]
async fn a_room_whose_lease_is_lost_is_stopped_at_the_next_heartbeat() {
    let dir = directory();
    let config = ServerConfig::default();
    let (a, metrics) = node_with(&dir, "a", Duration::from_millis(300), config);
    assert!(a.send(join("r")).await.expect("answers").is_ok());
    let owner = dir.owner("r").await.expect("memory").expect("a owns r");
    // Someone else ends a's lease (as a new owner would after a's long pause): its epoch
    // moves on, so a's renewal fails.
    assert!(dir.release("r", "a", owner.epoch).await.expect("memory"));
    until("the room to be stopped", async || metrics.rooms.get() == 0).await;
    assert_eq!(metrics.lease_lost_total.get(), 1);
}

fn quick() -> JoinRoom<Counter> {
    JoinRoom {
        room: None,
        ..join("unused")
    }
}

#[actix_web::test]
async fn a_quick_play_with_no_room_to_fill_opens_a_public_room_on_the_least_loaded_node() {
    let dir = directory();
    let beat = Duration::from_millis(300);
    let (a, a_metrics) = node_with(&dir, "a", beat, ServerConfig::default());
    let (b, _) = node_with(&dir, "b", beat, ServerConfig::default());
    assert!(a.send(join("named")).await.expect("answers").is_ok());
    until("a's player and node b in the directory", async || {
        let nodes = dir.nodes().await.expect("memory");
        nodes.iter().any(|n| n.node.id == "a" && n.players == 1)
            && nodes.iter().any(|n| n.node.id == "b")
    })
    .await;
    // a has no public room and b is emptier: the quick play goes to b, under a fresh id.
    let room = match a.send(quick()).await.expect("answers") {
        Err(JoinError::Redirect { url, room }) => {
            assert_eq!(url, "ws://b/ws");
            room
        }
        other => panic!("expected a redirect to b, got {:?}", other.err()),
    };
    assert!(is_public_id(&room), "{room} is a quick-play id");
    assert!(count(
        &a_metrics,
        r#"tickcast_redirects_total{reason="placement"} 1"#
    ));
    // b opens it as a public room: the next quick play on b fills it.
    let joined = b.send(join(&room)).await.expect("answers");
    assert_eq!(&*joined.expect("b creates the room").room_id, room);
    let next = b.send(quick()).await.expect("answers");
    assert_eq!(&*next.expect("b seats quick play").room_id, room);
}

#[actix_web::test]
async fn a_quick_play_opens_its_room_here_when_this_node_is_the_least_loaded() {
    let dir = directory();
    let (a, metrics) = node(&dir, "a");
    until("a in the directory", async || {
        !dir.nodes().await.expect("memory").is_empty()
    })
    .await;
    let joined = a.send(quick()).await.expect("answers");
    assert!(is_public_id(&joined.expect("a opens the room").room_id));
    assert_eq!(metrics.rooms.get(), 1);
}

#[test]
fn only_quick_play_ids_open_public_rooms() {
    assert!(is_public_id("r0123abcd"));
    for named in [
        "lobby",
        "r0123abc",
        "r0123abcde",
        "r0123ABCD",
        "x0123abcd",
        "r",
    ] {
        assert!(!is_public_id(named), "{named}");
    }
}

#[actix_web::test]
async fn a_join_naming_a_full_public_room_is_seated_in_another_room_instead_of_refused() {
    let dir = directory();
    let config = ServerConfig {
        max_players_per_room: 2,
        ..ServerConfig::default()
    };
    let (a, _) = node_with(&dir, "a", Duration::from_secs(3), config);
    until("a in the directory", async || {
        !dir.nodes().await.expect("memory").is_empty()
    })
    .await;
    let first = a.send(quick()).await.expect("answers");
    let full = first.expect("a opens a room").room_id;
    let second = a.send(quick()).await.expect("answers");
    assert_eq!(second.expect("the room has space").room_id, full);
    // A matchmaking answer for `full` that a quick play beat to the last seat.
    let late = a.send(join(&full)).await.expect("answers");
    let elsewhere = late.expect("seated, not refused").room_id;
    assert_ne!(elsewhere, full);
    assert!(is_public_id(&elsewhere), "{elsewhere} is a quick-play room");
}

#[actix_web::test]
async fn joining_a_room_another_node_owns_costs_no_creation_budget() {
    let dir = directory();
    let config = ServerConfig {
        room_create_burst: 1.0,
        room_create_rate: 0.001,
        ..ServerConfig::default()
    };
    let (a, _) = node(&dir, "a");
    let (b, b_metrics) = node_with(&dir, "b", Duration::from_secs(3), config);
    assert!(a.send(join("r")).await.expect("answers").is_ok());
    let from = |room: &str| JoinRoom {
        client: Some(std::net::IpAddr::from([198, 51, 100, 7])),
        ..join(room)
    };
    for _ in 0..3 {
        let answer = b.send(from("r")).await.expect("answers");
        assert!(
            matches!(answer, Err(JoinError::Redirect { .. })),
            "a's room is a redirect, never a spent budget: {:?}",
            answer.err()
        );
    }
    assert!(b.send(from("mine")).await.expect("answers").is_ok());
    match b.send(from("another")).await.expect("answers") {
        Err(JoinError::CreationLimited { .. }) => {}
        other => panic!(
            "a second room with a burst of 1 is refused: {:?}",
            other.err()
        ),
    }
    assert!(count(
        &b_metrics,
        r#"tickcast_room_creations_refused_total{reason="budget"} 1"#
    ));
}
