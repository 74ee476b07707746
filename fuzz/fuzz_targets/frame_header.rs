//! The server's frame-header scanner (`frame_guard::HeaderScanner`) on an arbitrary byte stream
//! cut into arbitrary chunks. It must never panic, and its verdict must not depend on how the
//! stream is split: fed whole or in pieces, the same refused header (or none) is found.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tickcast_server::frame_guard::{BadHeader, HeaderScanner};

const LIMIT: usize = 1024;

fuzz_target!(|data: &[u8]| {
    // First byte: chunk size for the split run (1..=256).
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    let whole = HeaderScanner::new(LIMIT).scan(stream);
    let mut pieces = HeaderScanner::new(LIMIT);
    let mut split_verdict = Ok(());
    for chunk in stream.chunks(usize::from(split) + 1) {
        split_verdict = pieces.scan(chunk);
        if split_verdict.is_err() {
            break;
        }
    }
    assert_eq!(whole, split_verdict);
    match whole {
        Err(BadHeader::Oversized(declared)) => assert!(declared > LIMIT as u64),
        Err(BadHeader::ReservedBits(bits)) => assert!(bits != 0 && bits & !0b0111_0000 == 0),
        Ok(()) => {}
    }
});
