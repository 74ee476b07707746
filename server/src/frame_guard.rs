//! A guard on the raw bytes a WebSocket client sends, in front of actix's frame codec.
//!
//! actix-http checks a frame's size only after it has buffered the whole frame, so a client that
//! declares a 1 GiB frame and streams it slowly makes the server buffer it all. This adapter
//! walks the frame headers in the byte stream (it never copies payloads) and fails the stream as
//! soon as a header declares a payload above the limit — before any of that payload is buffered.
//! The session sees the failure as a protocol error, checks [`Tripped`], and closes with 1009.
//! The guard also notes when the byte stream itself fails (reset, EOF mid-request): actix reports
//! that as an I/O error just like its own text-frame UTF-8 check, and [`Tripped`] tells them apart.

use std::cell::Cell;
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

    /// Feeds the next bytes of the stream. Returns the declared length of the first frame over
    /// the limit, if any.
    pub fn scan(&mut self, mut chunk: &[u8]) -> Result<(), u64> {
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
                    return Err(len);
                }
                self.remaining = len;
                self.have = 0;
                self.need = 2;
            }
        }
        Ok(())
    }
}

/// The stream adapter: passes chunks through while every frame header is within the limit.
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
                Err(declared) => {
                    tracing::debug!(declared, "frame header over the size limit");
                    self.done = true;
                    self.tripped.set(Cut::Oversized);
                    Poll::Ready(Some(Err(PayloadError::Overflow)))
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
        assert_eq!(s.scan(&header(1 << 30, true)), Err(1 << 30));
        let mut s = HeaderScanner::new(1024);
        assert_eq!(s.scan(&header(1025, false)), Err(1025));
    }

    #[test]
    fn an_oversized_frame_after_good_ones_is_caught() {
        let mut stream = header(3, true);
        stream.extend([1, 2, 3]);
        stream.extend(header(70_000, true));
        let mut s = HeaderScanner::new(1024);
        assert_eq!(s.scan(&stream[..4]), Ok(()));
        assert_eq!(s.scan(&stream[4..]), Err(70_000));
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
