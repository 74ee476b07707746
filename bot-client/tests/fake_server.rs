//! `Bot` and `LoadRun` against a small in-process fake server that follows PROTOCOL.md, with
//! knobs to misbehave in known ways (skipped ticks, refused joins), so the accounting is checked
//! end to end without the real server. Everything is on 127.0.0.1 and bounded in time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use tickcast_bot::{Bot, BotError, Event, LoadConfig, LoadRun, RoomChoice};
use tickcast_shared::{
    decode, encode, ArenaInfo, ArenaState, ClientMsg, Controls, Join, Orb, PlayerId, PlayerState,
    Pong, ServerMsg, Snapshot, Welcome,
};

const TICK_RATE: u16 = 50;

#[derive(Clone, Copy, Default)]
struct Behaviour {
    /// Skip (do not send) every tick divisible by this.
    skip_every: Option<u64>,
    /// Refuse joins to this room with 4001.
    refuse_room: Option<&'static str>,
    /// Close every connection with 1001 after this many snapshots.
    kick_after: Option<u32>,
}

async fn fake_server(behaviour: Behaviour) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let ids = Arc::new(AtomicU64::new(1));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let id = ids.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(serve(tcp, id, behaviour));
        }
    });
    format!("ws://{addr}/ws")
}

async fn serve(tcp: tokio::net::TcpStream, id: u64, b: Behaviour) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let Some(Ok(Message::Binary(first))) = ws.next().await else {
        return;
    };
    let Ok(ClientMsg::Join(join)) = decode::<ClientMsg>(&first) else {
        return;
    };
    if join.room.as_deref().is_some() && join.room.as_deref() == b.refuse_room {
        let _ = ws
            .close(Some(CloseFrame {
                code: CloseCode::from(4001),
                reason: "room is full".into(),
            }))
            .await;
        while let Some(Ok(_)) = ws.next().await {}
        return;
    }
    let player_id = PlayerId::from_u128(u128::from(id));
    let mut tick = 100u64;
    let welcome = ServerMsg::<ArenaState>::Welcome(Welcome {
        player_id,
        room_id: format!("room-{}", id % 2),
        tick_rate: TICK_RATE,
        tick,
        max_players: 8,
        game: ArenaInfo::default(),
        resume_token: None,
    });
    if ws
        .send(Message::Binary(encode(&welcome).unwrap()))
        .await
        .is_err()
    {
        return;
    }
    let mut last_input = 0u32;
    let mut sent = 0u32;
    let mut timer = tokio::time::interval(Duration::from_secs(1) / u32::from(TICK_RATE));
    loop {
        tokio::select! {
            _ = timer.tick() => {
                tick += 1;
                if b.skip_every.is_some_and(|k| tick.checked_rem(k) == Some(0)) {
                    continue;
                }
                if b.kick_after.is_some_and(|k| sent >= k) {
                    let bye = CloseFrame { code: CloseCode::from(1001), reason: "server shutting down".into() };
                    let _ = ws.close(Some(bye)).await;
                    while let Some(Ok(_)) = ws.next().await {}
                    return;
                }
                sent += 1;
                let me = PlayerState {
                    id: player_id, name: join.name.clone(), x: 10.0, y: 20.0, vx: 0.0, vy: 0.0,
                    score: 0, last_input,
                };
                let other = PlayerState { id: PlayerId::from_u128(u128::MAX), last_input: 999, ..me.clone() };
                let snap = ServerMsg::<ArenaState>::Snapshot(Snapshot {
                    tick,
                    server_time_ms: 0,
                    state: ArenaState { players: vec![other, me], orbs: vec![Orb { id: 1, x: 50.0, y: 50.0 }] },
                });
                if ws.send(Message::Binary(encode(&snap).unwrap())).await.is_err() {
                    return;
                }
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Binary(b))) => match decode::<ClientMsg>(&b) {
                    Ok(ClientMsg::Input(i)) => last_input = last_input.max(i.seq),
                    Ok(ClientMsg::Ping(p)) => {
                        let pong = ServerMsg::<ArenaState>::Pong(Pong { client_time: p.client_time, server_time_ms: 0 });
                        if ws.send(Message::Binary(encode(&pong).unwrap())).await.is_err() {
                            return;
                        }
                    }
                    _ => {}
                },
                Some(Ok(Message::Close(_))) => {
                    // tungstenite queues the close reply; flush it and finish the handshake.
                    while let Some(Ok(_)) = ws.next().await {}
                    return;
                }
                Some(Ok(_)) => {}
                _ => return,
            }
        }
    }
}

#[tokio::test]
async fn a_single_scripted_bot_joins_gets_acked_pings_and_closes_cleanly() {
    let url = fake_server(Behaviour {
        skip_every: None,
        refuse_room: None,
        ..Default::default()
    })
    .await;
    let mut bot = Bot::connect(&url, &Join::any_room("solo")).await.unwrap();
    assert_eq!(bot.welcome().tick_rate, TICK_RATE);
    let first = bot.next_snapshot().await.unwrap();
    assert!(first.tick > 100);
    assert_eq!(bot.newest_tick(), first.tick);

    let seq = bot.send_input(Controls::new(1.0, 0.0, 0)).await.unwrap();
    assert_eq!(seq, 1);
    let acked = bot.wait_for_ack(seq, Duration::from_secs(5)).await.unwrap();
    assert_eq!(bot.own_state(&acked).map(|p| p.last_input), Some(1));
    assert_eq!(bot.send_input(Controls::default()).await.unwrap(), 2);

    bot.send_ping(42.5).await.unwrap();
    let pong = bot
        .wait_for(Duration::from_secs(5), |e| matches!(e, Event::Pong(_)))
        .await
        .unwrap();
    assert_eq!(
        pong,
        Event::Pong(Pong {
            client_time: 42.5,
            server_time_ms: 0
        })
    );

    let raw = bot.next_bytes().await.unwrap();
    assert!(matches!(
        decode::<ServerMsg>(&raw),
        Ok(ServerMsg::Snapshot(_))
    ));

    let t = bot.traffic();
    assert!(t.messages_in >= 4 && t.messages_out == 4, "{t:?}");
    assert_eq!(bot.close().await.unwrap().code, 1000);
}

#[tokio::test]
async fn a_refused_join_is_a_typed_close() {
    let url = fake_server(Behaviour {
        skip_every: None,
        refuse_room: Some("full"),
        ..Default::default()
    })
    .await;
    let err = Bot::connect(&url, &Join::room("full", "x"))
        .await
        .unwrap_err();
    match err {
        BotError::Closed(c) => assert_eq!((c.code, c.reason.as_str()), (4001, "room is full")),
        other => panic!("expected a close, got {other:?}"),
    }
}

#[tokio::test]
async fn a_load_run_counts_skipped_ticks_as_drops() {
    let url = fake_server(Behaviour {
        skip_every: Some(10),
        refuse_room: None,
        ..Default::default()
    })
    .await;
    let mut cfg = LoadConfig::new(url, 20, Duration::from_millis(2500));
    cfg.warmup = Duration::from_millis(500);
    cfg.metrics_url = None;
    let report = LoadRun::new(cfg).run().await.unwrap();
    assert_eq!(
        (report.bots, report.connected, report.errors),
        (20, 20, 0),
        "{}",
        report.table()
    );
    // One tick in ten is never sent: delivery 0.9, give or take the window edges. The lower
    // bound is loose because a starved CI machine can add real silence at the window's end.
    assert!(
        (0.5..=0.93).contains(&report.delivery),
        "{}",
        report.table()
    );
    // Every tenth tick is a drop: one drop per nine received, less up to one per bot at the edges.
    assert!(
        report.snapshots_dropped * 9 + 9 * 20 >= report.snapshots_received,
        "{}",
        report.table()
    );
    assert_eq!(report.snapshots_stale, 0);
    assert!(
        report.input_ack_ms.count > 0 && report.rtt_ms.count > 0,
        "{}",
        report.table()
    );
    assert_eq!(report.closes.get("1000"), Some(&20), "{}", report.table());
    assert_eq!(report.rooms, 2);
    assert_eq!(report.tick_rate, Some(TICK_RATE));
    assert!(report.snapshots_per_s > 0.0 && report.bytes_in_per_s > report.bytes_out_per_s);
}

#[tokio::test]
async fn a_load_run_against_a_refusing_room_reports_the_close_codes() {
    let url = fake_server(Behaviour {
        skip_every: None,
        refuse_room: Some("full"),
        ..Default::default()
    })
    .await;
    let mut cfg = LoadConfig::new(url, 5, Duration::from_millis(600));
    cfg.warmup = Duration::from_millis(100);
    cfg.room = RoomChoice::Named("full".into());
    cfg.metrics_url = None;
    let report = LoadRun::new(cfg).run().await.unwrap();
    assert_eq!((report.connected, report.errors), (0, 5));
    assert_eq!(report.closes.get("4001"), Some(&5));
    assert_eq!(report.error_kinds.get("closed_4001"), Some(&5));
    assert_eq!(report.delivery, 0.0);
}

#[tokio::test]
async fn a_load_run_ends_early_when_the_server_drops_everyone() {
    let url = fake_server(Behaviour {
        skip_every: None,
        refuse_room: None,
        kick_after: Some(60),
    })
    .await;
    let mut cfg = LoadConfig::new(url, 10, Duration::from_secs(30));
    cfg.warmup = Duration::from_millis(200);
    cfg.metrics_url = None;
    let started = std::time::Instant::now();
    let report = LoadRun::new(cfg).run().await.unwrap();
    // 60 snapshots at 50 Hz is ~1.2 s; the run must not wait out its 30 s.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{}",
        report.table()
    );
    assert!(report.stopped_early, "{}", report.table());
    assert_eq!(report.closes.get("1001"), Some(&10), "{}", report.table());
    assert_eq!(report.error_kinds.get("closed_1001"), Some(&10));
    assert!(report
        .warnings
        .iter()
        .any(|w| w.contains("disconnected by the server")));
}
