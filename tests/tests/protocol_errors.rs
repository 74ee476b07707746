//! End-to-end: every protocol error gets its documented close code, fragmented messages are
//! reassembled, and the other players of the room keep receiving snapshots at the tick rate.

mod common;

use std::time::Duration;

use common::*;
use tickcast_shared::arena::{ArenaClientMsg, Controls};
use tickcast_shared::{close, encode, ClientMsg, Input, Join, Ping, ServerMsg};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

async fn lobby(server: &tickcast_server::ServerHandle) -> Client {
    Client::connect(server.addr()).await
}

/// The next thing the server sends must be an `Error` message with `code`.
async fn expect_error(c: &mut Client, code: u16) {
    match c.next(WAIT).await {
        Event::Msg(ServerMsg::Error(e)) => assert_eq!(e.code, code, "{e:?}"),
        other => panic!("expected error {code}, got {other:?}"),
    }
}

#[tokio::test]
async fn wrong_protocol_version_is_refused_with_4000() {
    let server = start_arena(test_config());
    let mut c = lobby(&server).await;
    let mut join = Join::any_room("old");
    join.version = 999;
    c.send(&ClientMsg::Join(join)).await;
    let (code, reason) = c.expect_close().await;
    assert_eq!(code, close::VERSION_MISMATCH);
    assert!(reason.contains("999") && reason.contains('1'), "{reason}");
}

#[tokio::test]
async fn malformed_messagepack_is_closed_with_1007() {
    let server = start_arena(test_config());
    for garbage in [
        vec![0xc1],
        vec![0x81, 0xa4, b'j', b'o'],
        encode(&"hello").unwrap(),
    ] {
        let mut c = lobby(&server).await;
        c.send_raw(Message::Binary(garbage)).await;
        assert_eq!(c.expect_close().await.0, close::INVALID_PAYLOAD);
    }
    assert!(metric(&server, "tickcast_decode_errors_total").await >= 3.0);
}

#[tokio::test]
async fn a_text_frame_is_closed_with_1003() {
    let server = start_arena(test_config());
    let mut c = lobby(&server).await;
    c.send_raw(Message::Text("{\"join\":1}".into())).await;
    assert_eq!(c.expect_close().await.0, close::UNSUPPORTED_DATA);
}

#[tokio::test]
async fn an_oversized_frame_is_closed_with_1009() {
    let server = start_arena(test_config());
    let mut c = lobby(&server).await;
    c.send_raw(Message::Binary(vec![0x90; 5000])).await;
    assert_eq!(c.expect_close().await.0, close::MESSAGE_TOO_BIG);
}

#[tokio::test]
async fn a_huge_declared_frame_is_cut_off_from_its_header() {
    let server = start_arena(test_config());
    let mut c = lobby(&server).await;
    // Header of a masked binary frame declaring 1 GiB, then only a little payload: the server
    // must answer from the header alone, without waiting for (or buffering) the payload.
    let mut raw = vec![0x82, 0x80 | 127];
    raw.extend_from_slice(&(1u64 << 30).to_be_bytes());
    raw.extend_from_slice(&[1, 2, 3, 4]);
    raw.extend_from_slice(&[0u8; 4096]);
    c.ws.get_mut().write_all(&raw).await.unwrap();
    assert_eq!(c.expect_close().await.0, close::MESSAGE_TOO_BIG);
}

#[tokio::test]
async fn an_invalid_name_or_room_id_is_refused_with_4003() {
    let server = start_arena(test_config());
    for join in [
        Join::any_room("bad\u{7}name"),
        Join::any_room(""),
        Join::any_room("x".repeat(40)),
        Join::room("no spaces", "ok"),
    ] {
        let mut c = lobby(&server).await;
        c.send(&ClientMsg::Join(join)).await;
        assert_eq!(c.expect_close().await.0, close::INVALID_JOIN);
    }
}

#[tokio::test]
async fn fragmented_join_and_input_are_reassembled() {
    let server = start_arena(test_config());
    let mut c = lobby(&server).await;
    let join = encode(&ArenaClientMsg::Join(Join::room("frag", "fragmented"))).unwrap();
    c.send_fragmented(&join, &[5, 8]).await;
    c.expect_welcome().await;
    let me = c.player_id();
    let input = encode(&ClientMsg::Input(Input {
        seq: 1,
        ack_tick: 0,
        controls: Controls::new(0.0, 1.0, 0),
    }))
    .unwrap();
    c.send_fragmented(&input, &[4]).await;
    // Acknowledged in a snapshot = reassembled, decoded and applied.
    c.wait_for_ack(me, 1).await;
}

#[tokio::test]
async fn fragments_beyond_the_size_limit_are_closed_with_1009() {
    let server = start_arena(test_config());
    let mut c = lobby(&server).await;
    c.send_raw(Message::Frame(Frame::message(
        vec![0x90; 600],
        OpCode::Data(Data::Binary),
        false,
    )))
    .await;
    c.send_raw(Message::Frame(Frame::message(
        vec![0x90; 600],
        OpCode::Data(Data::Continue),
        true,
    )))
    .await;
    assert_eq!(c.expect_close().await.0, close::MESSAGE_TOO_BIG);
}

#[tokio::test]
async fn a_continuation_without_a_start_is_closed_with_1002() {
    let server = start_arena(test_config());
    let mut c = lobby(&server).await;
    c.send_raw(Message::Frame(Frame::message(
        vec![1, 2],
        OpCode::Data(Data::Continue),
        true,
    )))
    .await;
    assert_eq!(c.expect_close().await.0, close::PROTOCOL_ERROR);
}

/// PROTOCOL.md: a ping before the join is accepted is ignored with error 4100 (no pong); once
/// joined, pings are answered.
#[tokio::test]
async fn a_ping_before_join_is_ignored_with_4100_and_answered_once_joined() {
    let server = start_arena(test_config());
    let mut c = lobby(&server).await;
    c.send(&ClientMsg::Ping(Ping { client_time: 7.0 })).await;
    expect_error(&mut c, tickcast_shared::error_code::NOT_JOINED).await;
    c.send(&ClientMsg::Join(Join::any_room("pinger"))).await;
    c.expect_welcome().await;
    c.send(&ClientMsg::Ping(Ping { client_time: 8.0 })).await;
    loop {
        match c.next(WAIT).await {
            Event::Msg(ServerMsg::Pong(p)) => {
                assert_eq!(p.client_time, 8.0, "the pre-join ping got no pong");
                break;
            }
            Event::Msg(ServerMsg::Error(e)) => panic!("an error once joined: {e:?}"),
            Event::Msg(_) => {}
            Event::Closed(c) => panic!("closed: {c:?}"),
        }
    }
}

#[tokio::test]
async fn inputs_before_join_and_a_second_join_are_ignored_with_an_error() {
    let server = start_arena(test_config());
    let mut c = lobby(&server).await;
    c.send(&ClientMsg::Input(Input {
        seq: 1,
        ack_tick: 0,
        controls: Controls::default(),
    }))
    .await;
    expect_error(&mut c, tickcast_shared::error_code::NOT_JOINED).await;
    c.send(&ClientMsg::Join(Join::any_room("twice"))).await;
    c.expect_welcome().await;
    c.send(&ClientMsg::Join(Join::any_room("twice"))).await;
    loop {
        match c.next(WAIT).await {
            Event::Msg(ServerMsg::Error(e)) => {
                assert_eq!(e.code, tickcast_shared::error_code::ALREADY_JOINED);
                break;
            }
            Event::Msg(_) => {}
            Event::Closed(c) => panic!("a second join must not close the session: {c:?}"),
        }
    }
    c.next_snapshot().await; // still in the game
}

/// While a stream of misbehaving clients is thrown out, the well-behaved players of the room they
/// target keep receiving snapshots at the tick rate.
#[tokio::test]
async fn bad_clients_do_not_disturb_the_room() {
    let server = start_arena(test_config());
    let mut watcher = Client::join(server.addr(), Join::room("busy", "watcher")).await;
    let addr = server.addr();
    let attackers = tokio::spawn(async move {
        for i in 0..40u32 {
            let mut c = Client::connect(addr).await;
            c.send(&ClientMsg::Join(Join::room("busy", format!("bad{i}"))))
                .await;
            c.expect_welcome().await;
            let bad = match i % 4 {
                0 => Message::Binary(vec![0xc1, 0xff]),
                1 => Message::Text("hi".into()),
                2 => Message::Binary(vec![0; 4000]),
                _ => Message::Frame(Frame::message(vec![1], OpCode::Data(Data::Continue), true)),
            };
            c.send_raw(bad).await;
            let _ = c.expect_close().await;
        }
    });
    let window = Duration::from_secs(3);
    let (got, missing) = watcher.count_snapshots(window).await;
    attackers.await.expect("the attackers should all be closed");
    let expected = window.as_secs_f64() * f64::from(TICK_RATE);
    assert!(
        got as f64 >= expected * MIN_RATE_FRACTION,
        "watcher got {got} snapshots in {window:?}, expected ~{expected}"
    );
    assert_eq!(missing, 0, "no snapshot of the watcher was dropped");
    let health = get_json(server.http_url("/healthz")).await;
    assert_eq!(health["status"], "ok");
}
