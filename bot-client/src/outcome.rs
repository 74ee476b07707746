//! [`Outcome`]: what one bot of a load run hands back for the report, and the rules for booking
//! how its connections ended.
//!
//! The bot's session and play loop fill it in; [`crate::LoadRun`] adds all of them up into the
//! [`crate::Report`]. Pure: no sockets, no clocks, so each booking rule has a test.

use std::collections::BTreeMap;

use crate::close::CloseInfo;
use crate::delivery::DeliveryTracker;
use crate::error::BotError;
use crate::migration::Migrations;
use crate::resume::ResumeError;
use crate::socket::Traffic;

/// What one bot reports when it is done.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub joined: bool,
    pub room: Option<String>,
    pub tick_rate: Option<u16>,
    pub delivery: Option<DeliveryTracker>,
    /// Traffic inside the steady window.
    pub window_traffic: Traffic,
    pub errors: BTreeMap<String, u64>,
    /// The close code the server sent (join refusal, kick, or its answer to our 1000).
    pub close: Option<u16>,
    pub server_errors: BTreeMap<u16, u64>,
    pub inputs_unacked: u64,
    /// Lost connections resumed, and lost connections that could not be.
    pub resumes: u64,
    pub resume_failures: u64,
    /// Seats lost for good (the resume failed: the room's node died, or the grace ran out)
    /// after which the bot joined again as a new player through the entry URL.
    pub rejoins: u64,
    /// Other players' seats this bot saw become held (a lost connection awaiting its resume).
    pub held_seats_seen: u64,
    /// The room hand-overs this bot followed (or failed to).
    pub migrations: Migrations,
}

impl Outcome {
    /// Counts one error of `kind` (see [`BotError::kind`]).
    pub fn error(&mut self, kind: String) {
        *self.errors.entry(kind).or_default() += 1;
    }

    /// The join was not answered with a welcome: a refusal's close code is kept.
    pub fn join_failed(&mut self, e: &BotError) {
        if let BotError::Closed(c) = e {
            self.close = Some(c.code);
        }
        self.error(e.kind());
    }

    /// A connection ended while playing: a close from the server, or a failed read or write.
    /// A hand-over (4007 after a redirect: the room moved to another node) is no error: it
    /// is counted in the migrations, and as an error only if its resume fails.
    pub fn connection_ended(&mut self, e: &BotError) {
        if matches!(e, BotError::Closed(c) if c.code == tickcast_shared::close::REDIRECT) {
            return;
        }
        if e.is_connection_lost() {
            // A write that failed on a broken connection is the same loss as a read that hit
            // its EOF (whichever the bot noticed first): 1006 either way, as RFC 6455 names it.
            self.close = Some(CloseInfo::ABNORMAL);
            self.error(format!("closed_{}", CloseInfo::ABNORMAL));
            return;
        }
        if let BotError::Closed(c) = e {
            self.close = Some(c.code);
        }
        self.error(e.kind());
    }

    /// A lost connection was resumed (the loss itself was booked by
    /// [`Outcome::connection_ended`]).
    pub fn resumed(&mut self) {
        self.resumes += 1;
    }

    /// After a failed resume, the bot joined again, as a new player in `room`.
    pub fn rejoined(&mut self, room: String) {
        self.rejoins += 1;
        self.room = Some(room);
    }

    /// A lost connection could not be resumed (the bot rejoins, or ends here).
    pub fn resume_failed(&mut self, e: &ResumeError) {
        self.resume_failures += 1;
        if let Some(code) = e.close_code() {
            self.close = Some(code);
        }
        self.error(e.kind());
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::time::Duration;

    use tokio_tungstenite::tungstenite::Error as WsError;

    use super::*;

    fn closed(code: u16) -> BotError {
        BotError::Closed(CloseInfo {
            code,
            reason: String::new(),
        })
    }

    fn kinds(o: &Outcome) -> Vec<(&str, u64)> {
        o.errors.iter().map(|(k, v)| (k.as_str(), *v)).collect()
    }

    #[test]
    fn a_failed_write_on_a_broken_connection_is_booked_as_the_same_1006_loss_as_an_eof() {
        let mut by_write = Outcome::default();
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        by_write.connection_ended(&BotError::WebSocket(Box::new(WsError::Io(reset))));
        let mut by_read = Outcome::default();
        by_read.connection_ended(&closed(CloseInfo::ABNORMAL));
        for o in [&by_write, &by_read] {
            assert_eq!(o.close, Some(1006));
            assert_eq!(kinds(o), [("closed_1006", 1)]);
        }
    }

    #[test]
    fn a_close_frame_keeps_its_code_and_other_failures_leave_the_close_alone() {
        let mut o = Outcome::default();
        o.connection_ended(&closed(1008));
        assert_eq!(o.close, Some(1008));
        o.connection_ended(&BotError::Timeout {
            what: "input ack",
            after: Duration::from_secs(1),
        });
        assert_eq!(o.close, Some(1008));
        assert_eq!(kinds(&o), [("closed_1008", 1), ("timeout_input_ack", 1)]);
    }

    #[test]
    fn a_hand_over_is_not_booked_as_an_error_or_a_close() {
        let mut o = Outcome::default();
        o.connection_ended(&closed(tickcast_shared::close::REDIRECT));
        assert_eq!((o.close, kinds(&o)), (None, vec![]));
    }

    #[test]
    fn a_refused_join_keeps_the_servers_code() {
        let mut o = Outcome::default();
        o.join_failed(&closed(4004));
        assert_eq!(o.close, Some(4004));
        assert_eq!(kinds(&o), [("closed_4004", 1)]);
    }

    #[test]
    fn resumes_count_and_a_refused_one_ends_with_4005() {
        let mut o = Outcome::default();
        o.connection_ended(&closed(CloseInfo::ABNORMAL));
        o.resumed();
        o.connection_ended(&closed(CloseInfo::ABNORMAL));
        o.resume_failed(&ResumeError::Refused(CloseInfo {
            code: 4005,
            reason: String::new(),
        }));
        assert_eq!((o.resumes, o.resume_failures, o.close), (1, 1, Some(4005)));
        assert_eq!(kinds(&o), [("closed_1006", 2), ("resume_refused", 1)]);
    }
}
