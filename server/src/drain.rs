//! What a shutdown waits for: the WebSocket connections still open, and a signal when the last
//! one has closed.
//!
//! An upgraded connection is counted from its upgrade until the connection itself is dropped:
//! the upgrade leaves an [`Open`] guard in the connection's [`UntilClosed`] slot (one per
//! connection, made in `on_connect`), and actix drops that slot with the connection. That is after
//! the session has stopped *and* its close frame went out and the client answered it (or
//! `client_disconnect_timeout` passed), so a shutdown that waits on [`OpenConnections::all_closed`]
//! does not cut a close frame off — which waiting for the session actors alone would: their last
//! frame is still on its way when they stop, and closing a socket with unread input resets it.
//!
//! Talks to: [`crate::run`] (makes the slots, waits on shutdown) and [`crate::http`] (the upgrade
//! fills the slot).

use std::cell::Cell;
use std::sync::Arc;

use tokio::sync::watch;

/// The count of open upgraded connections (cheap to clone: one per server).
#[derive(Clone, Default)]
pub struct OpenConnections {
    count: Arc<watch::Sender<usize>>,
}

/// One open connection, counted until dropped.
#[must_use = "the connection is counted only while its guard is held"]
pub struct Open {
    count: Arc<watch::Sender<usize>>,
}

/// A connection's slot for its [`Open`] guard: it drops with the connection.
#[derive(Default)]
pub struct UntilClosed(Cell<Option<Open>>);

impl OpenConnections {
    /// A connection was upgraded: counted until the guard is dropped.
    pub fn enter(&self) -> Open {
        self.count.send_modify(|n| *n += 1);
        Open {
            count: self.count.clone(),
        }
    }

    /// Connections open now.
    pub fn count(&self) -> usize {
        *self.count.borrow()
    }

    /// Resolves once no counted connection is open (at once if none is).
    pub async fn all_closed(&self) {
        let mut count = self.count.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = count.wait_for(|n| *n == 0).await;
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.count.send_modify(|n| *n -= 1);
    }
}

impl UntilClosed {
    /// Upgrade: keep `open` until this connection is dropped.
    pub fn hold(&self, open: Open) {
        self.0.set(Some(open));
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    #[test]
    fn the_wait_ends_when_the_last_connection_closes() {
        let open = OpenConnections::default();
        let (a, b) = (open.enter(), open.enter());
        assert_eq!(open.count(), 2);
        let mut waiting = Box::pin(open.all_closed());
        assert!((&mut waiting).now_or_never().is_none());
        drop(a);
        assert!((&mut waiting).now_or_never().is_none(), "one is still open");
        drop(b);
        assert!(waiting.now_or_never().is_some());
        assert_eq!(open.count(), 0);
    }

    #[test]
    fn with_nothing_open_the_wait_is_over_at_once() {
        let open = OpenConnections::default();
        assert!(open.all_closed().now_or_never().is_some());
        drop(open.enter());
        assert!(open.all_closed().now_or_never().is_some());
    }

    #[test]
    fn a_held_guard_counts_until_its_connection_slot_drops() {
        let open = OpenConnections::default();
        let slot = UntilClosed::default();
        slot.hold(open.enter());
        assert_eq!(open.count(), 1);
        drop(slot);
        assert_eq!(open.count(), 0);
    }

    #[tokio::test]
    async fn a_connection_closing_on_another_thread_wakes_the_waiter() {
        let open = OpenConnections::default();
        let guard = open.enter();
        let closer = std::thread::spawn(move || drop(guard));
        tokio::time::timeout(std::time::Duration::from_secs(5), open.all_closed())
            .await
            .expect("the waiter should be woken by the last guard's drop");
        closer.join().expect("the closing thread should not panic");
    }
}
