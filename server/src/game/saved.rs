//! The framing of saved bytes — a game's [`Game::save`](super::Game::save) and a room image
//! ([`crate::image`]) — and the one error type for refusing them.
//!
//! Saved bytes are two MessagePack values back to back: the layout **version** (a `u8`, so a
//! positive fixint: one byte), then the **body**, encoded by `rmp-serde` positionally (a struct is
//! an array of its fields in declaration order, no field names). The version comes first and on
//! its own so that any build can read it and refuse a layout it does not know before it tries to
//! interpret the rest.
//!
//! Decoding never panics and never trusts a length: these bytes come back from Redis, possibly
//! from another build. Too many bytes, an unknown version, a truncation, bytes after the body and
//! a body of the wrong shape are each a typed [`RestoreError`]. Lengths inside the body cannot
//! make the decoder allocate more than the input holds (strings and byte strings are borrowed
//! from the input and checked against what is left; serde caps a sequence's pre-allocation).
//!
//! Talks to: nobody. Used by the games' save/restore and by the room image.

use std::io::{Cursor, ErrorKind};

use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// The most saved bytes anything decodes (a 16-player arena saves to well under 2 KB; the bound
/// is only there so that a corrupt store cannot make a node chew on gigabytes).
pub const MAX_SAVED_BYTES: usize = 4 << 20;

/// Why saved bytes (a game's, or a room image) were refused.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("saved bytes are too large: {len} bytes, at most {max}")]
    TooLarge { len: usize, max: usize },
    #[error("saved bytes have layout version {found}; this build reads version {expected}")]
    UnknownVersion { found: u8, expected: u8 },
    #[error("saved bytes are truncated")]
    Truncated,
    #[error("saved bytes have {0} trailing bytes after the body")]
    TrailingBytes(usize),
    #[error("saved bytes are not the expected MessagePack layout: {0}")]
    Malformed(#[source] rmp_serde::decode::Error),
    #[error("saved state is inconsistent: {0}")]
    Invalid(&'static str),
}

impl From<rmp_serde::decode::Error> for RestoreError {
    fn from(e: rmp_serde::decode::Error) -> Self {
        use rmp_serde::decode::Error::{InvalidDataRead, InvalidMarkerRead};
        match &e {
            InvalidMarkerRead(io) | InvalidDataRead(io)
                if io.kind() == ErrorKind::UnexpectedEof =>
            {
                RestoreError::Truncated
            }
            _ => RestoreError::Malformed(e),
        }
    }
}

/// Encodes `body` after its layout `version` (see the module docs).
pub fn encode_versioned<T: Serialize>(version: u8, body: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    rmp_serde::encode::write(&mut out, &version)
        .and_then(|()| rmp_serde::encode::write(&mut out, body))
        .expect("a saved body should always encode: it has no maps with non-string keys and no unsized sequences");
    out
}

/// Decodes bytes written by [`encode_versioned`] with `version`: the whole input, nothing less,
/// nothing more.
pub fn decode_versioned<T: DeserializeOwned>(version: u8, bytes: &[u8]) -> Result<T, RestoreError> {
    if bytes.len() > MAX_SAVED_BYTES {
        return Err(RestoreError::TooLarge {
            len: bytes.len(),
            max: MAX_SAVED_BYTES,
        });
    }
    let mut de = rmp_serde::Deserializer::new(Cursor::new(bytes));
    let found = u8::deserialize(&mut de)?;
    if found != version {
        return Err(RestoreError::UnknownVersion {
            found,
            expected: version,
        });
    }
    let body = T::deserialize(&mut de)?;
    let read = usize::try_from(de.position()).unwrap_or(usize::MAX);
    match bytes.len().saturating_sub(read) {
        0 => Ok(body),
        trailing => Err(RestoreError::TrailingBytes(trailing)),
    }
}

/// `serde(with = "bin")`: a `Vec<u8>` as one MessagePack byte string (`bin`), not an array of
/// numbers (serde's default for a `Vec<u8>`).
pub mod bin {
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_byte_buf(BinVisitor)
    }

    struct BinVisitor;

    impl<'de> Visitor<'de> for BinVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a byte string")
        }

        fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }

        fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<Vec<u8>, A::Error> {
            Err(A::Error::custom("expected a byte string, found an array"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Body {
        n: u32,
        name: String,
        #[serde(with = "bin")]
        blob: Vec<u8>,
    }

    fn body() -> Body {
        Body {
            n: 300,
            name: "ada".into(),
            blob: vec![1, 2, 3],
        }
    }

    #[test]
    fn a_body_round_trips_after_its_version_byte() {
        let bytes = encode_versioned(3, &body());
        assert_eq!(bytes[0], 3, "the version is the first byte");
        assert_eq!(&bytes[1..2], &[0x93], "then the body, as a 3-element array");
        assert_eq!(decode_versioned::<Body>(3, &bytes).unwrap(), body());
    }

    #[test]
    fn a_byte_field_is_one_bin_string() {
        let bytes = encode_versioned(1, &body());
        assert!(
            bytes.ends_with(&[0xc4, 3, 1, 2, 3]),
            "bin8 of 3 bytes: {bytes:x?}"
        );
    }

    #[test]
    fn every_truncation_is_refused_as_truncated() {
        let bytes = encode_versioned(1, &body());
        for len in 0..bytes.len() {
            let e = decode_versioned::<Body>(1, &bytes[..len]).unwrap_err();
            assert!(matches!(e, RestoreError::Truncated), "at {len}: {e}");
        }
    }

    #[test]
    fn another_version_trailing_bytes_and_a_wrong_shape_are_refused() {
        let mut bytes = encode_versioned(1, &body());
        assert!(matches!(
            decode_versioned::<Body>(2, &bytes),
            Err(RestoreError::UnknownVersion {
                found: 1,
                expected: 2
            })
        ));
        bytes.push(0);
        assert!(matches!(
            decode_versioned::<Body>(1, &bytes),
            Err(RestoreError::TrailingBytes(1))
        ));
        let wrong = encode_versioned(1, &("not", "a", "body"));
        assert!(matches!(
            decode_versioned::<Body>(1, &wrong),
            Err(RestoreError::Malformed(_))
        ));
    }

    #[test]
    fn a_huge_declared_length_is_refused_without_allocating_it() {
        // version 1, then a 1-element array holding a str32 that claims 4 GiB.
        let bytes = [1, 0x91, 0xdb, 0xff, 0xff, 0xff, 0xff, b'a'];
        let e = decode_versioned::<(String,)>(1, &bytes).unwrap_err();
        assert!(matches!(e, RestoreError::Truncated), "{e}");
    }

    #[test]
    fn more_than_the_bound_is_refused_before_decoding() {
        let bytes = vec![0; MAX_SAVED_BYTES + 1];
        assert!(matches!(
            decode_versioned::<Body>(1, &bytes),
            Err(RestoreError::TooLarge { .. })
        ));
    }
}
