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
//! ([`RoomThreads::Workers`]). With one worker every seat is local; with `w` workers, quick play
//! on a busy server seats players on their own thread's rooms (`registry/quick_play.rs`). A room
//! created without a session (adopted from another node, recovered from a checkpoint) goes to the
//! workers in turn.
//!
//! `--room-threads N` (N > 0) keeps the older layout, rooms spread over N threads of their own
//! ([`RoomThreads::Dedicated`]): a long tick then never delays a session's reads.
//!
//! Talks to: the registry (asks [`RoomThreads::pick`] when it starts a room) and `lib.rs` (fills
//! [`WorkerThreads`] as each HTTP worker starts).

use std::sync::Arc;
use std::thread::ThreadId;

use actix::ArbiterHandle;
use parking_lot::Mutex;

/// A thread actors can be started on: its arbiter, and its id to tell whether a room and a
/// session share it.
#[derive(Clone, Debug)]
pub struct Home {
    pub arbiter: ArbiterHandle,
    pub thread: ThreadId,
}

impl Home {
    /// The calling thread, if it runs an actix arbiter.
    pub fn current() -> Option<Home> {
        actix::Arbiter::try_current().map(|arbiter| Home {
            arbiter,
            thread: std::thread::current().id(),
        })
    }
}

/// The HTTP workers' threads, as they start (`lib.rs` registers each from the worker's app
/// factory, which runs on that worker).
#[derive(Clone, Default)]
pub struct WorkerThreads(Arc<Mutex<Vec<Home>>>);

impl WorkerThreads {
    /// Called on a worker thread as it starts (a no-op outside an actix arbiter).
    pub fn register_current(&self) {
        if let Some(home) = Home::current() {
            self.0.lock().push(home);
        }
    }

    fn nth(&self, n: usize) -> Option<Home> {
        let workers = self.0.lock();
        (!workers.is_empty()).then(|| workers[n % workers.len()].clone())
    }

    fn count(&self) -> usize {
        self.0.lock().len()
    }
}

/// Where [`RoomThreads::pick`] put a room.
pub struct Placed {
    pub arbiter: ArbiterHandle,
    /// The room's thread when it shares one with sessions (`None`: a dedicated room thread, or a
    /// worker not registered yet).
    pub thread: Option<ThreadId>,
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
    pub fn pick(&mut self, home: Option<&Home>) -> Placed {
        let on = |home: Home| Placed {
            arbiter: home.arbiter,
            thread: Some(home.thread),
        };
        match self {
            RoomThreads::Workers {
                workers,
                fallback,
                next,
            } => match home {
                Some(home) => on(home.clone()),
                None => {
                    *next += 1;
                    workers.nth(*next - 1).map_or_else(
                        || Placed {
                            arbiter: fallback.clone(),
                            thread: None,
                        },
                        on,
                    )
                }
            },
            RoomThreads::Dedicated { arbiters, next } => {
                assert!(
                    !arbiters.is_empty(),
                    "rooms should have at least one dedicated thread to run on"
                );
                *next += 1;
                Placed {
                    arbiter: arbiters[(*next - 1) % arbiters.len()].clone(),
                    thread: None,
                }
            }
        }
    }

    /// How many threads rooms share with sessions: the workers, or 0 with dedicated room threads.
    pub fn shared_with_sessions(&self) -> usize {
        match self {
            RoomThreads::Workers { workers, .. } => workers.count(),
            RoomThreads::Dedicated { .. } => 0,
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

    fn home_of(a: &Arbiter) -> Home {
        Home {
            arbiter: a.handle(),
            thread: thread_of(&a.handle()),
        }
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
            for home in [&a[1], &a[0], &a[1]].map(home_of) {
                let picked = threads.pick(Some(&home));
                assert_eq!(thread_of(&picked.arbiter), home.thread);
                assert_eq!(picked.thread, Some(home.thread), "known to share it");
            }
        });
    }

    #[test]
    fn a_room_without_a_session_goes_to_the_workers_in_turn_or_the_fallback_before_any() {
        with_arbiters(3, |a| {
            let workers = WorkerThreads::default();
            let mut threads = RoomThreads::workers(workers.clone(), a[2].handle());
            // No worker has started yet: the fallback.
            let early = threads.pick(None);
            assert_eq!(thread_of(&early.arbiter), thread_of(&a[2].handle()));
            assert_eq!(early.thread, None, "the fallback is no session's thread");
            for w in &a[..2] {
                let (workers, (tx, rx)) = (workers.clone(), mpsc::channel());
                w.spawn_fn(move || {
                    workers.register_current();
                    tx.send(()).unwrap();
                });
                rx.recv().unwrap();
            }
            assert_eq!(threads.shared_with_sessions(), 2);
            let placed: Vec<Placed> = (0..4).map(|_| threads.pick(None)).collect();
            let picked: Vec<ThreadId> = placed.iter().map(|p| thread_of(&p.arbiter)).collect();
            let (w0, w1) = (thread_of(&a[0].handle()), thread_of(&a[1].handle()));
            assert!(picked == [w1, w0, w1, w0] || picked == [w0, w1, w0, w1]);
            let told: Vec<Option<ThreadId>> = placed.iter().map(|p| p.thread).collect();
            assert_eq!(told, picked.into_iter().map(Some).collect::<Vec<_>>());
        });
    }

    #[test]
    fn dedicated_room_threads_take_rooms_in_turn_whoever_creates_them() {
        with_arbiters(3, |a| {
            let mut threads = RoomThreads::dedicated(vec![a[0].handle(), a[1].handle()]);
            let home = home_of(&a[2]);
            let placed: Vec<Placed> = (0..3).map(|_| threads.pick(Some(&home))).collect();
            assert!(placed.iter().all(|p| p.thread.is_none()));
            assert_eq!(threads.shared_with_sessions(), 0);
            let picked: Vec<ThreadId> = placed.iter().map(|p| thread_of(&p.arbiter)).collect();
            let (t0, t1) = (thread_of(&a[0].handle()), thread_of(&a[1].handle()));
            assert_eq!(picked, [t0, t1, t0]);
        });
    }
}
