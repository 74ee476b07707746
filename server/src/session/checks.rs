//! What in a client's bytes ends a session, and with which [`Close`]: pure checks, without the
//! actor (also driven by the fuzz targets in `fuzz/`).
//!
//! [`decode_message`] and [`validate_join`] judge a whole message; [`stream_close`] judges an
//! error from actix's frame stream; [`close_frame`] turns any [`Close`] into the frame actix
//! sends. Owned by [`super::Session`], which only wires them.

use std::io;

use actix_web_actors::ws::{CloseCode, CloseReason, ProtocolError};
use tickcast_shared::close::{self, Close};
use tickcast_shared::{decode_client, validate, ClientMsg, PROTOCOL_VERSION};

use crate::frame_guard::Cut;

/// Decodes one whole client message (after reassembly): 1007 unless it is exactly one valid
/// tickcast MessagePack message within the size limit.
pub fn decode_message<I: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<ClientMsg<I>, Close> {
    decode_client(bytes).map_err(|e| Close::InvalidMessage {
        detail: e.to_string(),
    })
}

/// Checks a join's version (4000), name and room id (4003); returns the trimmed name.
pub fn validate_join(join: &tickcast_shared::Join) -> Result<String, Close> {
    if join.version != PROTOCOL_VERSION {
        return Err(Close::VersionMismatch {
            client: join.version,
        });
    }
    let name = validate::player_name(&join.name).map_err(Close::InvalidName)?;
    if let Some(room) = &join.room {
        validate::room_id(room).map_err(Close::InvalidRoomId)?;
    }
    Ok(name)
}

/// What an error from actix's frame stream means: the close to send, or `None` when the
/// connection is gone (no close frame can reach the client).
///
/// actix reports three different things as [`ProtocolError::Io`]: a failure of the byte stream
/// underneath, the [`FrameGuard`](crate::frame_guard::FrameGuard) refusing a frame header (both
/// noted in the guard's [`Cut`]), and its own checks on a frame's contents. Of the latter, a text
/// frame whose payload is not UTF-8 is the one of kind `Other` (actix-web-actors `ws.rs`,
/// `Frame::Text`); its reserved-bits check (`InvalidData`) never fires behind the guard, which
/// refuses those frames first, and would be a protocol error (1002) like any other.
/// Only a broken byte stream ends the session without a close.
pub fn stream_close(e: &ProtocolError, cut: Option<Cut>) -> Option<Close> {
    match (e, cut) {
        (_, Some(Cut::Oversized)) | (ProtocolError::Overflow, _) => Some(Close::TooBig),
        (_, Some(Cut::ReservedBits)) => Some(Close::ReservedBits),
        (ProtocolError::Io(_), Some(Cut::Transport)) => None,
        (ProtocolError::Io(io), None) if io.kind() == io::ErrorKind::Other => {
            Some(Close::InvalidUtf8)
        }
        (e, _) => Some(Close::Protocol {
            detail: e.to_string(),
        }),
    }
}

/// The close frame actix sends for `close` (the protocol crate has no actix in it).
pub fn close_frame(close: &Close) -> CloseReason {
    CloseReason {
        code: CloseCode::from(close.code().as_u16()),
        description: Some(close.reason().into_owned()),
    }
}

/// Whether a close blames the client's bytes (`tickcast_protocol_closes_total`).
pub fn is_protocol_close(code: u16) -> bool {
    matches!(
        close::Code::from_u16(code),
        Some(
            close::Code::ProtocolError
                | close::Code::UnsupportedData
                | close::Code::InvalidPayload
                | close::Code::PolicyViolation
                | close::Code::MessageTooBig
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error actix-web-actors makes of a text frame that is not UTF-8 (`ws.rs`, `Frame::Text`).
    fn actix_utf8_error() -> ProtocolError {
        let payload = vec![b'h', 0xff];
        let e = std::str::from_utf8(&payload).expect_err("0xff should never be UTF-8");
        ProtocolError::Io(io::Error::other(format!("{e}")))
    }

    #[test]
    fn a_text_frame_that_is_not_utf8_is_closed_with_1007() {
        let close = stream_close(&actix_utf8_error(), None);
        assert_eq!(close, Some(Close::InvalidUtf8));
        assert_eq!(close.map(|c| c.code()), Some(close::Code::InvalidPayload));
    }

    #[test]
    fn a_broken_transport_is_a_lost_connection_whatever_its_text() {
        // The byte stream's errors reach the session as `Io(Other, …)` too.
        let broken = ProtocolError::Io(io::Error::other("payload reached EOF: utf-8"));
        assert_eq!(stream_close(&broken, Some(Cut::Transport)), None);
        assert_eq!(
            stream_close(&actix_utf8_error(), Some(Cut::Transport)),
            None
        );
    }

    #[test]
    fn a_frame_with_reserved_bits_is_a_protocol_error_not_a_lost_connection() {
        // What the session sees when the guard refused the header: the guard's error, wrapped.
        let refused = ProtocolError::Io(io::Error::other("a frame with reserved bits set"));
        let close = stream_close(&refused, Some(Cut::ReservedBits));
        assert_eq!(close, Some(Close::ReservedBits));
        assert_eq!(close.map(|c| c.code()), Some(close::Code::ProtocolError));
        assert!(!Close::ReservedBits.is_resumable(), "the seat is voided");
        // actix's own check, should a frame ever get past the guard: still 1002, never silence.
        let actix_check = ProtocolError::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            "Received a frame with non-zero reserved bits",
        ));
        let close = stream_close(&actix_check, None).expect("should close");
        assert_eq!(close.code(), close::Code::ProtocolError);
    }

    #[test]
    fn an_oversized_frame_is_too_big_however_it_is_reported() {
        let broken = ProtocolError::Io(io::Error::other("overflow"));
        assert_eq!(
            stream_close(&broken, Some(Cut::Oversized)),
            Some(Close::TooBig)
        );
        assert_eq!(
            stream_close(&ProtocolError::Overflow, None),
            Some(Close::TooBig)
        );
    }

    #[test]
    fn other_frame_errors_are_protocol_errors_with_actix_s_description() {
        let close = stream_close(&ProtocolError::UnmaskedFrame, None).expect("should close");
        assert_eq!(close.code(), close::Code::ProtocolError);
        assert_eq!(
            close.reason(),
            format!("protocol error: {}", ProtocolError::UnmaskedFrame)
        );
    }

    #[test]
    fn a_close_frame_carries_the_list_s_code_and_text() {
        let frame = close_frame(&Close::ShuttingDown);
        assert_eq!(frame.code, CloseCode::Away);
        assert_eq!(frame.description.as_deref(), Some("server shutting down"));
        let frame = close_frame(&Close::TooSlow);
        assert_eq!(u16::from(frame.code), close::TOO_SLOW);
        assert_eq!(
            frame.description.as_deref(),
            Some("too slow: snapshots were not read in time")
        );
    }

    #[test]
    fn only_closes_that_blame_the_client_s_bytes_are_counted() {
        for code in [1002, 1003, 1007, 1008, 1009] {
            assert!(is_protocol_close(code), "{code}");
        }
        for code in [1000, 1001, 1011, 4000, 4003, 4004, 4006] {
            assert!(!is_protocol_close(code), "{code}");
        }
    }

    #[test]
    fn join_refusals_carry_their_codes() {
        let mut join = tickcast_shared::Join::any_room("alice");
        assert_eq!(validate_join(&join), Ok("alice".to_string()));
        join.version = PROTOCOL_VERSION + 1;
        let refusal = validate_join(&join).expect_err("a foreign version should be refused");
        assert_eq!(refusal.code(), close::VERSION_MISMATCH);
        let mut join = tickcast_shared::Join::room("no spaces", "alice");
        join.version = PROTOCOL_VERSION;
        let refusal = validate_join(&join).expect_err("a bad room id should be refused");
        assert_eq!(refusal.code(), close::INVALID_JOIN);
        assert!(refusal.reason().starts_with("invalid room id: "));
        let refusal = decode_message::<()>(&[0xc1]).expect_err("0xc1 is never MessagePack");
        assert_eq!(refusal.code(), close::INVALID_PAYLOAD);
        assert!(refusal.reason().starts_with("invalid message: "));
    }
}
