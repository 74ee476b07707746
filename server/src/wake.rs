//! Room → session wake-ups: a flag and a waker per session, instead of a message per wake.
//!
//! # Why not the actor mailbox
//! The room wakes every session it feeds once per tick ("your seat has something": the data
//! waits in the seat, see `seat.rs`). Through actix's mailbox each wake was a boxed envelope
//! allocated on the room's thread and freed on the session's, a queue push and pop, and a task
//! wake — tens of thousands a second at 1,000 clients (BENCHMARKS.md, "Yardstick": actix's mailbox
//! was 5 % of the server's CPU). A wake carries no data, so all it needs is a flag:
//! [`WakeHandle::wake`] sets it and wakes the session's task only if it was clear; the session
//! polls [`Wakes`] (a stream its actor context polls with its other streams), which clears it and
//! yields one [`Wake`]. Wakes coalesce exactly as the old capacity-1 mailbox did ("a wake is
//! already queued"), with no allocation and no queue.
//!
//! When the session's actor stops, its context drops [`Wakes`], and every [`WakeHandle::wake`]
//! from then on answers [`SessionGone`], as a closed mailbox did: the room holds the seat for a
//! resume.
//!
//! Talks to: the session (makes the pair at start, polls [`Wakes`]), the registry (passes the
//! [`WakeHandle`] along with a join) and the room (keeps it per member and calls
//! [`WakeHandle::wake`]).

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::stream::Stream;
use futures_util::task::AtomicWaker;

/// What [`Wakes`] yields: "your seat has something for you" (a snapshot, or a close request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wake;

/// The session is gone: its [`Wakes`] was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the session is gone")]
pub struct SessionGone;

#[derive(Default)]
struct Signal {
    pending: AtomicBool,
    gone: AtomicBool,
    waker: AtomicWaker,
}

/// The room's side: wakes one session. Cheap to clone; all clones wake the same session.
#[derive(Clone)]
pub struct WakeHandle(Arc<Signal>);

/// The session's side: a stream of [`Wake`]s that never ends while the handle lives.
pub struct Wakes(Arc<Signal>);

/// A connected pair for one session.
pub fn channel() -> (WakeHandle, Wakes) {
    let signal = Arc::new(Signal::default());
    (WakeHandle(signal.clone()), Wakes(signal))
}

impl WakeHandle {
    /// A handle that wakes nobody and never reports the session gone: a seat held for a player
    /// who has not resumed yet (a room restored from an image).
    pub fn nobody() -> Self {
        WakeHandle(Arc::new(Signal::default()))
    }

    /// Wakes the session unless a wake is already pending; [`SessionGone`] once its actor has
    /// stopped. Any thread.
    pub fn wake(&self) -> Result<(), SessionGone> {
        if self.0.gone.load(Ordering::Acquire) {
            return Err(SessionGone);
        }
        if !self.0.pending.swap(true, Ordering::AcqRel) {
            self.0.waker.wake();
        }
        Ok(())
    }
}

impl Stream for Wakes {
    type Item = Wake;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Wake>> {
        if self.0.pending.swap(false, Ordering::AcqRel) {
            return Poll::Ready(Some(Wake));
        }
        // Register, then look again: a wake between the first look and the registration would
        // otherwise be missed (it woke the previous waker, or none).
        self.0.waker.register(cx.waker());
        if self.0.pending.swap(false, Ordering::AcqRel) {
            Poll::Ready(Some(Wake))
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Wakes {
    fn drop(&mut self) {
        self.0.gone.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::task::{Wake as TaskWake, Waker};

    use super::*;

    /// A task waker that counts its wakes.
    #[derive(Default)]
    struct Counted(AtomicUsize);

    impl TaskWake for Counted {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn poll(wakes: &mut Wakes, waker: &Waker) -> Poll<Option<Wake>> {
        Pin::new(wakes).poll_next(&mut Context::from_waker(waker))
    }

    #[test]
    fn wakes_between_two_polls_coalesce_into_one_and_wake_the_task_once() {
        let (handle, mut wakes) = channel();
        let counted = Arc::new(Counted::default());
        let waker = Waker::from(counted.clone());
        assert_eq!(poll(&mut wakes, &waker), Poll::Pending);
        for _ in 0..5 {
            assert_eq!(handle.wake(), Ok(()));
        }
        assert_eq!(
            counted.0.load(Ordering::Relaxed),
            1,
            "one task wake for five"
        );
        assert_eq!(poll(&mut wakes, &waker), Poll::Ready(Some(Wake)));
        assert_eq!(
            poll(&mut wakes, &waker),
            Poll::Pending,
            "and one Wake for five"
        );
    }

    #[test]
    fn a_wake_after_the_session_took_the_last_one_wakes_it_again() {
        let (handle, mut wakes) = channel();
        let counted = Arc::new(Counted::default());
        let waker = Waker::from(counted.clone());
        for round in 1..=3 {
            assert_eq!(poll(&mut wakes, &waker), Poll::Pending);
            handle.wake().expect("the session is alive");
            assert_eq!(counted.0.load(Ordering::Relaxed), round);
            assert_eq!(poll(&mut wakes, &waker), Poll::Ready(Some(Wake)));
        }
    }

    #[test]
    fn a_wake_before_the_first_poll_is_not_lost() {
        let (handle, mut wakes) = channel();
        handle.wake().expect("the session is alive");
        let waker = Waker::from(Arc::new(Counted::default()));
        assert_eq!(poll(&mut wakes, &waker), Poll::Ready(Some(Wake)));
    }

    #[test]
    fn once_the_session_side_is_dropped_every_wake_reports_it_gone() {
        let (handle, wakes) = channel();
        let clone = handle.clone();
        drop(wakes);
        assert_eq!(handle.wake(), Err(SessionGone));
        assert_eq!(clone.wake(), Err(SessionGone));
    }

    #[test]
    fn a_held_seats_handle_wakes_nobody_and_is_never_gone() {
        let nobody = WakeHandle::nobody();
        assert_eq!(nobody.wake(), Ok(()));
        assert_eq!(nobody.wake(), Ok(()));
    }
}
