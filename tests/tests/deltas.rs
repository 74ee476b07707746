//! Delta snapshots end to end: real server on port 0, real WebSocket clients that apply what they
//! receive with the shared crate's `Baselines`, exactly as a game client would.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use tickcast_server::ServerConfig;
use tickcast_shared::arena::{ArenaServerMsg, Controls, QuantizedArena};
use tickcast_shared::delta::Baselines;
use tickcast_shared::{decode, ClientMsg, Input, Join, ServerMsg};
use tokio_tungstenite::tungstenite::Message;

/// A client that joined with `deltas` and applies every delta it gets.
struct DeltaClient {
    c: Client,
    store: Baselines<QuantizedArena>,
    /// Every rebuilt state by tick, with its base tick and its size on the wire.
    got: BTreeMap<u64, (u64, usize, QuantizedArena)>,
    /// What `ack_tick` this client sends: its real newest tick, or a fixed value.
    ack: Ack,
}

#[derive(Clone, Copy)]
enum Ack {
    Honest,
    Fixed(u64),
}

impl DeltaClient {
    async fn join(addr: SocketAddr, join: Join, ack: Ack) -> DeltaClient {
        DeltaClient {
            c: Client::join(addr, join.with_deltas()).await,
            store: Baselines::default(),
            got: BTreeMap::new(),
            ack,
        }
    }

    /// Sends an input carrying this client's ack.
    async fn input(&mut self, controls: Controls) {
        self.c.seq += 1;
        let ack_tick = match self.ack {
            Ack::Honest => self.store.ack_tick(),
            Ack::Fixed(t) => t,
        };
        let msg = ClientMsg::Input(Input {
            seq: self.c.seq,
            ack_tick,
            controls,
        });
        self.c.send(&msg).await;
    }

    /// Reads the next delta, applies it (panicking on any error) and records the result.
    async fn next_delta(&mut self) -> u64 {
        loop {
            let item = tokio::time::timeout(WAIT, self.c.ws.next())
                .await
                .expect("a delta should arrive in time");
            let Some(Ok(Message::Binary(bytes))) = item else {
                match item {
                    Some(Ok(_)) => continue,
                    other => panic!("connection ended: {other:?}"),
                }
            };
            match decode::<ArenaServerMsg>(&bytes).expect("server messages should decode") {
                ServerMsg::Delta(d) => {
                    let state = self
                        .store
                        .receive(&d)
                        .unwrap_or_else(|e| panic!("delta of tick {} failed: {e}", d.tick))
                        .clone();
                    self.got.insert(d.tick, (d.base_tick, bytes.len(), state));
                    return d.tick;
                }
                ServerMsg::Snapshot(s) => panic!("a delta client got a full snapshot ({})", s.tick),
                _ => continue,
            }
        }
    }

    /// Plays for `ticks` deltas: one input per delta received, stick turning slowly.
    async fn play(&mut self, ticks: usize) {
        for i in 0..ticks {
            self.next_delta().await;
            let a = i as f32 / 10.0;
            self.input(Controls::new(a.cos(), a.sin(), (i % 2) as u8))
                .await;
        }
    }

    /// Reads and applies deltas for `span`; returns the ticks received.
    async fn read_for(&mut self, span: Duration) -> Vec<u64> {
        let end = tokio::time::Instant::now() + span;
        let mut ticks = Vec::new();
        while tokio::time::Instant::now() < end {
            let Ok(item) = tokio::time::timeout_at(end, self.c.ws.next()).await else {
                break;
            };
            if let Some(Ok(Message::Binary(bytes))) = item {
                if let Ok(ServerMsg::Delta(d)) = decode::<ArenaServerMsg>(&bytes) {
                    self.store.receive(&d).expect("a delta should apply");
                    ticks.push(d.tick);
                }
            }
        }
        ticks
    }

    fn based_on_a_baseline(&self) -> usize {
        self.got.values().filter(|(base, _, _)| *base != 0).count()
    }
}

#[tokio::test]
async fn delta_clients_rebuild_exactly_what_full_snapshot_clients_see() {
    let server = start_arena(test_config());
    let mut full = Client::join(server.addr(), Join::room("d1", "full")).await;
    let mut delta = DeltaClient::join(server.addr(), Join::room("d1", "delta"), Ack::Honest).await;

    // The full client reads concurrently so it never falls behind.
    let reader = tokio::spawn(async move {
        let mut seen = BTreeMap::new();
        let mut sizes = Vec::new();
        while seen.len() < 90 {
            let Some(Ok(Message::Binary(b))) = full.ws.next().await else {
                continue;
            };
            if let Ok(ServerMsg::Snapshot(s)) = decode::<ArenaServerMsg>(&b) {
                sizes.push(b.len());
                seen.insert(s.tick, QuantizedArena::from_state(&s.state));
            }
        }
        (seen, sizes)
    });
    delta.play(90).await;
    let (full_states, full_sizes) = tokio::time::timeout(WAIT, reader)
        .await
        .expect("the full client should get 90 snapshots")
        .expect("the reader should not panic");

    let mut compared = 0;
    for (tick, (_, _, state)) in &delta.got {
        if let Some(expected) = full_states.get(tick) {
            assert_eq!(
                state, expected,
                "tick {tick}: the delta client's state differs"
            );
            compared += 1;
        }
    }
    assert!(compared >= 45, "only {compared} ticks seen by both clients");
    assert_eq!(
        delta.got.values().next().map(|g| g.0),
        Some(0),
        "the first delta is full"
    );
    let based = delta.based_on_a_baseline();
    assert!(
        based * 10 >= delta.got.len() * 9,
        "only {based} of {} deltas used a baseline",
        delta.got.len()
    );
    // Both players move every tick, and the 24 orbs mostly stand still: patches are small.
    let mean = |v: &mut dyn Iterator<Item = usize>| {
        let v: Vec<usize> = v.collect();
        v.iter().sum::<usize>() as f64 / v.len() as f64
    };
    let delta_mean = mean(&mut delta.got.values().filter(|g| g.0 != 0).map(|g| g.1));
    let full_mean = mean(&mut full_sizes.into_iter());
    assert!(
        delta_mean < full_mean * 0.4,
        "deltas average {delta_mean:.0} bytes, full snapshots {full_mean:.0}"
    );

    // What an operator sees: encoding sizes by kind, and bytes per player.
    let m = metrics(
        &server,
        &[
            "tickcast_snapshot_size_bytes_sum{kind=\"full\"}",
            "tickcast_snapshot_size_bytes_count{kind=\"full\"}",
            "tickcast_snapshot_size_bytes_sum{kind=\"delta\"}",
            "tickcast_snapshot_size_bytes_count{kind=\"delta\"}",
        ],
    )
    .await;
    assert!(m[1] > 0.0 && m[3] > 0.0, "{m:?}");
    assert!(
        m[2] / m[3] < 0.4 * m[0] / m[1],
        "mean delta vs full encoding: {m:?}"
    );
    let room = get_json(server.http_url("/rooms/d1")).await;
    let sent = |name: &str| {
        room["players"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            .and_then(|p| p["bytes_sent"].as_u64())
            .unwrap_or_else(|| panic!("{name} in {room}"))
    };
    assert!(sent("delta") * 2 < sent("full"), "{room}");
}

#[tokio::test]
async fn sessions_that_share_a_baseline_share_one_encoding() {
    let server = start_arena(test_config());
    let mut clients = Vec::new();
    for n in 0..8 {
        clients.push(
            DeltaClient::join(
                server.addr(),
                Join::room("shared", format!("p{n}")),
                Ack::Honest,
            )
            .await,
        );
    }
    let names = [
        "tickcast_snapshot_encodings_total",
        "tickcast_snapshot_offers_total",
    ];
    let before = metrics(&server, &names).await;
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut c| {
            tokio::spawn(async move {
                c.play(60).await;
                c
            })
        })
        .collect();
    for t in tasks {
        let c = t.await.expect("a client should not panic");
        assert!(
            c.based_on_a_baseline() >= 50,
            "clients should ack and get deltas"
        );
    }
    let after = metrics(&server, &names).await;
    let (encodings, offers) = (after[0] - before[0], after[1] - before[1]);
    assert!(offers >= 8.0 * 60.0 * 0.9, "{offers} offers");
    // 8 sessions per tick; their acks arrive within a tick or two of each other.
    assert!(
        encodings / offers <= 0.5,
        "{encodings} encodings for {offers} offers"
    );
}

#[tokio::test]
async fn a_client_without_a_usable_ack_gets_full_patches_and_stays_correct() {
    let server = start_arena(test_config());
    let mut never = DeltaClient::join(server.addr(), Join::room("r", "never"), Ack::Fixed(0)).await;
    let mut liar = DeltaClient::join(
        server.addr(),
        Join::room("r", "liar"),
        Ack::Fixed(1_000_000_000),
    )
    .await;
    for _ in 0..20 {
        never.next_delta().await;
        never.input(Controls::new(1.0, 0.0, 0)).await;
        liar.next_delta().await;
        liar.input(Controls::new(0.0, 1.0, 0)).await;
    }
    assert_eq!(never.based_on_a_baseline(), 0);
    assert_eq!(
        liar.based_on_a_baseline(),
        0,
        "an ack from the future is no baseline"
    );
    let me = liar.c.player_id();
    let last = liar.got.values().last().expect("got deltas");
    assert!(last
        .2
        .players
        .iter()
        .any(|p| p.id == me && p.last_input > 0));
}

#[tokio::test]
async fn a_reader_that_stalls_on_deltas_never_needs_a_frame_it_missed() {
    // Small buffers so that a client that stops reading backs up within a second or two.
    let server = start_arena(ServerConfig {
        socket_send_buffer: 2048,
        unsent_limit: 0,
        ..test_config()
    });
    let addr = server.addr();
    // Three players keep moving, so every tick changes something.
    let movers: Vec<_> = (0..3)
        .map(|n| {
            tokio::spawn(async move {
                let mut c =
                    DeltaClient::join(addr, Join::room("slow", format!("m{n}")), Ack::Honest).await;
                c.play(200).await;
            })
        })
        .collect();
    let mut c = Client::connect_with(addr, Some(1024)).await;
    c.send(&ClientMsg::Join(Join::room("slow", "slow").with_deltas()))
        .await;
    c.expect_welcome().await;
    let mut slow = DeltaClient {
        c,
        store: Baselines::default(),
        got: BTreeMap::new(),
        ack: Ack::Honest,
    };
    slow.play(10).await;
    // Stop reading (and acking) for longer than the delta window (32 ticks, ~1 s).
    tokio::time::sleep(Duration::from_secs(3)).await;
    slow.play(60).await;

    let ticks: Vec<u64> = slow.got.keys().copied().collect();
    let skipped: u64 = ticks.windows(2).map(|w| w[1] - w[0] - 1).sum();
    assert!(skipped > 0, "expected skipped ticks, got {ticks:?}");
    let room = get_json(server.http_url("/rooms/slow")).await;
    let me = slow.c.player_id().to_string();
    let seat = room["players"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["id"] == me.as_str()))
        .unwrap_or_else(|| panic!("the slow player should be listed: {room}"));
    assert!(
        seat["frames_dropped"].as_u64().unwrap_or(0) > 0,
        "the server should have replaced stale frames: {seat}"
    );
    // Every frame applied (next_delta panics otherwise), and once reading again the client is
    // back on small deltas against its acks.
    let tail = slow.got.values().rev().take(30);
    assert!(tail.filter(|g| g.0 != 0).count() >= 28);
    for m in movers {
        m.await.expect("a mover should not panic");
    }
}

#[tokio::test]
async fn a_delta_client_is_sent_no_more_than_the_ack_lag_ahead_of_its_ack() {
    let server = start_arena(ServerConfig {
        delta_ack_lag: Duration::from_millis(300), // 9–10 ticks at 30 Hz
        ..test_config()
    });
    let mut c = DeltaClient::join(server.addr(), Join::room("clock", "c"), Ack::Honest).await;
    c.play(10).await;
    let acked = c.store.ack_tick();
    // The client keeps reading but stops acknowledging: the server sends it at most ~10 ticks
    // past its ack (what was in flight), then holds it.
    let ticks = c.read_for(Duration::from_secs(1)).await;
    let newest = ticks.last().copied().unwrap_or(acked);
    assert!(
        newest <= acked + 12,
        "acked {acked}, yet was sent up to tick {newest}: {ticks:?}"
    );
    let held = metric(&server, "tickcast_delta_held_total").await;
    assert!(held >= 15.0, "{held} ticks held");
    // One ack later the newest state flows again, still as a delta.
    c.input(Controls::default()).await;
    let tick = c.next_delta().await;
    let (base, _, _) = c.got[&tick];
    assert!(
        tick > acked + 20,
        "the newest state, not the backlog: {tick} after {acked}"
    );
    assert!(
        base >= acked,
        "a delta against its ack, not a full patch: base {base}"
    );
}

#[tokio::test]
async fn the_room_keeps_only_the_baselines_its_clients_can_still_acknowledge() {
    let server = start_arena(test_config()); // window 32
    let mut c = DeltaClient::join(server.addr(), Join::room("keep", "k"), Ack::Honest).await;
    c.play(60).await;
    let room = get_json(server.http_url("/rooms/keep")).await;
    let held = room["baselines_held"].as_u64().expect("baselines_held");
    // The client acks every delta it gets, a tick or two behind: everything older than its ack
    // is gone (all 32 would be held otherwise; a slow machine lags more, hence the margin).
    assert!((1..=20).contains(&held), "{held} baselines held: {room}");
}

#[tokio::test]
async fn with_a_delta_window_of_zero_everyone_gets_full_snapshots() {
    let server = start_arena(ServerConfig {
        delta_window: 0,
        ..test_config()
    });
    let mut c = Client::join(server.addr(), Join::room("r", "d").with_deltas()).await;
    let s = c.next_snapshot().await;
    assert!(s.tick > 0);
    let room = get_json(server.http_url("/rooms/r")).await;
    assert_eq!(room["players"][0]["deltas"], false);
}

#[tokio::test]
async fn a_resumed_delta_client_starts_again_from_a_full_patch() {
    let server = start_arena(ServerConfig {
        resume_grace: Duration::from_secs(5),
        ..test_config()
    });
    let mut a = DeltaClient::join(server.addr(), Join::room("res", "a"), Ack::Honest).await;
    a.play(10).await;
    assert!(a.based_on_a_baseline() > 0);
    let token = a.c.welcome.as_ref().and_then(|w| w.resume_token.clone());
    let me = a.c.player_id();
    drop(a); // connection lost, no close frame

    let mut again = Join::room("res", "a");
    again.resume = token;
    let mut b = DeltaClient::join(server.addr(), again, Ack::Honest).await;
    assert_eq!(b.c.player_id(), me, "the same player comes back");
    let first = b.next_delta().await;
    assert_eq!(b.got[&first].0, 0, "a new connection has no baseline");
    b.play(10).await;
    assert!(
        b.based_on_a_baseline() > 0,
        "and acks its way back to deltas"
    );
}

/// The delta path is not arena-shaped: the counter game's frame is its whole state and so is
/// its patch, and a delta client applies it with the same `Baselines`.
#[tokio::test]
async fn a_game_whose_patch_is_its_whole_state_serves_delta_clients() {
    use futures_util::SinkExt;
    use tickcast_server::game::counter::{Counter, CounterState};
    use tickcast_shared::encode;

    type CounterMsg = ServerMsg<CounterState, String, CounterState>;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port 0");
    let server = tickcast_server::spawn(listener, test_config(), |_seed| Counter::default())
        .expect("the server should start");
    let mut c = Client::connect(server.addr()).await;
    c.send(&ClientMsg::Join(Join::room("count", "c").with_deltas()))
        .await;
    let mut store: Baselines<CounterState> = Baselines::default();
    let mut seq = 0;
    let mut deltas = 0;
    tokio::time::timeout(WAIT, async {
        loop {
            let Some(Ok(Message::Binary(b))) = c.ws.next().await else {
                continue;
            };
            match decode::<CounterMsg>(&b).expect("counter messages decode") {
                CounterMsg::Delta(d) => {
                    deltas += 1;
                    let state = store.receive(&d).expect("a counter delta applies").clone();
                    if state.total == 15 {
                        assert_eq!(state.players[0].1, 3, "the counter acks the last input");
                        return;
                    }
                    if seq < 3 {
                        seq += 1;
                        let input: ClientMsg<i32> = ClientMsg::Input(Input {
                            seq,
                            ack_tick: store.ack_tick(),
                            controls: 5,
                        });
                        c.ws.send(Message::Binary(encode(&input).expect("encodes")))
                            .await
                            .expect("send");
                    }
                }
                CounterMsg::Snapshot(_) => panic!("a delta client got a full snapshot"),
                _ => {}
            }
        }
    })
    .await
    .expect("the counter should reach 15 through deltas");
    assert!(deltas >= 3);
}
