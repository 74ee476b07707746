//! [`ResumePolicy`], [`Resumed`] and [`ResumeError`]: getting a bot's player back after its
//! connection was lost (`shared/PROTOCOL.md`, *Resume*).
//!
//! Which ends are worth a resume follows from what the server does with the seat:
//!
//! | how the connection ended | seat | resume? |
//! |---|---|---|
//! | no close frame (reset, EOF, I/O error: code 1006) | held for `--resume-grace` | yes |
//! | 4006: the server heard nothing from the bot for its client timeout | held | yes |
//! | any close frame from the server (1001 shutdown, 1008, 1011, 4004 …) | already removed, token void | no: it could only be refused with 4005 |
//! | our own close | removed | no |
//!
//! | 4007 after a [`tickcast_shared::Redirect`]: the room is on another node (a hand-over) | held there | yes, at the redirect's URL |
//!
//! So only 1006, 4006 and 4007 are treated as a lost connection ([`CloseInfo::is_lost`],
//! [`BotError::is_connection_lost`]). In particular 1001 on a server shutdown is not retried: a
//! bot must not keep knocking on a server that is going away.
//!
//! The resume join names the welcome's room (the server keeps the seat's room and name; a
//! cluster node routes on it), and every attempt follows redirects as a join does
//! ([`crate::redirect::Hops`]), starting with the one that ended the connection, if any.
//!
//! A resume is bounded ([`ResumePolicy`]): a few attempts, a short doubling backoff with jitter
//! (so thousands of bots cut at the same moment do not reconnect in lockstep), one overall
//! budget kept below the server's default 15 s grace. A 4005 ends it at once: the seat is gone
//! and asking again cannot bring it back. What to do then is the caller's choice; the load run
//! gives the bot up (see [`crate::LoadConfig::resume`]).

use std::time::{Duration, Instant};

use tickcast_shared::PlayerId;

use crate::bot::Bot;
use crate::close::CloseInfo;
use crate::error::BotError;
use crate::redirect::Hops;

/// How a bot tries to get its player back after losing its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResumePolicy {
    /// Attempts at most (each a new TCP connection, handshake and `Join.resume`); 0 = never.
    pub attempts: u32,
    /// Wait before the second attempt; doubled for each further one (the first goes at once:
    /// a reset is usually over by the time it is noticed). Each wait is scaled by a random
    /// factor in 0.5..1.
    pub backoff: Duration,
    /// Time one attempt may take: connect + handshake + welcome.
    pub attempt_timeout: Duration,
    /// Time all attempts together may take, waits included. Keep it below the server's
    /// `--resume-grace` (15 s by default): after that the answer can only be 4005.
    pub budget: Duration,
}

impl Default for ResumePolicy {
    /// 3 attempts, 250 ms backoff, 5 s per attempt, 10 s in all.
    fn default() -> Self {
        ResumePolicy {
            attempts: 3,
            backoff: Duration::from_millis(250),
            attempt_timeout: Duration::from_secs(5),
            budget: Duration::from_secs(10),
        }
    }
}

impl ResumePolicy {
    /// A policy that never resumes.
    pub fn never() -> Self {
        ResumePolicy {
            attempts: 0,
            ..ResumePolicy::default()
        }
    }

    /// Whether this policy tries at all.
    pub fn enabled(&self) -> bool {
        self.attempts > 0 && !self.budget.is_zero()
    }

    /// Whether a connection that ended with `e` is worth a resume under this policy: only a
    /// lost one (see the table above), only if the policy tries at all, and only with a token to
    /// resume with (`has_token`: the welcome carried one).
    pub fn should_resume(&self, e: &BotError, has_token: bool) -> bool {
        e.is_connection_lost() && self.enabled() && has_token
    }

    /// The wait before attempt `attempt` (1-based), for a random `jitter` in 0..1: none before
    /// the first, then `backoff × 2^(attempt − 2) × (0.5 + jitter / 2)`.
    pub fn delay_before(&self, attempt: u32, jitter: f64) -> Duration {
        if attempt <= 1 {
            return Duration::ZERO;
        }
        let doubling = 2u32.saturating_pow((attempt - 2).min(16));
        let factor = 0.5 + jitter.clamp(0.0, 1.0) / 2.0;
        self.backoff.saturating_mul(doubling).mul_f64(factor)
    }
}

/// A successful resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resumed {
    /// Attempts it took (1 = the first one).
    pub attempts: u32,
    /// From the call to the welcome, waits included.
    pub elapsed: Duration,
}

/// Why a resume did not bring the player back.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// The bot never joined, so there is no player to get back.
    #[error("nothing to resume: the bot has not joined")]
    NotJoined,
    /// The server's welcome carried no resume token (a server without resume support).
    #[error("the server's welcome carried no resume token")]
    NoToken,
    /// The server refused the token with 4005: the grace period is over (or the token was
    /// voided). The seat is gone; only a fresh join (without the token) gets a new player.
    #[error("resume refused ({0}): the seat is gone; join again without the token")]
    Refused(CloseInfo),
    /// The server answered an attempt with another close (1001 shutting down, 1008 …): a
    /// deliberate answer, so no further attempt is made.
    #[error("the server closed the resume attempt: {0}")]
    Closed(CloseInfo),
    /// The server welcomed the bot as another player (a server bug; that connection is closed).
    #[error("the server resumed player {got}, not {expected}")]
    WrongPlayer { expected: PlayerId, got: PlayerId },
    /// Every attempt failed without an answer from the server (refused TCP connections,
    /// timeouts, dropped handshakes …), or the budget ran out.
    #[error("gave up resuming after {attempts} attempt(s) in {elapsed:?}: {last}")]
    GaveUp {
        attempts: u32,
        elapsed: Duration,
        #[source]
        last: Box<BotError>,
    },
}

impl ResumeError {
    /// A short stable label for counting failures by kind in a report.
    pub fn kind(&self) -> String {
        match self {
            ResumeError::NotJoined => "resume_not_joined".into(),
            ResumeError::NoToken => "resume_no_token".into(),
            ResumeError::Refused(_) => "resume_refused".into(),
            ResumeError::Closed(c) => format!("resume_closed_{}", c.code),
            ResumeError::WrongPlayer { .. } => "resume_wrong_player".into(),
            ResumeError::GaveUp { .. } => "resume_gave_up".into(),
        }
    }

    /// The close code the server ended the last attempt with, if it sent one.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            ResumeError::Refused(c) | ResumeError::Closed(c) => Some(c.code),
            _ => None,
        }
    }
}

impl Bot {
    /// Gets this bot's player back after its connection was lost (see [`crate::resume`] for
    /// which ends qualify): reconnects to [`Bot::url`] (or where the redirect that ended the
    /// connection points, following redirects as a join does) and repeats the join with the
    /// welcome's resume token and room, up to `policy.attempts` times within `policy.budget`. A 4005 answer (the
    /// grace period is over) ends it at once with [`ResumeError::Refused`].
    ///
    /// On success the bot carries on over the new connection as the same player: the welcome
    /// is the resume's (same player id, room and token), traffic keeps adding up, and
    /// [`Bot::last_seq`] and [`Bot::newest_tick`] continue where they were. The seq must: the
    /// server checks it per connection (any seq is new to a fresh one) but acknowledges per
    /// player, so restarting at 1 would move the player's `last_input` backwards and every
    /// later input up to the old seq would look acknowledged before it was applied.
    ///
    /// On failure the bot is left as it was (ended). Cancel-safe: nothing changes until an
    /// attempt has succeeded.
    pub async fn resume(&mut self, policy: &ResumePolicy) -> Result<Resumed, ResumeError> {
        let started = Instant::now();
        let expected = self.player_id().ok_or(ResumeError::NotJoined)?;
        let token = self.resume_token().ok_or(ResumeError::NoToken)?.to_string();
        let mut join = self.sent_join().cloned().ok_or(ResumeError::NotJoined)?;
        join.resume = Some(token);
        join.room = Some(self.welcome().room_id.clone());
        // A connection ended by a redirect (a hand-over) resumes where it points, at once.
        let mut hops = Hops::default();
        let (url, join) = match self.redirected() {
            Some(r) => hops
                .follow(r, self.url(), &join)
                .map_err(|e| ResumeError::GaveUp {
                    attempts: 0,
                    elapsed: started.elapsed(),
                    last: Box::new(e.into()),
                })?,
            None => (self.url().to_string(), join),
        };
        let deadline = started + policy.budget;
        let mut attempts = 0;
        let mut last: Option<BotError> = None;
        while attempts < policy.attempts {
            let delay = policy.delay_before(attempts + 1, rand::random());
            if Instant::now() + delay >= deadline {
                break;
            }
            tokio::time::sleep(delay).await;
            attempts += 1;
            let timeout = policy
                .attempt_timeout
                .min(deadline.saturating_duration_since(Instant::now()));
            let connect = Bot::connect_following(url.clone(), join.clone(), timeout, hops);
            let attempt =
                tokio::time::timeout(timeout, connect)
                    .await
                    .unwrap_or(Err(BotError::Timeout {
                        what: "resume",
                        after: timeout,
                    }));
            let e = match attempt {
                Ok(fresh) => {
                    let got = fresh.player_id();
                    if got != Some(expected) {
                        let mut fresh = fresh;
                        let _ = fresh.close_with(1000, "not my player").await;
                        return Err(ResumeError::WrongPlayer {
                            expected,
                            got: got.unwrap_or_default(),
                        });
                    }
                    self.set_url(fresh.url());
                    self.adopt(fresh);
                    let elapsed = started.elapsed();
                    tracing::info!(player_id = %expected, attempts, elapsed_ms = elapsed.as_millis() as u64, "resumed");
                    return Ok(Resumed { attempts, elapsed });
                }
                Err(e) => e,
            };
            tracing::debug!(player_id = %expected, attempt = attempts, error = %e, "resume attempt failed");
            match after_failure(&e) {
                AfterFailure::Retry => last = Some(e),
                AfterFailure::Stop(refusal) => {
                    tracing::info!(player_id = %expected, attempts, error = %refusal, "resume refused");
                    return Err(refusal);
                }
                AfterFailure::GiveUp => {
                    last = Some(e);
                    break;
                }
            }
        }
        let elapsed = started.elapsed();
        let last = last.unwrap_or(BotError::Timeout {
            what: "resume",
            after: policy.budget,
        });
        tracing::info!(player_id = %expected, attempts, error = %last, "gave up resuming");
        Err(ResumeError::GaveUp {
            attempts,
            elapsed,
            last: Box::new(last),
        })
    }
}

/// What to do after one failed attempt.
#[derive(Debug)]
pub(crate) enum AfterFailure {
    /// Worth another attempt (the network, not the server, said no).
    Retry,
    /// The server answered; stop with this error.
    Stop(ResumeError),
    /// Retrying cannot help (a refused upgrade, a server we cannot understand).
    GiveUp,
}

/// Classifies a failed attempt. A close frame is an answer (4005: refused; anything else but
/// 1006: a deliberate close); connection failures and timeouts are retried, except HTTP
/// refusals other than 429/503 (a bad or expired join token does not get better by asking
/// again).
pub(crate) fn after_failure(e: &BotError) -> AfterFailure {
    use tokio_tungstenite::tungstenite::Error as E;
    match e {
        BotError::Closed(c) if c.code == tickcast_shared::close::RESUME_REFUSED => {
            AfterFailure::Stop(ResumeError::Refused(c.clone()))
        }
        BotError::Closed(c) if !c.is_lost() => AfterFailure::Stop(ResumeError::Closed(c.clone())),
        BotError::Closed(_) | BotError::Timeout { .. } | BotError::WebSocket(_) => {
            AfterFailure::Retry
        }
        BotError::Connect(inner) => match inner.as_ref() {
            E::Http(r) if !matches!(r.status().as_u16(), 429 | 503) => AfterFailure::GiveUp,
            _ => AfterFailure::Retry,
        },
        BotError::Url { .. }
        | BotError::Decode(_)
        | BotError::Scan(_)
        | BotError::Encode(_)
        | BotError::Protocol(_)
        | BotError::Redirect(_) => AfterFailure::GiveUp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(code: u16) -> BotError {
        BotError::Closed(CloseInfo {
            code,
            reason: String::new(),
        })
    }

    #[test]
    fn backoff_doubles_with_jitter_and_the_first_attempt_goes_at_once() {
        let p = ResumePolicy::default();
        assert_eq!(p.delay_before(1, 0.7), Duration::ZERO);
        assert_eq!(p.delay_before(2, 1.0), Duration::from_millis(250));
        assert_eq!(p.delay_before(2, 0.0), Duration::from_millis(125));
        assert_eq!(p.delay_before(3, 1.0), Duration::from_millis(500));
        assert_eq!(p.delay_before(4, 1.0), Duration::from_millis(1000));
        // Huge attempt numbers saturate instead of overflowing.
        assert!(p.delay_before(u32::MAX, 1.0) > Duration::from_secs(60));
        // The default policy's waits and attempts fit in its budget, and the budget in the
        // server's default 15 s grace.
        let waits: Duration = (1..=p.attempts).map(|a| p.delay_before(a, 1.0)).sum();
        assert!(waits < p.budget && p.budget < Duration::from_secs(15));
        assert!(!ResumePolicy::never().enabled() && p.enabled());
    }

    #[test]
    fn a_resume_is_tried_only_for_a_lost_connection_with_a_token_under_a_policy_that_tries() {
        let p = ResumePolicy::default();
        assert!(p.should_resume(&close(1006), true));
        assert!(p.should_resume(&close(4006), true));
        assert!(
            p.should_resume(&close(4007), true),
            "a redirect: resumed where it points"
        );
        assert!(!p.should_resume(&close(1006), false), "no token");
        assert!(!ResumePolicy::never().should_resume(&close(1006), true));
        for code in [1000, 1001, 1008, 4004, 4005] {
            assert!(!p.should_resume(&close(code), true), "{code}");
        }
        let timeout = BotError::Timeout {
            what: "input ack",
            after: Duration::from_secs(1),
        };
        assert!(!p.should_resume(&timeout, true));
    }

    #[test]
    fn only_a_connection_lost_without_a_close_frame_is_retried() {
        assert!(matches!(after_failure(&close(1006)), AfterFailure::Retry));
        assert!(matches!(
            after_failure(&close(4005)),
            AfterFailure::Stop(ResumeError::Refused(c)) if c.code == 4005
        ));
        // Lost, or timed out by the server (seat held): worth another attempt.
        for code in [1006, 4006] {
            assert!(close(code).is_connection_lost(), "{code}");
            assert!(
                matches!(after_failure(&close(code)), AfterFailure::Retry),
                "{code}"
            );
        }
        for code in [1000, 1001, 1008, 1011, 4004] {
            assert!(!close(code).is_connection_lost(), "{code}");
            assert!(
                matches!(after_failure(&close(code)), AfterFailure::Stop(ResumeError::Closed(c)) if c.code == code),
                "{code}"
            );
        }
        let timeout = BotError::Timeout {
            what: "welcome",
            after: Duration::from_secs(1),
        };
        assert!(matches!(after_failure(&timeout), AfterFailure::Retry));
        assert!(matches!(
            after_failure(&BotError::Protocol("x".into())),
            AfterFailure::GiveUp
        ));
        assert_eq!(
            ResumeError::Refused(CloseInfo {
                code: 4005,
                reason: String::new()
            })
            .kind(),
            "resume_refused"
        );
    }
}
