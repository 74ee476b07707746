//! `tickcast_shared::decode` on arbitrary bytes, as every message type either side can receive.
//! It must never panic; what it accepts must encode again and decode to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tickcast_shared::arena::{ArenaClientMsg, ArenaServerMsg};
use tickcast_shared::{decode, decode_client, encode, ClientMsg};

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = decode_client::<ArenaClientMsg>(data) {
        let again = encode(&msg).expect("a decoded message re-encodes");
        let back: ArenaClientMsg = decode(&again).expect("a re-encoded message decodes");
        // NaN != NaN: compare the canonical bytes instead of the values.
        assert_eq!(encode(&back).expect("re-encodes"), again);
    }
    let _ = decode::<ArenaServerMsg>(data);
    let _ = decode::<ClientMsg<i32>>(data);
});
