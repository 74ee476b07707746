//! Which thread a new room runs on.
//!
//! # Why rooms run on the session threads by default
//! Each tick a room wakes every session it feeds (`seat::Wake`). A session on another thread is a
//! cross-thread wake: the room's thread pushes into that thread's queue and, if it sleeps in
//! `epoll_wait`, writes its eventfd; the woken thread switches in, writes the frame and sleeps
//! again. On a loaded server that was the largest item of tickcast's CPU above a bare tokio server
//! (BENCHMARKS.md, "Yardstick": 4.8–5.9 context switches per client per second against 0.75–1.6).
//! A session on the room's own thread is woken by pushing onto a local run queue: no syscall, no
//! switch. Sessions cannot move (each TCP connection belongs to the HTTP worker that accepted it),
//! so the room moves to them: it starts on the thread of the session whose join created it
//! ([`RoomThreads::Workers`]). With one worker every seat is local; with `w` workers and
//! connections spread evenly, about `1/w` of a room's seats are (quick play fills rooms in order,
//! whoever accepted the connection). A room created without a session (adopted from another node,
//! recovered from a checkpoint) goes to the workers in turn.
//!
//! `--room-threads N` (N > 0) keeps the older layout, rooms spread over N threads of their own
//! ([`RoomThreads::Dedicated`]): a long tick then never delays a session's reads.
//!
//! Talks to: the registry (asks [`RoomThreads::pick`] when it starts a room) and `lib.rs` (fills
//! [`WorkerThreads`] as each HTTP worker starts).

use std::sync::Arc;

use actix::ArbiterHandle;
use parking_lot::Mutex;

/// The HTTP workers' threads, as they start (`lib.rs` registers each from the worker's app
/// factory, which runs on that worker).
#[derive(Clone, Default)]
pub struct WorkerThreads(Arc<Mutex<Vec<ArbiterHandle>>>);

impl WorkerThreads {
    /// Called on a worker thread as it starts (a no-op outside an actix arbiter).
    pub fn register_current(&self) {
        if let Some(handle) = actix::Arbiter::try_current() {
            self.0.lock().push(handle);
        }
    }

    fn nth(&self, n: usize) -> Option<ArbiterHandle> {
        let workers = self.0.lock();
        (!workers.is_empty()).then(|| workers[n % workers.len()].clone())
    }
}

/// Where rooms run.
pub enum RoomThreads {
    /// On the thread of the session that created the room, else the workers in turn.
    Workers {
        workers: WorkerThreads,
        /// Used until a worker has registered (a room adopted during start-up).
        fallback: ArbiterHandle,
        next: usize,
    },
    /// Spread over threads of their own, in turn.
    Dedicated {
        arbiters: Vec<ArbiterHandle>,
        next: usize,
    },
}

impl RoomThreads {
    /// Rooms on the workers' threads; `fallback` until a worker has registered.
    pub fn workers(workers: WorkerThreads, fallback: ArbiterHandle) -> Self {
        RoomThreads::Workers {
            workers,
            fallback,
            next: 0,
        }
    }

    /// Rooms spread over `arbiters`, in turn.
    pub fn dedicated(arbiters: Vec<ArbiterHandle>) -> Self {
        RoomThreads::Dedicated { arbiters, next: 0 }
    }

    /// The thread for a new room; `home` is the creating session's thread, if a session created it.
    pub fn pick(&mut self, home: Option<&ArbiterHandle>) -> ArbiterHandle {
        match self {
            RoomThreads::Workers {
                workers,
                fallback,
                next,
            } => match home {
                Some(home) => home.clone(),
                None => {
                    *next += 1;
                    workers.nth(*next - 1).unwrap_or_else(|| fallback.clone())
                }
            },
            RoomThreads::Dedicated { arbiters, next } => {
                assert!(
                    !arbiters.is_empty(),
                    "rooms should have at least one dedicated thread to run on"
                );
                *next += 1;
                arbiters[(*next - 1) % arbiters.len()].clone()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::thread::ThreadId;

    use actix::Arbiter;

    use super::*;

    /// The thread `handle` runs its tasks on.
    fn thread_of(handle: &ArbiterHandle) -> ThreadId {
        let (tx, rx) = mpsc::channel();
        assert!(handle.spawn_fn(move || tx.send(std::thread::current().id()).unwrap()));
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("an arbiter should run a task within 5 s")
    }

    fn with_arbiters(n: usize, test: impl FnOnce(&[Arbiter])) {
        let _system = actix::System::new();
        let arbiters: Vec<Arbiter> = (0..n).map(|_| Arbiter::new()).collect();
        test(&arbiters);
        for a in arbiters {
            a.stop();
        }
    }

    #[test]
    fn a_room_made_by_a_session_runs_on_that_sessions_thread() {
        with_arbiters(3, |a| {
            let workers = WorkerThreads::default();
            for w in &a[..2] {
                let workers = workers.clone();
                w.spawn_fn(move || workers.register_current());
            }
            let mut threads = RoomThreads::workers(workers, a[2].handle());
            for home in [&a[1], &a[0], &a[1]] {
                let picked = threads.pick(Some(&home.handle()));
                assert_eq!(thread_of(&picked), thread_of(&home.handle()));
            }
        });
    }

    #[test]
    fn a_room_without_a_session_goes_to_the_workers_in_turn_or_the_fallback_before_any() {
        with_arbiters(3, |a| {
            let workers = WorkerThreads::default();
            let mut threads = RoomThreads::workers(workers.clone(), a[2].handle());
            // No worker has started yet: the fallback.
            assert_eq!(thread_of(&threads.pick(None)), thread_of(&a[2].handle()));
            for w in &a[..2] {
                let (workers, (tx, rx)) = (workers.clone(), mpsc::channel());
                w.spawn_fn(move || {
                    workers.register_current();
                    tx.send(()).unwrap();
                });
                rx.recv().unwrap();
            }
            let picked: Vec<ThreadId> = (0..4).map(|_| thread_of(&threads.pick(None))).collect();
            let (w0, w1) = (thread_of(&a[0].handle()), thread_of(&a[1].handle()));
            assert!(picked == [w1, w0, w1, w0] || picked == [w0, w1, w0, w1]);
        });
    }

    #[test]
    fn dedicated_room_threads_take_rooms_in_turn_whoever_creates_them() {
        with_arbiters(3, |a| {
            let mut threads = RoomThreads::dedicated(vec![a[0].handle(), a[1].handle()]);
            let home = a[2].handle();
            let picked: Vec<ThreadId> = (0..3)
                .map(|_| thread_of(&threads.pick(Some(&home))))
                .collect();
            let (t0, t1) = (thread_of(&a[0].handle()), thread_of(&a[1].handle()));
            assert_eq!(picked, [t0, t1, t0]);
        });
    }
}
