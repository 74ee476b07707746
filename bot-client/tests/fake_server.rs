//! `Bot` and `LoadRun` against a small in-process fake server that follows PROTOCOL.md, with
//! knobs to misbehave in known ways (skipped ticks, refused joins), so the accounting is checked
//! end to end without the real server. Everything is on 127.0.0.1 and bounded in time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use tickcast_bot::{Bot, BotError, Event, LoadConfig, LoadRun, ResumePolicy, RoomChoice};
use tickcast_shared::arena::{
    ArenaClientMsg, ArenaInfo, ArenaServerMsg, ArenaState, Controls, Orb, PlayerState,
};
use tickcast_shared::{
    decode, encode, ClientMsg, Join, PlayerId, Pong, Redirect, RedirectError, ServerMsg, Snapshot,
    Welcome,
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
    /// Hand out resume tokens (and honour them, unless `refuse_resumes`).
    resume_tokens: bool,
    /// Drop (no close frame) every player's first connection after this many snapshots.
    drop_after: Option<u32>,
    /// Refuse every resume with 4005 (as after the grace period).
    refuse_resumes: bool,
    /// Hand every player's first connection over to [`Seats::hand_over_to`] after this many
    /// snapshots (a draining node): the seat goes to the shared seats, then `Redirect` + 4007.
    hand_over_after: Option<u32>,
    /// Ticks the room skips in a hand-over (the new node's first tick is the old node's last
    /// + 1 + this).
    hand_over_skip: u64,
    /// Welcome every resume as another player (a broken server).
    resume_as_another_player: bool,
}

/// What the fake server remembers across connections: seats by resume token, as the real
/// server's rooms do, and what it saw.
#[derive(Default)]
struct Seats {
    by_token: HashMap<String, Seat>,
    resumes: u32,
    /// Inputs whose seq was not above the player's last applied one (across connections).
    seq_violations: Vec<String>,
    /// Every join received, in order.
    joins: Vec<Join>,
    /// Where a node with `hand_over_after` sends its players (the node sharing these seats).
    hand_over_to: Option<String>,
}

/// Accepts a WebSocket as the real server does: answering `tickcast.v1` when the client offered it
/// (a bot with a join token offers it, with the token, and must get it back), never the token.
async fn accept(
    tcp: tokio::net::TcpStream,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    tokio_tungstenite::tungstenite::Error,
> {
    // The error type is tungstenite's (its `Callback` trait's), not ours to make smaller.
    #[allow(clippy::result_large_err)]
    let answer = |req: &Request, mut res: Response| {
        let offered = req
            .headers()
            .get_all("sec-websocket-protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|p| p.trim() == "tickcast.v1");
        if offered {
            res.headers_mut()
                .insert("sec-websocket-protocol", "tickcast.v1".parse().unwrap());
        }
        Ok(res)
    };
    tokio_tungstenite::accept_hdr_async(tcp, answer).await
}

#[derive(Clone, Copy)]
struct Seat {
    player_id: PlayerId,
    tick: u64,
    last_input: u32,
}

async fn fake_server(behaviour: Behaviour) -> String {
    fake_server_with_seats(behaviour).await.0
}

async fn fake_server_with_seats(behaviour: Behaviour) -> (String, Arc<Mutex<Seats>>) {
    let seats = Arc::new(Mutex::new(Seats::default()));
    (fake_node(behaviour, Arc::clone(&seats)).await, seats)
}

/// A fake node on `seats`: two nodes sharing them are a cluster, where a resume token from one
/// is good on the other (as a migrated room's image carries its members' tokens).
async fn fake_node(behaviour: Behaviour, seats: Arc<Mutex<Seats>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let ids = Arc::new(AtomicU64::new(1));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let id = ids.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(serve(tcp, id, behaviour, Arc::clone(&seats)));
        }
    });
    format!("ws://{addr}/ws")
}

async fn close_with(
    ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    code: u16,
    reason: &'static str,
) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    };
    let _ = ws.close(Some(frame)).await;
    while let Some(Ok(_)) = ws.next().await {}
}

async fn serve(tcp: tokio::net::TcpStream, id: u64, b: Behaviour, seats: Arc<Mutex<Seats>>) {
    let Ok(mut ws) = accept(tcp).await else {
        return;
    };
    let Some(Ok(Message::Binary(first))) = ws.next().await else {
        return;
    };
    let Ok(ClientMsg::Join(join)) = decode::<ArenaClientMsg>(&first) else {
        return;
    };
    seats.lock().unwrap().joins.push(join.clone());
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
    let resumable = b.resume_tokens;
    let (seat, token, resumed) = match &join.resume {
        Some(token) => {
            let seat = if b.refuse_resumes {
                None
            } else {
                let mut seats = seats.lock().unwrap();
                let seat = seats.by_token.get(token).copied();
                seats.resumes += u32::from(seat.is_some());
                seat
            };
            let Some(seat) = seat else {
                return close_with(&mut ws, 4005, "resume token unknown or expired").await;
            };
            (seat, Some(token.clone()), true)
        }
        None => {
            let seat = Seat {
                player_id: PlayerId::from_u128(u128::from(id)),
                tick: 100,
                last_input: 0,
            };
            let token = resumable.then(|| format!("token-{id}"));
            if let Some(t) = &token {
                seats.lock().unwrap().by_token.insert(t.clone(), seat);
            }
            (seat, token, false)
        }
    };
    let player_id = if resumed && b.resume_as_another_player {
        PlayerId::from_u128(seat.player_id.as_u128() + 1000)
    } else {
        seat.player_id
    };
    let mut tick = seat.tick;
    let room_id = format!("room-{}", seat.player_id.as_u128() % 2);
    let welcome = ArenaServerMsg::Welcome(Welcome {
        player_id,
        room_id: room_id.clone(),
        tick_rate: TICK_RATE,
        tick,
        max_players: 8,
        game: ArenaInfo::default(),
        resume_token: token.clone(),
    });
    if ws
        .send(Message::Binary(encode(&welcome).unwrap()))
        .await
        .is_err()
    {
        return;
    }
    // Like the real server: seqs are checked per connection, acks kept per player.
    let mut last_input = seat.last_input;
    let mut connection_seq = 0u32;
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
                    return close_with(&mut ws, 1001, "server shutting down").await;
                }
                if !resumed && b.drop_after.is_some_and(|k| sent >= k) {
                    // Lost connection: keep the seat, drop the socket without a close frame.
                    if let Some(t) = &token {
                        let seat = Seat { player_id, tick, last_input };
                        seats.lock().unwrap().by_token.insert(t.clone(), seat);
                    }
                    return;
                }
                let hand_over_to = seats.lock().unwrap().hand_over_to.clone();
                if let (false, Some(true), Some(t), Some(to)) =
                    (resumed, b.hand_over_after.map(|k| sent >= k), &token, hand_over_to)
                {
                    // The last tick sent was `tick - 1`; the room goes on at the new node.
                    let seat = Seat { player_id, tick: tick - 1 + b.hand_over_skip, last_input };
                    seats.lock().unwrap().by_token.insert(t.clone(), seat);
                    let redirect = ArenaServerMsg::Redirect(Redirect { url: to, room_id: room_id.clone() });
                    if ws.send(Message::Binary(encode(&redirect).unwrap())).await.is_err() {
                        return;
                    }
                    return close_with(&mut ws, 4007, "room is on another node").await;
                }
                sent += 1;
                let me = PlayerState {
                    id: player_id, name: join.name.as_str().into(), x: 10.0, y: 20.0, vx: 0.0, vy: 0.0,
                    score: 0, last_input, held: false,
                };
                let other = PlayerState { id: PlayerId::from_u128(u128::MAX), last_input: 999, ..me.clone() };
                let snap = ArenaServerMsg::Snapshot(Snapshot {
                    tick,
                    server_time_ms: 0,
                    state: ArenaState { players: vec![other, me], orbs: vec![Orb { id: 1, x: 50.0, y: 50.0 }], round: None },
                });
                if ws.send(Message::Binary(encode(&snap).unwrap())).await.is_err() {
                    return;
                }
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Binary(b))) => match decode::<ArenaClientMsg>(&b) {
                    Ok(ClientMsg::Input(i)) if i.seq > connection_seq => {
                        connection_seq = i.seq;
                        if i.seq <= last_input {
                            seats.lock().unwrap().seq_violations.push(format!(
                                "player {player_id}: seq {} after {last_input} (resumed: {resumed})",
                                i.seq
                            ));
                        }
                        last_input = i.seq;
                    }
                    Ok(ClientMsg::Ping(p)) => {
                        let pong = ArenaServerMsg::Pong(Pong { client_time: p.client_time, server_time_ms: 0 });
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
        decode::<ArenaServerMsg>(&raw),
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
        // Tokens are handed out, yet a 1001 must not be resumed.
        resume_tokens: true,
        ..Default::default()
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
    assert_eq!(
        (report.resumes, report.resume_failures),
        (0, 0),
        "a close frame (1001: shutting down) is never resumed: {}",
        report.table()
    );
}

#[tokio::test]
async fn a_load_run_resumes_bots_whose_connection_drops_and_their_seq_keeps_rising() {
    let (url, seats) = fake_server_with_seats(Behaviour {
        resume_tokens: true,
        drop_after: Some(40), // 0.8 s at 50 Hz, well inside the run
        ..Default::default()
    })
    .await;
    let mut cfg = LoadConfig::new(url, 6, Duration::from_millis(3000));
    cfg.warmup = Duration::from_millis(300);
    cfg.metrics_url = None;
    let report = LoadRun::new(cfg).run().await.unwrap();
    let table = report.table();
    let seats = seats.lock().unwrap();
    assert_eq!(
        seats.resumes, 6,
        "every bot came back with its token: {table}"
    );
    assert_eq!(
        seats.seq_violations,
        Vec::<String>::new(),
        "input seqs keep rising across the reconnect"
    );
    assert_eq!(
        (report.connected, report.resumes, report.resume_failures),
        (6, 6, 0),
        "{table}"
    );
    assert_eq!(
        report.closes.get("1000"),
        Some(&6),
        "all ended normally: {table}"
    );
    assert_eq!(
        report.error_kinds.get("closed_1006"),
        Some(&6),
        "the losses are reported: {table}"
    );
    assert!(!report.stopped_early, "{table}");
    assert!(
        table.contains("6 lost connections resumed, 0 not"),
        "{table}"
    );
    // Inputs sent after the resume were acknowledged by the resumed player.
    assert!(report.input_ack_ms.count > 0, "{table}");
}

#[tokio::test]
async fn a_refused_resume_is_followed_by_a_fresh_join_and_reported() {
    let (url, seats) = fake_server_with_seats(Behaviour {
        resume_tokens: true,
        drop_after: Some(20),
        refuse_resumes: true,
        ..Default::default()
    })
    .await;
    let mut cfg = LoadConfig::new(url, 4, Duration::from_secs(3));
    cfg.warmup = Duration::from_millis(200);
    cfg.metrics_url = None;
    let report = LoadRun::new(cfg).run().await.unwrap();
    let table = report.table();
    assert_eq!(report.resumes, 0, "{table}");
    let refused = report.error_kinds.get("resume_refused").copied();
    assert!(refused >= Some(4), "{table}");
    assert_eq!(report.resume_failures, refused.unwrap_or(0), "{table}");
    // 4005: the seat is gone, so each bot joins again as a new player (one refusal may be
    // cut short by the run's end before its rejoin).
    assert!(report.rejoins + 4 >= report.resume_failures, "{table}");
    assert!(report.rejoins >= 4, "{table}");
    assert!(
        seats.lock().unwrap().by_token.len() >= 8,
        "fresh joins replaced the lost seats"
    );
    assert!(!report.stopped_early, "{table}");
}

/// A node that owns no room: it answers every join with a `Redirect` to `to` (to itself when
/// `None`, a loop) naming room `r1`, then close 4007 — after a Welcome for `handover`'s player
/// and token when given, as a node handing its room over. Records the joins it got.
async fn redirecting_node(
    to: Option<String>,
    handover: Option<(PlayerId, &'static str)>,
) -> (String, Arc<Mutex<Vec<Join>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let to = to.unwrap_or_else(|| url.clone());
    let joins = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&joins);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (to, seen) = (to.clone(), Arc::clone(&seen));
            tokio::spawn(async move {
                let Ok(mut ws) = accept(tcp).await else {
                    return;
                };
                let Some(Ok(Message::Binary(first))) = ws.next().await else {
                    return;
                };
                let Ok(ClientMsg::Join(join)) = decode::<ArenaClientMsg>(&first) else {
                    return;
                };
                seen.lock().unwrap().push(join);
                let mut out = Vec::new();
                if let Some((player_id, token)) = handover {
                    out.push(ArenaServerMsg::Welcome(Welcome {
                        player_id,
                        room_id: "r1".into(),
                        tick_rate: TICK_RATE,
                        tick: 500,
                        max_players: 8,
                        game: ArenaInfo::default(),
                        resume_token: Some(token.into()),
                    }));
                }
                out.push(ArenaServerMsg::Redirect(Redirect {
                    url: to,
                    room_id: "r1".into(),
                }));
                for msg in out {
                    if ws
                        .send(Message::Binary(encode(&msg).unwrap()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                close_with(&mut ws, 4007, "room is on another node").await;
            });
        }
    });
    (url, joins)
}

#[tokio::test]
async fn a_bot_follows_a_redirect_to_the_rooms_node_with_the_same_join_naming_its_room() {
    let (node_b, seats) = fake_server_with_seats(Behaviour::default()).await;
    let (node_a, joins_a) = redirecting_node(Some(node_b.clone()), None).await;
    let join = Join::any_room("ada").with_deltas();
    let mut bot = Bot::connect(&format!("{node_a}?token=t.x"), &join)
        .await
        .expect("the redirect should be followed to node B");
    assert_eq!(*joins_a.lock().unwrap(), std::slice::from_ref(&join));
    assert_eq!(
        seats.lock().unwrap().joins,
        [Join {
            room: Some("r1".into()),
            ..join
        }],
        "node B got the same join, naming the redirect's room"
    );
    assert_eq!(
        bot.url(),
        format!("{node_b}?token=t.x"),
        "with the join token"
    );
    assert!(bot.redirected().is_none());
    bot.next_snapshot().await.expect("the bot plays on node B");
}

#[tokio::test]
async fn a_bot_gives_up_after_three_redirects_in_a_row() {
    let (node, joins) = redirecting_node(None, None).await;
    let err = Bot::connect(&node, &Join::any_room("ada"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            BotError::Redirect(RedirectError::TooManyHops { hops: 4, url }) if *url == node
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), "redirect_too_many_hops");
    assert_eq!(joins.lock().unwrap().len(), 4, "the first join and 3 hops");
}

#[tokio::test]
async fn a_bot_does_not_follow_a_redirect_to_a_url_that_is_not_websocket() {
    let (node, joins) = redirecting_node(Some("http://127.0.0.1:9/ws".into()), None).await;
    let err = Bot::connect(&node, &Join::any_room("ada"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, BotError::Redirect(RedirectError::NotWebSocket { url }) if url == "http://127.0.0.1:9/ws"),
        "{err:?}"
    );
    assert_eq!(joins.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_bot_resumes_its_seat_on_the_rooms_new_node_after_a_hand_over() {
    let player_id = PlayerId::from_u128(77);
    let (node_b, seats) = fake_server_with_seats(Behaviour {
        resume_tokens: true,
        ..Default::default()
    })
    .await;
    // Node B holds the seat node A hands over.
    seats.lock().unwrap().by_token.insert(
        "moved".into(),
        Seat {
            player_id,
            tick: 500,
            last_input: 0,
        },
    );
    let (node_a, _) = redirecting_node(Some(node_b.clone()), Some((player_id, "moved"))).await;
    let mut bot = Bot::connect(&node_a, &Join::any_room("ada"))
        .await
        .expect("node A welcomes the bot");
    let end = bot
        .wait_for(Duration::from_secs(5), |e| matches!(e, Event::Closed(_)))
        .await
        .expect("node A hands the room over");
    assert!(matches!(end, Event::Closed(c) if c.code == 4007));
    assert_eq!(
        bot.redirected().map(|r| r.url.as_str()),
        Some(node_b.as_str())
    );
    let resumed = bot
        .resume(&ResumePolicy::default())
        .await
        .expect("the bot resumes on node B");
    assert_eq!(resumed.attempts, 1);
    assert_eq!(bot.player_id(), Some(player_id));
    assert_eq!(bot.url(), node_b);
    let seats = seats.lock().unwrap();
    assert_eq!(seats.resumes, 1);
    let join = &seats.joins[0];
    assert_eq!(
        (
            join.resume.as_deref(),
            join.room.as_deref(),
            join.name.as_str()
        ),
        (Some("moved"), Some("r1"), "ada")
    );
}

/// An entry node that only answers `POST /matchmake` with `answer` (and counts the requests).
async fn matchmaker(answer: String) -> (String, Arc<AtomicU64>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let asked = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&asked);
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let mut head = [0u8; 1024];
            let n = tcp.read(&mut head).await.unwrap_or(0);
            let ok = head[..n].starts_with(b"POST /matchmake ");
            count.fetch_add(u64::from(ok), Ordering::SeqCst);
            let (status, body) = if ok {
                ("200 OK", answer.as_str())
            } else {
                ("404 Not Found", "")
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            let _ = tcp.write_all(response.as_bytes()).await;
        }
    });
    (format!("ws://{addr}/ws"), asked)
}

#[tokio::test]
async fn with_matchmake_each_bot_asks_the_entry_node_then_joins_the_answered_room_there() {
    let (node, seats) = fake_server_with_seats(Behaviour::default()).await;
    let (entry, asked) = matchmaker(format!(r#"{{"url":"{node}","room":"m1"}}"#)).await;
    let mut cfg = LoadConfig::new(entry, 3, Duration::from_millis(600));
    cfg.warmup = Duration::from_millis(100);
    cfg.matchmake = true;
    cfg.metrics_url = None;
    let report = LoadRun::new(cfg).run().await.unwrap();
    assert_eq!((report.connected, report.errors), (3, 0));
    assert_eq!(asked.load(Ordering::SeqCst), 3);
    let joins = seats.lock().unwrap().joins.clone();
    assert_eq!(joins.len(), 3);
    assert!(joins.iter().all(|j| j.room.as_deref() == Some("m1")));
}

/// Node A hands every bot over to node B (sharing its seats) after `after` snapshots, the room
/// skipping `skip` ticks in the move; B behaves as `b`. Returns A's URL and the shared seats.
async fn draining_cluster(after: u32, skip: u64, b: Behaviour) -> (String, Arc<Mutex<Seats>>) {
    let seats = Arc::new(Mutex::new(Seats::default()));
    let node_b = fake_node(
        Behaviour {
            resume_tokens: true,
            ..b
        },
        Arc::clone(&seats),
    )
    .await;
    seats.lock().unwrap().hand_over_to = Some(node_b);
    let draining = Behaviour {
        resume_tokens: true,
        hand_over_after: Some(after),
        hand_over_skip: skip,
        ..Default::default()
    };
    (fake_node(draining, Arc::clone(&seats)).await, seats)
}

#[tokio::test]
async fn a_load_run_follows_a_hand_over_mid_game_and_reports_each_migration_with_its_tick_gap() {
    // 40 snapshots at 50 Hz: the move comes 0.8 s into a 3 s run; the room skips 2 ticks.
    let (node_a, seats) = draining_cluster(40, 2, Behaviour::default()).await;
    let mut cfg = LoadConfig::new(node_a, 6, Duration::from_millis(3000));
    cfg.warmup = Duration::from_millis(300);
    cfg.metrics_url = None;
    let report = LoadRun::new(cfg).run().await.unwrap();
    let table = report.table();
    assert_eq!(
        (
            report.connected,
            report.migrations,
            report.migrations_failed
        ),
        (6, 6, 0),
        "{table}"
    );
    assert_eq!(report.player_id_changes, 0, "{table}");
    let gap = report.migration_gap_ticks;
    assert_eq!(
        (gap.count, gap.p50, gap.p99, gap.max),
        (6, 3, 3, 3),
        "last tick n from A, first n + 3 from B: {table}"
    );
    assert_eq!(report.migration_gap_ms.count, 6, "{table}");
    assert!(
        report.migration_gap_ms.max < 3000.0,
        "the freeze is bounded by the run: {table}"
    );
    assert_eq!(report.resumes, 6, "{table}");
    assert_eq!(
        report.errors, 0,
        "a hand-over followed is no error: {table}"
    );
    assert_eq!(report.closes.get("1000"), Some(&6), "{table}");
    let seats = seats.lock().unwrap();
    assert_eq!(seats.resumes, 6, "every bot resumed its seat on node B");
    assert_eq!(seats.seq_violations, Vec::<String>::new());
    assert!(table
        .contains("6 hand-overs followed (0 unannounced), 0 lost; gap p50 3  p99 3  max 3 ticks"));
}

#[tokio::test]
async fn a_hand_over_resumed_as_another_player_is_reported_as_a_player_id_change_and_a_loss() {
    let broken = Behaviour {
        resume_as_another_player: true,
        ..Default::default()
    };
    let (node_a, _) = draining_cluster(20, 0, broken).await;
    let mut cfg = LoadConfig::new(node_a, 2, Duration::from_millis(2000));
    cfg.warmup = Duration::from_millis(200);
    cfg.metrics_url = None;
    let report = LoadRun::new(cfg).run().await.unwrap();
    let table = report.table();
    assert_eq!(
        (
            report.player_id_changes,
            report.migrations_failed,
            report.migrations
        ),
        (2, 2, 0),
        "{table}"
    );
    assert_eq!(
        report.error_kinds.get("resume_wrong_player"),
        Some(&2),
        "{table}"
    );
    assert!(
        report.warnings.iter().any(|w| w.contains("another player")),
        "{table}"
    );
}
