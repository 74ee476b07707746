//! Which public room a quick play joins, or whether it opens one.
//!
//! # The rule
//! Rooms fill before new ones open: a quick play joins the public room with space that has the
//! most players (the oldest on a tie). On a busy server one more thing counts, the thread: a room
//! runs on the thread of the session that created it (`registry/threads.rs`), and every seat on
//! another thread costs a cross-thread wake per tick (a context switch when that thread sleeps,
//! BENCHMARKS.md "Yardstick"). HTTP workers take connections in turn, so with `w` workers and the
//! plain rule about `1 − 1/w` of a room's seats sit on other threads.
//!
//! So once the public rooms hold at least a full room per thread (the server is busy: players
//! there are strangers in a stream, not a handful waiting for each other), a quick play joins a
//! room with space **on its own thread**, and opens one there when there is none. At most one
//! room per thread is then filling at a time. Below that line the plain rule stands, so a quiet
//! server never splits its few players over rooms by thread; there the player's own thread only
//! breaks ties. If opening is refused (the quick-play share of `--max-rooms`), the player joins
//! the room the plain rule would have picked.
//!
//! Talks to: nobody; the registry asks [`pick`] with its rooms and the joining session's thread.

use std::sync::Arc;
use std::thread::ThreadId;

/// A public room as the choice sees it.
#[derive(Debug, Clone, Copy)]
pub struct PublicRoom<'a> {
    pub id: &'a Arc<str>,
    pub players: usize,
    /// Creation order (lower: older).
    pub created: u64,
    /// The thread the room runs on, if it shares one with sessions.
    pub thread: Option<ThreadId>,
}

/// The server's side of the choice.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_players: usize,
    /// How many threads rooms share with sessions (the HTTP workers; 0 with dedicated room threads).
    pub threads: usize,
}

/// What a quick play does.
#[derive(Debug, PartialEq, Eq)]
pub enum Pick<'a> {
    Join(&'a Arc<str>),
    /// Open a room on the player's thread; if that is refused, join `fallback` when there is one.
    Open {
        fallback: Option<&'a Arc<str>>,
    },
}

/// Where a quick play from a session on thread `me` goes, among `rooms` (every public room).
pub fn pick<'a>(rooms: &[PublicRoom<'a>], limits: Limits, me: Option<ThreadId>) -> Pick<'a> {
    let seated: usize = rooms.iter().map(|r| r.players).sum();
    let open = rooms.iter().filter(|r| r.players < limits.max_players);
    let mine = |r: &PublicRoom<'_>| me.is_some() && r.thread == me;
    let best = |rooms: &mut dyn Iterator<Item = &PublicRoom<'a>>| {
        rooms
            .max_by_key(|r| (r.players, mine(r), std::cmp::Reverse(r.created)))
            .map(|r| r.id)
    };
    let plain = best(&mut open.clone());
    let busy = me.is_some()
        && limits.threads > 1
        && seated >= limits.threads.saturating_mul(limits.max_players);
    if !busy {
        return plain.map_or(Pick::Open { fallback: None }, Pick::Join);
    }
    match best(&mut open.filter(|r| mine(r))) {
        Some(id) => Pick::Join(id),
        None => Pick::Open { fallback: plain },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two distinct thread ids (the test's own and a spawned thread's).
    fn two_threads() -> (ThreadId, ThreadId) {
        let other = std::thread::spawn(|| std::thread::current().id())
            .join()
            .expect("a thread should report its id");
        (std::thread::current().id(), other)
    }

    const LIMITS: Limits = Limits {
        max_players: 8,
        threads: 2,
    };

    struct Rooms(Vec<(Arc<str>, usize, Option<ThreadId>)>);

    impl Rooms {
        fn view(&self) -> Vec<PublicRoom<'_>> {
            self.0
                .iter()
                .enumerate()
                .map(|(i, (id, players, thread))| PublicRoom {
                    id,
                    players: *players,
                    created: i as u64,
                    thread: *thread,
                })
                .collect()
        }
    }

    fn rooms(list: &[(&str, usize, Option<ThreadId>)]) -> Rooms {
        Rooms(
            list.iter()
                .map(|(id, n, t)| (Arc::from(*id), *n, *t))
                .collect(),
        )
    }

    fn joins<'a>(pick: Pick<'a>) -> &'a str {
        match pick {
            Pick::Join(id) => id,
            other => panic!("expected a join, got {other:?}"),
        }
    }

    #[test]
    fn the_first_quick_play_opens_a_room() {
        let (a, _) = two_threads();
        assert_eq!(pick(&[], LIMITS, Some(a)), Pick::Open { fallback: None });
    }

    #[test]
    fn a_quiet_server_fills_the_fullest_room_whatever_its_thread() {
        let (a, b) = two_threads();
        let r = rooms(&[
            ("mine", 2, Some(a)),
            ("theirs", 5, Some(b)),
            ("full", 8, Some(a)),
        ]);
        assert_eq!(joins(pick(&r.view(), LIMITS, Some(a))), "theirs");
    }

    #[test]
    fn on_a_tie_the_own_thread_then_the_oldest_room_wins() {
        let (a, b) = two_threads();
        let r = rooms(&[
            ("old", 3, Some(b)),
            ("mine", 3, Some(a)),
            ("young", 3, Some(b)),
        ]);
        assert_eq!(joins(pick(&r.view(), LIMITS, Some(a))), "mine");
        assert_eq!(joins(pick(&r.view(), LIMITS, Some(b))), "old");
    }

    #[test]
    fn a_busy_server_seats_a_player_on_its_own_thread() {
        let (a, b) = two_threads();
        // 16 seated = a full room per thread: busy.
        let r = rooms(&[
            ("full", 8, Some(a)),
            ("theirs", 6, Some(b)),
            ("mine", 2, Some(a)),
        ]);
        assert_eq!(joins(pick(&r.view(), LIMITS, Some(a))), "mine");
    }

    #[test]
    fn a_busy_server_opens_a_room_on_the_players_thread_rather_than_seat_it_across() {
        let (a, b) = two_threads();
        let r = rooms(&[
            ("full", 8, Some(a)),
            ("theirs", 8, Some(b)),
            ("open", 3, Some(b)),
        ]);
        assert_eq!(
            pick(&r.view(), LIMITS, Some(a)),
            Pick::Open {
                fallback: Some(&r.0[2].0)
            },
            "the fallback is the room the plain rule picks, for when opening is refused"
        );
    }

    #[test]
    fn one_shared_thread_or_an_unknown_one_keeps_the_plain_rule() {
        let (a, b) = two_threads();
        let r = rooms(&[("a", 8, Some(a)), ("b", 8, Some(a)), ("open", 3, Some(b))]);
        let one = Limits {
            threads: 1,
            ..LIMITS
        };
        assert_eq!(joins(pick(&r.view(), one, Some(a))), "open");
        assert_eq!(joins(pick(&r.view(), LIMITS, None)), "open");
        let dedicated = Limits {
            threads: 0,
            ..LIMITS
        };
        assert_eq!(joins(pick(&r.view(), dedicated, Some(a))), "open");
    }
}
