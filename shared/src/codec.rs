//! MessagePack encoding and decoding of protocol messages (rmp-serde, structs as arrays).

use serde::{de::DeserializeOwned, Serialize};

use crate::limits::MAX_CLIENT_MESSAGE_BYTES;

/// Why a message could not be encoded.
#[derive(Debug, thiserror::Error)]
#[error("could not encode message: {0}")]
pub struct EncodeError(#[from] rmp_serde::encode::Error);

/// Why bytes could not be decoded into a message.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The input is longer than the protocol allows.
    #[error("message of {len} bytes exceeds the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    /// The bytes are not a valid MessagePack encoding of the expected message.
    #[error("malformed message: {0}")]
    Malformed(#[from] rmp_serde::decode::Error),
    /// A valid message was followed by extra bytes.
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
}

/// Encodes `msg` in the tickcast wire format (MessagePack, structs as arrays, enums as
/// `{variant: body}` maps or a bare string for unit variants).
pub fn encode<T: Serialize + ?Sized>(msg: &T) -> Result<Vec<u8>, EncodeError> {
    Ok(rmp_serde::to_vec(msg)?)
}

/// Encodes `msg` into `buf` (cleared first), reusing its allocation.
pub fn encode_into<T: Serialize + ?Sized>(msg: &T, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
    buf.clear();
    rmp_serde::encode::write(buf, msg)?;
    Ok(())
}

/// Decodes one message that must span all of `bytes`.
///
/// Client messages longer than [`MAX_CLIENT_MESSAGE_BYTES`] are refused by the server before they
/// reach this function; use [`decode_client`] to apply that limit here too.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut de = rmp_serde::Deserializer::new(bytes);
    let value = T::deserialize(&mut de)?;
    let rest = de.into_inner().len();
    if rest != 0 {
        return Err(DecodeError::TrailingBytes(rest));
    }
    Ok(value)
}

/// [`decode`] with the client→server size limit applied first.
pub fn decode_client<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    if bytes.len() > MAX_CLIENT_MESSAGE_BYTES {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            max: MAX_CLIENT_MESSAGE_BYTES,
        });
    }
    decode(bytes)
}
