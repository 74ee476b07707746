//! [`Migrations`]: one bot's record of the room hand-overs it followed while playing (a node
//! draining its rooms: `Redirect` + close 4007, then a resume on the room's new node), and
//! [`MigrationTally`], the run's sum of them for the [`crate::Report`].
//!
//! What it measures (issue 12):
//! - `migrations`: hand-overs the bot followed back to its seat, and `migrations_failed`: the
//!   ones it could not (the resume on the new node failed: a player lost to the move). A
//!   connection lost without the redirect (a reset that beat it) whose resume lands on another
//!   node is a hand-over too, `unannounced`: the room did move, the bot found it through the
//!   entry;
//! - the gap of each: from the last snapshot received from the old node to the first from the
//!   new one, in ticks (the new tick − the old; 1 = nothing missed) and in wall-clock time (the
//!   freeze a player sees: game time pauses while a room is frozen, so the tick numbers do not
//!   show a stall, the clock does);
//! - `player_id_changes`: resumes (of any kind) that came back as another player. Must be 0:
//!   a resume, across nodes or not, keeps the player.
//!
//! Pure: it takes ticks, instants and player ids as arguments; [`crate::play::Play`] feeds it
//! every snapshot and [`crate::session::Session`] each connection's end and resume, through
//! `Play`. It knows nothing of sockets.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tickcast_shared::PlayerId;

use crate::resume::ResumeError;
use crate::summary::{micros_histogram, record, Summary, TickSummary};

/// One hand-over's gap: last snapshot from the old node → first from the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gap {
    /// The new node's first tick − the old node's last (1 = no tick missed).
    pub ticks: u64,
    /// Arrival of the first new snapshot − arrival of the last old one.
    pub time: Duration,
}

/// A connection's end not yet resolved: the resume is not over yet, or after a hand-over the
/// new node has not sent its first snapshot yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending {
    /// The last snapshot from the old node (none if it ended before the first).
    from: Option<(u64, Instant)>,
    /// It ended with a redirect and 4007: a hand-over announced by the server.
    announced: bool,
    /// A hand-over whose resume succeeded: the next snapshot is the new node's first.
    resumed: bool,
}

impl Pending {
    fn handed_over(&self) -> bool {
        self.announced || self.resumed
    }
}

/// One bot's hand-overs (see the module docs).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Migrations {
    /// The newest snapshot on the current connection.
    last: Option<(u64, Instant)>,
    pending: Option<Pending>,
    followed: u64,
    /// Of `followed`, those found on resuming after a lost connection (no redirect came).
    unannounced: u64,
    failed: u64,
    player_id_changes: u64,
    /// One per hand-over with snapshots on both sides (a few per run: a Vec, not a histogram).
    gaps: Vec<Gap>,
}

impl Migrations {
    /// A snapshot of `tick` arrived at `at` (Play, for every snapshot). The first one after a
    /// resumed hand-over closes its gap.
    pub fn snapshot(&mut self, tick: u64, at: Instant) {
        if let Some(p) = self.pending.filter(|p| p.resumed) {
            self.pending = None;
            if let Some((old_tick, old_at)) = p.from {
                self.gaps.push(Gap {
                    ticks: tick.saturating_sub(old_tick),
                    time: at.saturating_duration_since(old_at),
                });
            }
        }
        self.last = Some((tick, at));
    }

    /// The connection ended (Session, before deciding on a resume); `handed_over`: with a
    /// redirect and 4007 (the room moved to another node).
    pub fn connection_ended(&mut self, handed_over: bool) {
        self.pending = Some(Pending {
            from: self.last.take(),
            announced: handed_over,
            resumed: false,
        });
    }

    /// A resume brought back `after`, where the bot was `before`, on another node than before
    /// when `node_changed` (Session, after every successful resume). Counts a hand-over
    /// followed when the connection had ended with one, or when the seat turned up on another
    /// node (the room moved while the connection was down).
    pub fn resumed(&mut self, before: PlayerId, after: PlayerId, node_changed: bool) {
        if before != after {
            self.player_id_changes += 1;
        }
        match &mut self.pending {
            Some(p) if p.announced || node_changed => {
                self.followed += 1;
                self.unannounced += u64::from(!p.announced);
                p.resumed = true;
            }
            _ => self.pending = None,
        }
    }

    /// A resume failed with `e` (Session). After a hand-over the player is lost to the move;
    /// a server that resumed another player counts as a player id change.
    pub fn resume_failed(&mut self, e: &ResumeError) {
        if matches!(e, ResumeError::WrongPlayer { .. }) {
            self.player_id_changes += 1;
        }
        self.not_followed();
    }

    /// The bot did not follow the connection's end (no resume tried: the run's policy never
    /// resumes, or the run was ending). After a hand-over that is a player lost to the move.
    pub fn not_followed(&mut self) {
        if self.pending.take().is_some_and(|p| p.handed_over()) {
            self.failed += 1;
        }
    }

    /// Hand-overs followed back to the seat.
    pub fn followed(&self) -> u64 {
        self.followed
    }

    /// Of [`Migrations::followed`], those the bot found on resuming after a lost connection.
    pub fn unannounced(&self) -> u64 {
        self.unannounced
    }

    /// Hand-overs whose resume failed.
    pub fn failed(&self) -> u64 {
        self.failed
    }

    /// Resumes that came back as another player.
    pub fn player_id_changes(&self) -> u64 {
        self.player_id_changes
    }

    /// The gaps of the hand-overs followed, in order.
    pub fn gaps(&self) -> &[Gap] {
        &self.gaps
    }
}

/// Largest gap in ticks the run's histogram holds (larger ones are clamped to it): about
/// 9 minutes at 30 Hz, far beyond any resume budget.
const MAX_GAP_TICKS: u64 = 16_384;

/// All bots' hand-overs added up: counts, and the gaps in HDR histograms like the run's other
/// figures.
#[derive(Debug, Clone)]
pub(crate) struct MigrationTally {
    pub followed: u64,
    pub unannounced: u64,
    pub failed: u64,
    pub player_id_changes: u64,
    gap_ticks: Histogram<u64>,
    gap_micros: Histogram<u64>,
}

impl Default for MigrationTally {
    fn default() -> Self {
        MigrationTally {
            followed: 0,
            unannounced: 0,
            failed: 0,
            player_id_changes: 0,
            // The bounds are constants that hdrhistogram accepts, so this cannot fail.
            gap_ticks: Histogram::new_with_max(MAX_GAP_TICKS, 3).unwrap_or_else(|_| unreachable!()),
            gap_micros: micros_histogram(),
        }
    }
}

impl MigrationTally {
    /// Adds one bot's record.
    pub fn add(&mut self, m: &Migrations) {
        self.followed += m.followed();
        self.unannounced += m.unannounced();
        self.failed += m.failed();
        self.player_id_changes += m.player_id_changes();
        for g in m.gaps() {
            self.gap_ticks.saturating_record(g.ticks.min(MAX_GAP_TICKS));
            record(&mut self.gap_micros, g.time);
        }
    }

    /// The gaps in ticks: p50/p90/p99/max.
    pub fn gap_ticks(&self) -> TickSummary {
        TickSummary::of(&self.gap_ticks)
    }

    /// The gaps in wall-clock time, ms.
    pub fn gap_ms(&self) -> Summary {
        Summary::of(&self.gap_micros)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Duration = Duration::from_millis(33);

    fn id(n: u128) -> PlayerId {
        PlayerId::from_u128(n)
    }

    /// Ticks `from..=to` arriving one period apart, tick t at `t0 + t·P`.
    fn play(m: &mut Migrations, t0: Instant, from: u64, to: u64) {
        for t in from..=to {
            m.snapshot(t, t0 + P * t as u32);
        }
    }

    #[test]
    fn a_hand_over_followed_counts_once_with_its_gap_from_the_last_old_to_the_first_new_snapshot() {
        let t0 = Instant::now();
        let mut m = Migrations::default();
        play(&mut m, t0, 1, 100);
        m.connection_ended(true);
        m.resumed(id(7), id(7), false);
        assert!(
            m.gaps().is_empty(),
            "the gap closes at the new node's first snapshot"
        );
        // The new node's first snapshot is tick 103, 8 periods after tick 100 arrived.
        m.snapshot(103, t0 + P * 108);
        play(&mut m, t0, 104, 110);
        assert_eq!((m.followed(), m.failed(), m.player_id_changes()), (1, 0, 0));
        assert_eq!(
            m.gaps(),
            [Gap {
                ticks: 3,
                time: P * 8
            }]
        );
    }

    #[test]
    fn a_room_that_stalled_shows_a_small_tick_gap_and_the_whole_freeze_in_time() {
        let t0 = Instant::now();
        let mut m = Migrations::default();
        play(&mut m, t0, 1, 50);
        m.connection_ended(true);
        m.resumed(id(1), id(1), false);
        m.snapshot(51, t0 + Duration::from_secs(3));
        assert_eq!(m.gaps()[0].ticks, 1);
        assert_eq!(
            m.gaps()[0].time,
            Duration::from_secs(3) - P * 50,
            "the clock sees the freeze"
        );
    }

    #[test]
    fn a_lost_connection_resumed_on_the_same_node_is_no_migration() {
        let t0 = Instant::now();
        let mut m = Migrations::default();
        play(&mut m, t0, 1, 10);
        m.connection_ended(false);
        m.resumed(id(1), id(1), false);
        play(&mut m, t0, 14, 20);
        assert_eq!((m.followed(), m.failed()), (0, 0));
        assert!(m.gaps().is_empty());
        // Nor is a failed resume after a plain loss a player lost to a move.
        m.connection_ended(false);
        m.resume_failed(&ResumeError::NotJoined);
        assert_eq!(m.failed(), 0);
    }

    #[test]
    fn a_lost_connection_resumed_on_another_node_is_an_unannounced_hand_over_with_its_gap() {
        let t0 = Instant::now();
        let mut m = Migrations::default();
        play(&mut m, t0, 1, 10);
        // A reset beat the redirect; the resume through the entry found the seat elsewhere.
        m.connection_ended(false);
        m.resumed(id(1), id(1), true);
        play(&mut m, t0, 16, 20);
        assert_eq!((m.followed(), m.unannounced(), m.failed()), (1, 1, 0));
        assert_eq!(m.gaps()[0].ticks, 6);
    }

    #[test]
    fn a_hand_over_whose_resume_fails_is_a_player_lost_to_the_move() {
        let t0 = Instant::now();
        let mut m = Migrations::default();
        play(&mut m, t0, 1, 10);
        m.connection_ended(true);
        m.resume_failed(&ResumeError::NotJoined);
        assert_eq!((m.followed(), m.failed()), (0, 1));
        // So is a hand-over the bot did not try to follow.
        m.connection_ended(true);
        m.not_followed();
        assert_eq!((m.followed(), m.failed()), (0, 2));
    }

    #[test]
    fn a_resume_as_another_player_counts_as_a_player_id_change_whether_it_worked_or_not() {
        let mut m = Migrations::default();
        m.connection_ended(true);
        m.resumed(id(1), id(2), false);
        assert_eq!((m.followed(), m.player_id_changes()), (1, 1));
        m.connection_ended(true);
        m.resume_failed(&ResumeError::WrongPlayer {
            expected: id(2),
            got: id(3),
        });
        assert_eq!((m.failed(), m.player_id_changes()), (1, 2));
    }

    #[test]
    fn a_hand_over_before_any_snapshot_is_counted_without_a_gap() {
        let t0 = Instant::now();
        let mut m = Migrations::default();
        m.connection_ended(true);
        m.resumed(id(1), id(1), false);
        m.snapshot(5, t0);
        assert_eq!(m.followed(), 1);
        assert!(m.gaps().is_empty());
    }

    #[test]
    fn two_hand_overs_in_a_row_each_measure_from_their_own_old_node() {
        let t0 = Instant::now();
        let mut m = Migrations::default();
        play(&mut m, t0, 1, 10);
        m.connection_ended(true);
        m.resumed(id(1), id(1), false);
        play(&mut m, t0, 12, 20);
        m.connection_ended(true);
        m.resumed(id(1), id(1), false);
        play(&mut m, t0, 25, 30);
        let ticks: Vec<u64> = m.gaps().iter().map(|g| g.ticks).collect();
        assert_eq!((m.followed(), ticks), (2, vec![2, 5]));
    }

    #[test]
    fn the_tally_adds_bots_and_gives_percentiles_in_ticks_and_ms() {
        let t0 = Instant::now();
        let mut tally = MigrationTally::default();
        for gap in 1..=100u64 {
            let mut m = Migrations::default();
            m.snapshot(1000, t0);
            m.connection_ended(true);
            m.resumed(id(1), id(1), false);
            m.snapshot(1000 + gap, t0 + P * gap as u32);
            tally.add(&m);
        }
        let mut lost = Migrations::default();
        lost.connection_ended(true);
        lost.resume_failed(&ResumeError::NotJoined);
        tally.add(&lost);
        assert_eq!(
            (tally.followed, tally.failed, tally.player_id_changes),
            (100, 1, 0)
        );
        let t = tally.gap_ticks();
        assert_eq!((t.p50, t.p99, t.max, t.count), (50, 99, 100, 100));
        let ms = tally.gap_ms();
        assert!((ms.max - 3300.0).abs() < 5.0, "{ms:?}");
        assert_eq!(
            MigrationTally::default().gap_ticks(),
            TickSummary::default()
        );
    }
}
