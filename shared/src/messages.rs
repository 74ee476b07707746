//! The protocol's message types.
//!
//! The envelopes ([`ClientMsg`], [`ServerMsg`], [`Snapshot`], [`Welcome`], [`DeltaSnapshot`])
//! are generic over the game's own types, so a studio hosts its own game on the same runtime and
//! protocol: `I` is the game's input, `S` its snapshot state, `W` its welcome parameters and `P`
//! its delta patch. Nothing here knows a game; the bundled demo's types and the aliases that plug
//! them in ([`crate::arena::ArenaServerMsg`] …) live in [`crate::arena`].
//!
//! Wire types are plain data: they never derive actix's `Message` — the server wraps them in its
//! own actor messages.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{varint, PROTOCOL_VERSION};

/// A player's id, a random UUID chosen by the server (16 raw bytes on the wire).
pub type PlayerId = Uuid;

/// A message from a client to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClientMsg<I> {
    /// The first message on a connection: which room, who, which protocol version.
    #[serde(rename = "join")]
    Join(Join),
    /// The player's control state, sent at the client's input rate.
    #[serde(rename = "input")]
    Input(Input<I>),
    /// Round-trip time probe; answered with [`ServerMsg::Pong`].
    #[serde(rename = "ping")]
    Ping(Ping),
}

/// Join a room. Must be the first message; a second one is a protocol violation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Join {
    /// Must equal [`PROTOCOL_VERSION`].
    pub version: u16,
    /// `Some(id)`: join (or create) the room with that id. `None`: any room with space.
    pub room: Option<String>,
    /// The player's display name (see [`crate::validate::player_name`]).
    pub name: String,
    /// A resume token from an earlier [`Welcome`], to get the same player back after a drop.
    #[serde(default)]
    pub resume: Option<String>,
    /// The client can apply [`ServerMsg::Delta`] snapshots (see [`crate::delta`]). Without it
    /// (and from clients that predate it) the server sends full [`ServerMsg::Snapshot`]s.
    #[serde(default)]
    pub deltas: bool,
    /// With `deltas`: the client applies packed deltas ([`ServerMsg::Packed`], `"d"`) rather
    /// than [`ServerMsg::Delta`]. An optional trailing field, on the wire only when `true`, so a
    /// join without it is encoded as before it existed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub packed: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Join {
    /// A join to any room with space, at this crate's protocol version.
    pub fn any_room(name: impl Into<String>) -> Self {
        Join {
            version: PROTOCOL_VERSION,
            room: None,
            name: name.into(),
            resume: None,
            deltas: false,
            packed: false,
        }
    }

    /// This join, declaring that the client applies delta snapshots.
    pub fn with_deltas(self) -> Self {
        Join {
            deltas: true,
            ..self
        }
    }

    /// This join, declaring that the client applies packed delta snapshots (`"d"`).
    pub fn with_packed_deltas(self) -> Self {
        Join {
            deltas: true,
            packed: true,
            ..self
        }
    }

    /// A join to the named room (created if it does not exist), at this crate's protocol version.
    pub fn room(room: impl Into<String>, name: impl Into<String>) -> Self {
        Join {
            room: Some(room.into()),
            ..Join::any_room(name)
        }
    }
}

/// One input: the control state the player holds now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Input<I> {
    /// Strictly increasing per connection, starting at 1. The server applies an input only if its
    /// seq is above the last applied one and reports that seq back in the snapshot.
    pub seq: u32,
    /// The newest snapshot tick this client has received (0 = none yet). The baseline for
    /// delta snapshots.
    pub ack_tick: u64,
    /// The game-specific control state.
    pub controls: I,
}

/// RTT probe with the client's own clock reading, echoed back untouched.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ping {
    pub client_time: f64,
}

/// A message from the server to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ServerMsg<S, W, P> {
    /// The join succeeded.
    #[serde(rename = "welcome")]
    Welcome(Welcome<W>),
    /// The room's state after one tick. The same bytes go to every player of the room.
    #[serde(rename = "snap")]
    Snapshot(Snapshot<S>),
    /// The room's state after one tick as a patch against a state this client acknowledged
    /// (sent instead of [`ServerMsg::Snapshot`] to clients that joined with [`Join::deltas`]).
    /// Sessions with the same baseline get the same bytes.
    #[serde(rename = "delta")]
    Delta(DeltaSnapshot<P>),
    /// [`ServerMsg::Delta`] packed (sent instead to clients that joined with [`Join::packed`]):
    /// the envelope and the game's packed patch in one `bin`. Apply it with
    /// [`crate::delta::Baselines::receive_packed`].
    #[serde(rename = "d")]
    Packed(PackedDelta),
    /// Answer to [`ClientMsg::Ping`].
    #[serde(rename = "pong")]
    Pong(Pong),
    /// A problem that does not end the connection (fatal ones are close frames).
    #[serde(rename = "error")]
    Error(ErrorMsg),
    /// The room is on another node: the server closes with [`crate::close::Code::Redirect`]
    /// (4007) right after it, and the client repeats its join at [`Redirect::url`] at once.
    #[serde(rename = "redirect")]
    Redirect(Redirect),
}

/// Reply to a successful [`Join`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome<W> {
    pub player_id: PlayerId,
    pub room_id: String,
    /// Simulation ticks (and snapshots) per second.
    pub tick_rate: u16,
    /// The room's current tick.
    pub tick: u64,
    pub max_players: u16,
    /// Game parameters the client needs for rendering and prediction.
    pub game: W,
    /// Present this in [`Join::resume`] to get this player back after a dropped connection.
    #[serde(default)]
    pub resume_token: Option<String>,
}

/// The room's state after tick `tick`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot<S> {
    pub tick: u64,
    /// Server wall clock, milliseconds since the Unix epoch, when the tick was stepped.
    pub server_time_ms: u64,
    pub state: S,
}

/// The room's state after tick `tick`, as a patch against the state of `base_tick` that the
/// client acknowledged (`base_tick` 0: against the empty state, i.e. a full snapshot). Apply it
/// with [`crate::delta::Baselines`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeltaSnapshot<P> {
    pub tick: u64,
    pub base_tick: u64,
    /// Server wall clock, milliseconds since the Unix epoch, when the tick was stepped.
    pub server_time_ms: u64,
    pub patch: P,
}

/// A delta snapshot in its packed form (`PROTOCOL.md`, "Packed deltas"): on the wire one
/// MessagePack `bin` holding `tick`, `tick − base_tick` (0 when `base_tick` is 0) and
/// `server_time_ms` as unsigned varints ([`crate::varint`]), then the game's packed patch
/// ([`crate::delta::Diffable::pack`]) to the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedDelta {
    pub tick: u64,
    /// 0: against the empty state. Otherwise below `tick`.
    pub base_tick: u64,
    pub server_time_ms: u64,
    /// The game's packed patch.
    pub patch: Vec<u8>,
}

impl PackedDelta {
    /// The `bin`'s bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.patch.len());
        let back = if self.base_tick == 0 {
            0
        } else {
            self.tick.saturating_sub(self.base_tick)
        };
        varint::put_u(&mut out, self.tick);
        varint::put_u(&mut out, back);
        varint::put_u(&mut out, self.server_time_ms);
        out.extend_from_slice(&self.patch);
        out
    }

    /// Reads the `bin`'s bytes; a `tick − base_tick` above `tick` is malformed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, varint::Malformed> {
        let mut r = varint::Reader::new(bytes);
        let tick = r.u()?;
        let back = r.u()?;
        let server_time_ms = r.u()?;
        if back > tick {
            return Err(varint::Malformed("base tick before tick 0"));
        }
        Ok(PackedDelta {
            tick,
            base_tick: if back == 0 { 0 } else { tick - back },
            server_time_ms,
            patch: r.rest().to_vec(),
        })
    }
}

impl Serialize for PackedDelta {
    fn serialize<Ser: serde::Serializer>(&self, s: Ser) -> Result<Ser::Ok, Ser::Error> {
        s.serialize_bytes(&self.to_bytes())
    }
}

impl<'de> Deserialize<'de> for PackedDelta {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Bin;
        impl<'de> serde::de::Visitor<'de> for Bin {
            type Value = PackedDelta;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a bin holding a packed delta")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<PackedDelta, E> {
                PackedDelta::from_bytes(v).map_err(E::custom)
            }
            /// Self-describing formats without bytes (serde's JSON form: an array of numbers).
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<PackedDelta, A::Error> {
                let mut bytes = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    bytes.push(b);
                }
                PackedDelta::from_bytes(&bytes).map_err(serde::de::Error::custom)
            }
        }
        d.deserialize_bytes(Bin)
    }
}

/// Answer to a [`Ping`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pong {
    /// [`Ping::client_time`], echoed.
    pub client_time: f64,
    pub server_time_ms: u64,
}

/// A non-fatal error, with one of the [`crate::close`]-style codes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorMsg {
    pub code: u16,
    pub message: String,
}

/// Where a room is: the answer of a node that does not own the room a join (or a resume) names,
/// sent just before close 4007 (see `PROTOCOL.md`, *Redirect*).
///
/// The client opens a new connection to `url` at once (no backoff) and sends the same join there
/// with `room` set to `room_id` ([`Redirect::join`]): same name, same `deltas`, and its resume
/// token if it has one, so a held seat comes back. It follows at most [`Redirect::MAX_HOPS`]
/// redirects in a row (a Welcome starts the count again), and none whose URL fails
/// [`Redirect::check`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirect {
    /// The owner node's absolute WebSocket URL, e.g. `ws://10.0.0.2:8080/ws`.
    pub url: String,
    /// The room the join must name at `url`.
    pub room_id: String,
}

/// Why a client does not follow a [`Redirect`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    /// The URL is not an absolute `ws://` or `wss://` URL with a host: a client never follows a
    /// server to another scheme (an `http://` page, a `javascript:` URL …).
    #[error("redirect to {url:?} refused: not a ws:// or wss:// URL")]
    NotWebSocket { url: String },
    /// More than [`Redirect::MAX_HOPS`] redirects in a row without a Welcome: the nodes disagree
    /// about who owns the room (or it moves faster than it can be followed).
    #[error("gave up after {hops} redirects in a row (the last to {url:?})")]
    TooManyHops { hops: u32, url: String },
}

impl Redirect {
    /// Redirects a client follows in a row, without a Welcome in between, before giving up.
    pub const MAX_HOPS: u32 = 3;

    /// Whether a client may follow this redirect: `url` must be an absolute `ws://` or `wss://`
    /// URL with a host (the scheme compared without case, as URLs do).
    pub fn check(&self) -> Result<(), RedirectError> {
        let url = self.url.as_str();
        let rest = ["ws://", "wss://"].iter().find_map(|scheme| {
            url.get(..scheme.len())
                .filter(|head| head.eq_ignore_ascii_case(scheme))
                .map(|_| &url[scheme.len()..])
        });
        let has_host = rest.is_some_and(|r| {
            !r.is_empty() && !r.starts_with(['/', '?', '#']) && !r.contains(char::is_whitespace)
        });
        if has_host {
            Ok(())
        } else {
            Err(RedirectError::NotWebSocket {
                url: self.url.clone(),
            })
        }
    }

    /// The join to send at [`Redirect::url`] in place of `join`: the same join, naming
    /// [`Redirect::room_id`] (name, resume token and `deltas` are kept).
    pub fn join(&self, join: &Join) -> Join {
        Join {
            room: Some(self.room_id.clone()),
            ..join.clone()
        }
    }
}

/// Codes of [`ErrorMsg`] (non-fatal; the connection stays open).
pub mod error_code {
    /// An input or ping arrived before the join was accepted; it was ignored.
    pub const NOT_JOINED: u16 = 4100;
    /// A second join on the same connection; it was ignored.
    pub const ALREADY_JOINED: u16 = 4101;
    /// An input whose seq was not above the last one; it was ignored.
    pub const STALE_INPUT: u16 = 4102;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to(url: &str) -> Redirect {
        Redirect {
            url: url.into(),
            room_id: "r1".into(),
        }
    }

    #[test]
    fn a_redirect_is_followed_only_to_a_websocket_url_with_a_host() {
        for url in [
            "ws://10.0.0.2:8080/ws",
            "wss://game.example/n/node-b/ws",
            "WSS://Game.Example/ws?token=t.x",
            "ws://[::1]:8080/ws",
        ] {
            assert_eq!(to(url).check(), Ok(()), "{url}");
        }
        for url in [
            "",
            "http://10.0.0.2:8080/ws",
            "https://game.example/ws",
            "javascript:alert(1)",
            "/ws",
            "ws://",
            "ws:///ws",
            "ws:10.0.0.2/ws",
            "ws://evil host/ws",
            "wsx://h/ws",
        ] {
            assert_eq!(
                to(url).check(),
                Err(RedirectError::NotWebSocket { url: url.into() }),
                "{url:?}"
            );
        }
    }

    #[test]
    fn the_join_after_a_redirect_names_its_room_and_keeps_the_rest() {
        let join = Join {
            resume: Some("tok".into()),
            ..Join::any_room("alice").with_deltas()
        };
        assert_eq!(
            to("ws://b/ws").join(&join),
            Join {
                room: Some("r1".into()),
                ..join
            }
        );
    }

    #[test]
    fn a_packed_delta_is_one_bin_of_varints_and_the_patch() {
        let d = PackedDelta {
            tick: 300,
            base_tick: 298,
            server_time_ms: 5,
            patch: vec![0, 0, 0],
        };
        assert_eq!(d.to_bytes(), [0xac, 0x02, 2, 5, 0, 0, 0]);
        assert_eq!(PackedDelta::from_bytes(&d.to_bytes()), Ok(d.clone()));
        let full = PackedDelta { base_tick: 0, ..d };
        assert_eq!(full.to_bytes()[2], 0, "against the empty state: 0 back");
        assert_eq!(PackedDelta::from_bytes(&full.to_bytes()), Ok(full));
        assert!(
            PackedDelta::from_bytes(&[1, 2, 0]).is_err(),
            "a base before tick 0"
        );
        assert!(PackedDelta::from_bytes(&[1, 0]).is_err(), "no server time");
    }

    #[test]
    fn a_join_writes_packed_only_when_set() {
        let plain = crate::encode(&Join::any_room("a").with_deltas()).unwrap();
        assert_eq!(plain[0], 0x95, "five fields, as before the flag");
        let packed = crate::encode(&Join::any_room("a").with_packed_deltas()).unwrap();
        assert_eq!(packed[0], 0x96);
        assert_eq!(packed.last(), Some(&0xc3));
        let back: Join = crate::decode(&packed).unwrap();
        assert!(back.deltas && back.packed);
        let back: Join = crate::decode(&plain).unwrap();
        assert!(back.deltas && !back.packed);
    }
}
