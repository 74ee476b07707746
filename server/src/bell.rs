//! The server's shutdown signal to its sessions, rung through each session's own wake.
//!
//! # Why not a future per session
//! actix polls every future and stream an actor's context holds each time the actor's task is
//! woken — for a session about 60 times a second (an input read, a snapshot written). A
//! per-session future waiting on a shared shutdown channel was polled on every one of those wakes
//! to learn, nearly always, that nothing had happened. Instead each session registers the
//! [`crate::wake::WakeHandle`] it already has; [`ShutdownBell::ring`] marks the server down and
//! wakes every registered session, whose wake handler then sees [`ShutdownBell::is_down`] and
//! closes with 1001. A session that registers after the ring sees it at once.
//!
//! Talks to: [`crate::run`] (rings it) and the session (enters at start, leaves when it stops,
//! checks it when woken).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::wake::WakeHandle;

/// One per server; cheap to clone.
#[derive(Clone, Default)]
pub struct ShutdownBell(Arc<Inner>);

#[derive(Default)]
struct Inner {
    down: AtomicBool,
    next: AtomicU64,
    sessions: Mutex<HashMap<u64, WakeHandle>>,
}

/// A session's place on the bell; give it back with [`ShutdownBell::leave`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry(u64);

impl ShutdownBell {
    /// Session, as it starts: wake me on shutdown. Check [`ShutdownBell::is_down`] afterwards: the
    /// bell may have rung already.
    pub fn enter(&self, wake: WakeHandle) -> Entry {
        let key = self.0.next.fetch_add(1, Ordering::Relaxed);
        self.0.sessions.lock().insert(key, wake);
        Entry(key)
    }

    /// Session, as it stops.
    pub fn leave(&self, entry: Entry) {
        self.0.sessions.lock().remove(&entry.0);
    }

    /// Whether the server is shutting down.
    pub fn is_down(&self) -> bool {
        self.0.down.load(Ordering::Acquire)
    }

    /// The server is shutting down: wake every session that entered. Marks the server down
    /// *before* it looks at who entered, so a session entering meanwhile either is woken here or
    /// sees [`ShutdownBell::is_down`] itself.
    pub fn ring(&self) {
        self.0.down.store(true, Ordering::Release);
        let sessions: Vec<WakeHandle> = self.0.sessions.lock().values().cloned().collect();
        for wake in sessions {
            let _ = wake.wake();
        }
    }

    /// Sessions entered and not yet left.
    #[cfg(test)]
    fn entered(&self) -> usize {
        self.0.sessions.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    use futures_util::stream::Stream;

    use super::*;
    use crate::wake::{self, Wake, Wakes};

    fn woken(wakes: &mut Wakes) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        Pin::new(wakes).poll_next(&mut cx) == Poll::Ready(Some(Wake))
    }

    #[test]
    fn a_ring_wakes_every_session_that_entered_and_not_one_that_left() {
        let bell = ShutdownBell::default();
        let (a, mut a_wakes) = wake::channel();
        let (b, mut b_wakes) = wake::channel();
        bell.enter(a);
        let b_entry = bell.enter(b);
        bell.leave(b_entry);
        assert!(!bell.is_down());
        bell.ring();
        assert!(bell.is_down());
        assert!(woken(&mut a_wakes));
        assert!(!woken(&mut b_wakes));
    }

    #[test]
    fn nothing_is_woken_before_the_ring() {
        let bell = ShutdownBell::default();
        let (a, mut a_wakes) = wake::channel();
        bell.enter(a);
        assert!(!woken(&mut a_wakes));
        assert!(!bell.is_down());
    }

    #[test]
    fn a_session_entering_after_the_ring_finds_the_server_down() {
        let bell = ShutdownBell::default();
        bell.ring();
        let (a, _wakes) = wake::channel();
        bell.enter(a);
        assert!(bell.is_down());
    }

    #[test]
    fn leaving_gives_the_place_back() {
        let bell = ShutdownBell::default();
        let entries: Vec<Entry> = (0..3).map(|_| bell.enter(WakeHandle::nobody())).collect();
        assert_eq!(bell.entered(), 3);
        for e in entries {
            bell.leave(e);
        }
        assert_eq!(bell.entered(), 0);
    }

    #[test]
    fn a_ring_survives_a_session_that_is_already_gone() {
        let bell = ShutdownBell::default();
        let (a, wakes) = wake::channel();
        bell.enter(a);
        drop(wakes);
        bell.ring();
        assert!(bell.is_down());
    }
}
