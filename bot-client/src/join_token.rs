//! [`join_token`]: mints the signed join token a server started with `--auth-secret` requires at
//! `/ws?token=…` (layout in the README, *Join tokens*), so a load run can exercise an
//! authenticated server with one token per bot name.
//!
//! ```text
//! payload = "v1|" + expiry (Unix seconds) + "|" + account id + "|" + name
//! token   = base64url(payload) + "." + base64url(HMAC-SHA256(key = secret, message = payload))
//! ```

use tickcast_shared::token::{Claims, TokenKey};

/// A token for player `name` (the only name the connection may join with), expiring at
/// `expires_unix` (seconds since the Unix epoch). The format is [`tickcast_shared::token`]'s.
pub fn join_token(secret: &[u8], name: &str, account_id: &str, expires_unix: u64) -> String {
    TokenKey::new(secret).mint(&Claims {
        name: name.to_string(),
        player_id: (!account_id.is_empty()).then(|| account_id.to_string()),
        expires: expires_unix,
    })
}

/// `url` with `token=TOKEN` added to its query string (the token is URL-safe base64 and a dot).
pub fn with_token(url: &str, token: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}token={token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_documented_layout() {
        // Reference values from the README's Python function.
        assert_eq!(
            join_token(b"s3cret", "bot-1", "", 1_800_000_000),
            "djF8MTgwMDAwMDAwMHx8Ym90LTE.CP4Hg7Z_Grf52go61cHS-LF60BMQzCeR8i5EpoVWFck"
        );
        assert_eq!(
            join_token(b"s3cret", "a|b é", "acct", 1_800_000_000),
            "djF8MTgwMDAwMDAwMHxhY2N0fGF8YiDDqQ.jEDIAVGFR0IVXi0I9NTzQSr7KDZG06xFeGQ-oRKC6FQ"
        );
    }

    #[test]
    fn token_goes_into_the_query() {
        assert_eq!(with_token("ws://h:1/ws", "t.x"), "ws://h:1/ws?token=t.x");
        assert_eq!(
            with_token("ws://h:1/ws?a=b", "t"),
            "ws://h:1/ws?a=b&token=t"
        );
    }
}
