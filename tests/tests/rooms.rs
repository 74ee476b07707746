//! End-to-end: joining, playing, matchmaking and room lifecycle against a real server.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::*;
use tickcast_server::game::arena::{Arena, ArenaConfig, RoundRules};
use tickcast_server::game::counter::{Counter, CounterState};
use tickcast_server::{spawn, ServerConfig};
use tickcast_shared::arena::{Controls, RoundPhase};
use tickcast_shared::{decode, encode, ClientMsg, Input, Join, ServerMsg, PROTOCOL_VERSION};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn two_clients_in_a_room_see_each_other_move_and_acks_advance() {
    let server = start_arena(test_config());
    let mut a = Client::join(server.addr(), Join::room("duel", "alice")).await;
    let mut b = Client::join(server.addr(), Join::room("duel", "bob")).await;
    assert_eq!(a.welcome.as_ref().unwrap().room_id, "duel");
    assert_eq!(b.welcome.as_ref().unwrap().tick_rate, TICK_RATE);
    let (a_id, b_id) = (a.player_id(), b.player_id());
    assert_ne!(a_id, b_id);

    // B sees both players and A's starting position.
    let start = loop {
        let s = b.next_snapshot().await;
        if let Some(p) = s.state.players.iter().find(|p| p.id == a_id) {
            assert!(s
                .state
                .players
                .iter()
                .any(|p| p.id == b_id && &*p.name == "bob"));
            break p.x;
        }
    };
    // A holds "right"; B must see A move right, and A must see its inputs acknowledged.
    let mut last_ack = 0;
    let moved = tokio::time::timeout(WAIT, async {
        loop {
            let seq = a.input(Controls::new(1.0, 0.0, 0)).await;
            let sa = a.next_snapshot().await;
            let me = sa
                .state
                .players
                .iter()
                .find(|p| p.id == a_id)
                .expect("A is in its own snapshot");
            assert!(me.last_input >= last_ack, "acks never go backwards");
            assert!(
                me.last_input <= seq,
                "the server cannot ack an input not yet sent"
            );
            last_ack = me.last_input;
            let sb = b.next_snapshot().await;
            let seen = sb
                .state
                .players
                .iter()
                .find(|p| p.id == a_id)
                .expect("B sees A")
                .x;
            if seen > start + 50.0 && last_ack >= 10 {
                return seen;
            }
        }
    })
    .await
    .expect("B should see A move right and A's acks should advance within 5 s");
    assert!(moved > start);
    // B's own ack is still 0: acks are per player inside the shared snapshot.
    let sb = b.next_snapshot().await;
    assert_eq!(
        sb.state
            .players
            .iter()
            .find(|p| p.id == b_id)
            .unwrap()
            .last_input,
        0
    );
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn a_full_room_sends_the_next_player_to_a_new_room_and_empty_rooms_are_disposed() {
    let server = start_arena(ServerConfig {
        max_players_per_room: 2,
        ..test_config()
    });
    let p1 = Client::join(server.addr(), Join::any_room("p1")).await;
    let p2 = Client::join(server.addr(), Join::any_room("p2")).await;
    let p3 = Client::join(server.addr(), Join::any_room("p3")).await;
    let r1 = p1.welcome.as_ref().unwrap().room_id.clone();
    assert_eq!(
        p2.welcome.as_ref().unwrap().room_id,
        r1,
        "matchmaking fills a room first"
    );
    let r2 = p3.welcome.as_ref().unwrap().room_id.clone();
    assert_ne!(r1, r2, "a full room sends the next player to a new room");

    let rooms = get_json(server.http_url("/rooms")).await;
    let find = |id: &str| {
        rooms
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
    };
    assert_eq!(find(&r1).expect("room 1 listed")["players"], 2);
    assert_eq!(find(&r2).expect("room 2 listed")["players"], 1);
    assert_eq!(find(&r1).unwrap()["capacity"], 2);

    // A named room that is full refuses with 4001.
    let _n1 = Client::join(server.addr(), Join::room("tiny", "n1")).await;
    let _n2 = Client::join(server.addr(), Join::room("tiny", "n2")).await;
    let mut n3 = Client::connect(server.addr()).await;
    n3.send(&ClientMsg::Join(Join::room("tiny", "n3"))).await;
    assert_eq!(n3.expect_close().await.0, tickcast_shared::close::ROOM_FULL);

    // Empty room 2; after the grace period it is gone while room 1 stays.
    p3.close().await;
    let url = server.http_url("/rooms");
    eventually(WAIT, "the emptied room to be disposed", || {
        let url = url.clone();
        let (r1, r2) = (r1.clone(), r2.clone());
        async move {
            let rooms = get_json(url).await;
            let ids: Vec<_> = rooms
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect();
            (!ids.contains(&r2) && ids.contains(&r1)).then_some(())
        }
    })
    .await;
    drop((p1, p2));
}

#[tokio::test]
async fn a_player_whose_connection_drops_keeps_its_seat_for_the_grace_period_then_leaves() {
    let server = start_arena(test_config()); // resume grace 1 s
    let a = Client::join(server.addr(), Join::room("leave", "a")).await;
    let mut b = Client::join(server.addr(), Join::room("leave", "b")).await;
    let a_id = a.player_id();
    let dropped_at = std::time::Instant::now();
    drop(a); // TCP dropped without a close frame
    b.wait_until_absent(
        a_id,
        "A to disappear from B's snapshots after the grace period",
    )
    .await;
    let gone_after = dropped_at.elapsed();
    assert!(
        gone_after >= Duration::from_millis(900),
        "A was removed after {gone_after:?}, before the 1 s grace"
    );
}

#[tokio::test]
async fn a_player_who_closes_leaves_at_once() {
    let server = start_arena(ServerConfig {
        resume_grace: Duration::from_secs(30),
        ..test_config()
    });
    let a = Client::join(server.addr(), Join::room("bye", "a")).await;
    let mut b = Client::join(server.addr(), Join::room("bye", "b")).await;
    let a_id = a.player_id();
    a.close().await; // close 1000: no seat is held
    b.wait_until_absent(
        a_id,
        "A to leave at once after a clean close (grace is 30 s)",
    )
    .await;
}

#[tokio::test]
async fn a_dropped_player_resumes_with_its_token_and_keeps_id_and_score() {
    let server = start_arena(ServerConfig {
        resume_grace: Duration::from_secs(10),
        ..test_config()
    });
    let mut a = Client::join(server.addr(), Join::room("resume", "a")).await;
    let mut b = Client::join(server.addr(), Join::room("resume", "b")).await;
    let a_id = a.player_id();
    let token = a
        .welcome
        .as_ref()
        .unwrap()
        .resume_token
        .clone()
        .expect("a resume token in the welcome");
    // Move A a little so its state is not the spawn state, then let it come to rest.
    for _ in 0..10 {
        a.input(Controls::new(1.0, 0.0, 0)).await;
        a.next_snapshot().await;
    }
    let before = tokio::time::timeout(WAIT, async {
        loop {
            a.input(Controls::default()).await;
            let s = a.next_snapshot().await;
            let me = s.state.players.into_iter().find(|p| p.id == a_id).unwrap();
            if me.vx.abs() < 0.01 && me.vy.abs() < 0.01 {
                return me;
            }
        }
    })
    .await
    .expect("A comes to rest");

    drop(a); // connection lost

    let mut again = Client::connect(server.addr()).await;
    let mut join = Join::room("resume", "a");
    join.resume = Some(token.clone());
    again.send(&ClientMsg::Join(join)).await;
    let w = again.expect_welcome().await.clone();
    assert_eq!(w.player_id, a_id, "same player back");
    assert_eq!(w.room_id, "resume");
    let mine = again
        .next_snapshot()
        .await
        .state
        .players
        .into_iter()
        .find(|p| p.id == a_id)
        .unwrap();
    assert_eq!(&*mine.name, "a");
    assert_eq!(mine.score, before.score);
    assert!(
        (mine.x - before.x).abs() < 1.0 && (mine.y - before.y).abs() < 1.0,
        "position kept"
    );
    // B never saw A leave: every snapshot B got in between had A.
    let now = again.newest_tick;
    tokio::time::timeout(WAIT, async {
        loop {
            let s = b.next_snapshot().await;
            assert!(
                s.state.players.iter().any(|p| p.id == a_id),
                "B saw A missing at tick {}",
                s.tick
            );
            if s.tick >= now {
                return;
            }
        }
    })
    .await
    .expect("B catches up");
    let players = get_json(server.http_url("/rooms")).await;
    let room = players
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "resume")
        .unwrap()
        .clone();
    assert_eq!(room["players"], 2);
}

#[tokio::test]
async fn a_resume_token_is_refused_after_the_grace_period_with_4005() {
    let server = start_arena(test_config()); // resume grace 1 s
    let a = Client::join(server.addr(), Join::room("late", "a")).await;
    let token = a.welcome.as_ref().unwrap().resume_token.clone().unwrap();
    let a_id = a.player_id();
    let mut b = Client::join(server.addr(), Join::room("late", "b")).await;
    drop(a);
    b.wait_until_absent(a_id, "A to leave after the grace period")
        .await;
    let mut late = Client::connect(server.addr()).await;
    let mut join = Join::room("late", "a");
    join.resume = Some(token);
    late.send(&ClientMsg::Join(join)).await;
    let (code, reason) = late.expect_close().await;
    assert_eq!(code, tickcast_shared::close::RESUME_REFUSED, "{reason}");
}

#[tokio::test]
async fn ping_is_answered_with_the_client_time_echoed() {
    let server = start_arena(test_config());
    let mut c = Client::join(server.addr(), Join::any_room("pinger")).await;
    c.send(&ClientMsg::Ping(tickcast_shared::Ping {
        client_time: 1234.5,
    }))
    .await;
    loop {
        match c.next(WAIT).await {
            Event::Msg(ServerMsg::Pong(p)) => {
                assert_eq!(p.client_time, 1234.5);
                assert!(p.server_time_ms > 1_700_000_000_000);
                break;
            }
            Event::Msg(_) => {}
            Event::Closed(c) => panic!("closed: {c:?}"),
        }
    }
}

#[tokio::test]
async fn exactly_one_snapshot_encoding_per_room_per_tick() {
    let server = start_arena(test_config());
    let mut clients = Vec::new();
    for i in 0..6 {
        clients.push(Client::join(server.addr(), Join::room("one-encode", format!("p{i}"))).await);
    }
    for c in &mut clients {
        c.next_snapshot().await;
    }
    // One scrape for both: rooms keep ticking between two scrapes. (The room counts a tick
    // right after its encoding, so a scrape can fall between the two of a room: ±1 per room.)
    let m = metrics(
        &server,
        &["tickcast_ticks_total", "tickcast_snapshot_encodings_total"],
    )
    .await;
    let (ticks, encodings) = (m[0], m[1]);
    assert!(ticks > 0.0);
    assert_eq!(encodings, ticks, "one encoding per tick with one room");
    // Sessions add their frames to the counter in batches (`session/tally.rs`), so it lags by
    // up to a batch per session: wait until six sessions' frames outnumber the encodings.
    eventually(WAIT, "six sessions sharing each encoding", || async {
        let sent = metric(&server, "tickcast_frames_sent_total").await;
        (sent > encodings).then_some(())
    })
    .await;
}

#[tokio::test]
async fn http_endpoints_answer() {
    let server = start_arena(test_config());
    let health = get_json(server.http_url("/healthz")).await;
    assert_eq!(health["status"], "ok");
    let metrics = get_text(server.http_url("/metrics")).await;
    for name in [
        "tickcast_connections",
        "tickcast_rooms",
        "tickcast_ticks_total",
        "tickcast_tick_duration_seconds_bucket",
        "tickcast_snapshot_bytes_total",
        "tickcast_frames_sent_total",
        "tickcast_frames_dropped_total",
        "tickcast_decode_errors_total",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
    ] {
        assert!(metrics.contains(name), "/metrics lacks {name}");
    }
    let page = get_text(server.http_url("/")).await;
    assert!(
        page.contains("tickcast"),
        "a helpful page when the web client is not built"
    );
}

#[tokio::test]
async fn a_second_game_runs_on_the_same_room_runtime() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = spawn(listener, test_config(), |_seed| Counter::default()).unwrap();
    let mut c = Client::connect(server.addr()).await;
    c.send(&ClientMsg::Join(Join::room("count", "c"))).await;
    // The counter's messages are not arena-shaped: decode them with its own types.
    let raw = |m: Message| match m {
        Message::Binary(b) => b,
        other => panic!("unexpected {other:?}"),
    };
    use futures_util::{SinkExt, StreamExt};
    let welcome: ServerMsg<CounterState, String, CounterState> =
        decode(&raw(c.ws.next().await.unwrap().unwrap())).unwrap();
    assert!(
        matches!(&welcome, ServerMsg::Welcome(w) if w.game == "counter"),
        "{welcome:?}"
    );
    for seq in 1..=3u32 {
        let input: ClientMsg<i32> = ClientMsg::Input(Input {
            seq,
            ack_tick: 0,
            controls: 5,
        });
        c.ws.send(Message::Binary(encode(&input).unwrap()))
            .await
            .unwrap();
    }
    tokio::time::timeout(WAIT, async {
        loop {
            let msg: ServerMsg<CounterState, String, CounterState> =
                decode(&raw(c.ws.next().await.unwrap().unwrap())).unwrap();
            if let ServerMsg::Snapshot(s) = msg {
                if s.state.total == 15 {
                    assert_eq!(
                        s.state.players[0].1, 3,
                        "the counter acks the last input too"
                    );
                    return;
                }
            }
        }
    })
    .await
    .expect("the counter should reach 15");
    let _ = PROTOCOL_VERSION;
}

#[tokio::test]
async fn graceful_shutdown_sends_close_1001() {
    let server = start_arena(test_config());
    let mut a = Client::join(server.addr(), Join::any_room("a")).await;
    let mut lobby = Client::connect(server.addr()).await; // connected, never joined
    a.next_snapshot().await;
    let t0 = std::time::Instant::now();
    let stopper = std::thread::spawn(move || server.shutdown());
    assert_eq!(a.expect_close().await.0, tickcast_shared::close::GOING_AWAY);
    assert_eq!(
        lobby.expect_close().await.0,
        tickcast_shared::close::GOING_AWAY
    );
    stopper.join().unwrap().expect("shutdown should succeed");
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        t0.elapsed()
    );
}

#[tokio::test]
async fn a_round_ends_at_its_tick_names_the_winner_and_the_next_round_resets_scores() {
    // Rounds of 12 ticks of play and 6 of over-phase, in a box where the player keeps scoring.
    let arena = ArenaConfig {
        orb_count: 40,
        rounds: Some(RoundRules {
            play_ticks: 12,
            over_ticks: 6,
        }),
        ..ArenaConfig::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("port 0 should bind");
    let server = spawn(listener, test_config(), move |seed| Arena::new(arena, seed))
        .expect("the server should start");
    let mut a = Client::join(server.addr(), Join::room("rounds", "alice")).await;
    let me = a.player_id();
    // Every snapshot carries the round; its ends_at is in the room's ticks: the first snapshot
    // of a phase is the one whose tick is the previous phase's ends_at.
    let mut seen = Vec::new();
    let until = tokio::time::timeout(WAIT * 2, async {
        let mut last: Option<(u64, tickcast_shared::arena::Round)> = None;
        loop {
            a.input(Controls::new(1.0, 0.3, Controls::BOOST)).await;
            let s = a.next_snapshot().await;
            let round = s.state.round.expect("a server with rounds sends the round");
            let score = s.state.players.iter().find(|p| p.id == me).map(|p| p.score);
            if let Some((prev_tick, prev)) = last.filter(|(_, r)| *r != round) {
                seen.push((prev_tick, s.tick, prev, round, score));
            }
            last = Some((s.tick, round));
            if round.number == 3 {
                return;
            }
        }
    })
    .await;
    until.expect("two rounds should pass within 10 s");
    let phases: Vec<_> = seen
        .iter()
        .map(|(_, _, _, r, _)| (r.number, r.phase))
        .collect();
    assert_eq!(
        phases,
        [
            (1, RoundPhase::Over),
            (2, RoundPhase::Playing),
            (2, RoundPhase::Over),
            (3, RoundPhase::Playing)
        ]
    );
    for (prev_tick, tick, before, after, score) in &seen {
        // The change shows in the snapshot of tick `ends_at`: not before, and exactly then
        // unless the snapshots between were dropped on the way.
        assert!(
            *prev_tick < before.ends_at && *tick >= before.ends_at,
            "{tick} {before:?}"
        );
        if *tick == prev_tick + 1 {
            assert_eq!(*tick, before.ends_at);
        }
        if after.phase == RoundPhase::Playing {
            assert_eq!(*score, Some(0), "a new round starts from zero");
            assert_eq!(after.ends_at, before.ends_at + 12);
        } else {
            assert_eq!(after.ends_at, before.ends_at + 6);
            if score.is_some_and(|s| s > 0) {
                assert_eq!(after.winner, Some(me), "alone and scoring: alice wins");
            }
        }
    }
    a.close().await;
}
