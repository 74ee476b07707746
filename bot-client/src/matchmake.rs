//! [`Match`]: where a bot run with `--matchmake` plays — the answer of `POST /matchmake` on the
//! entry node (the node of the run's `--url`), as a cluster's load balancer would use it.
//!
//! Each bot's session asks once before it connects ([`Match::ask`]), then connects to the
//! answer's `url` and joins its `room` (quick play when `room` is null). Plain HTTP only, over
//! [`crate::server_metrics`]'s small HTTP/1.1 client.

use std::time::Duration;

use serde::Deserialize;

use crate::server_metrics::{http_request, http_url_for, ScrapeError};

/// `POST /matchmake`'s answer: join `room` at `url`; `room: None` is quick play at `url`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Match {
    pub url: String,
    pub room: Option<String>,
}

/// Why a bot got no match.
#[derive(Debug, thiserror::Error)]
pub enum MatchmakeError {
    #[error("no /matchmake URL for {0:?} (expected ws://host:port/…)")]
    Url(String),
    #[error("matchmake request failed: {0}")]
    Request(#[from] ScrapeError),
    #[error("matchmake request timed out after {0:?}")]
    Timeout(Duration),
    #[error("malformed matchmake answer: {0}")]
    Malformed(#[from] serde_json::Error),
}

impl Match {
    /// The entry node's `POST /matchmake` URL next to its WebSocket URL:
    /// `ws://127.0.0.1:8081/ws` → `http://127.0.0.1:8081/matchmake`. `None` for `wss://`.
    pub fn endpoint_for(ws_url: &str) -> Option<String> {
        http_url_for(ws_url, "/matchmake")
    }

    /// Reads the JSON answer `{"url": "ws://…/ws", "room": "r…" | null}`.
    pub fn parse(body: &str) -> Result<Match, MatchmakeError> {
        Ok(serde_json::from_str(body)?)
    }

    /// Asks the entry node at `entry_ws_url` where to play.
    pub async fn ask(entry_ws_url: &str, timeout: Duration) -> Result<Match, MatchmakeError> {
        let endpoint = Self::endpoint_for(entry_ws_url)
            .ok_or_else(|| MatchmakeError::Url(entry_ws_url.into()))?;
        let body = tokio::time::timeout(timeout, http_request("POST", &endpoint))
            .await
            .map_err(|_| MatchmakeError::Timeout(timeout))??;
        Self::parse(&body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_names_the_node_url_and_the_room_or_quick_play() {
        assert_eq!(
            Match::parse(r#"{"url":"ws://127.0.0.1:8082/ws","room":"r1a2b3c4d"}"#)
                .expect("a room answer should parse"),
            Match {
                url: "ws://127.0.0.1:8082/ws".into(),
                room: Some("r1a2b3c4d".into())
            }
        );
        assert_eq!(
            Match::parse(r#"{"url":"ws://127.0.0.1:8083/ws","room":null}"#)
                .expect("a quick-play answer should parse")
                .room,
            None
        );
        assert!(Match::parse(r#"{"room":"r1"}"#).is_err());
        assert!(Match::parse("Service Unavailable").is_err());
    }

    #[test]
    fn the_endpoint_is_on_the_entry_nodes_host_and_port() {
        assert_eq!(
            Match::endpoint_for("ws://127.0.0.1:8081/ws").as_deref(),
            Some("http://127.0.0.1:8081/matchmake")
        );
        assert_eq!(Match::endpoint_for("wss://lb/ws"), None);
        assert_eq!(Match::endpoint_for("ws:///ws"), None);
    }
}
