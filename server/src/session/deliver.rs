//! The session's write path: what it does when its room wakes it (see `wake.rs`) — close if the
//! server is shutting down or the room asked it to (a redirect first, if the room moved), else
//! write the seat's newest snapshot unless the client has stopped reading.
//!
//! Talks to: the seat (takes the snapshot, arms the stall shutdown), the socket (the unsent-bytes
//! check) and the shutdown bell.

use super::*;

impl<G: Game> StreamHandler<Wake> for Session<G> {
    fn handle(&mut self, _: Wake, ctx: &mut Self::Context) {
        // What the room asked comes first: a room that moved away (a drain, just before this
        // node shuts down) wants its clients redirected, not closed with 1001.
        let asked = self.phase.membership().and_then(|m| {
            let close = m.seat.close_requested()?;
            Some((close, m.seat.take_redirect()))
        });
        if let Some((close, redirect)) = asked {
            // The room already removed the player: don't ask it again.
            self.phase.release();
            if let Some(to) = redirect {
                // The room moved to another node: the client resumes there with its token.
                self.send(ctx, &ServerMsg::Redirect(to));
            }
            return self.close(ctx, close);
        }
        if self.env.bell.is_down() {
            // The server is shutting down (a no-op if this session is closing already).
            return self.close(ctx, Close::ShuttingDown);
        }
        let Some(Membership { seat, .. }) = self.phase.membership() else {
            return;
        };
        // The client is not reading: leave the snapshot pending. If a newer one comes first it
        // replaces this one (a counted drop); the client gets the newest when it reads again.
        // The check is a syscall, so while the socket drains it is made only once per
        // `unsent_limit / 2` bytes written: a full pipe is noticed long before it reaches
        // `SO_SNDBUF` and actix's write buffer, which is when this actor would freeze.
        let limit = self.env.config.unsent_limit;
        if self.written_since_check >= limit / 2 {
            if let Some(fd) = self.conn {
                let unsent = fd.unsent_bytes().unwrap_or(0);
                if unsent > limit {
                    if !seat.shutdown_armed() {
                        // Give the room a way to end this connection should we freeze (a
                        // duplicate descriptor; made now, while the socket is surely open).
                        match fd.duplicate() {
                            Ok(handle) => seat.arm_shutdown(handle),
                            Err(e) => {
                                tracing::warn!(error = %e, "could not duplicate a stalled socket")
                            }
                        }
                    }
                    return;
                }
                self.written_since_check = if unsent == 0 { 0 } else { limit / 2 };
            }
        }
        if let Some(bytes) = seat.take() {
            if self.tally.frame(bytes.len()) {
                self.tally.flush(&self.env.metrics);
            }
            self.written_since_check = self.written_since_check.saturating_add(bytes.len());
            ctx.binary(bytes);
        }
    }
}
