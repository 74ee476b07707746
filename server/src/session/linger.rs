//! The close handshake's tail: what a session does between queueing its own close frame and
//! stopping. A pure rule, without the actor.
//!
//! Stopping the session right after `ctx.close` ends the response body, and actix closes the
//! socket soon after (`client_disconnect_timeout`) without reading it again. A client that sent
//! an input meanwhile — it has not read the close yet — leaves unread bytes in the server's
//! socket, and closing a socket with unread input sends a TCP reset. The reset reaches the
//! client before it has read what was sent last: its kernel throws the unread Redirect and close
//! frame away, and it sees 1006 where the protocol promised, say, `Redirect` + 4007 (measured:
//! 9–14 of 800 bots in the 100-room drain benchmark). So after a close the session
//! [lingers](linger_after): it keeps reading, [discards](while_lingering) every frame, and stops
//! when the client's close frame arrives (after which a client sends nothing), when the stream
//! ends or breaks, or when [`CLOSE_LINGER`] has passed, whichever comes first. After the client's
//! close or the deadline the session also shuts the socket down (see `Session::end_linger`).
//!
//! Owned by [`super::Session`]: its `close` asks [`linger_after`] whether to stop now or arm the
//! deadline, and its stream handler asks [`while_lingering`] about each item once closing.

use std::time::Duration;

use actix_web_actors::ws::{Message, ProtocolError};
use tickcast_shared::close::Close;

/// How long a session waits for the client's answer to its close frame. A client that reads
/// answers within a round trip (a browser at once, a bot on its next read); the deadline only
/// bounds a client that never answers. Generous for a client on a loaded machine, yet short
/// enough that a shutdown, which waits for every connection, is not held up long by one.
pub const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// Whether a session that queued `close` waits for the client's close frame (`Some(deadline)`)
/// or stops at once (`None`): it stops at once when the client is not reading — silent
/// (heartbeat timeout, the connection is most likely gone) or too slow to read its snapshots —
/// as its answer would never come and nothing it sent could be lost.
pub fn linger_after(close: &Close) -> Option<Duration> {
    match close {
        Close::HeartbeatTimeout | Close::TooSlow => None,
        _ => Some(CLOSE_LINGER),
    }
}

/// What a lingering session does with an item from the client's stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Lingering {
    /// Read and thrown away: the session has said its last word.
    Discard,
    /// The client's close frame: the handshake is over (so our close frame reached it), nothing
    /// more will come. Shut the connection down and stop.
    Answered,
    /// The stream is unusable (an error; actix repeats a decoding error on every read, so one
    /// right after our close frame may come before that frame was even written): just stop, as
    /// without a linger, and let actix write what is queued and close.
    Broken,
}

/// Judges one item read while lingering: the client's close frame, or an error in the stream
/// (nothing more can be read in order), ends the linger; any other frame is discarded unanswered
/// (no pong, no input: the session is closing).
pub fn while_lingering(item: &Result<Message, ProtocolError>) -> Lingering {
    match item {
        Ok(Message::Close(_)) => Lingering::Answered,
        Err(_) => Lingering::Broken,
        Ok(_) => Lingering::Discard,
    }
}

#[cfg(test)]
mod tests {
    use actix_web_actors::ws::{CloseCode, CloseReason};
    use bytes::Bytes;

    use super::*;

    #[test]
    fn a_redirect_waits_for_the_client_s_close_frame() {
        assert_eq!(linger_after(&Close::Redirected), Some(CLOSE_LINGER));
    }

    #[test]
    fn every_close_a_reading_client_can_answer_lingers() {
        for close in [
            Close::ShuttingDown,
            Close::RoomClosed,
            Close::RoomFull,
            Close::ResumeRefused,
            Close::Replaced,
            Close::InputFlood,
            Close::TooBig,
            Close::JoinTimeout,
        ] {
            assert_eq!(linger_after(&close), Some(CLOSE_LINGER), "{close:?}");
        }
    }

    #[test]
    fn a_client_that_does_not_read_is_not_waited_for() {
        assert_eq!(linger_after(&Close::HeartbeatTimeout), None);
        assert_eq!(linger_after(&Close::TooSlow), None);
    }

    #[test]
    fn inputs_and_pings_that_cross_the_close_are_discarded() {
        let frames = [
            Message::Binary(Bytes::from_static(b"\x81\xa5input")),
            Message::Ping(Bytes::new()),
            Message::Pong(Bytes::new()),
            Message::Text("hi".into()),
            Message::Nop,
        ];
        for frame in frames {
            assert_eq!(while_lingering(&Ok(frame)), Lingering::Discard);
        }
    }

    #[test]
    fn the_client_s_close_frame_ends_the_linger() {
        let answer = CloseReason {
            code: CloseCode::from(4007),
            description: None,
        };
        assert_eq!(
            while_lingering(&Ok(Message::Close(Some(answer)))),
            Lingering::Answered
        );
        assert_eq!(
            while_lingering(&Ok(Message::Close(None))),
            Lingering::Answered
        );
    }

    #[test]
    fn a_broken_stream_ends_the_linger_without_cutting_the_close_frame() {
        let broken = ProtocolError::Io(std::io::Error::other("connection reset"));
        assert_eq!(while_lingering(&Err(broken)), Lingering::Broken);
        assert_eq!(
            while_lingering(&Err(ProtocolError::UnmaskedFrame)),
            Lingering::Broken
        );
    }
}
