//! # tickcast-shared — the tickcast wire protocol
//!
//! Everything a client needs to talk to a tickcast server, and nothing else: the message types
//! ([`ClientMsg`], [`ServerMsg`]), the MessagePack codec ([`encode`], [`decode`]), the hard limits
//! ([`limits`]), delta snapshots and the client's baseline store ([`delta`]), the close codes and
//! reasons the server uses ([`close`]), the validation rules for names and
//! room ids ([`validate`]) and the signed join tokens of authenticated servers ([`token`]). There is no async runtime, no actix and no I/O in this crate, so any
//! Rust client — a bot, a game engine, a test — can depend on it.
//!
//! The byte layout is specified in `shared/PROTOCOL.md`; `assets/protocol-vectors.json` pins it
//! down with golden vectors that both this crate and the browser client are tested against.
//!
//! ## Quick start
//!
//! ```
//! use tickcast_shared::{
//!     decode, encode, ArenaInfo, ClientMsg, Controls, Input, Join, ServerMsg, Snapshot, ArenaState,
//!     PROTOCOL_VERSION,
//! };
//!
//! // A client joins "any room with space" …
//! let join: ClientMsg = ClientMsg::Join(Join::any_room("alice"));
//! let bytes = encode(&join).expect("a join should always encode");
//! // … which is what the server reads off the binary WebSocket frame:
//! let back: ClientMsg = decode(&bytes).expect("our own bytes should decode");
//! assert_eq!(back, join);
//!
//! // Inputs carry a sequence number and the newest snapshot tick the client has seen.
//! let input: ClientMsg = ClientMsg::Input(Input { seq: 1, ack_tick: 0, controls: Controls::new(1.0, 0.0, 0) });
//! assert!(encode(&input).unwrap().len() < 32);
//!
//! // Server messages decode the same way; garbage is a typed error, never a panic.
//! assert!(decode::<ServerMsg>(&[0xc1, 0x00]).is_err());
//! # let _ = (PROTOCOL_VERSION, ArenaInfo::default(), Snapshot { tick: 0, server_time_ms: 0, state: ArenaState::default() });
//! ```

pub mod close;
mod codec;
pub mod delta;
pub mod limits;
mod messages;
pub mod token;
pub mod validate;

pub use codec::{decode, decode_client, encode, encode_into, DecodeError, EncodeError};
pub use messages::*;

/// The protocol version this crate speaks. A client states it in [`Join::version`]; the server
/// refuses any other value with close code [`close::VERSION_MISMATCH`].
pub const PROTOCOL_VERSION: u16 = 1;

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
