//! Signed join tokens: what a game's login service hands a player so that this server (started
//! with `--auth-secret`) lets them in under one name until an expiry time.
//!
//! Layout (documented for login services in other languages in the README):
//!
//! ```text
//! payload = "v1|" + expiry (Unix seconds, decimal) + "|" + player id ("" if none) + "|" + name
//! token   = base64url(payload) + "." + base64url(HMAC-SHA256(secret, payload))
//! ```
//!
//! base64url is RFC 4648 §5 without `=` padding. The name is last, so it may contain `|`.
//! The server checks the token before the WebSocket upgrade (401 when missing, malformed,
//! forged or expired); the session then accepts only a Join with exactly that name (4003).
//!
//! It lives in the protocol crate because it is part of the protocol: the server verifies
//! (`tickcast_server::admission`), the server binary's `token` subcommand and `tickcast-bot`
//! mint, and a Rust login service can mint with the same code.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The only payload version this server mints and accepts.
const VERSION: &str = "v1";
/// Tokens longer than this are refused without decoding (they sit in a URL).
pub const MAX_TOKEN_BYTES: usize = 1024;

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The only name the holder may join with.
    pub name: String,
    /// The login service's id for the player, if it gave one (logged with the session).
    pub player_id: Option<String>,
    /// Unix seconds after which the token is refused.
    pub expires: u64,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no token")]
    Missing,
    #[error("malformed token")]
    Malformed,
    #[error("bad token signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
}

/// Signs and verifies tokens with one shared secret.
#[derive(Clone)]
pub struct TokenKey {
    secret: Vec<u8>,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)") // never print the secret
    }
}

impl TokenKey {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        TokenKey {
            secret: secret.into(),
        }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length; this cannot fail.
        <HmacSha256 as Mac>::new_from_slice(&self.secret).expect("HMAC takes keys of any length")
    }

    /// Mints a token for `claims`.
    pub fn mint(&self, claims: &Claims) -> String {
        let payload = format!(
            "{VERSION}|{}|{}|{}",
            claims.expires,
            claims.player_id.as_deref().unwrap_or(""),
            claims.name
        );
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let sig = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload.as_bytes()),
            URL_SAFE_NO_PAD.encode(sig)
        )
    }

    /// Checks `token` at Unix time `now` (seconds). The signature is compared in constant time
    /// before anything in the payload is trusted.
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        if token.is_empty() {
            return Err(TokenError::Missing);
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
        let (payload_b64, sig_b64) = token.split_once('.').ok_or(TokenError::Malformed)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| TokenError::Malformed)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig_b64)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(&payload);
        mac.verify_slice(&sig)
            .map_err(|_| TokenError::BadSignature)?;
        let payload = std::str::from_utf8(&payload).map_err(|_| TokenError::Malformed)?;
        let mut parts = payload.splitn(4, '|');
        let (Some(VERSION), Some(expires), Some(id), Some(name)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let expires: u64 = expires.parse().map_err(|_| TokenError::Malformed)?;
        if now >= expires {
            return Err(TokenError::Expired);
        }
        Ok(Claims {
            name: name.to_string(),
            player_id: (!id.is_empty()).then(|| id.to_string()),
            expires,
        })
    }
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(name: &str, expires: u64) -> Claims {
        Claims {
            name: name.into(),
            player_id: Some("acct-7".into()),
            expires,
        }
    }

    #[test]
    fn a_minted_token_verifies_until_it_expires() {
        let key = TokenKey::new("s3cret");
        let t = key.mint(&claims("al|ice", 1000));
        assert_eq!(key.verify(&t, 999), Ok(claims("al|ice", 1000)));
        assert_eq!(key.verify(&t, 1000), Err(TokenError::Expired));
    }

    #[test]
    fn the_layout_is_the_documented_one() {
        // Same bytes as the README's Node/Python examples produce.
        let key = TokenKey::new("secret");
        let t = key.mint(&Claims {
            name: "alice".into(),
            player_id: None,
            expires: 1_900_000_000,
        });
        let (p, s) = t.split_once('.').unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(p).unwrap(),
            b"v1|1900000000||alice".to_vec()
        );
        assert_eq!(s.len(), 43, "32 bytes of HMAC in unpadded base64url");
    }

    #[test]
    fn forged_or_mangled_tokens_are_refused() {
        let key = TokenKey::new("s3cret");
        let t = key.mint(&claims("alice", 1000));
        assert_eq!(
            TokenKey::new("other").verify(&t, 1),
            Err(TokenError::BadSignature)
        );
        let (p, s) = t.split_once('.').unwrap();
        let other_payload = URL_SAFE_NO_PAD.encode("v1|1000|acct-7|mallory");
        assert_eq!(
            key.verify(&format!("{other_payload}.{s}"), 1),
            Err(TokenError::BadSignature)
        );
        for bad in [
            "",
            "x",
            "a.b.c",
            &format!("{p}."),
            "!!.??",
            &"a".repeat(5000),
        ] {
            assert!(key.verify(bad, 1).is_err(), "{bad:?}");
        }
        // A correctly signed payload of the wrong shape is still refused.
        let mut mac = key.mac();
        mac.update(b"v2|1000||x");
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        let odd = format!("{}.{sig}", URL_SAFE_NO_PAD.encode("v2|1000||x"));
        assert_eq!(key.verify(&odd, 1), Err(TokenError::Malformed));
    }
}
