//! [`Bot`]'s waits for scripted tests: the next snapshot, an input's acknowledgement, any event
//! a test names — each a loop over [`Bot::next_event`], the last two within a deadline.
//!
//! Conveniences on top of the bot's public read path (they use nothing else of it), kept apart
//! from the protocol client in [`crate::bot`]. The load run does not use them: it reads
//! [`Bot::next_frame`] in its own loop.

use std::future::Future;
use std::time::Duration;

use tickcast_shared::arena::ArenaSnapshot as Snapshot;

use crate::bot::{Bot, Event};
use crate::error::BotError;

impl Bot {
    /// The next snapshot, skipping pongs and non-fatal errors. A close is `Err(Closed)`.
    pub async fn next_snapshot(&mut self) -> Result<Snapshot, BotError> {
        loop {
            match self.next_event().await? {
                Event::Snapshot(s) => return Ok(s),
                // Applied by next_event; hand out the rebuilt state (if it applied).
                Event::Delta(d) => {
                    if let Some(s) = self.applied(d.tick, d.server_time_ms) {
                        return Ok(s);
                    }
                }
                Event::Packed(d) => {
                    if let Some(s) = self.applied(d.tick, d.server_time_ms) {
                        return Ok(s);
                    }
                }
                Event::Closed(c) => return Err(BotError::Closed(c)),
                _ => continue,
            }
        }
    }

    /// The state rebuilt from the delta of `tick`, if it applied.
    fn applied(&self, tick: u64, server_time_ms: u64) -> Option<Snapshot> {
        let state = self.delta_state().filter(|_| self.ack_tick() == tick)?;
        Some(Snapshot {
            tick,
            server_time_ms,
            state: state.to_state(),
        })
    }

    /// Reads snapshots until one shows this bot's `last_input >= seq`, within `timeout`.
    pub async fn wait_for_ack(
        &mut self,
        seq: u32,
        timeout: Duration,
    ) -> Result<Snapshot, BotError> {
        let fut = async {
            loop {
                let snap = self.next_snapshot().await?;
                if self.own_state(&snap).is_some_and(|p| p.last_input >= seq) {
                    return Ok(snap);
                }
            }
        };
        within(timeout, "input ack", fut).await
    }

    /// Reads until `pred` accepts an event, within `timeout` (a close ends the wait with
    /// `Err(Closed)` unless `pred` accepts it).
    pub async fn wait_for(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&Event) -> bool,
    ) -> Result<Event, BotError> {
        let fut = async {
            loop {
                let ev = self.next_event().await?;
                if pred(&ev) {
                    return Ok(ev);
                }
                if let Event::Closed(c) = ev {
                    return Err(BotError::Closed(c));
                }
            }
        };
        within(timeout, "event", fut).await
    }
}

/// `fut` within `timeout`; running out is [`BotError::Timeout`] waiting for `what`.
async fn within<T>(
    timeout: Duration,
    what: &'static str,
    fut: impl Future<Output = Result<T, BotError>>,
) -> Result<T, BotError> {
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| BotError::Timeout {
            what,
            after: timeout,
        })?
}
