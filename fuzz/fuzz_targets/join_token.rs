//! Join-token verification (`token::TokenKey::verify`) on arbitrary strings: never panics, and
//! nothing but a token minted with the key verifies (a forgery would need a SHA-256 HMAC
//! collision, so any success here is a bug).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tickcast_server::token::{Claims, TokenKey};

fuzz_target!(|data: &[u8]| {
    let key = TokenKey::new("fuzz-secret");
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    assert!(
        key.verify(s, 0).is_err(),
        "verified a token not minted here: {s:?}"
    );
    // Minting any name (from the input) round-trips.
    let claims = Claims {
        name: s.chars().take(40).collect(),
        player_id: None,
        expires: 10,
    };
    assert_eq!(key.verify(&key.mint(&claims), 5), Ok(claims));
});
