//! How many sessions are running, and a way to wait until none is.
//!
//! A session holds a [`Live`] from `started` to `stopped`; [`LiveSessions::all_stopped`] resolves
//! when the last one is let go, so shutdown waits on that signal rather than polling a gauge. The
//! `tickcast_connections` gauge moves with the same guard, so the two cannot disagree.
//!
//! Talks to: [`super::Session`] (holds the guards) and [`crate::run`] (waits on shutdown).

use std::sync::Arc;

use prometheus::IntGauge;
use tokio::sync::watch;

/// The shared count of running sessions (cheap to clone: one per server).
#[derive(Clone)]
pub struct LiveSessions {
    count: Arc<watch::Sender<usize>>,
    gauge: IntGauge,
}

/// One running session, counted until dropped.
#[must_use = "the session is counted only while its guard is held"]
pub struct Live {
    sessions: LiveSessions,
}

impl LiveSessions {
    /// Counts into `gauge` as well (the `tickcast_connections` metric).
    pub fn new(gauge: IntGauge) -> Self {
        LiveSessions {
            count: Arc::new(watch::Sender::new(0)),
            gauge,
        }
    }

    /// Session, when it starts: counted until the guard is dropped.
    pub fn enter(&self) -> Live {
        self.count.send_modify(|n| *n += 1);
        self.gauge.inc();
        Live {
            sessions: self.clone(),
        }
    }

    /// Sessions running now.
    pub fn count(&self) -> usize {
        *self.count.borrow()
    }

    /// Resolves once no session is running (at once if none is).
    pub async fn all_stopped(&self) {
        let mut count = self.count.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = count.wait_for(|n| *n == 0).await;
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.sessions.gauge.dec();
        self.sessions.count.send_modify(|n| *n -= 1);
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    fn sessions() -> LiveSessions {
        LiveSessions::new(IntGauge::new("live", "test gauge").expect("a valid gauge"))
    }

    #[test]
    fn the_wait_ends_when_the_last_session_stops() {
        let live = sessions();
        let (a, b) = (live.enter(), live.enter());
        assert_eq!((live.count(), live.gauge.get()), (2, 2));
        let mut waiting = Box::pin(live.all_stopped());
        assert!((&mut waiting).now_or_never().is_none());
        drop(a);
        assert!(
            (&mut waiting).now_or_never().is_none(),
            "one session still runs"
        );
        drop(b);
        assert!(waiting.now_or_never().is_some());
        assert_eq!((live.count(), live.gauge.get()), (0, 0));
    }

    #[test]
    fn with_no_session_running_the_wait_is_over_at_once() {
        let live = sessions();
        assert!(live.all_stopped().now_or_never().is_some());
        drop(live.enter());
        assert!(live.all_stopped().now_or_never().is_some());
    }

    #[tokio::test]
    async fn a_session_stopping_on_another_thread_wakes_the_waiter() {
        let live = sessions();
        let guard = live.enter();
        let stopper = std::thread::spawn(move || drop(guard));
        tokio::time::timeout(std::time::Duration::from_secs(5), live.all_stopped())
            .await
            .expect("the waiter should be woken by the last guard's drop");
        stopper
            .join()
            .expect("the stopping thread should not panic");
    }
}
