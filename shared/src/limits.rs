//! Hard limits every conforming peer respects. The server enforces them; clients can check them
//! before sending to get a typed error instead of a close frame.

/// Largest client→server message, in bytes, after reassembly of continuation frames.
/// A join with the longest name and a resume token is well under 200 bytes.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 1024;

/// Longest player name, in Unicode scalar values (characters).
pub const MAX_NAME_CHARS: usize = 20;

/// Longest room id, in characters (`[A-Za-z0-9_-]` only).
pub const MAX_ROOM_ID_CHARS: usize = 32;

/// Longest resume token, in bytes.
pub const MAX_RESUME_TOKEN_BYTES: usize = 64;
