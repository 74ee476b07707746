//! The bot against a real cluster that drains a node (issue 12): two real server processes on
//! one real `redis-server`, two rooms of 8 load-run bots on node n0, then `POST /admin/drain` on
//! n0 (loopback bind: no token needed). Every bot must follow its room's hand-over to n1 as the
//! same player and say so in its report: `migrations` = bots, none lost, no player id change,
//! the gap within the issue's p99 ≤ 6 ticks, no error.
//!
//! Needs `redis-server` on the PATH (`scripts/test.sh` installs it). Every wait is a polled
//! condition with a deadline.

mod common;
#[path = "common/nodes.rs"]
mod nodes;
#[path = "common/redis_server.rs"]
mod redis_server;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{eventually, WAIT};
use nodes::NodeProcess;
use redis_server::RedisServer;
use tickcast_bot::{LoadConfig, LoadRun, RoomChoice};

/// The issue's bound on the client gap of a hand-over, in ticks (p99).
const MAX_GAP_P99_TICKS: u64 = 6;

/// `GET /rooms` on `node`: (room id, node id, players) of every room in the cluster.
async fn lobby(node: &NodeProcess) -> BTreeSet<(String, String, u64)> {
    let rooms = common::get_json(node.http_url("/rooms")).await;
    rooms
        .as_array()
        .unwrap_or_else(|| panic!("/rooms is a list: {rooms}"))
        .iter()
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (text("id"), text("node"), r["players"].as_u64().unwrap_or(0))
        })
        .collect()
}

/// The value of the sample `sample` (name and labels, as written) in `node`'s `/metrics`; 0
/// while absent (a labelled counter appears with its first count).
async fn metric(node: &NodeProcess, sample: &str) -> f64 {
    let text = common::get_text(node.http_url("/metrics")).await;
    text.lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
        .map_or(0.0, |v| {
            v.trim().parse().expect("a metric value is a number")
        })
}

/// Rooms `rooms`, each with `players` players, all on node `node`.
fn all_on(rooms: &[&str], node: &str, players: u32) -> BTreeSet<(String, String, u64)> {
    rooms
        .iter()
        .map(|r| (r.to_string(), node.to_string(), u64::from(players)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_run_follows_a_drained_nodes_rooms_to_the_other_node_as_the_same_players() {
    let redis = RedisServer::start();
    let n0 = NodeProcess::start("n0", &redis.url(), &[]);
    let n1 = NodeProcess::start("n1", &redis.url(), &[]);
    const BOTS: u32 = 8;
    let rooms = ["mig-a", "mig-b"];
    // Long runs, stopped once the move is over: a slow machine only makes the test slower.
    let (runs, stops): (Vec<_>, Vec<_>) = rooms
        .iter()
        .map(|room| {
            let mut cfg = LoadConfig::new(n0.ws_url(), BOTS, Duration::from_secs(120));
            cfg.warmup = Duration::from_secs(1);
            cfg.room = RoomChoice::Named(room.to_string());
            cfg.name_prefix = format!("{room}-");
            cfg.metrics_url = None;
            let run = LoadRun::new(cfg);
            let stop = run.stop_handle();
            (tokio::spawn(run.run()), stop)
        })
        .unzip();
    eventually(Duration::from_secs(10), "both rooms full on n0", || async {
        (lobby(&n1).await == all_on(&rooms, &n0.id, BOTS)).then_some(())
    })
    .await;

    let drain = n0.http_url("/admin/drain");
    let status =
        tokio::task::spawn_blocking(move || match ureq::post(&drain).timeout(WAIT).call() {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(code, _)) => code,
            Err(e) => panic!("POST {drain}: {e}"),
        })
        .await
        .expect("the blocking task finishes");
    assert!(
        (200..300).contains(&status),
        "a loopback node accepts POST /admin/drain without a token: HTTP {status}"
    );
    eventually(
        Duration::from_secs(10),
        "both rooms moved to n1",
        || async { (lobby(&n1).await == all_on(&rooms, &n1.id, BOTS)).then_some(()) },
    )
    .await;
    let resumed = r#"tickcast_migrated_players_total{outcome="resumed"}"#;
    let all = f64::from(BOTS) * rooms.len() as f64;
    eventually(
        Duration::from_secs(10),
        "every bot resumed on n1",
        || async { (metric(&n1, resumed).await >= all).then_some(()) },
    )
    .await;
    // Ten more ticks of each room on n1 (all rooms' ticks counted), so every bot has had the
    // first snapshot from its new node; then the runs end.
    let ticks = metric(&n1, "tickcast_ticks_total").await;
    let more = 10.0 * rooms.len() as f64;
    eventually(Duration::from_secs(10), "ten more ticks on n1", || async {
        (metric(&n1, "tickcast_ticks_total").await >= ticks + more).then_some(())
    })
    .await;
    for stop in stops {
        stop.stop();
    }

    for (room, run) in rooms.iter().zip(runs) {
        let report = tokio::time::timeout(Duration::from_secs(30), run)
            .await
            .expect("the run ends")
            .expect("the run task should not panic")
            .expect("the run starts");
        let table = report.table();
        let bots = u64::from(BOTS);
        assert_eq!(report.connected, BOTS, "{room}: {table}");
        assert_eq!(
            (
                report.migrations,
                report.migrations_failed,
                report.player_id_changes
            ),
            (bots, 0, 0),
            "{room}: every bot followed the hand-over as the same player: {table}"
        );
        let gap = report.migration_gap_ticks;
        assert_eq!(gap.count, bots, "{room}: one gap per bot: {table}");
        assert!(
            gap.p99 <= MAX_GAP_P99_TICKS,
            "{room}: gap p99 {} > {MAX_GAP_P99_TICKS} ticks: {table}",
            gap.p99
        );
        assert_eq!(
            (report.errors, report.resumes, report.rejoins),
            (0, bots, 0),
            "{room}: a hand-over is a resume, never an error or a new player: {table}"
        );
        assert_eq!(report.closes.get("1000"), Some(&bots), "{room}: {table}");
    }
    drop(n1);
    drop(n0);
}
