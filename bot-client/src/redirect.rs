//! [`Hops`]: following a server's [`Redirect`] (`shared/PROTOCOL.md`, *Redirect*) — where the
//! next connection goes, with which join, and when to stop.
//!
//! A pure unit: it takes the redirect, the URL the bot was on and the join it sent, and answers
//! the URL and join of the next attempt. [`crate::Bot::connect`] (a join) and
//! [`crate::Bot::resume`] (a resume, or a hand-over while playing) both drive one, so a fresh
//! join and a resume follow a redirect the same way. It knows nothing of sockets.
//!
//! The rules:
//! - only to an absolute `ws://` or `wss://` URL ([`Redirect::check`]); anything else is refused
//!   and not followed;
//! - at once (no backoff: the seat, if any, is held on the room's node), with the same join
//!   naming the redirect's room ([`Redirect::join`]: same name, resume token and `deltas`);
//! - the join token of the URL the bot came from (`?token=`) goes along when the redirect's URL
//!   has none: every node of a cluster checks the same tokens, and a player name is bound to it;
//! - at most [`Redirect::MAX_HOPS`] in a row: one [`Hops`] lives for one connect (or resume),
//!   which a Welcome ends.

use tickcast_shared::{Join, Redirect, RedirectError};

/// The redirects followed so far in one connect (or resume), and the rule for the next one.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Hops {
    followed: u32,
}

impl Hops {
    /// Redirects followed so far.
    pub fn followed(&self) -> u32 {
        self.followed
    }

    /// Where to connect next after `redirect` arrived on a connection to `from_url` that sent
    /// `join`: the redirect's URL (with `from_url`'s join token, if it had one and the new URL
    /// does not) and the join to send there. Counts the hop; refuses a URL that is not
    /// `ws://`/`wss://` and a hop over [`Redirect::MAX_HOPS`].
    pub fn follow(
        &mut self,
        redirect: &Redirect,
        from_url: &str,
        join: &Join,
    ) -> Result<(String, Join), RedirectError> {
        redirect.check()?;
        if self.followed >= Redirect::MAX_HOPS {
            return Err(RedirectError::TooManyHops {
                hops: self.followed + 1,
                url: redirect.url.clone(),
            });
        }
        self.followed += 1;
        let url = match (query_token(from_url), query_token(&redirect.url)) {
            (Some(token), None) => crate::join_token::with_token(&redirect.url, token),
            _ => redirect.url.clone(),
        };
        Ok((url, redirect.join(join)))
    }
}

/// The node `url` names: the URL without its query (a fresh join token changes the query, not
/// the node).
pub(crate) fn node_of(url: &str) -> &str {
    url.split_once('?').map_or(url, |(node, _)| node)
}

/// The `token` query parameter of `url`, if it has one.
fn query_token(url: &str) -> Option<&str> {
    let query = url.split_once('?')?.1;
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to(url: &str) -> Redirect {
        Redirect {
            url: url.into(),
            room_id: "r1".into(),
        }
    }

    fn resume_join() -> Join {
        Join {
            resume: Some("tok".into()),
            ..Join::any_room("alice").with_deltas()
        }
    }

    #[test]
    fn a_redirect_goes_to_its_url_with_the_same_join_naming_its_room() {
        let mut hops = Hops::default();
        let (url, join) = hops
            .follow(
                &to("ws://10.0.0.2:8080/ws"),
                "ws://entry/ws",
                &resume_join(),
            )
            .expect("a ws:// redirect should be followed");
        assert_eq!(url, "ws://10.0.0.2:8080/ws");
        assert_eq!(join.room.as_deref(), Some("r1"));
        assert_eq!(join.name, "alice");
        assert_eq!(join.resume.as_deref(), Some("tok"));
        assert!(join.deltas);
        assert_eq!(hops.followed(), 1);
    }

    #[test]
    fn the_join_token_goes_along_unless_the_redirect_carries_its_own() {
        let join = Join::room("r0", "alice");
        let mut hops = Hops::default();
        let (url, _) = hops
            .follow(&to("wss://b/n/2/ws"), "wss://lb/ws?token=t.x", &join)
            .expect("should follow");
        assert_eq!(url, "wss://b/n/2/ws?token=t.x");
        let (url, _) = hops
            .follow(
                &to("wss://c/ws?token=own"),
                "wss://lb/ws?a=1&token=t.x",
                &join,
            )
            .expect("should follow");
        assert_eq!(url, "wss://c/ws?token=own");
        let (url, _) = hops
            .follow(&to("ws://d/ws"), "ws://lb/ws?tokenish=1", &join)
            .expect("should follow");
        assert_eq!(url, "ws://d/ws");
    }

    #[test]
    fn a_node_is_its_url_without_the_join_token() {
        assert_eq!(node_of("ws://a:1/ws?token=t.x"), "ws://a:1/ws");
        assert_eq!(node_of("ws://a:1/ws"), "ws://a:1/ws");
    }

    #[test]
    fn three_hops_in_a_row_are_followed_and_the_fourth_is_refused() {
        let mut hops = Hops::default();
        for _ in 0..Redirect::MAX_HOPS {
            hops.follow(&to("ws://a/ws"), "ws://b/ws", &resume_join())
                .expect("a hop within the limit should be followed");
        }
        assert_eq!(
            hops.follow(&to("ws://a/ws"), "ws://b/ws", &resume_join()),
            Err(RedirectError::TooManyHops {
                hops: 4,
                url: "ws://a/ws".into()
            })
        );
        assert_eq!(hops.followed(), 3);
    }

    #[test]
    fn a_redirect_that_is_not_to_a_websocket_url_is_refused_and_not_counted() {
        let mut hops = Hops::default();
        assert_eq!(
            hops.follow(&to("http://a/ws"), "ws://b/ws", &resume_join()),
            Err(RedirectError::NotWebSocket {
                url: "http://a/ws".into()
            })
        );
        assert_eq!(hops.followed(), 0);
    }
}
