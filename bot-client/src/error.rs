//! [`BotError`]: everything that can go wrong for one bot connection.

use std::time::Duration;

use crate::close::CloseInfo;

/// Why a bot operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    /// The URL is not a usable `ws://` URL.
    #[error("invalid url {url:?}: {reason}")]
    Url { url: String, reason: String },
    /// The TCP connection or the WebSocket handshake failed.
    #[error("could not connect: {0}")]
    Connect(#[source] Box<tokio_tungstenite::tungstenite::Error>),
    /// Reading or writing the WebSocket failed.
    #[error("websocket error: {0}")]
    WebSocket(#[source] Box<tokio_tungstenite::tungstenite::Error>),
    /// The server closed the connection (or it dropped without a close frame: code 1006).
    #[error("connection closed by the server: {0}")]
    Closed(CloseInfo),
    /// Nothing arrived in time.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout { what: &'static str, after: Duration },
    /// A server message could not be decoded.
    #[error("could not decode a server message: {0}")]
    Decode(#[from] tickcast_shared::DecodeError),
    /// A snapshot could not be scanned.
    #[error("could not read a snapshot: {0}")]
    Scan(#[from] crate::snapshot_view::ScanError),
    /// A client message could not be encoded.
    #[error(transparent)]
    Encode(#[from] tickcast_shared::EncodeError),
    /// The server broke the protocol (a text frame, a message out of order …).
    #[error("protocol violation by the server: {0}")]
    Protocol(String),
    /// A redirect that was not followed (not to a `ws://`/`wss://` URL, or one hop too many).
    #[error(transparent)]
    Redirect(#[from] tickcast_shared::RedirectError),
}

impl BotError {
    /// Whether this error means the connection was lost without a close frame (a reset, an
    /// EOF, an I/O error on read or write): the one end after which the server holds the
    /// player's seat for a resume (see [`crate::resume`]). Close frames, timeouts and protocol
    /// errors are not losses.
    pub fn is_connection_lost(&self) -> bool {
        use tokio_tungstenite::tungstenite::error::ProtocolError;
        use tokio_tungstenite::tungstenite::Error as E;
        match self {
            BotError::Closed(c) => c.is_lost(),
            BotError::WebSocket(e) => matches!(
                e.as_ref(),
                E::Io(_) | E::Protocol(ProtocolError::ResetWithoutClosingHandshake)
            ),
            _ => false,
        }
    }

    /// A short stable label for counting errors by kind in a report.
    pub fn kind(&self) -> String {
        match self {
            BotError::Url { .. } => "url".into(),
            BotError::Connect(e) => match e.as_ref() {
                tokio_tungstenite::tungstenite::Error::Io(io) => {
                    format!("connect_io_{:?}", io.kind()).to_lowercase()
                }
                tokio_tungstenite::tungstenite::Error::Http(r) => {
                    format!("connect_http_{}", r.status().as_u16())
                }
                _ => "connect".into(),
            },
            BotError::WebSocket(_) => "websocket".into(),
            BotError::Closed(c) => format!("closed_{}", c.code),
            BotError::Timeout { what, .. } => format!("timeout_{}", what.replace(' ', "_")),
            BotError::Decode(_) | BotError::Scan(_) => "decode".into(),
            BotError::Encode(_) => "encode".into(),
            BotError::Protocol(_) => "protocol".into(),
            BotError::Redirect(tickcast_shared::RedirectError::NotWebSocket { .. }) => {
                "redirect_not_websocket".into()
            }
            BotError::Redirect(tickcast_shared::RedirectError::TooManyHops { .. }) => {
                "redirect_too_many_hops".into()
            }
        }
    }
}
