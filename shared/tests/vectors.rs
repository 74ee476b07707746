//! Golden vectors: `assets/protocol-vectors.json` holds messages (as JSON, serde's externally
//! tagged form) next to their exact MessagePack bytes. Encoding each value must give exactly
//! those bytes and decoding the bytes must give back the value. The browser client runs the same
//! file through its own decoder.
//!
//! Regenerate after a deliberate protocol change with
//! `TICKCAST_BLESS=1 cargo test -p tickcast-shared --test vectors` (and bump PROTOCOL_VERSION).

use serde_json::{json, Value};
use tickcast_shared::arena::{
    ArenaClientMsg, ArenaInfo, ArenaServerMsg, ArenaState, Controls, Orb, PlayerState,
    QuantizedArena, QuantizedOrb, QuantizedPlayer, Round, RoundPhase,
};
use tickcast_shared::delta::{Diffable, Step};
use tickcast_shared::{
    decode, encode, DeltaSnapshot, ErrorMsg, Input, Join, PackedDelta, Ping, Pong, Redirect,
    Snapshot, Welcome, PROTOCOL_VERSION,
};
use uuid::Uuid;

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../assets/protocol-vectors.json"
);

fn pid(n: u8) -> Uuid {
    Uuid::from_bytes([n; 16])
}

fn client_vectors() -> Vec<(&'static str, ArenaClientMsg)> {
    vec![
        (
            "join_any_room",
            ArenaClientMsg::Join(Join::any_room("alice")),
        ),
        (
            "join_named_room_with_resume",
            ArenaClientMsg::Join(Join {
                version: PROTOCOL_VERSION,
                room: Some("lobby-1".into()),
                name: "Bob <b>".into(),
                resume: Some("tok123".into()),
                deltas: false,
                packed: false,
            }),
        ),
        (
            "join_with_deltas",
            ArenaClientMsg::Join(Join::any_room("carol").with_deltas()),
        ),
        (
            "input_boost",
            ArenaClientMsg::Input(Input {
                seq: 7,
                ack_tick: 300,
                controls: Controls::new(1.0, -0.5, 1),
            }),
        ),
        (
            "input_large_numbers",
            ArenaClientMsg::Input(Input {
                seq: 70000,
                ack_tick: 5_000_000_000,
                controls: Controls::new(0.0, 0.25, 0),
            }),
        ),
        (
            "ping",
            ArenaClientMsg::Ping(Ping {
                client_time: 1234.5,
            }),
        ),
    ]
}

fn server_vectors() -> Vec<(&'static str, ArenaServerMsg)> {
    vec![
        (
            "welcome",
            ArenaServerMsg::Welcome(Welcome {
                player_id: pid(0xab),
                room_id: "r1".into(),
                tick_rate: 30,
                tick: 42,
                max_players: 8,
                game: ArenaInfo::default(),
                resume_token: Some("tok123".into()),
            }),
        ),
        (
            "snapshot_two_players",
            ArenaServerMsg::Snapshot(Snapshot {
                tick: 43,
                server_time_ms: 1_764_000_000_000,
                state: ArenaState {
                    players: vec![
                        PlayerState {
                            id: pid(1),
                            name: "alice".into(),
                            x: 100.5,
                            y: 200.25,
                            vx: -3.5,
                            vy: 0.0,
                            score: 3,
                            last_input: 7,
                            held: false,
                        },
                        PlayerState {
                            id: pid(2),
                            name: "Bob <b>".into(),
                            x: 0.0,
                            y: 900.0,
                            vx: 320.0,
                            vy: -320.0,
                            score: 0,
                            last_input: 0,
                            held: false,
                        },
                    ],
                    orbs: vec![
                        Orb {
                            id: 0,
                            x: 10.0,
                            y: 20.0,
                        },
                        Orb {
                            id: 1,
                            x: 1599.5,
                            y: 0.5,
                        },
                    ],
                    round: None,
                },
            }),
        ),
        (
            "snapshot_empty",
            ArenaServerMsg::Snapshot(Snapshot {
                tick: 0,
                server_time_ms: 0,
                state: ArenaState::default(),
            }),
        ),
        (
            "pong",
            ArenaServerMsg::Pong(Pong {
                client_time: 1234.5,
                server_time_ms: 1_764_000_000_123,
            }),
        ),
        (
            "error",
            ArenaServerMsg::Error(ErrorMsg {
                code: 4100,
                message: "join first".into(),
            }),
        ),
    ]
}

fn qplayer(n: u8, name: &str, x: i32, y: i32, last_input: u32) -> QuantizedPlayer {
    QuantizedPlayer {
        id: pid(n),
        name: name.into(),
        x,
        y,
        vx: 0,
        vy: -32000,
        score: 3,
        last_input,
        held: false,
    }
}

/// Delta vectors: a baseline, the delta message, and the state the client must rebuild.
fn delta_vectors() -> Vec<(&'static str, QuantizedArena, ArenaServerMsg, QuantizedArena)> {
    let s1 = QuantizedArena {
        players: vec![
            qplayer(1, "alice", 10050, 20025, 7),
            qplayer(2, "Bob <b>", 0, 90000, 0),
        ],
        orbs: vec![
            QuantizedOrb {
                id: 0,
                x: 1000,
                y: 2000,
            },
            QuantizedOrb {
                id: 1,
                x: 159950,
                y: 50,
            },
        ],
        round: None,
    };
    let mut s2 = s1.clone();
    s2.players[0].x += 1067; // moved right …
    s2.players[0].vx = 32000; // … at top speed
    s2.players[0].last_input += 2;
    s2.players[0].score += 1;
    s2.players.remove(1); // Bob left
    s2.players.push(qplayer(9, "dan", -1, 0, 0)); // Dan joined
    s2.orbs[1] = QuantizedOrb {
        id: 1,
        x: 40000,
        y: 30000,
    }; // alice ate orb 1, it respawned
    let delta = |tick, base_tick, base: &QuantizedArena, next: &QuantizedArena| {
        ArenaServerMsg::Delta(DeltaSnapshot {
            tick,
            base_tick,
            server_time_ms: 1_764_000_000_000,
            patch: base.diff(next),
        })
    };
    let empty = QuantizedArena::default();
    vec![
        (
            "delta_full",
            empty.clone(),
            delta(43, 0, &empty, &s1),
            s1.clone(),
        ),
        (
            "delta_changes",
            s1.clone(),
            delta(45, 43, &s1, &s2),
            s2.clone(),
        ),
        (
            "delta_unchanged",
            s2.clone(),
            delta(46, 45, &s2, &s2),
            s2.clone(),
        ),
    ]
}

/// Redirect vectors: written after the others, so the file only grows (see `PROTOCOL.md`,
/// *Redirect*).
fn redirect_vectors() -> Vec<(&'static str, ArenaServerMsg)> {
    let redirect = |url: &str, room_id: &str| {
        ArenaServerMsg::Redirect(Redirect {
            url: url.into(),
            room_id: room_id.into(),
        })
    };
    vec![
        ("redirect", redirect("ws://10.0.0.2:8080/ws", "lobby-1")),
        (
            "redirect_behind_one_hostname",
            redirect("wss://play.example.com/n/node-b/ws", "r1"),
        ),
    ]
}

/// Held-seat vectors: written after the others, so the file only grows (see `PROTOCOL.md`,
/// *Held seats*). Carol's connection is lost and her seat is held: her entry has the trailing
/// `held` flag; in the delta she is removed and added again with it.
fn held_vectors() -> Vec<(&'static str, QuantizedArena, ArenaServerMsg, QuantizedArena)> {
    let carol = |held| PlayerState {
        id: pid(3),
        name: "carol".into(),
        x: 50.0,
        y: 60.0,
        vx: 0.0,
        vy: 0.0,
        score: 2,
        last_input: 11,
        held,
    };
    let state = |held| ArenaState {
        players: vec![carol(held)],
        orbs: vec![],
        round: None,
    };
    let snap = ArenaServerMsg::Snapshot(Snapshot {
        tick: 50,
        server_time_ms: 1_764_000_000_000,
        state: state(true),
    });
    let (base, next) = (
        QuantizedArena::from_state(&state(false)),
        QuantizedArena::from_state(&state(true)),
    );
    let delta = ArenaServerMsg::Delta(DeltaSnapshot {
        tick: 51,
        base_tick: 50,
        server_time_ms: 1_764_000_000_000,
        patch: base.diff(&next),
    });
    vec![
        (
            "snapshot_held_seat",
            QuantizedArena::default(),
            snap,
            QuantizedArena::default(),
        ),
        ("delta_seat_held", base, delta, next),
    ]
}

/// Round vectors: written after the others, so the file only grows (see `PROTOCOL.md`,
/// *Rounds*). Round 3 ends at tick 3600 with alice alone at the top: the snapshot of tick 3600
/// shows the over-phase until tick 3750 with her as the winner; the delta against tick 3599
/// carries nothing but the round.
fn round_vectors() -> Vec<(&'static str, QuantizedArena, ArenaServerMsg, QuantizedArena)> {
    let player = |n, name: &str, score| PlayerState {
        id: pid(n),
        name: name.into(),
        x: 50.0,
        y: 60.0,
        vx: 0.0,
        vy: 0.0,
        score,
        last_input: 9,
        held: false,
    };
    let state = |round| ArenaState {
        players: vec![player(1, "alice", 12), player(2, "bob", 7)],
        orbs: vec![],
        round: Some(round),
    };
    let playing = Round {
        number: 3,
        phase: RoundPhase::Playing,
        ends_at: 3600,
        winner: None,
    };
    let over = Round {
        number: 3,
        phase: RoundPhase::Over,
        ends_at: 3750,
        winner: Some(pid(1)),
    };
    let snap = ArenaServerMsg::Snapshot(Snapshot {
        tick: 3600,
        server_time_ms: 1_764_000_000_000,
        state: state(over),
    });
    let (base, next) = (
        QuantizedArena::from_state(&state(playing)),
        QuantizedArena::from_state(&state(over)),
    );
    let delta = ArenaServerMsg::Delta(DeltaSnapshot {
        tick: 3600,
        base_tick: 3599,
        server_time_ms: 1_764_000_000_000,
        patch: base.diff(&next),
    });
    vec![
        (
            "snapshot_round_over",
            QuantizedArena::default(),
            snap,
            QuantizedArena::default(),
        ),
        ("delta_round_over", base, delta, next),
    ]
}

/// The tick rate the packed vectors predict at.
const PACKED_TICK_RATE: u16 = 30;

/// Packed-delta vectors (`PROTOCOL.md`, *Packed deltas*): written last, so the file only grows.
/// The same story as the delta vectors, at 30 Hz: alice runs right at top speed (exactly as
/// predicted: nothing to send but her score), Bob turns (his velocity changes, and his position
/// is one hundredth off the prediction), Cy's seat is held (he stands still), dan joins, an orb
/// respawns.
fn packed_vectors() -> Vec<(&'static str, QuantizedArena, ArenaServerMsg, QuantizedArena)> {
    let mut s1 = delta_vectors()[0].3.clone();
    s1.players[0].vx = 32_000;
    s1.players[0].vy = 0;
    let mut cy = qplayer(3, "Cy", 500, 600, 4);
    (cy.vx, cy.vy, cy.held) = (0, 0, true);
    s1.players.push(cy);
    let mut s2 = s1.clone();
    // Two ticks at 320 units/s: 21.33 units; two inputs applied; one orb eaten.
    s2.players[0].x += 2_133;
    s2.players[0].last_input += 2;
    s2.players[0].score += 1;
    // Bob turns: vy −320 → −300 units/s, vx 0 → 40; he moves 2 ticks at the new velocity
    // (−2000 and +267 hundredths, the prediction) and is 1 hundredth further up than that.
    s2.players[1].vx = 4_000;
    s2.players[1].vy = -30_000;
    s2.players[1].x += 267;
    s2.players[1].y -= 2_001;
    s2.players[1].last_input += 2;
    let mut dan = qplayer(9, "dan", -1, 0, 0);
    (dan.vx, dan.vy) = (0, 0);
    s2.players.push(dan);
    s2.orbs[1] = QuantizedOrb {
        id: 1,
        x: 40000,
        y: 30000,
    };
    let packed = |tick, base_tick: u64, base: &QuantizedArena, next: &QuantizedArena| {
        let mut patch = Vec::new();
        let step = Step {
            ticks: tick - base_tick,
            tick_rate: PACKED_TICK_RATE,
        };
        base.pack(next, step, &mut patch).unwrap();
        ArenaServerMsg::Packed(PackedDelta {
            tick,
            base_tick,
            server_time_ms: 1_764_000_000_000,
            patch,
        })
    };
    let empty = QuantizedArena::default();
    let mut s3 = s2.clone();
    s3.players[0].x += 1_067;
    s3.players[0].last_input += 1;
    s3.players[1].x += 133;
    s3.players[1].y -= 1_000;
    s3.players[1].last_input += 1;
    // dan (standing) slid 3 hundredths left, and has sent no input yet: −1 off the prediction.
    s3.players[3].x -= 3;
    vec![
        (
            "packed_full",
            empty.clone(),
            packed(43, 0, &empty, &s1),
            s1.clone(),
        ),
        (
            "packed_changes",
            s1.clone(),
            packed(45, 43, &s1, &s2),
            s2.clone(),
        ),
        ("packed_predicted", s2.clone(), packed(46, 45, &s2, &s3), s3),
    ]
}

fn build() -> Value {
    let mut out = Vec::new();
    for (name, m) in client_vectors() {
        out.push(json!({"name": name, "direction": "client", "value": serde_json::to_value(&m).unwrap(), "hex": hex::encode(encode(&m).unwrap())}));
    }
    for (name, m) in server_vectors() {
        out.push(json!({"name": name, "direction": "server", "value": serde_json::to_value(&m).unwrap(), "hex": hex::encode(encode(&m).unwrap())}));
    }
    for (name, base, m, result) in delta_vectors() {
        out.push(json!({"name": name, "direction": "server", "value": serde_json::to_value(&m).unwrap(), "hex": hex::encode(encode(&m).unwrap()),
            "base": serde_json::to_value(&base).unwrap(), "result": serde_json::to_value(&result).unwrap()}));
    }
    for (name, m) in redirect_vectors() {
        out.push(json!({"name": name, "direction": "server", "value": serde_json::to_value(&m).unwrap(), "hex": hex::encode(encode(&m).unwrap())}));
    }
    for (name, base, m, result) in held_vectors().into_iter().chain(round_vectors()) {
        let mut v = json!({"name": name, "direction": "server", "value": serde_json::to_value(&m).unwrap(), "hex": hex::encode(encode(&m).unwrap())});
        if matches!(m, ArenaServerMsg::Delta(_)) {
            v["base"] = serde_json::to_value(&base).unwrap();
            v["result"] = serde_json::to_value(&result).unwrap();
        }
        out.push(v);
    }
    out.push(json!({"name": "join_packed", "direction": "client",
        "value": serde_json::to_value(join_packed()).unwrap(), "hex": hex::encode(encode(&join_packed()).unwrap())}));
    for (name, base, m, result) in packed_vectors() {
        let ArenaServerMsg::Packed(d) = &m else {
            unreachable!("packed vectors are packed deltas")
        };
        out.push(json!({"name": name, "direction": "server", "value": serde_json::to_value(&m).unwrap(), "hex": hex::encode(encode(&m).unwrap()),
            "envelope": {"tick": d.tick, "base_tick": d.base_tick, "server_time_ms": d.server_time_ms, "patch": hex::encode(&d.patch)},
            "tick_rate": PACKED_TICK_RATE,
            "base": serde_json::to_value(&base).unwrap(), "result": serde_json::to_value(&result).unwrap()}));
    }
    json!({
        "protocol_version": PROTOCOL_VERSION,
        "note": "value is serde's externally tagged JSON form (uuids as strings); hex is the exact MessagePack on the wire. See shared/PROTOCOL.md.",
        "vectors": out
    })
}

fn join_packed() -> ArenaClientMsg {
    ArenaClientMsg::Join(Join::any_room("erin").with_packed_deltas())
}

fn load() -> Value {
    if std::env::var_os("TICKCAST_BLESS").is_some() {
        std::fs::write(PATH, serde_json::to_string_pretty(&build()).unwrap() + "\n").unwrap();
    }
    let text = std::fs::read_to_string(PATH).expect("assets/protocol-vectors.json should exist");
    serde_json::from_str(&text).expect("the vectors file should be valid JSON")
}

#[test]
fn every_vector_encodes_to_its_bytes_and_decodes_back() {
    let file = load();
    assert_eq!(file["protocol_version"], PROTOCOL_VERSION);
    let vectors = file["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 10);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let bytes = hex::decode(v["hex"].as_str().unwrap()).unwrap();
        match v["direction"].as_str().unwrap() {
            "client" => {
                let msg: ArenaClientMsg = serde_json::from_value(v["value"].clone()).unwrap();
                assert_eq!(encode(&msg).unwrap(), bytes, "encode {name}");
                assert_eq!(
                    decode::<ArenaClientMsg>(&bytes).unwrap(),
                    msg,
                    "decode {name}"
                );
            }
            "server" => {
                let msg: ArenaServerMsg = serde_json::from_value(v["value"].clone()).unwrap();
                assert_eq!(encode(&msg).unwrap(), bytes, "encode {name}");
                assert_eq!(
                    decode::<ArenaServerMsg>(&bytes).unwrap(),
                    msg,
                    "decode {name}"
                );
                if let ArenaServerMsg::Delta(d) = &msg {
                    let base: QuantizedArena = serde_json::from_value(v["base"].clone()).unwrap();
                    let result: QuantizedArena =
                        serde_json::from_value(v["result"].clone()).unwrap();
                    assert_eq!(base.apply(&d.patch), Ok(result), "apply {name}");
                }
                if let ArenaServerMsg::Packed(d) = &msg {
                    let base: QuantizedArena = serde_json::from_value(v["base"].clone()).unwrap();
                    let result: QuantizedArena =
                        serde_json::from_value(v["result"].clone()).unwrap();
                    let tick_rate = v["tick_rate"].as_u64().unwrap() as u16;
                    let step = Step {
                        ticks: d.tick - d.base_tick,
                        tick_rate,
                    };
                    assert_eq!(base.unpack(&d.patch, step), Ok(result), "unpack {name}");
                    assert_eq!(v["envelope"]["base_tick"], d.base_tick, "{name}");
                    assert_eq!(v["envelope"]["patch"], hex::encode(&d.patch), "{name}");
                }
            }
            other => panic!("unknown direction {other}"),
        }
    }
}

#[test]
fn the_file_covers_every_message_built_here() {
    // A vector added in code but not blessed into the file fails here.
    assert_eq!(load()["vectors"], build()["vectors"]);
}

#[test]
fn every_redirect_vector_is_one_a_client_follows() {
    for (name, msg) in redirect_vectors() {
        let ArenaServerMsg::Redirect(r) = msg else {
            panic!("{name}: a redirect");
        };
        assert_eq!(r.check(), Ok(()), "{name}");
    }
}

#[test]
fn a_join_from_a_client_without_delta_support_still_decodes() {
    // The four-field join of clients that predate `deltas` (the old `join_any_room` bytes).
    let old = hex::decode("81a46a6f696e9401c0a5616c696365c0").unwrap();
    let ArenaClientMsg::Join(join) = decode::<ArenaClientMsg>(&old).unwrap() else {
        panic!("a join");
    };
    assert_eq!(join, Join::any_room("alice"));
    assert!(!join.deltas);
}

#[test]
fn a_state_without_held_seats_encodes_as_before_the_flag() {
    // `snapshot_two_players` predates the flag: its bytes are unchanged because `held` is false.
    let file = load();
    let old = file["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "snapshot_two_players")
        .unwrap();
    assert!(!old["hex"].as_str().unwrap().ends_with("c3"));
    let held = file["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "snapshot_held_seat")
        .unwrap();
    let bytes = hex::decode(held["hex"].as_str().unwrap()).unwrap();
    let ArenaServerMsg::Snapshot(s) = decode::<ArenaServerMsg>(&bytes).unwrap() else {
        panic!("a snapshot");
    };
    assert!(s.state.players[0].held);
}

#[test]
fn a_round_trails_the_state_and_a_delta_carries_it_only_when_it_changed() {
    let [(_, _, snap, _), (_, _, delta, _)] = <[_; 2]>::try_from(round_vectors()).unwrap();
    let bytes = encode(&snap).unwrap();
    // The state is [players, orbs, round]: three fields, the round last.
    let hex = hex::encode(&bytes);
    // The round ends the state: [3, over (1), 3750 (uint 16), alice's uuid].
    let round = format!("940301cd0ea6c410{}", "01".repeat(16));
    assert!(hex.ends_with(&round), "{hex}");
    let ArenaServerMsg::Snapshot(s) = decode::<ArenaServerMsg>(&bytes).unwrap() else {
        panic!("a snapshot");
    };
    assert_eq!(s.state.round.map(|r| r.winner), Some(Some(pid(1))));
    let ArenaServerMsg::Delta(d) = delta else {
        panic!("a delta");
    };
    assert!(d.patch.players.changed.is_empty() && d.patch.players.added.is_empty());
    assert_eq!(d.patch.round.map(|r| r.phase), Some(RoundPhase::Over));
}
