//! End-to-end: a client that stops reading never makes the server buffer without bound and never
//! slows its neighbours. Its stale snapshots are dropped (newest wins) and counted; after the stall
//! timeout it is disconnected and leaves the room; if it resumes earlier it gets the newest
//! snapshot, not a backlog.

mod common;

use std::time::Duration;

use common::*;
use tickcast_server::ServerConfig;
use tickcast_shared::arena::ArenaClientMsg;
use tickcast_shared::Join;

/// Small receive buffer for the stuck client, so its side of the pipe fills within a second.
const STUCK_RCVBUF: usize = 4096;

async fn player_stats(
    server: &tickcast_server::ServerHandle,
    room: &str,
    id: uuid::Uuid,
) -> Option<serde_json::Value> {
    let room = get_json(server.http_url(&format!("/rooms/{room}"))).await;
    room["players"]
        .as_array()?
        .iter()
        .find(|p| p["id"] == id.to_string())
        .cloned()
}

#[tokio::test]
async fn a_stalled_client_is_dropped_then_disconnected_while_others_get_every_snapshot() {
    let stall_timeout = Duration::from_secs(4);
    let server = start_arena(ServerConfig {
        stall_timeout,
        ..test_config()
    });
    let mut a = Client::join(server.addr(), Join::room("slow", "a")).await;
    let mut b = Client::join(server.addr(), Join::room("slow", "b")).await;
    let mut stuck = Client::connect_with(server.addr(), Some(STUCK_RCVBUF)).await;
    stuck
        .send(&ArenaClientMsg::Join(Join::room("slow", "stuck")))
        .await;
    stuck.expect_welcome().await;
    let stuck_id = stuck.player_id();
    a.next_snapshot().await;
    b.next_snapshot().await;
    let rss_before = metric(&server, "process_resident_memory_bytes").await;

    // From here on `stuck` is never polled: the server's writes to it pile up in the kernel.
    let window = stall_timeout + Duration::from_secs(3);
    let reader_a = tokio::spawn(async move { (a.count_snapshots(window).await, a) });
    let reader_b = tokio::spawn(async move { (b.count_snapshots(window).await, b) });

    // Within a few seconds the server drops stale snapshots for it and counts them.
    let t0 = std::time::Instant::now();
    let dropped_at = eventually(
        Duration::from_secs(4),
        "drops counted for the stuck client",
        || async {
            let p = player_stats(&server, "slow", stuck_id).await?;
            (p["frames_dropped"].as_u64()? > 0).then(|| t0.elapsed())
        },
    )
    .await;
    eprintln!("stuck client: first drop counted after {dropped_at:?}");
    assert!(metric(&server, "tickcast_frames_dropped_total").await > 0.0);

    // After the stall timeout it is gone from the room and its connection is closed.
    eventually(
        stall_timeout + Duration::from_secs(3),
        "the stuck client to leave the room",
        || async {
            let room = get_json(server.http_url("/rooms/slow")).await;
            let players = room["players"].as_array()?;
            (players.len() == 2 && players.iter().all(|p| p["id"] != stuck_id.to_string()))
                .then_some(())
        },
    )
    .await;
    assert_eq!(
        metric(&server, "tickcast_stalled_disconnects_total").await,
        1.0
    );
    let rss_after = metric(&server, "process_resident_memory_bytes").await;

    let ((got_a, missing_a), _a) = reader_a.await.unwrap();
    let ((got_b, missing_b), _b) = reader_b.await.unwrap();
    for (who, got, missing) in [("a", got_a, missing_a), ("b", got_b, missing_b)] {
        let delivery = got as f64 / (got + missing) as f64;
        eprintln!("reader {who}: {got} snapshots, {missing} missing, delivery {delivery:.4}");
        assert!(delivery >= 0.99, "reader {who} delivery {delivery}");
        let expected = window.as_secs_f64() * f64::from(TICK_RATE);
        assert!(
            got as f64 >= expected * MIN_RATE_FRACTION,
            "reader {who} got {got} of ~{expected}"
        );
    }
    let growth = rss_after - rss_before;
    eprintln!(
        "server RSS growth while stalled: {:.1} KiB",
        growth / 1024.0
    );
    assert!(growth < 4.0 * 1024.0 * 1024.0, "RSS grew by {growth} bytes");

    // The stuck client finds its connection ended: whatever was in flight, then EOF or a close.
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Event::Closed(c) = stuck.next(Duration::from_secs(5)).await {
                return c;
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the stuck client's connection should be closed"
    );
}

#[tokio::test]
async fn a_client_that_resumes_reading_gets_the_newest_snapshot_not_a_backlog() {
    let server = start_arena(ServerConfig {
        stall_timeout: Duration::from_secs(8),
        ..test_config()
    });
    let mut a = Client::join(server.addr(), Join::room("resume", "a")).await;
    let mut slow = Client::connect_with(server.addr(), Some(STUCK_RCVBUF)).await;
    slow.send(&ArenaClientMsg::Join(Join::room("resume", "slow")))
        .await;
    slow.expect_welcome().await;
    let slow_id = slow.player_id();
    let first = slow.next_snapshot().await.tick;

    // Stall for 4 s (120 ticks) while `a` keeps reading: far more snapshots than the pipes hold.
    let stall = Duration::from_secs(4);
    let (_, _) = a.count_snapshots(stall).await;
    let now_tick = a.newest_tick;
    let dropped = player_stats(&server, "resume", slow_id)
        .await
        .expect("still seated")["frames_dropped"]
        .as_u64()
        .unwrap();
    assert!(dropped > 0, "stale snapshots were dropped while it stalled");

    // Resume: drain what was already in the pipes, then the newest snapshot arrives.
    let mut backlog = 0u64;
    let caught_up = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            let s = slow.next_snapshot().await;
            if s.tick >= now_tick {
                return s.tick;
            }
            backlog += 1;
        }
    })
    .await
    .expect("the resumed client should catch up to the current tick within 2 s");
    let stalled_ticks = now_tick - first;
    eprintln!("stalled {stalled_ticks} ticks; {backlog} stale snapshots were still in the pipes; {dropped} dropped; caught up at {caught_up}");
    assert!(
        backlog * 2 < stalled_ticks,
        "most stale snapshots must be dropped, not delivered late ({backlog} of {stalled_ticks})"
    );
    // And it is in step again: consecutive ticks.
    let s1 = slow.next_snapshot().await.tick;
    let s2 = slow.next_snapshot().await.tick;
    assert_eq!(s2, s1 + 1);
}
