//! Smoke load: ~200 headless bots (the `tickcast-bot` library, the same code as the load tool)
//! play for a few seconds against a real server. Thresholds are loose enough for a loaded 2-core
//! CI machine and tight enough to fail if the fan-out breaks: every bot joins, snapshots flow at
//! roughly the tick rate, nothing errors, and each room encodes one snapshot per tick.

mod common;

use std::time::Duration;

use common::*;
use tickcast_bot::{LoadConfig, LoadRun};
use tickcast_server::ServerConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn two_hundred_bots_join_play_and_get_their_snapshots() {
    let server = start_arena(ServerConfig {
        max_players_per_room: 8,
        ..test_config()
    });
    let bots = 200;
    let mut config = LoadConfig::new(server.ws_url(), bots, Duration::from_secs(5));
    config.warmup = Duration::from_secs(1);
    let report = LoadRun::new(config)
        .run()
        .await
        .expect("the load run should complete");
    eprintln!("{}", report.table());

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

    // One scrape for both: rooms keep ticking between two scrapes. (The room counts a tick
    // right after its encoding, so a scrape can fall between the two of a room: ±1 per room.)
    let m = metrics(
        &server,
        &["tickcast_ticks_total", "tickcast_snapshot_encodings_total"],
    )
    .await;
    let (ticks, encodings) = (m[0], m[1]);
    let in_flight = report.rooms as f64; // at most one tick per room between the two counters
    assert!(
        (encodings - ticks).abs() <= in_flight && ticks > 1000.0,
        "exactly one snapshot encoding per room per tick: {encodings} encodings, {ticks} ticks"
    );
}
