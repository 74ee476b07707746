//! Variable-length integers for the packed delta format (`PROTOCOL.md`, "Packed deltas"):
//! LEB128 for unsigned values (7 bits a byte, low bits first, high bit = more follows) and
//! zigzag for signed ones (0, −1, 1, −2 … → 0, 1, 2, 3 …), so a small difference of either sign
//! is one byte. Used by the packed envelope ([`crate::PackedDelta`]), [`crate::packed`] and the
//! arena's packing; imports nothing of the crate (its error converts into
//! [`crate::delta::DeltaError::Malformed`]).

/// What is wrong with a packed message: it ends early, a varint is too long or too large, a
/// value does not fit its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub &'static str);

/// Appends `v` as an unsigned LEB128 varint (1 byte below 128, at most 10).
pub fn put_u(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` zigzag-encoded (1 byte for −64..=63).
pub fn put_i(out: &mut Vec<u8>, v: i64) {
    put_u(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Reads varints and raw bytes off a packed patch; every read is checked (a short or overlong
/// input is [`Malformed`], never a panic).
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
}

fn malformed(what: &'static str) -> Malformed {
    Malformed(what)
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bytes not read yet, consuming them.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }

    pub fn byte(&mut self) -> Result<u8, Malformed> {
        let (&b, rest) = self.bytes.split_first().ok_or(malformed("ends early"))?;
        self.bytes = rest;
        Ok(b)
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if n > self.bytes.len() {
            return Err(malformed("ends early"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    /// An unsigned LEB128 varint of at most 10 bytes that fits a u64.
    pub fn u(&mut self) -> Result<u64, Malformed> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(malformed("varint overflows 64 bits"));
            }
            v |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(malformed("varint longer than 10 bytes"))
    }

    /// A zigzag varint.
    pub fn i(&mut self) -> Result<i64, Malformed> {
        let z = self.u()?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    /// An unsigned varint that must fit `T` (a count, an id, a u32 field …).
    pub fn u_as<T: TryFrom<u64>>(&mut self) -> Result<T, Malformed> {
        T::try_from(self.u()?).map_err(|_| malformed("value out of range"))
    }

    /// A signed varint that must fit `T`.
    pub fn i_as<T: TryFrom<i64>>(&mut self) -> Result<T, Malformed> {
        T::try_from(self.i()?).map_err(|_| malformed("value out of range"))
    }

    /// A count of items each at least one byte long: never more than the bytes left, so a
    /// hostile count cannot make the reader allocate more than the message is long.
    pub fn count(&mut self) -> Result<usize, Malformed> {
        let n = self.u()?;
        if n > self.bytes.len() as u64 {
            return Err(malformed("count larger than the bytes left"));
        }
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u_bytes(v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put_u(&mut out, v);
        out
    }

    fn i_bytes(v: i64) -> Vec<u8> {
        let mut out = Vec::new();
        put_i(&mut out, v);
        out
    }

    #[test]
    fn small_values_of_either_sign_are_one_byte() {
        assert_eq!(u_bytes(0), [0]);
        assert_eq!(u_bytes(127), [0x7f]);
        assert_eq!(u_bytes(128), [0x80, 0x01]);
        assert_eq!(u_bytes(300), [0xac, 0x02]);
        assert_eq!(i_bytes(0), [0]);
        assert_eq!(i_bytes(-1), [1]);
        assert_eq!(i_bytes(1), [2]);
        assert_eq!(i_bytes(-64), [0x7f]);
        assert_eq!(i_bytes(64), [0x80, 0x01]);
        assert_eq!(u_bytes(u64::MAX).len(), 10);
    }

    #[test]
    fn every_value_reads_back() {
        for v in [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            assert_eq!(Reader::new(&u_bytes(v)).u(), Ok(v));
        }
        for v in [0, -1, 1, -64, 64, i64::from(i32::MIN), i64::MAX, i64::MIN] {
            assert_eq!(Reader::new(&i_bytes(v)).i(), Ok(v));
        }
    }

    #[test]
    fn short_overlong_and_overflowing_input_is_malformed() {
        assert!(Reader::new(&[0x80]).u().is_err(), "ends in the middle");
        assert!(Reader::new(&[0xff; 11]).u().is_err(), "eleven bytes");
        let mut over = vec![0xff; 9];
        over.push(0x02);
        assert!(Reader::new(&over).u().is_err(), "more than 64 bits");
        assert!(Reader::new(&u_bytes(256)).u_as::<u8>().is_err());
        assert!(
            Reader::new(&[5, 1, 2]).count().is_err(),
            "5 items in 2 bytes"
        );
        assert!(Reader::new(&[1]).take(2).is_err());
    }
}
