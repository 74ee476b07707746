//! The `tickcast-server token` subcommand prints a token the server accepts.

use std::process::Command;

use tickcast_server::token::{unix_now, TokenKey};

#[test]
fn the_token_subcommand_mints_a_verifiable_token() {
    let out = Command::new(env!("CARGO_BIN_EXE_tickcast-server"))
        .args([
            "token", "--secret", "s3cret", "--name", "alice", "--ttl", "60",
        ])
        .args(["--player-id", "acct-42"])
        .env_remove("TICKCAST_AUTH_SECRET")
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{out:?}");
    let token = String::from_utf8(out.stdout).expect("UTF-8");
    let claims = TokenKey::new("s3cret")
        .verify(token.trim(), unix_now())
        .expect("the printed token verifies");
    assert_eq!(claims.name, "alice");
    assert_eq!(claims.player_id.as_deref(), Some("acct-42"));
    assert!(claims.expires > unix_now() && claims.expires <= unix_now() + 60);
    assert!(TokenKey::new("other")
        .verify(token.trim(), unix_now())
        .is_err());
}
