//! [`CloseInfo`]: how a connection ended — the server's close frame, or 1006 when there was none.
//!
//! The lowest module of the bot: [`crate::bot`] produces it, [`crate::error`] carries it in
//! `BotError::Closed`, [`crate::resume`] decides on it, the load run books it. It imports none of
//! them, so they all point down to it.

use std::fmt;

/// The close frame the server sent (code 1006 and an empty reason when the connection ended
/// without one, as RFC 6455 specifies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    pub code: u16,
    pub reason: String,
}

impl CloseInfo {
    /// Code 1006: the connection ended without a close frame.
    pub const ABNORMAL: u16 = 1006;

    /// Whether the connection was lost rather than closed (code 1006, the server's 4006
    /// heartbeat timeout, or its 4007 redirect to the room's node): the server then holds the
    /// player's seat for a resume, while after any other close frame it has already removed it.
    pub fn is_lost(&self) -> bool {
        self.code == Self::ABNORMAL || tickcast_shared::close::is_resumable(self.code)
    }

    /// The end of a connection that sent no close frame (a reset, an EOF, an I/O error).
    pub(crate) fn abnormal() -> Self {
        CloseInfo {
            code: Self::ABNORMAL,
            reason: String::new(),
        }
    }
}

impl fmt::Display for CloseInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reason.is_empty() {
            write!(f, "code {}", self.code)
        } else {
            write!(f, "code {} ({})", self.code, self.reason)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(code: u16, reason: &str) -> CloseInfo {
        CloseInfo {
            code,
            reason: reason.into(),
        }
    }

    #[test]
    fn only_no_close_frame_the_heartbeat_timeout_and_a_redirect_count_as_lost() {
        assert!(CloseInfo::abnormal().is_lost());
        assert!(close(4006, "timed out").is_lost());
        assert!(close(4007, "room is on another node").is_lost());
        for code in [1000, 1001, 1008, 1011, 4004, 4005] {
            assert!(!close(code, "").is_lost(), "{code}");
        }
    }

    #[test]
    fn shows_the_reason_only_when_there_is_one() {
        assert_eq!(CloseInfo::abnormal().to_string(), "code 1006");
        assert_eq!(close(1008, "flood").to_string(), "code 1008 (flood)");
    }
}
