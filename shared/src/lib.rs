//! # tickcast-shared — the tickcast wire protocol
//!
//! Everything a client needs to talk to a tickcast server, and nothing else: the message
//! envelopes ([`ClientMsg`], [`ServerMsg`]), the MessagePack codec ([`encode`], [`decode`]), the
//! hard limits ([`limits`]), delta snapshots and the client's baseline store ([`delta`]), the
//! close codes and reasons the server uses ([`close`]), the validation rules for names and room ids
//! ([`validate`]) and the signed join tokens of authenticated servers ([`token`]). There is no
//! async runtime, no actix and no I/O in this crate, so any Rust client — a bot, a game engine, a
//! test — can depend on it.
//!
//! The envelopes are generic over the game: its input, snapshot state, welcome parameters and
//! delta patch are type parameters. The bundled demo game's types, and aliases such as
//! [`arena::ArenaServerMsg`], live in [`arena`]; nothing else in the crate depends on them.
//!
//! The byte layout is specified in `shared/PROTOCOL.md`; `assets/protocol-vectors.json` pins it
//! down with golden vectors that both this crate and the browser client are tested against.
//!
//! ## Quick start
//!
//! A client of the bundled arena joins, sends inputs and decodes what the server sends:
//!
//! ```
//! use tickcast_shared::arena::{ArenaClientMsg, ArenaServerMsg, Controls};
//! use tickcast_shared::{decode, encode, Input, Join, Pong};
//!
//! // A client joins "any room with space" …
//! let join = ArenaClientMsg::Join(Join::any_room("alice"));
//! let bytes = encode(&join).expect("a join should always encode");
//! // … which is what the server reads off the binary WebSocket frame:
//! let back: ArenaClientMsg = decode(&bytes).expect("our own bytes should decode");
//! assert_eq!(back, join);
//!
//! // Inputs carry a sequence number and the newest snapshot tick the client has seen.
//! let controls = Controls::new(1.0, 0.0, 0);
//! let input = ArenaClientMsg::Input(Input { seq: 1, ack_tick: 0, controls });
//! assert!(encode(&input).expect("an input should encode").len() < 32);
//!
//! // Every binary frame from the server is one ArenaServerMsg; garbage is a typed error.
//! let pong = encode(&ArenaServerMsg::Pong(Pong { client_time: 1.5, server_time_ms: 9 }))
//!     .expect("a pong should encode");
//! match decode::<ArenaServerMsg>(&pong) {
//!     Ok(ArenaServerMsg::Snapshot(s)) => println!("{} players", s.state.players.len()),
//!     Ok(other) => println!("{other:?}"),
//!     Err(e) => panic!("our own bytes should decode: {e}"),
//! }
//! assert!(decode::<ArenaServerMsg>(&[0xc1, 0x00]).is_err());
//! ```
//!
//! ## Your own game
//!
//! A studio's game plugs its own types into the same envelopes (as `bevy_replicon` does with
//! its replicated components): anything serde can serialise. Its delta patch can be the whole
//! state, or a [`delta::Diffable`] type of its own.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use tickcast_shared::{decode, encode, ClientMsg, Input, ServerMsg, Snapshot};
//!
//! /// A card game: the input is the card played, the state the cards on the table.
//! #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
//! struct Play { card: u8 }
//! #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
//! struct Table { cards: Vec<u8> }
//!
//! type CardClientMsg = ClientMsg<Play>;
//! type CardServerMsg = ServerMsg<Table, (), Table>;
//!
//! let play = CardClientMsg::Input(Input { seq: 1, ack_tick: 0, controls: Play { card: 7 } });
//! assert_eq!(decode::<CardClientMsg>(&encode(&play).unwrap()).unwrap(), play);
//!
//! let snap = CardServerMsg::Snapshot(Snapshot {
//!     tick: 3,
//!     server_time_ms: 0,
//!     state: Table { cards: vec![7] },
//! });
//! assert_eq!(decode::<CardServerMsg>(&encode(&snap).unwrap()).unwrap(), snap);
//! ```

pub mod arena;
pub mod close;
mod codec;
pub mod delta;
pub mod limits;
mod messages;
pub mod packed;
pub mod token;
pub mod validate;
pub mod varint;

pub use codec::{decode, decode_client, encode, encode_into, DecodeError, EncodeError};
pub use messages::*;

/// The protocol version this crate speaks. A client states it in [`Join::version`]; the server
/// refuses any other value with close code [`close::VERSION_MISMATCH`].
pub const PROTOCOL_VERSION: u16 = 1;

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
