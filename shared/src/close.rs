//! WebSocket close codes the server sends, with the reason text it puts next to them.
//!
//! The 1xxx codes are RFC 6455 §7.4.1; the 4xxx codes are tickcast's own (the range RFC 6455
//! reserves for applications). Two lists, each written once:
//! - [`Code`]: every code on the wire. A client decides what to do from the code alone:
//!   [`Code::is_retryable`] says which closes are worth a retry with backoff,
//!   [`Code::is_resumable`] which ones leave the player's seat held for a resume. The `u16`
//!   constants ([`NORMAL`] …) and the free functions [`is_retryable`] / [`is_resumable`] are the
//!   same facts for clients that hold a bare code.
//! - [`Close`]: every reason the server closes a connection, each with its code and the reason
//!   text of the close frame ([`Close::code`], [`Close::reason`]). The server sends these; a client
//!   only ever sees the code and the text.

use std::borrow::Cow;
use std::fmt;

use crate::validate::ValidationError;
use crate::PROTOCOL_VERSION;

/// The longest reason a close frame can carry: a control frame's payload is at most 125 bytes
/// (RFC 6455 §5.5), two of which are the code.
pub const MAX_REASON_BYTES: usize = 123;

/// A close code on the wire (see `PROTOCOL.md`, *Close codes*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Code {
    /// Normal closure (either side is done).
    Normal = 1000,
    /// The server is shutting down (or the room was closed).
    GoingAway = 1001,
    /// WebSocket protocol error (bad fragment sequence, bad opcode …).
    ProtocolError = 1002,
    /// Data type the server does not accept (a text frame: the protocol is binary only).
    UnsupportedData = 1003,
    /// A message that is not valid tickcast MessagePack (or a text frame that is not UTF-8).
    InvalidPayload = 1007,
    /// Policy violation: join timeout, input flood, a connection replaced by its resume.
    PolicyViolation = 1008,
    /// A message over [`crate::limits::MAX_CLIENT_MESSAGE_BYTES`].
    MessageTooBig = 1009,
    /// The server failed internally (for example the room's game code panicked).
    InternalError = 1011,
    /// The client's [`crate::Join::version`] is not [`crate::PROTOCOL_VERSION`].
    VersionMismatch = 4000,
    /// The named room is full.
    RoomFull = 4001,
    /// The server has reached its room limit and no room has space.
    ServerFull = 4002,
    /// The player name or room id is invalid (empty, too long, control characters …).
    InvalidJoin = 4003,
    /// The client did not read its snapshots for too long and was disconnected.
    TooSlow = 4004,
    /// A resume token that is unknown or expired.
    ResumeRefused = 4005,
    /// Nothing was heard from the client (not even a pong) for the client timeout. The server
    /// treats it as a lost connection: the player's seat is held for the resume grace period, so
    /// a client that sees this code should reconnect at once with its resume token.
    TimedOut = 4006,
    /// The room is on another node. Always follows a [`crate::Redirect`] message, which names
    /// the node's URL: the client reconnects there at once and repeats its join (with its resume
    /// token, if it has one). A seat the player had is held on the room's node, as after
    /// [`Code::TimedOut`].
    Redirect = 4007,
    /// The client's address has created too many rooms lately (a per-address budget, see
    /// `PROTOCOL.md`, *Close codes*). Joining an existing room or quick play still works; a new
    /// named room can be created after the wait the reason text names (`retry in N s`).
    RoomCreationLimited = 4008,
}

impl Code {
    /// Every code, in numeric order.
    pub const ALL: [Code; 17] = [
        Code::Normal,
        Code::GoingAway,
        Code::ProtocolError,
        Code::UnsupportedData,
        Code::InvalidPayload,
        Code::PolicyViolation,
        Code::MessageTooBig,
        Code::InternalError,
        Code::VersionMismatch,
        Code::RoomFull,
        Code::ServerFull,
        Code::InvalidJoin,
        Code::TooSlow,
        Code::ResumeRefused,
        Code::TimedOut,
        Code::Redirect,
        Code::RoomCreationLimited,
    ];

    /// The number on the wire.
    pub const fn as_u16(self) -> u16 {
        self as u16
    }

    /// The code for a number received on the wire, if tickcast uses it.
    pub fn from_u16(code: u16) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.as_u16() == code)
    }

    /// Whether a client should reconnect after the server closed with this code: with backoff
    /// when the server was going away or failed, the client was too slow, or the server was
    /// full or the address's room-creation budget was spent (after the reason's wait); at once
    /// after [`Code::TimedOut`] and [`Code::Redirect`] (the seat is held), to the redirect's URL
    /// after the latter.
    pub const fn is_retryable(self) -> bool {
        matches!(
            self,
            Code::GoingAway
                | Code::InternalError
                | Code::TooSlow
                | Code::ServerFull
                | Code::RoomCreationLimited
                | Code::TimedOut
                | Code::Redirect
        )
    }

    /// Whether the player's seat is still held after the server closed with this code, so that a
    /// reconnect with the resume token gets the same player back (see `PROTOCOL.md`, *Resume*).
    pub const fn is_resumable(self) -> bool {
        matches!(self, Code::TimedOut | Code::Redirect)
    }
}

impl From<Code> for u16 {
    fn from(code: Code) -> u16 {
        code.as_u16()
    }
}

/// Lets a client compare a typed code with the bare number it received.
impl PartialEq<u16> for Code {
    fn eq(&self, other: &u16) -> bool {
        self.as_u16() == *other
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_u16())
    }
}

// The codes as bare numbers, for clients that compare what they received (see [`Code`]).
/// [`Code::Normal`]
pub const NORMAL: u16 = Code::Normal.as_u16();
/// [`Code::GoingAway`]
pub const GOING_AWAY: u16 = Code::GoingAway.as_u16();
/// [`Code::ProtocolError`]
pub const PROTOCOL_ERROR: u16 = Code::ProtocolError.as_u16();
/// [`Code::UnsupportedData`]
pub const UNSUPPORTED_DATA: u16 = Code::UnsupportedData.as_u16();
/// [`Code::InvalidPayload`]
pub const INVALID_PAYLOAD: u16 = Code::InvalidPayload.as_u16();
/// [`Code::PolicyViolation`]
pub const POLICY_VIOLATION: u16 = Code::PolicyViolation.as_u16();
/// [`Code::MessageTooBig`]
pub const MESSAGE_TOO_BIG: u16 = Code::MessageTooBig.as_u16();
/// [`Code::InternalError`]
pub const INTERNAL_ERROR: u16 = Code::InternalError.as_u16();
/// [`Code::VersionMismatch`]
pub const VERSION_MISMATCH: u16 = Code::VersionMismatch.as_u16();
/// [`Code::RoomFull`]
pub const ROOM_FULL: u16 = Code::RoomFull.as_u16();
/// [`Code::ServerFull`]
pub const SERVER_FULL: u16 = Code::ServerFull.as_u16();
/// [`Code::InvalidJoin`]
pub const INVALID_JOIN: u16 = Code::InvalidJoin.as_u16();
/// [`Code::TooSlow`]
pub const TOO_SLOW: u16 = Code::TooSlow.as_u16();
/// [`Code::ResumeRefused`]
pub const RESUME_REFUSED: u16 = Code::ResumeRefused.as_u16();
/// [`Code::TimedOut`]
pub const TIMED_OUT: u16 = Code::TimedOut.as_u16();
/// [`Code::Redirect`]
pub const REDIRECT: u16 = Code::Redirect.as_u16();
/// [`Code::RoomCreationLimited`]
pub const ROOM_CREATION_LIMITED: u16 = Code::RoomCreationLimited.as_u16();

/// Whether a client should reconnect (with backoff) after the server closed with `code`
/// ([`Code::is_retryable`]; codes tickcast does not use are not retried).
pub fn is_retryable(code: u16) -> bool {
    Code::from_u16(code).is_some_and(Code::is_retryable)
}

/// Whether the player's seat is still held after the server closed with `code`, so that a
/// reconnect with the resume token gets the same player back ([`Code::is_resumable`]).
pub fn is_resumable(code: u16) -> bool {
    Code::from_u16(code).is_some_and(Code::is_resumable)
}

/// Why the server closes a connection: each reason has one code and one reason text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Close {
    // -- the server or the room lets the player go --
    /// The server is shutting down.
    ShuttingDown,
    /// The room was disposed of (server shutdown).
    RoomClosed,
    /// The room's game code failed; its players are let go.
    RoomFailed,
    /// The registry or the room could not take the join.
    JoinFailed,
    /// The client did not read its snapshots in time.
    TooSlow,
    /// Nothing was heard from the client: treated as a lost connection, the seat is held.
    HeartbeatTimeout,
    /// The player resumed on another connection; this one is closed.
    Replaced,
    /// The room is on another node; the [`crate::Redirect`] sent just before says where.
    Redirected,

    // -- the join was refused --
    /// The join's protocol version is not ours.
    VersionMismatch { client: u16 },
    /// The join's name is invalid.
    InvalidName(ValidationError),
    /// The join's room id is invalid.
    InvalidRoomId(ValidationError),
    /// With join tokens: the join's name is not the token's.
    NameNotInToken,
    /// The named room is full.
    RoomFull,
    /// The room limit is reached and no room has space.
    ServerFull,
    /// The resume token is unknown or its grace period ran out.
    ResumeRefused,
    /// The join would create a room, and the client's address has spent its room-creation
    /// budget: a token is back in `retry_after_secs` (rounded up, at least 1).
    RoomCreationLimited { retry_after_secs: u64 },

    // -- the client broke the protocol --
    /// No join within the join timeout.
    JoinTimeout,
    /// The client kept sending over the message rate.
    InputFlood,
    /// A text frame (the protocol is binary).
    TextFrame,
    /// A text frame whose payload is not UTF-8.
    InvalidUtf8,
    /// A message that is not exactly one valid tickcast message; `detail` says what is wrong.
    InvalidMessage { detail: String },
    /// A frame or a reassembled message over the size limit.
    TooBig,
    /// A new fragmented message started before the last one ended.
    FragmentInterrupted,
    /// A continuation frame with no fragmented message to continue.
    OrphanContinuation,
    /// A whole data frame arrived inside a fragmented message.
    DataFrameInFragments,
    /// A frame with a reserved bit (RSV1–3) set: no extension is negotiated.
    ReservedBits,
    /// Any other WebSocket protocol error; `detail` is the frame codec's description.
    Protocol { detail: String },
}

impl Close {
    /// The code and the reason text: the whole list, in one place.
    fn parts(&self) -> (Code, Cow<'static, str>) {
        use Code as C;
        match self {
            Close::ShuttingDown => (C::GoingAway, "server shutting down".into()),
            Close::RoomClosed => (C::GoingAway, "room closed".into()),
            Close::RoomFailed => (C::InternalError, "the room failed; please rejoin".into()),
            Close::JoinFailed => (C::InternalError, "could not join the room".into()),
            Close::TooSlow => (
                C::TooSlow,
                "too slow: snapshots were not read in time".into(),
            ),
            Close::HeartbeatTimeout => (
                C::TimedOut,
                "heartbeat timeout: nothing heard; resume with your token".into(),
            ),
            Close::Replaced => (
                C::PolicyViolation,
                "replaced by a resumed connection".into(),
            ),
            Close::Redirected => (
                C::Redirect,
                "room is on another node: reconnect there now with your token".into(),
            ),
            Close::VersionMismatch { client } => (
                C::VersionMismatch,
                format!(
                    "protocol version {client} is not supported; this server speaks {PROTOCOL_VERSION}"
                )
                .into(),
            ),
            Close::InvalidName(e) => (C::InvalidJoin, format!("invalid name: {e}").into()),
            Close::InvalidRoomId(e) => (C::InvalidJoin, format!("invalid room id: {e}").into()),
            Close::NameNotInToken => (
                C::InvalidJoin,
                "the name does not match the join token".into(),
            ),
            Close::RoomFull => (C::RoomFull, "room is full".into()),
            Close::ServerFull => (C::ServerFull, "server is full; try again later".into()),
            Close::ResumeRefused => (
                C::ResumeRefused,
                "resume token unknown or expired; join again without it".into(),
            ),
            Close::RoomCreationLimited { retry_after_secs } => (
                C::RoomCreationLimited,
                format!(
                    "too many new rooms from your address; retry in {retry_after_secs} s, or join an existing room"
                )
                .into(),
            ),
            Close::JoinTimeout => (C::PolicyViolation, "join timeout: send a join first".into()),
            Close::InputFlood => (C::PolicyViolation, "input flood: too many messages".into()),
            Close::TextFrame => (
                C::UnsupportedData,
                "text frames are not supported; send binary".into(),
            ),
            Close::InvalidUtf8 => (C::InvalidPayload, "invalid UTF-8".into()),
            Close::InvalidMessage { detail } => {
                (C::InvalidPayload, format!("invalid message: {detail}").into())
            }
            Close::TooBig => (C::MessageTooBig, "message too big".into()),
            Close::FragmentInterrupted => (
                C::ProtocolError,
                "new fragmented message before the last ended".into(),
            ),
            Close::OrphanContinuation => (
                C::ProtocolError,
                "continuation without a first fragment".into(),
            ),
            Close::DataFrameInFragments => (
                C::ProtocolError,
                "data frame inside a fragmented message".into(),
            ),
            Close::ReservedBits => (
                C::ProtocolError,
                "reserved bits set; no extension is negotiated".into(),
            ),
            Close::Protocol { detail } => {
                (C::ProtocolError, format!("protocol error: {detail}").into())
            }
        }
    }

    /// The close code sent with this reason.
    pub fn code(&self) -> Code {
        self.parts().0
    }

    /// The close frame's reason text: a short English sentence, cut (on a character boundary)
    /// to [`MAX_REASON_BYTES`] should a detail make it longer.
    pub fn reason(&self) -> Cow<'static, str> {
        let mut reason = self.parts().1;
        if reason.len() > MAX_REASON_BYTES {
            let mut end = MAX_REASON_BYTES;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.to_mut().truncate(end);
        }
        reason
    }

    /// Whether a client should reconnect after this close ([`Code::is_retryable`]).
    pub fn is_retryable(&self) -> bool {
        self.code().is_retryable()
    }

    /// Whether the player's seat is held after this close ([`Code::is_resumable`]).
    pub fn is_resumable(&self) -> bool {
        self.code().is_resumable()
    }
}

impl fmt::Display for Close {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.reason(), self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each reason, details at their longest plausible.
    fn every_close() -> Vec<Close> {
        let long = "x".repeat(2000);
        vec![
            Close::ShuttingDown,
            Close::RoomClosed,
            Close::RoomFailed,
            Close::JoinFailed,
            Close::TooSlow,
            Close::HeartbeatTimeout,
            Close::Replaced,
            Close::Redirected,
            Close::VersionMismatch { client: u16::MAX },
            Close::InvalidName(ValidationError::NameTooLong),
            Close::InvalidRoomId(ValidationError::RoomIdCharset),
            Close::NameNotInToken,
            Close::RoomFull,
            Close::ServerFull,
            Close::ResumeRefused,
            Close::RoomCreationLimited {
                retry_after_secs: u64::MAX,
            },
            Close::JoinTimeout,
            Close::InputFlood,
            Close::TextFrame,
            Close::InvalidUtf8,
            Close::InvalidMessage {
                detail: long.clone(),
            },
            Close::TooBig,
            Close::FragmentInterrupted,
            Close::OrphanContinuation,
            Close::DataFrameInFragments,
            Close::ReservedBits,
            Close::Protocol { detail: long },
        ]
    }

    #[test]
    fn codes_are_unique_and_round_trip_through_their_numbers() {
        let mut numbers: Vec<u16> = Code::ALL.iter().map(|c| c.as_u16()).collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), Code::ALL.len());
        for code in Code::ALL {
            assert_eq!(Code::from_u16(code.as_u16()), Some(code));
            assert_eq!(code, code.as_u16());
        }
        assert_eq!(Code::from_u16(1005), None);
        assert_eq!(Code::from_u16(4999), None);
    }

    #[test]
    fn every_reason_fits_a_close_frame_and_says_something() {
        for close in every_close() {
            let reason = close.reason();
            assert!(!reason.trim().is_empty(), "{close:?}");
            assert!(reason.len() <= MAX_REASON_BYTES, "{close:?}: {reason}");
        }
    }

    #[test]
    fn a_long_detail_is_cut_on_a_character_boundary() {
        let close = Close::InvalidMessage {
            detail: "é".repeat(100),
        };
        let reason = close.reason();
        assert!(reason.len() <= MAX_REASON_BYTES && reason.len() >= MAX_REASON_BYTES - 1);
        assert!(reason.starts_with("invalid message: éé"));
    }

    #[test]
    fn the_wire_codes_and_texts_stay_as_clients_know_them() {
        assert_eq!(
            (Close::ShuttingDown.code(), &*Close::ShuttingDown.reason()),
            (Code::GoingAway, "server shutting down")
        );
        assert_eq!(Close::TooSlow.code(), 4004);
        assert_eq!(Close::HeartbeatTimeout.code(), TIMED_OUT);
        assert_eq!(
            Close::VersionMismatch { client: 7 }.reason(),
            "protocol version 7 is not supported; this server speaks 1"
        );
        assert_eq!(
            Close::InvalidName(ValidationError::EmptyName).reason(),
            "invalid name: name is empty"
        );
        assert_eq!(Close::TextFrame.code(), UNSUPPORTED_DATA);
        assert_eq!(Close::InvalidUtf8.code(), INVALID_PAYLOAD);
        assert_eq!(
            (Close::Redirected.code(), &*Close::Redirected.reason()),
            (
                Code::Redirect,
                "room is on another node: reconnect there now with your token"
            )
        );
        assert_eq!(REDIRECT, 4007);
        let limited = Close::RoomCreationLimited {
            retry_after_secs: 3,
        };
        assert_eq!(
            (limited.code(), &*limited.reason()),
            (
                Code::RoomCreationLimited,
                "too many new rooms from your address; retry in 3 s, or join an existing room"
            )
        );
        assert_eq!(ROOM_CREATION_LIMITED, 4008);
    }

    #[test]
    fn only_seat_keeping_and_transient_closes_are_retried() {
        for code in [
            GOING_AWAY,
            INTERNAL_ERROR,
            TOO_SLOW,
            SERVER_FULL,
            TIMED_OUT,
            REDIRECT,
            ROOM_CREATION_LIMITED,
        ] {
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
            1005,
            4999,
        ] {
            assert!(!is_retryable(code), "{code}");
        }
        // Only a heartbeat timeout and a redirect leave the seat held for a resume.
        assert!(is_resumable(TIMED_OUT) && Close::HeartbeatTimeout.is_resumable());
        assert!(is_resumable(REDIRECT) && Close::Redirected.is_resumable());
        let held: Vec<Code> = Code::ALL.into_iter().filter(|c| c.is_resumable()).collect();
        assert_eq!(held, [Code::TimedOut, Code::Redirect]);
        assert!(!is_resumable(TOO_SLOW) && !is_resumable(GOING_AWAY));
        assert!(Close::RoomFailed.is_retryable() && !Close::RoomFull.is_retryable());
    }
}
