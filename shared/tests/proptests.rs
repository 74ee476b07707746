//! Property tests: every message round-trips; arbitrary bytes decode to an error or a message,
//! never a panic.

use proptest::prelude::*;
use tickcast_shared::arena::{
    ArenaClientMsg, ArenaServerMsg, ArenaState, Controls, Orb, PlayerState, Round, RoundPhase,
};
use tickcast_shared::{decode, decode_client, encode, Input, Join, Ping, Snapshot};
use uuid::Uuid;

fn controls() -> impl Strategy<Value = Controls> {
    (-1.0f32..=1.0, -1.0f32..=1.0, any::<u8>()).prop_map(|(x, y, b)| Controls::new(x, y, b))
}

fn client_msg() -> impl Strategy<Value = ArenaClientMsg> {
    prop_oneof![
        (
            any::<u16>(),
            proptest::option::of("[a-z0-9-]{1,32}"),
            "\\PC{0,20}",
            proptest::option::of("[a-f0-9]{0,64}"),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(
                |(version, room, name, resume, deltas, packed)| ArenaClientMsg::Join(Join {
                    version,
                    room,
                    name,
                    resume,
                    deltas,
                    packed
                })
            ),
        (any::<u32>(), any::<u64>(), controls()).prop_map(|(seq, ack_tick, controls)| {
            ArenaClientMsg::Input(Input {
                seq,
                ack_tick,
                controls,
            })
        }),
        any::<f64>()
            .prop_filter("NaN != NaN", |f| !f.is_nan())
            .prop_map(|client_time| ArenaClientMsg::Ping(Ping { client_time })),
    ]
}

fn player() -> impl Strategy<Value = PlayerState> {
    (
        any::<[u8; 16]>(),
        "\\PC{0,20}",
        any::<(i16, i16, i16, i16)>(),
        any::<u32>(),
        any::<u32>(),
        any::<bool>(),
    )
        .prop_map(
            |(id, name, (x, y, vx, vy), score, last_input, held)| PlayerState {
                id: Uuid::from_bytes(id),
                name: name.into(),
                x: x as f32 / 4.0,
                y: y as f32 / 4.0,
                vx: vx as f32,
                vy: vy as f32,
                score,
                last_input,
                held,
            },
        )
}

fn snapshot() -> impl Strategy<Value = ArenaServerMsg> {
    (
        any::<u64>(),
        any::<u64>(),
        proptest::collection::vec(player(), 0..40),
        proptest::collection::vec(any::<(u16, i16, i16)>(), 0..40),
        proptest::option::of((
            any::<u32>(),
            any::<bool>(),
            any::<u64>(),
            any::<Option<[u8; 16]>>(),
        )),
    )
        .prop_map(|(tick, server_time_ms, players, orbs, round)| {
            ArenaServerMsg::Snapshot(Snapshot {
                tick,
                server_time_ms,
                state: ArenaState {
                    players,
                    orbs: orbs
                        .into_iter()
                        .map(|(id, x, y)| Orb {
                            id,
                            x: x as f32,
                            y: y as f32,
                        })
                        .collect(),
                    round: round.map(|(number, over, ends_at, winner)| Round {
                        number,
                        phase: if over {
                            RoundPhase::Over
                        } else {
                            RoundPhase::Playing
                        },
                        ends_at,
                        winner: winner.map(Uuid::from_bytes),
                    }),
                },
            })
        })
}

proptest! {
    #[test]
    fn client_messages_round_trip(msg in client_msg()) {
        let bytes = encode(&msg).unwrap();
        prop_assert_eq!(decode::<ArenaClientMsg>(&bytes).unwrap(), msg);
    }

    #[test]
    fn snapshots_round_trip(msg in snapshot()) {
        let bytes = encode(&msg).unwrap();
        prop_assert_eq!(decode::<ArenaServerMsg>(&bytes).unwrap(), msg);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode::<ArenaClientMsg>(&bytes);
        let _ = decode::<ArenaServerMsg>(&bytes);
        let r = decode_client::<ArenaClientMsg>(&bytes);
        if bytes.len() > tickcast_shared::limits::MAX_CLIENT_MESSAGE_BYTES {
            prop_assert!(r.is_err());
        }
    }

    #[test]
    fn truncated_messages_are_errors(msg in client_msg(), cut in any::<prop::sample::Index>()) {
        let bytes = encode(&msg).unwrap();
        let cut = cut.index(bytes.len()); // 0..len: always strictly shorter
        prop_assert!(decode::<ArenaClientMsg>(&bytes[..cut]).is_err());
    }

    #[test]
    fn mutated_messages_never_panic(msg in client_msg(), pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = encode(&msg).unwrap();
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        let _ = decode::<ArenaClientMsg>(&bytes);
    }
}

#[test]
fn trailing_bytes_are_refused() {
    let mut bytes = encode(&ArenaClientMsg::Ping(Ping { client_time: 1.0 })).unwrap();
    bytes.push(0);
    assert!(matches!(
        decode::<ArenaClientMsg>(&bytes),
        Err(tickcast_shared::DecodeError::TrailingBytes(1))
    ));
}

#[test]
fn oversized_client_messages_are_refused_before_parsing() {
    let bytes = vec![0u8; tickcast_shared::limits::MAX_CLIENT_MESSAGE_BYTES + 1];
    assert!(matches!(
        decode_client::<ArenaClientMsg>(&bytes),
        Err(tickcast_shared::DecodeError::TooLarge { .. })
    ));
}
