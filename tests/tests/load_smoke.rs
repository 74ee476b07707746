//! Smoke load: ~200 headless bots (the `tickcast-bot` library, the same code as the load tool)
//! play for a few seconds against a real server. Thresholds are loose enough for a loaded 2-core
//! CI machine and tight enough to fail if the fan-out breaks: every bot joins, snapshots flow at
//! roughly the tick rate, nothing errors, and encodings are shared — one full snapshot per room
//! per tick, or with deltas (the bots' default) one per distinct baseline, far fewer than one per
//! session.

mod common;

use std::time::Duration;

use common::*;
use tickcast_bot::{LoadConfig, LoadRun, Report, SnapshotMode};
use tickcast_server::ServerConfig;

/// The counters the encoding checks compare, from one scrape.
const COUNTERS: [&str; 4] = [
    "tickcast_players",
    "tickcast_ticks_total",
    "tickcast_snapshot_encodings_total",
    "tickcast_snapshot_offers_total",
];

/// Runs `bots` bots for 5 s against a fresh server with rooms of 8 and checks what every run
/// must show; returns the report and the server's (ticks, encodings, offers) counted over a
/// window in which every bot was in its room. (Counted over the whole run, the rooms' ticks
/// after the bots left — an empty room ticks through its grace period and encodes nothing —
/// would depend on how long the scrape came after the run.)
async fn smoke(bots: u32, snapshots: SnapshotMode) -> (Report, f64, f64, f64) {
    let server = start_arena(ServerConfig {
        max_players_per_room: 8,
        ..test_config()
    });
    let mut config = LoadConfig::new(server.ws_url(), bots, Duration::from_secs(5));
    config.warmup = Duration::from_secs(1);
    config.snapshots = snapshots;
    let everyone = f64::from(bots);
    let window = async {
        let first = eventually(WAIT, "every bot in its room", || async {
            let m = metrics(&server, &COUNTERS).await;
            (m[0] == everyone).then_some(m)
        })
        .await;
        // About a second of play in every room.
        let rooms = f64::from(bots.div_ceil(8));
        let last = eventually(WAIT, "a second of ticks in every room", || async {
            let m = metrics(&server, &COUNTERS).await;
            (m[1] - first[1] >= rooms * f64::from(TICK_RATE)).then_some(m)
        })
        .await;
        assert_eq!(
            last[0], everyone,
            "every bot stayed in its room over the window"
        );
        (last[1] - first[1], last[2] - first[2], last[3] - first[3])
    };
    let (report, (ticks, encodings, offers)) = tokio::join!(
        async {
            LoadRun::new(config)
                .run()
                .await
                .expect("the load run should complete")
        },
        window
    );
    eprintln!("{}", report.table());

    assert_eq!(report.snapshots, snapshots.to_string());
    assert_eq!(report.connected, bots, "every bot joined");
    assert_eq!(report.errors, 0, "no errors: {:?}", report.error_kinds);
    assert_eq!(report.rooms, u64::from(bots.div_ceil(8)), "rooms of 8");
    // Snapshots flowed at roughly the tick rate to every bot …
    let per_bot = report.snapshots_per_s / f64::from(bots);
    assert!(
        per_bot >= f64::from(TICK_RATE) * MIN_RATE_FRACTION,
        "{per_bot:.1} snapshots/s per bot at {TICK_RATE} Hz"
    );
    // … with few drops (a broken fan-out loses most of them) …
    assert!(report.delivery >= 0.95, "delivery {}", report.delivery);
    // … and inputs were acknowledged.
    assert!(
        report.input_ack_ms.count > 0 && report.input_ack_ms.p50 < 500.0,
        "{:?}",
        report.input_ack_ms
    );
    (report, ticks, encodings, offers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn two_hundred_delta_bots_join_play_and_share_encodings_per_baseline() {
    let (report, ticks, encodings, offers) = smoke(200, SnapshotMode::Delta).await;
    // A room encodes at least once per tick (±1 per room at each end of the window), and its 8
    // sessions' acks fall on a few baselines.
    assert!(
        encodings >= ticks - 2.0 * report.rooms as f64,
        "{encodings} encodings, {ticks} ticks"
    );
    assert!(
        encodings / offers <= 0.5,
        "{encodings} encodings for {offers} offers"
    );
    assert_eq!(report.error_kinds.get("delta_rejected"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn full_snapshot_bots_get_one_encoding_per_room_and_tick() {
    let (report, ticks, encodings, _) = smoke(96, SnapshotMode::Full).await;
    // A room counts a tick just before its encoding, so each scrape can fall between the two
    // of a room: ±1 per room at each end of the window.
    let in_flight = 2.0 * report.rooms as f64;
    assert!(
        (encodings - ticks).abs() <= in_flight,
        "exactly one snapshot encoding per room per tick: {encodings} encodings, {ticks} ticks"
    );
}
