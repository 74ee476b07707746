//! [`Socket`]: one client WebSocket as the bot sees it — binary frames in and out, counted in
//! [`Traffic`], and how it ended ([`CloseInfo`], 1006 without a close frame).
//!
//! The transport under [`crate::Bot`], which owns one and adds the protocol on top (join,
//! welcome, seqs, ticks, deltas). It knows nothing of tickcast messages: bytes and frames only,
//! except that a join token in the URL's query moves into the handshake (see [`handshake`]).

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::close::CloseInfo;
use crate::error::BotError;

/// Bytes and messages a bot sent and received, counted as WebSocket frames (payload plus frame
/// header; TCP/IP overhead not included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub messages_in: u64,
    pub messages_out: u64,
}

impl Traffic {
    /// What was counted since `start`, an earlier reading of the same bot (counters only grow,
    /// across resumes too).
    pub fn since(&self, start: Traffic) -> Traffic {
        Traffic {
            bytes_in: self.bytes_in - start.bytes_in,
            bytes_out: self.bytes_out - start.bytes_out,
            messages_in: self.messages_in - start.messages_in,
            messages_out: self.messages_out - start.messages_out,
        }
    }

    /// Adds `other`'s counts to these.
    fn add(&mut self, other: Traffic) {
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.messages_in += other.messages_in;
        self.messages_out += other.messages_out;
    }
}

/// WebSocket frame header size for a payload of `len` bytes (+4 for the client's mask).
fn frame_header(len: usize, masked: bool) -> u64 {
    let base = match len {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    };
    base + if masked { 4 } else { 0 }
}

/// The subprotocol a tickcast client offers (PROTOCOL.md, Handshake).
const SUBPROTOCOL: &str = "tickcast.v1";

/// `url` without its `token=` query parameter, and that token (the first one), if any.
fn split_token(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut token = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|p| match p.strip_prefix("token=") {
            Some(t) if token.is_none() => {
                token = Some(t.to_string());
                false
            }
            _ => true,
        })
        .collect();
    let url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    (url, token)
}

/// The upgrade request for `url`. A join token in its query (`?token=`, where the bot's options
/// put it) is taken out of the URL and offered in the handshake instead, as the subprotocol
/// `tickcast.token.<TOKEN>` next to `tickcast.v1`, so it stays out of URLs and access logs. A URL
/// without a token offers no subprotocol (a server that predates them answers none, which a
/// client that offered one must refuse).
fn handshake(url: &str) -> Result<Request, BotError> {
    let bad = |reason: String| BotError::Url {
        url: url.to_string(),
        reason,
    };
    let (bare, token) = split_token(url);
    let mut request = bare.into_client_request().map_err(|e| bad(e.to_string()))?;
    if let Some(token) = token {
        let offer = HeaderValue::from_str(&format!("{SUBPROTOCOL}, tickcast.token.{token}"))
            .map_err(|_| bad("the token is not a valid subprotocol name".into()))?;
        request
            .headers_mut()
            .insert("sec-websocket-protocol", offer);
    }
    Ok(request)
}

/// One open (or ended) client WebSocket.
pub(crate) struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    traffic: Traffic,
    closed: Option<CloseInfo>,
}

impl Socket {
    /// Opens the WebSocket (TCP with Nagle off, so small inputs are not delayed), within
    /// `timeout` for TCP connect and handshake.
    pub async fn open(url: &str, timeout: Duration) -> Result<Socket, BotError> {
        if !(url.starts_with("ws://") || url.starts_with("wss://")) {
            return Err(BotError::Url {
                url: url.to_string(),
                reason: "expected ws:// or wss://".into(),
            });
        }
        // Write each message out on flush; no 128 KiB staging buffer per connection.
        let config = WebSocketConfig {
            write_buffer_size: 0,
            ..WebSocketConfig::default()
        };
        let request = handshake(url)?;
        let connect = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
        let (ws, _response) = tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| BotError::Timeout {
                what: "connect",
                after: timeout,
            })?
            .map_err(|e| BotError::Connect(Box::new(e)))?;
        Ok(Socket {
            ws,
            traffic: Traffic::default(),
            closed: None,
        })
    }

    /// Bytes and messages so far (over every connection this socket took over).
    pub fn traffic(&self) -> Traffic {
        self.traffic
    }

    /// How the connection ended, once it has.
    pub fn closed(&self) -> Option<&CloseInfo> {
        self.closed.as_ref()
    }

    /// Takes over `fresh`'s connection (a resume), keeping the traffic counted so far.
    pub fn take_over(&mut self, fresh: Socket) {
        self.traffic.add(fresh.traffic);
        self.ws = fresh.ws;
        self.closed = None;
    }

    /// Sends any WebSocket message as is.
    pub async fn send(&mut self, msg: Message) -> Result<(), BotError> {
        let (len, counted) = match &msg {
            Message::Binary(b) => (b.len(), true),
            Message::Text(t) => (t.len(), true),
            Message::Ping(b) | Message::Pong(b) => (b.len(), false),
            _ => (0, false),
        };
        self.ws
            .send(msg)
            .await
            .map_err(|e| BotError::WebSocket(Box::new(e)))?;
        self.traffic.bytes_out += len as u64 + frame_header(len, true);
        if counted {
            self.traffic.messages_out += 1;
        }
        Ok(())
    }

    /// Reads the next binary message (skipping WebSocket pings/pongs, which tungstenite answers).
    /// `Err(Closed)` once the connection has ended. Cancel-safe.
    pub async fn next_binary(&mut self) -> Result<Vec<u8>, BotError> {
        if let Some(c) = &self.closed {
            return Err(BotError::Closed(c.clone()));
        }
        loop {
            let msg = match self.ws.next().await {
                None => {
                    let c = CloseInfo::abnormal();
                    self.closed = Some(c.clone());
                    return Err(BotError::Closed(c));
                }
                Some(Err(e)) => {
                    use tokio_tungstenite::tungstenite::error::ProtocolError;
                    use tokio_tungstenite::tungstenite::Error as E;
                    // An EOF without a close frame is a protocol error to tungstenite, but to a
                    // client it is a lost connection like a reset: 1006, resumable.
                    if matches!(
                        e,
                        E::ConnectionClosed
                            | E::AlreadyClosed
                            | E::Io(_)
                            | E::Protocol(ProtocolError::ResetWithoutClosingHandshake)
                    ) {
                        let c = CloseInfo::abnormal();
                        self.closed = Some(c.clone());
                        return Err(BotError::Closed(c));
                    }
                    return Err(BotError::WebSocket(Box::new(e)));
                }
                Some(Ok(m)) => m,
            };
            match msg {
                Message::Binary(b) => {
                    self.traffic.bytes_in += b.len() as u64 + frame_header(b.len(), false);
                    self.traffic.messages_in += 1;
                    return Ok(b);
                }
                Message::Close(frame) => {
                    let c = frame.map_or_else(CloseInfo::abnormal, |f| CloseInfo {
                        code: u16::from(f.code),
                        reason: f.reason.into_owned(),
                    });
                    self.closed = Some(c.clone());
                    return Err(BotError::Closed(c));
                }
                Message::Text(t) => {
                    return Err(BotError::Protocol(format!(
                        "text frame of {} bytes (the protocol is binary only)",
                        t.len()
                    )))
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            }
        }
    }

    /// Closes with `code` and `reason` and waits up to `timeout` for the server's close frame,
    /// reading and discarding anything before it. Returns the server's close (1006 if it sent
    /// none, or if the connection had already ended: then that end).
    pub async fn close(
        &mut self,
        code: u16,
        reason: &str,
        timeout: Duration,
    ) -> Result<CloseInfo, BotError> {
        if let Some(c) = &self.closed {
            return Ok(c.clone());
        }
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.to_string().into(),
        };
        if let Err(e) = self.ws.close(Some(frame)).await {
            use tokio_tungstenite::tungstenite::Error as E;
            return match e {
                E::ConnectionClosed | E::AlreadyClosed | E::Io(_) => {
                    Ok(self.closed.get_or_insert_with(CloseInfo::abnormal).clone())
                }
                e => Err(BotError::WebSocket(Box::new(e))),
            };
        }
        self.traffic.bytes_out += 2 + reason.len() as u64 + frame_header(2 + reason.len(), true);
        let started = Instant::now();
        while started.elapsed() < timeout {
            let left = timeout.saturating_sub(started.elapsed());
            match tokio::time::timeout(left, self.next_binary()).await {
                Err(_) => break,
                Ok(Ok(_)) => continue,
                Ok(Err(BotError::Closed(c))) => return Ok(c),
                Ok(Err(e)) => return Err(e),
            }
        }
        Err(BotError::Timeout {
            what: "close frame",
            after: timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_join_token_moves_from_the_query_into_the_offered_subprotocols() {
        let r = handshake("ws://h:1/ws?room=a&token=abc.def&x=1").unwrap();
        assert_eq!(r.uri().to_string(), "ws://h:1/ws?room=a&x=1");
        assert_eq!(
            r.headers()["sec-websocket-protocol"],
            "tickcast.v1, tickcast.token.abc.def"
        );
        let r = handshake("ws://h:1/ws?token=t").unwrap();
        assert_eq!(r.uri().to_string(), "ws://h:1/ws");
        let r = handshake("ws://h:1/ws?room=a").unwrap();
        assert_eq!(r.uri().to_string(), "ws://h:1/ws?room=a");
        assert!(r.headers().get("sec-websocket-protocol").is_none());
        assert!(matches!(
            handshake("ws://h:1/ws?token=a\nb"),
            Err(BotError::Url { .. })
        ));
    }

    #[test]
    fn frame_headers_grow_with_the_payload_and_a_clients_frames_carry_a_mask() {
        assert_eq!(frame_header(0, false), 2);
        assert_eq!(frame_header(125, false), 2);
        assert_eq!(frame_header(126, false), 4);
        assert_eq!(frame_header(65535, false), 4);
        assert_eq!(frame_header(65536, false), 10);
        assert_eq!(frame_header(20, true), 6);
    }

    #[test]
    fn traffic_since_an_earlier_reading_is_the_difference_and_a_take_over_adds_up() {
        let early = Traffic {
            bytes_in: 100,
            bytes_out: 40,
            messages_in: 3,
            messages_out: 2,
        };
        let mut late = early;
        late.add(Traffic {
            bytes_in: 50,
            bytes_out: 10,
            messages_in: 1,
            messages_out: 1,
        });
        assert_eq!(
            late.since(early),
            Traffic {
                bytes_in: 50,
                bytes_out: 10,
                messages_in: 1,
                messages_out: 1
            }
        );
        assert_eq!(late.since(late), Traffic::default());
    }
}
