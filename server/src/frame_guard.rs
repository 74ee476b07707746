//! A guard on the raw bytes a WebSocket client sends, in front of actix's frame codec.
//!
//! actix-http checks a frame's size only after it has buffered the whole frame, so a client that
//! declares a 1 GiB frame and streams it slowly makes the server buffer it all. This adapter
//! walks the frame headers in the byte stream (it never copies payloads) and fails the stream as
//! soon as a header declares a payload above the limit — before any of that payload is buffered.
//! It also refuses a header with a reserved bit (RSV1–3) set: no extension is ever negotiated, so
//! such a frame is a protocol error (RFC 6455 §5.2), which actix reports only as an I/O error the
//! session could not tell from a broken connection. The bad frame never reaches actix's codec.
//! The session sees either failure as a protocol error, checks [`Tripped`], and closes with 1009
//! or 1002 (a close that voids the seat). The guard also notes when the byte stream itself fails
//! (reset, EOF mid-request): actix reports that as an I/O error just like its own text-frame UTF-8
//! check, and [`Tripped`] tells them apart.

use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::error::PayloadError;
use bytes::Bytes;
use futures_util::Stream;

/// Why the guard's stream failed, if it did; shared with the session reading through it.
#[derive(Debug, Clone, Default)]
pub struct Tripped(Rc<Cell<Option<Cut>>>);

/// What made the stream fail (the first cause is kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The guard cut the stream off for an oversized frame.
    Oversized,
    /// The guard cut the stream off for a frame with a reserved bit set.
    ReservedBits,
    /// The connection's byte stream failed underneath the guard.
    Transport,
}

impl Tripped {
    pub fn get(&self) -> Option<Cut> {
        self.0.get()
    }

    fn set(&self, cut: Cut) {
        if self.0.get().is_none() {
            self.0.set(Some(cut));
        }
    }
}

/// A frame header the guard refuses, found by [`HeaderScanner::scan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadHeader {
    /// The header declares a payload over the limit (the declared length).
    Oversized(u64),
    /// The header's first byte has RSV1, RSV2 or RSV3 set (those bits, in place).
    ReservedBits(u8),
}

impl BadHeader {
    /// What the guard records in [`Tripped`] for this header.
    pub fn cut(self) -> Cut {
        match self {
            BadHeader::Oversized(_) => Cut::Oversized,
            BadHeader::ReservedBits(_) => Cut::ReservedBits,
        }
    }
}

/// RSV1, RSV2 and RSV3 in a header's first byte.
const RSV_BITS: u8 = 0b0111_0000;

/// Incremental parser of client→server frame headers (RFC 6455 §5.2).
#[derive(Debug)]
pub struct HeaderScanner {
    limit: u64,
    header: [u8; 14],
    have: usize,
    need: usize,
    /// Payload bytes of the current frame still to skip.
    remaining: u64,
}

impl HeaderScanner {
    pub fn new(limit: usize) -> Self {
        HeaderScanner {
            limit: limit as u64,
            header: [0; 14],
            have: 0,
            need: 2,
            remaining: 0,
        }
    }

    /// Feeds the next bytes of the stream. Returns the first refused header, if any: reserved
    /// bits are refused from the header's first byte (as actix checks them before the length).
    pub fn scan(&mut self, mut chunk: &[u8]) -> Result<(), BadHeader> {
        while !chunk.is_empty() {
            if self.remaining > 0 {
                let n = self.remaining.min(chunk.len() as u64);
                self.remaining -= n;
                chunk = &chunk[n as usize..];
                continue;
            }
            self.header[self.have] = chunk[0];
            self.have += 1;
            chunk = &chunk[1..];
            if self.have == 1 && self.header[0] & RSV_BITS != 0 {
                return Err(BadHeader::ReservedBits(self.header[0] & RSV_BITS));
            }
            if self.have == 2 {
                let len7 = self.header[1] & 0x7f;
                let masked = self.header[1] & 0x80 != 0;
                self.need =
                    2 + match len7 {
                        126 => 2,
                        127 => 8,
                        _ => 0,
                    } + if masked { 4 } else { 0 };
            }
            if self.have >= 2 && self.have == self.need {
                let h = &self.header;
                let len = match h[1] & 0x7f {
                    126 => u64::from(u16::from_be_bytes([h[2], h[3]])),
                    127 => u64::from_be_bytes([h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]]),
                    n => u64::from(n),
                };
                if len > self.limit {
                    return Err(BadHeader::Oversized(len));
                }
                self.remaining = len;
                self.have = 0;
                self.need = 2;
            }
        }
        Ok(())
    }
}

/// The stream adapter: passes chunks through while every frame header is acceptable; the chunk
/// holding a refused header is dropped (never shown to actix) and the stream ends after an error.
pub struct FrameGuard<S> {
    inner: S,
    scanner: HeaderScanner,
    tripped: Tripped,
    done: bool,
}

impl<S> FrameGuard<S> {
    pub fn new(inner: S, limit: usize) -> (Self, Tripped) {
        let tripped = Tripped::default();
        let guard = FrameGuard {
            inner,
            scanner: HeaderScanner::new(limit),
            tripped: tripped.clone(),
            done: false,
        };
        (guard, tripped)
    }
}

impl<S> Stream for FrameGuard<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => match self.scanner.scan(&chunk) {
                Ok(()) => Poll::Ready(Some(Ok(chunk))),
                Err(bad) => {
                    tracing::debug!(?bad, "frame header refused");
                    self.done = true;
                    self.tripped.set(bad.cut());
                    Poll::Ready(Some(Err(match bad {
                        BadHeader::Oversized(_) => PayloadError::Overflow,
                        BadHeader::ReservedBits(_) => PayloadError::Io(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "a frame with reserved bits set",
                        )),
                    })))
                }
            },
            Poll::Ready(Some(Err(e))) => {
                self.tripped.set(Cut::Transport);
                Poll::Ready(Some(Err(e)))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: u64, masked: bool) -> Vec<u8> {
        let m = if masked { 0x80 } else { 0 };
        let mut h = vec![0x82];
        if len < 126 {
            h.push(m | len as u8);
        } else if len <= 0xffff {
            h.push(m | 126);
            h.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            h.push(m | 127);
            h.extend_from_slice(&len.to_be_bytes());
        }
        if masked {
            h.extend_from_slice(&[1, 2, 3, 4]);
        }
        h
    }

    #[test]
    fn frames_within_the_limit_pass_even_split_byte_by_byte() {
        let mut stream = Vec::new();
        for len in [0u64, 5, 125, 126, 1024] {
            stream.extend(header(len, true));
            stream.extend(std::iter::repeat_n(7u8, len as usize));
        }
        let mut s = HeaderScanner::new(1024);
        for b in &stream {
            assert_eq!(s.scan(std::slice::from_ref(b)), Ok(()));
        }
        let mut s = HeaderScanner::new(1024);
        assert_eq!(s.scan(&stream), Ok(()));
    }

    #[test]
    fn a_huge_declared_frame_is_refused_from_its_header_alone() {
        let mut s = HeaderScanner::new(1024);
        assert_eq!(
            s.scan(&header(1 << 30, true)),
            Err(BadHeader::Oversized(1 << 30))
        );
        let mut s = HeaderScanner::new(1024);
        assert_eq!(
            s.scan(&header(1025, false)),
            Err(BadHeader::Oversized(1025))
        );
    }

    #[test]
    fn an_oversized_frame_after_good_ones_is_caught() {
        let mut stream = header(3, true);
        stream.extend([1, 2, 3]);
        stream.extend(header(70_000, true));
        let mut s = HeaderScanner::new(1024);
        assert_eq!(s.scan(&stream[..4]), Ok(()));
        assert_eq!(s.scan(&stream[4..]), Err(BadHeader::Oversized(70_000)));
    }

    const RSV1: u8 = 0x40;
    const RSV2: u8 = 0x20;
    const RSV3: u8 = 0x10;

    #[test]
    fn each_reserved_bit_is_refused_from_the_header_s_first_byte() {
        for bit in [RSV1, RSV2, RSV3] {
            let mut frame = header(3, true);
            frame[0] |= bit;
            let mut s = HeaderScanner::new(1024);
            assert_eq!(
                s.scan(&frame[..1]),
                Err(BadHeader::ReservedBits(bit)),
                "{bit:#04x}"
            );
            assert_eq!(BadHeader::ReservedBits(bit).cut(), Cut::ReservedBits);
        }
        let mut all = header(3, true);
        all[0] |= RSV1 | RSV2 | RSV3;
        let mut s = HeaderScanner::new(1024);
        assert_eq!(
            s.scan(&all),
            Err(BadHeader::ReservedBits(RSV1 | RSV2 | RSV3))
        );
    }

    #[test]
    fn reserved_bits_are_judged_in_headers_only_not_in_payloads() {
        // Payload bytes with the RSV bits' values in them, then a frame with RSV2 set.
        let mut stream = header(4, true);
        stream.extend([0x70, 0xc2, 0x42, 0x12]);
        let bad_at = stream.len();
        stream.extend(header(0, true));
        stream[bad_at] |= RSV2;
        let mut s = HeaderScanner::new(1024);
        assert_eq!(s.scan(&stream[..bad_at]), Ok(()));
        assert_eq!(
            s.scan(&stream[bad_at..]),
            Err(BadHeader::ReservedBits(RSV2))
        );
        let mut s = HeaderScanner::new(1024);
        let verdict = stream
            .iter()
            .map(|b| s.scan(std::slice::from_ref(b)))
            .find(Result::is_err);
        assert_eq!(verdict, Some(Err(BadHeader::ReservedBits(RSV2))));
    }

    #[test]
    fn reserved_bits_are_refused_before_an_oversized_length() {
        let mut frame = header(70_000, true);
        frame[0] |= RSV3;
        let mut s = HeaderScanner::new(1024);
        assert_eq!(s.scan(&frame), Err(BadHeader::ReservedBits(RSV3)));
    }

    #[tokio::test]
    async fn the_guard_keeps_a_frame_with_reserved_bits_from_actix_and_ends_the_stream() {
        use futures_util::StreamExt;

        let mut good = header(3, true);
        good.extend([1, 2, 3]);
        let mut bad = header(1, true);
        bad[0] |= RSV1;
        bad.push(9);
        let chunks = vec![
            Ok::<_, PayloadError>(Bytes::from(good.clone())),
            Ok(Bytes::from(bad)),
            Ok(Bytes::from(good)),
        ];
        let (mut guard, tripped) = FrameGuard::new(futures_util::stream::iter(chunks), 1024);
        assert!(matches!(guard.next().await, Some(Ok(_))));
        assert_eq!(tripped.get(), None);
        assert!(matches!(guard.next().await, Some(Err(PayloadError::Io(_)))));
        assert_eq!(tripped.get(), Some(Cut::ReservedBits));
        assert!(guard.next().await.is_none(), "nothing more reaches actix");
    }

    #[tokio::test]
    async fn the_guard_tells_a_broken_transport_from_an_oversized_frame() {
        use futures_util::StreamExt;

        let mut good = header(3, true);
        good.extend([1, 2, 3]);
        let chunks = vec![
            Ok(Bytes::from(good)),
            Err(PayloadError::Incomplete(None)),
            Ok(Bytes::from(header(70_000, true))),
        ];
        let (mut guard, tripped) = FrameGuard::new(futures_util::stream::iter(chunks), 1024);
        assert!(matches!(guard.next().await, Some(Ok(_))));
        assert_eq!(tripped.get(), None);
        assert!(matches!(guard.next().await, Some(Err(_))));
        assert_eq!(tripped.get(), Some(Cut::Transport));
        assert!(matches!(
            guard.next().await,
            Some(Err(PayloadError::Overflow))
        ));
        assert_eq!(
            tripped.get(),
            Some(Cut::Transport),
            "the first cause is kept"
        );

        let chunks = vec![Ok::<_, PayloadError>(Bytes::from(header(70_000, true)))];
        let (mut guard, tripped) = FrameGuard::new(futures_util::stream::iter(chunks), 1024);
        assert!(matches!(
            guard.next().await,
            Some(Err(PayloadError::Overflow))
        ));
        assert_eq!(tripped.get(), Some(Cut::Oversized));
    }
}
