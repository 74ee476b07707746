//! WebSocket close codes the server sends, with the reason text it puts next to them.
//!
//! The 1xxx codes are RFC 6455 §7.4.1; the 4xxx codes are tickcast's own (the range RFC 6455
//! reserves for applications). A client decides whether to reconnect from the code alone:
//! [`is_retryable`] says which ones are worth a retry with backoff.

/// Normal closure (either side is done).
pub const NORMAL: u16 = 1000;
/// The server is shutting down.
pub const GOING_AWAY: u16 = 1001;
/// WebSocket protocol error (bad fragment sequence, bad opcode …).
pub const PROTOCOL_ERROR: u16 = 1002;
/// Data type the server does not accept (a text frame: the protocol is binary only).
pub const UNSUPPORTED_DATA: u16 = 1003;
/// A message that is not valid tickcast MessagePack.
pub const INVALID_PAYLOAD: u16 = 1007;
/// Policy violation: join timeout, input flood, repeated bad messages.
pub const POLICY_VIOLATION: u16 = 1008;
/// A message over [`crate::limits::MAX_CLIENT_MESSAGE_BYTES`].
pub const MESSAGE_TOO_BIG: u16 = 1009;
/// The server failed internally (for example the room's game code panicked).
pub const INTERNAL_ERROR: u16 = 1011;

/// The client's [`crate::Join::version`] is not [`crate::PROTOCOL_VERSION`].
pub const VERSION_MISMATCH: u16 = 4000;
/// The named room is full.
pub const ROOM_FULL: u16 = 4001;
/// The server has reached its room limit and no room has space.
pub const SERVER_FULL: u16 = 4002;
/// The player name or room id is invalid (empty, too long, control characters …).
pub const INVALID_JOIN: u16 = 4003;
/// The client did not read its snapshots for too long and was disconnected.
pub const TOO_SLOW: u16 = 4004;
/// A resume token that is unknown or expired.
pub const RESUME_REFUSED: u16 = 4005;
/// Nothing was heard from the client (not even a pong) for the client timeout. The server
/// treats it as a lost connection: the player's seat is held for the resume grace period, so
/// a client that sees this code should reconnect at once with its resume token.
pub const TIMED_OUT: u16 = 4006;

/// Whether a client should reconnect (with backoff) after the server closed with `code`.
pub fn is_retryable(code: u16) -> bool {
    matches!(
        code,
        GOING_AWAY | INTERNAL_ERROR | TOO_SLOW | SERVER_FULL | TIMED_OUT
    )
}

/// Whether the player's seat is still held after the server closed with `code`, so that a
/// reconnect with the resume token gets the same player back (see `PROTOCOL.md`, *Resume*).
pub fn is_resumable(code: u16) -> bool {
    code == TIMED_OUT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_seat_keeping_and_transient_closes_are_retried() {
        for code in [GOING_AWAY, INTERNAL_ERROR, TOO_SLOW, SERVER_FULL, TIMED_OUT] {
            assert!(is_retryable(code), "{code}");
        }
        for code in [
            NORMAL,
            PROTOCOL_ERROR,
            UNSUPPORTED_DATA,
            INVALID_PAYLOAD,
            POLICY_VIOLATION,
            MESSAGE_TOO_BIG,
            VERSION_MISMATCH,
            ROOM_FULL,
            INVALID_JOIN,
            RESUME_REFUSED,
        ] {
            assert!(!is_retryable(code), "{code}");
        }
        // Only a heartbeat timeout leaves the seat held for a resume.
        assert!(is_resumable(TIMED_OUT));
        assert!(!is_resumable(TOO_SLOW) && !is_resumable(GOING_AWAY));
    }
}
