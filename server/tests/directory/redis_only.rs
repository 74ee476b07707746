//! What only a real Redis has: the documented keys and TTLs, separate connections racing, and a
//! server that dies and comes back under a live `RedisDirectory`.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use tickcast_server::directory::{
    Claim, Directory, DirectoryConfig, DirectoryError, Lease, NodeState, QuickPlay, RedisDirectory,
};

use crate::fixture::{self, beat, node, owned, poll_until, Fixture, LEASE, SHORT_LEASE};
use crate::redis_server::RedisServer;

async fn pttl(conn: &mut MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query_async(conn).await.unwrap()
}

async fn key_type(conn: &mut MultiplexedConnection, key: &str) -> String {
    redis::cmd("TYPE").arg(key).query_async(conn).await.unwrap()
}

#[tokio::test]
async fn keys_follow_the_documented_layout_with_their_ttls() {
    let fx = fixture::redis().await;
    let d = fx.dir();
    let epoch = owned(d.claim("lobby", &node("a")).await.unwrap());
    d.heartbeat(beat("a", NodeState::Up, &[4]), vec![])
        .await
        .unwrap();
    let mut conn = fx.inspect().await;
    let ttl = LEASE.as_millis() as i64;
    let epoch_ttl = DirectoryConfig::default().epoch_ttl.as_millis() as i64;
    for (key, kind, max_ttl) in [
        ("test:{lobby}:owner", "hash", ttl),
        ("test:{lobby}:epoch", "string", epoch_ttl),
        ("test:{cluster}:node:a", "string", ttl),
        ("test:{cluster}:list:a", "string", ttl),
    ] {
        assert_eq!(key_type(&mut conn, key).await, kind, "{key}");
        let left = pttl(&mut conn, key).await;
        assert!(0 < left && left <= max_ttl, "{key} expires: {left} ms");
    }
    let owner: Vec<String> = redis::cmd("HMGET")
        .arg("test:{lobby}:owner")
        .arg(&["node", "url", "epoch", "state"])
        .query_async(&mut conn)
        .await
        .unwrap();
    let url = node("a").url;
    assert_eq!(owner, ["a", url.as_str(), &epoch.to_string(), "live"]);
    let score: f64 = redis::cmd("ZSCORE")
        .arg("test:{cluster}:nodes")
        .arg("a")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(score, 4.0, "placement score = players");
    assert_eq!(
        pttl(&mut conn, "test:{cluster}:nodes").await,
        -1,
        "the set itself never expires"
    );
}

#[tokio::test]
async fn leases_and_records_expire_on_the_servers_clock_and_dead_nodes_leave_the_set() {
    let fx = fixture::redis_with_lease(SHORT_LEASE).await;
    let d = fx.dir();
    let old = owned(d.claim("r", &node("dead")).await.unwrap());
    d.heartbeat(beat("dead", NodeState::Up, &[1]), vec![])
        .await
        .unwrap();
    let mut conn = fx.inspect().await;
    poll_until(
        "redis expires the lease and the node record by itself",
        || async {
            let owner = key_type(&mut fx.inspect().await, "test:{r}:owner").await;
            let record = key_type(&mut fx.inspect().await, "test:{cluster}:node:dead").await;
            (owner.as_str(), record.as_str()) == ("none", "none")
        },
    )
    .await;
    let mut members = redis::cmd("ZRANGE");
    members.arg("test:{cluster}:nodes").arg(0).arg(-1);
    let left: Vec<String> = members.query_async(&mut conn).await.unwrap();
    assert_eq!(left, ["dead"], "an expired record leaves its member behind");
    assert!(d.rooms().await.unwrap().is_empty());
    let left: Vec<String> = members.query_async(&mut conn).await.unwrap();
    assert!(left.is_empty(), "the scan removed it");
    assert!(owned(d.claim("r", &node("b")).await.unwrap()) > old);
}

#[tokio::test]
async fn seat_promises_lapse_on_the_servers_clock_one_hold_after_a_rooms_last_one() {
    let fx = fixture::redis_with_lease(SHORT_LEASE).await;
    let hold = fixture::config(SHORT_LEASE).seat_hold();
    let d = fx.dir();
    // a-0: public, 6 of 8.
    d.heartbeat(beat("a", NodeState::Up, &[6]), vec![])
        .await
        .unwrap();
    let lobby = d.rooms().await.unwrap();
    let ask = |fresh: &str| QuickPlay {
        rooms: lobby.clone(),
        fresh: fresh.into(),
        capacity: 100,
    };
    let room = |placed: Option<tickcast_server::directory::Placement>| {
        placed.expect("a takes players").room
    };
    assert_eq!(room(d.matchmake(ask("f")).await.unwrap()), "a-0");
    let last_promise = std::time::Instant::now();
    assert_eq!(room(d.matchmake(ask("f")).await.unwrap()), "a-0");
    assert_eq!(
        room(d.matchmake(ask("f")).await.unwrap()),
        "f",
        "a-0 promised full"
    );
    let mut conn = fx.inspect().await;
    for key in ["test:{cluster}:seats", "test:{cluster}:fresh"] {
        assert_eq!(key_type(&mut conn, key).await, "hash", "{key}");
        let left = pttl(&mut conn, key).await;
        assert!(
            0 < left && left <= hold.as_millis() as i64,
            "{key}: {left} ms"
        );
    }
    // The fresh room's promises keep the keys alive; a-0's own promises lapse by themselves.
    poll_until("a-0's promises to lapse", || async {
        d.heartbeat(beat("a", NodeState::Up, &[6]), vec![])
            .await
            .unwrap();
        room(d.matchmake(ask("g")).await.unwrap()) == "a-0"
    })
    .await;
    assert!(last_promise.elapsed() >= hold, "not before one hold");
}

#[tokio::test]
async fn renew_restarts_the_lease_ttl() {
    let fx = fixture::redis().await;
    let d = fx.dir();
    let epoch = owned(d.claim("r", &node("a")).await.unwrap());
    let mut conn = fx.inspect().await;
    // Most of the lease has run out.
    let _: () = redis::cmd("PEXPIRE")
        .arg("test:{r}:owner")
        .arg(1000)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(d.renew("r", &node("a"), epoch).await.unwrap());
    let left = pttl(&mut conn, "test:{r}:owner").await;
    assert!(left > 1000, "renewed to a full lease: {left} ms left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_from_separate_connections_race_to_one_owner() {
    let server = RedisServer::start();
    let mut dirs = Vec::new();
    for _ in 0..4 {
        let d = RedisDirectory::connect(&server.url(), fixture::config(LEASE))
            .await
            .unwrap();
        dirs.push(Arc::new(d));
    }
    for round in 0..20 {
        let room = format!("race-{round}");
        let claims: Vec<_> = dirs
            .iter()
            .enumerate()
            .map(|(i, d)| tokio::spawn(d.claim(&room, &node(&format!("n{i}")))))
            .collect();
        let mut owners = 0;
        for claim in claims {
            if let Claim::Owned { .. } = claim.await.unwrap().unwrap() {
                owners += 1;
            }
        }
        assert_eq!(owners, 1, "{room}: exactly one of four nodes owns it");
    }
}

/// Fails unless `op` fails with `Unavailable` (and fast: a down Redis must not hang callers).
async fn assert_unavailable<T: std::fmt::Debug>(
    what: &str,
    op: impl std::future::Future<Output = Result<T, DirectoryError>>,
) {
    let answer = tokio::time::timeout(Duration::from_secs(5), op)
        .await
        .unwrap_or_else(|_| panic!("{what} hung while redis was down"));
    match answer {
        Err(e) if e.is_unavailable() => {}
        other => panic!("{what} while redis is down: {other:?}"),
    }
}

#[tokio::test]
async fn a_restarted_redis_is_reached_again_without_a_new_directory_and_the_leases_come_back() {
    let mut fx = fixture::redis().await;
    let d = fx.dir();
    let epoch = owned(d.claim("r", &node("a")).await.unwrap());
    let a = beat("a", NodeState::Up, &[3]);
    let leases = vec![Lease {
        room: "r".into(),
        epoch,
    }];

    fx.server.kill();
    assert_unavailable("claim", d.claim("s", &node("a"))).await;
    assert_unavailable("owner", d.owner("r")).await;
    assert_unavailable("heartbeat", d.heartbeat(a.clone(), leases.clone())).await;
    assert_unavailable("rooms", d.rooms()).await;

    fx.server.restart(); // empty: no persistence, no scripts loaded
    poll_until("the directory reconnects by itself", || async {
        d.nodes().await.is_ok()
    })
    .await;
    let lost = d.heartbeat(a, leases).await.unwrap();
    assert!(
        lost.is_empty(),
        "the heartbeat took its lease back: {lost:?}"
    );
    let owner = d.owner("r").await.unwrap().expect("r is a's again");
    assert_eq!((owner.node, owner.epoch), (node("a"), epoch));
    assert_eq!(
        d.rooms().await.unwrap().len(),
        1,
        "and its room is listed again"
    );
    let claim = d.claim("r", &node("b")).await.unwrap();
    assert!(
        matches!(claim, Claim::OwnedBy(_)),
        "no second owner: {claim:?}"
    );
}

#[tokio::test]
async fn connecting_fails_clearly_when_redis_is_down_or_the_url_is_wrong() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.kill();
    let down = RedisDirectory::connect(&url, fixture::config(LEASE)).await;
    assert!(
        matches!(down, Err(DirectoryError::Unavailable(_))),
        "down: {:?}",
        down.err()
    );
    let wrong = RedisDirectory::connect("http://127.0.0.1:1", fixture::config(LEASE)).await;
    assert!(
        matches!(wrong, Err(DirectoryError::InvalidUrl(_))),
        "wrong: {:?}",
        wrong.err()
    );
}
