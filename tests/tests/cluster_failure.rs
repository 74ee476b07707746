//! Failures in a cluster of three real server processes on one real `redis-server`, each on
//! port 0 with a 1 s lease: a `kill -9`'d node's rooms leave the lobby within the lease TTL and
//! its bots rejoin through the entry on live nodes while the other rooms keep their delivery, a
//! lost lease stops its room (1001), a Redis restart costs local rooms no snapshot while the
//! directory recovers by itself (reconnects counted), and a Redis that is down at start-up is a
//! clear start-up error.
//!
//! Needs `redis-server` on the PATH (`scripts/test.sh` installs it). Every wait is a polled
//! condition with a deadline.

#[path = "common/cluster.rs"]
mod cluster;
mod common;
#[path = "common/nodes.rs"]
mod nodes;
#[path = "common/redis_server.rs"]
mod redis_server;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use cluster::{join_following, listed_players, lobby, TestCluster};
use common::{eventually, Client};
use nodes::LEASE_TTL_SECS;
use tickcast_shared::{ClientMsg, Join};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_rooms_leave_every_lobby_within_the_lease_ttl() {
    let mut cluster = TestCluster::start();
    let (_c0, _, _) = join_following(cluster.nodes[0].addr, "p", "stays").await;
    let (_c2, _, _) = join_following(cluster.nodes[2].addr, "p", "dies").await;
    let both: BTreeSet<(String, String)> = [("dies", "n2"), ("stays", "n0")]
        .map(|(r, n)| (r.to_string(), n.to_string()))
        .into();
    eventually(Duration::from_secs(5), "n1 to list both rooms", || async {
        (lobby(&cluster.nodes[1]).await == both).then_some(())
    })
    .await;

    cluster.nodes[2].kill();
    let killed = Instant::now();
    let ttl = Duration::from_secs_f64(LEASE_TTL_SECS);
    let survivors: BTreeSet<(String, String)> = [("stays".to_string(), "n0".to_string())].into();
    for node in &cluster.nodes[..2] {
        // The lease lapses within one TTL; the lobby cache and the poll add a little.
        eventually(
            ttl + Duration::from_secs(2),
            &format!("{}'s /rooms to drop the dead node's room", node.id),
            || async { (lobby(node).await == survivors).then_some(()) },
        )
        .await;
    }
    assert!(killed.elapsed() < ttl + Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_of_a_killed_node_rejoin_through_the_entry_on_live_nodes_and_the_rest_play_on() {
    use tickcast_bot::{LoadConfig, LoadRun, ResumePolicy, RoomChoice};

    let mut cluster = TestCluster::start();
    let entry = cluster.nodes[0].ws_url();
    // One room per node, opened there by an anchor player; the bots come through the entry.
    let rooms = ["on-n0", "on-n1", "on-n2"];
    let mut anchors = Vec::new();
    for (node, room) in cluster.nodes.iter().zip(rooms) {
        anchors.push(join_following(node.addr, "anchor", room).await.0);
    }
    const BOTS: u32 = 6;
    // Long runs, stopped once the dead node's bots are back: a slow machine only makes the test
    // slower (a fixed 8 s run once ended before the kill on a loaded machine).
    let (runs, stops): (Vec<_>, Vec<_>) = rooms
        .iter()
        .map(|room| {
            let mut cfg = LoadConfig::new(entry.clone(), BOTS, Duration::from_secs(120));
            cfg.warmup = Duration::from_secs(1);
            cfg.room = RoomChoice::Named(room.to_string());
            cfg.name_prefix = format!("{room}-");
            cfg.metrics_url = None;
            // Enough attempts to outlast the dead node's lease (1 s) on the way to 4005.
            cfg.resume = ResumePolicy {
                attempts: 8,
                backoff: Duration::from_millis(100),
                attempt_timeout: Duration::from_secs(2),
                budget: Duration::from_secs(5),
            };
            let run = LoadRun::new(cfg);
            let stop = run.stop_handle();
            (tokio::spawn(run.run()), stop)
        })
        .unzip();
    let full: BTreeSet<(String, u64, bool)> = rooms
        .iter()
        .map(|r| (r.to_string(), u64::from(BOTS) + 1, false))
        .collect();
    eventually(Duration::from_secs(10), "every bot in its room", || async {
        (listed_players(&cluster.nodes[1]).await == full).then_some(())
    })
    .await;
    for anchor in anchors {
        anchor.close().await;
    }

    cluster.nodes[2].kill();
    // Every bot of on-n2 rejoined through the entry, which claimed the room (the anchors are
    // gone: 6 in each room). The lobby lists the dead node's room until its lease lapses.
    let back: BTreeSet<(String, u64, bool)> = rooms
        .iter()
        .map(|r| (r.to_string(), u64::from(BOTS), false))
        .collect();
    let entry_owns = ("on-n2".to_string(), "n0".to_string());
    eventually(
        Duration::from_secs(20),
        "the dead node's bots back in on-n2 on the entry",
        || async {
            let n1 = &cluster.nodes[1];
            let moved = lobby(n1).await.contains(&entry_owns);
            (moved && listed_players(n1).await == back).then_some(())
        },
    )
    .await;
    for stop in &stops {
        stop.stop();
    }
    let mut reports = Vec::new();
    for run in runs {
        let report = tokio::time::timeout(Duration::from_secs(30), run)
            .await
            .expect("the run ends")
            .expect("the run task should not panic")
            .expect("the run starts");
        reports.push(report);
    }
    for (room, report) in rooms.iter().zip(&reports) {
        let table = report.table();
        assert_eq!(report.connected, BOTS, "{room}: {table}");
        if *room == "on-n2" {
            // A clear outcome: each lost its connection, could not get its seat back (the
            // node is gone), and joined again through the entry as a new player.
            assert_eq!(
                report.error_kinds.get("closed_1006"),
                Some(&u64::from(BOTS)),
                "{table}"
            );
            assert_eq!(
                (report.resume_failures, report.rejoins),
                (u64::from(BOTS), u64::from(BOTS)),
                "{table}"
            );
            assert_eq!(report.closes.get("1000"), Some(&u64::from(BOTS)), "{table}");
        } else {
            let delivery = report.delivery_by_room.get(*room).copied();
            assert!(
                delivery >= Some(0.99),
                "{room} delivery {delivery:?}: {table}"
            );
            assert_eq!(
                (report.resumes, report.rejoins, report.errors),
                (0, 0, 0),
                "{table}"
            );
        }
    }
    // The dead node's room lives again on a live node: the entry claimed it for the rejoins.
    let lobby = lobby(&cluster.nodes[1]).await;
    assert!(lobby.contains(&("on-n2".into(), "n0".into())), "{lobby:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_loses_a_lease_stops_the_room_and_closes_its_players_with_1001() {
    use tickcast_server::directory::{Directory, DirectoryConfig, RedisDirectory};

    let cluster = TestCluster::start();
    let n1 = &cluster.nodes[1];
    let (mut a, _, _) = join_following(n1.addr, "a", "fenced").await;
    // Another party takes the room's lease away (what a new owner does after the old one
    // paused for a TTL): releasing it at its epoch bumps the epoch, so n1 cannot renew.
    let redis = RedisDirectory::connect(&cluster.redis_url(), DirectoryConfig::default())
        .await
        .expect("the test connects to the cluster's Redis");
    let owner = redis
        .owner("fenced")
        .await
        .expect("redis answers")
        .expect("n1 owns the room");
    assert_eq!(owner.node.id, "n1");
    assert!(redis
        .release("fenced", "n1", owner.epoch)
        .await
        .expect("redis answers"));

    let (code, reason) = a.expect_close().await;
    assert_eq!((code, reason.as_str()), (1001, "room closed"));
    let lost = eventually(
        Duration::from_secs(5),
        "the lease loss to be counted",
        || async {
            let text = common::get_text(n1.http_url("/metrics")).await;
            text.lines()
                .find_map(|l| l.strip_prefix("tickcast_lease_lost_total "))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| *v >= 1.0)
        },
    )
    .await;
    assert_eq!(lost, 1.0);
}

#[test]
fn a_node_whose_redis_is_down_at_start_up_exits_with_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("tickcast-no-redis-{}", std::process::id()));
    let url = format!("redis+unix://{}/nothing.sock", dir.display());
    let t0 = Instant::now();
    let out = nodes::command()
        .args([
            "--port",
            "0",
            "--redis-url",
            &url,
            "--redis-connect-timeout",
            "0.5",
        ])
        .output()
        .expect("the binary runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot join the cluster at"), "{stderr}");
    assert!(stderr.contains(&url), "{stderr}");
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "it gave up after its timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_keeps_local_rooms_ticking_and_the_directory_recovers() {
    let mut cluster = TestCluster::start();
    let (mut a, _, _) = join_following(cluster.nodes[0].addr, "a", "steady").await;
    let listed: (String, String) = ("steady".into(), "n0".into());
    eventually(Duration::from_secs(5), "n2 to list the room", || async {
        lobby(&cluster.nodes[2])
            .await
            .contains(&listed)
            .then_some(())
    })
    .await;

    cluster.redis.kill();
    let window = Duration::from_secs(2);
    let new_room = async {
        // A room no node runs cannot be created while the directory is down.
        let mut b = Client::connect(cluster.nodes[1].addr).await;
        b.send(&ClientMsg::Join(Join::room("new-while-down", "b")))
            .await;
        b.expect_close().await
    };
    let ((got, missing), (code, _)) = tokio::join!(a.count_snapshots(window), new_room);
    assert_eq!(
        code, 1011,
        "a join that needs the directory is refused, retryable"
    );
    assert_eq!(missing, 0, "no snapshot lost while Redis is down");
    let expected = 30.0 * window.as_secs_f64() * common::MIN_RATE_FRACTION;
    assert!(got as f64 >= expected, "{got} snapshots in {window:?}");

    cluster.redis.restart(); // empty: every key is gone
    for node in &cluster.nodes {
        eventually(
            Duration::from_secs(5),
            &format!("{}'s /rooms to list the room again", node.id),
            || async { lobby(node).await.contains(&listed).then_some(()) },
        )
        .await;
    }
    // The lease came back with it: a join through another node is sent to n0, and new rooms
    // can be created again.
    let (_b, at, hops) = join_following(cluster.nodes[1].addr, "b", "steady").await;
    assert_eq!((at, hops), (cluster.nodes[0].addr, 1));
    let (_c, at, _) = join_following(cluster.nodes[1].addr, "c", "new-after").await;
    assert_eq!(at, cluster.nodes[1].addr);
    let (_, missing) = a.count_snapshots(Duration::from_millis(300)).await;
    assert_eq!(missing, 0, "the room was never stopped");
    // Each node saw its directory fail and come back, and reports itself up.
    for node in &cluster.nodes {
        let text = common::get_text(node.http_url("/metrics")).await;
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
        };
        assert!(
            value("tickcast_redis_reconnects_total") >= Some(1.0),
            "{}: {text}",
            node.id
        );
        assert_eq!(value(r#"tickcast_node_state{state="up"}"#), Some(1.0));
        assert_eq!(value(r#"tickcast_node_state{state="draining"}"#), Some(0.0));
    }
}
