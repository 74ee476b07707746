//! A seat: the state one session and its room share, and the heart of backpressure.
//!
//! # Why latest-wins works here
//! The room never queues snapshots for a session. Each tick it *replaces* the seat's single
//! pending snapshot (an `Option<Bytes>`: the same reference-counted bytes for every seat, so a
//! replace is a pointer swap, not a copy) and then wakes the session through the
//! [`crate::wake`] handle it joined with (a wake already pending just stays pending). A
//! replaced snapshot that was still pending is a stale frame the session never wrote: it is
//! counted as dropped. So per session at most one snapshot waits in the server, whatever the
//! client does.
//!
//! A session whose socket is full stops taking snapshots (see `session.rs`: it checks the
//! kernel's unsent byte count before writing, and actix stops polling it entirely once its write
//! buffer is full). The room notices that through [`Seat::taken_tick`] — the session cannot,
//! because a frozen actor runs no timers — and after the stall timeout it stops feeding the seat
//! and shuts the TCP connection down from outside through the [`crate::conn::ConnHandle`] the
//! session armed the seat with when it first saw its socket back up.
//!
//! With delta snapshots the pending frame is a patch against the baseline the client last
//! acknowledged ([`Seat::acked_tick`]). Replacing it is still safe: the newer patch is against
//! the same or a newer acknowledged baseline, never against the frame it replaces.
//!
//! Inputs travel the other way through a small bounded queue, so a flooding client can never grow
//! the room's mailbox: the room drains the queue once per tick. The seat is also the one keeper
//! of the player's input seq: it refuses an input whose seq is not above the newest it accepted
//! ([`Seat::push_input`]), and a resumed connection's seat carries on from the old one's
//! ([`Seat::continue_inputs_from`]), so the game sees each player's seqs strictly increase.
//!
//! Talks to: the session (takes snapshots, pushes inputs, acks) and the room (offers snapshots,
//! drains inputs, watches for stalls); a [`crate::wake::Wake`] is the one signal between them.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use bytes::Bytes;
use parking_lot::Mutex;
use tickcast_shared::close::Close;
use tickcast_shared::Redirect;

use crate::conn::ConnHandle;

/// How many inputs wait per player between two ticks; older ones are dropped first.
pub const INPUT_QUEUE_CAPACITY: usize = 8;

/// An input whose seq is not above the newest one the seat accepted (a replay, a reordering, or
/// a resumed client that restarted its count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("input seq {seq} is not above the last accepted one ({last})")]
pub struct StaleInput {
    pub seq: u32,
    pub last: u32,
}

/// The input queue and the newest seq accepted into it, under one lock.
struct Inputs<I> {
    queue: VecDeque<(u32, I)>,
    /// The newest seq accepted (0 before the first input; seqs start at 1).
    last_seq: u32,
}

impl<I> Default for Seat<I> {
    fn default() -> Self {
        Self::new()
    }
}

/// What the room has for the session.
pub struct Seat<I> {
    /// Unique per seat (per connection), so a room can tell a player's old connection from the
    /// one that resumed it.
    id: u64,
    /// The newest snapshot the session has not written yet.
    pending: Mutex<Option<(u64, Bytes)>>,
    /// Inputs not yet applied, in arrival (= seq) order.
    inputs: Mutex<Inputs<I>>,
    /// Set by the room when the session must close (stall, room failure, shutdown).
    close: Mutex<Option<Close>>,
    /// Set with a [`Close::Redirected`] when the room moved to another node: the session sends
    /// it before closing (see [`Seat::request_redirect`]).
    redirect: Mutex<Option<Redirect>>,
    /// Tick of the last snapshot the session took (written by the session, read by the room).
    taken_tick: AtomicU64,
    /// Whether the client applies delta snapshots (fixed at join).
    deltas: bool,
    /// Whether its deltas go packed (`"d"`, `Join.packed`; fixed at join).
    packed: bool,
    /// The newest snapshot tick the client acknowledged (`Input.ack_tick`, never decreasing).
    acked_tick: AtomicU64,
    /// The newest tick really written to the client (`taken_tick` starts at the join tick).
    written_tick: AtomicU64,
    frames_sent: AtomicU64,
    bytes_sent: AtomicU64,
    frames_dropped: AtomicU64,
    inputs_dropped: AtomicU64,
    /// Made by the session once its client stops reading (see [`Seat::arm_shutdown`]).
    conn: Mutex<Option<ConnHandle>>,
}

/// Per-seat counters, as reported in `/rooms/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SeatStats {
    pub frames_sent: u64,
    /// Snapshot payload bytes taken by the session (delta or full).
    pub bytes_sent: u64,
    pub frames_dropped: u64,
    pub inputs_dropped: u64,
    pub taken_tick: u64,
    pub deltas: bool,
    pub acked_tick: u64,
}

impl<I> Seat<I> {
    pub fn new() -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Seat {
            id: NEXT_ID.fetch_add(1, Relaxed),
            pending: Mutex::new(None),
            inputs: Mutex::new(Inputs {
                queue: VecDeque::with_capacity(INPUT_QUEUE_CAPACITY),
                last_seq: 0,
            }),
            close: Mutex::new(None),
            redirect: Mutex::new(None),
            taken_tick: AtomicU64::new(0),
            deltas: false,
            packed: false,
            acked_tick: AtomicU64::new(0),
            written_tick: AtomicU64::new(0),
            frames_sent: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            frames_dropped: AtomicU64::new(0),
            inputs_dropped: AtomicU64::new(0),
            conn: Mutex::new(None),
        }
    }

    /// This seat, for a client that applies delta snapshots.
    pub fn with_deltas(self, deltas: bool) -> Self {
        Seat { deltas, ..self }
    }

    /// Whether the client applies delta snapshots.
    pub fn deltas(&self) -> bool {
        self.deltas
    }

    /// This seat, for a client whose deltas go packed (`"d"`).
    pub fn with_packed(self, packed: bool) -> Self {
        Seat { packed, ..self }
    }

    /// Whether the client's deltas go packed.
    pub fn packed(&self) -> bool {
        self.packed
    }

    /// Session: the client acknowledged `tick`. Acks older than the newest are ignored, and
    /// so are acks of ticks never written to this client (a buggy or lying client): kept, one
    /// such ack would stick forever, as acks never move back.
    pub fn ack(&self, tick: u64) {
        if tick <= self.written_tick.load(Relaxed) {
            self.acked_tick.fetch_max(tick, Relaxed);
        }
    }

    /// Room: the newest tick the client acknowledged: the baseline of its next delta.
    pub fn acked_tick(&self) -> u64 {
        self.acked_tick.load(Relaxed)
    }

    /// This seat's unique id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Room: make the snapshot of `tick` the pending one. Returns true when it replaced a stale
    /// one (a drop).
    pub fn offer(&self, tick: u64, snapshot: Bytes) -> bool {
        let stale = self.pending.lock().replace((tick, snapshot)).is_some();
        if stale {
            self.frames_dropped.fetch_add(1, Relaxed);
        }
        stale
    }

    /// Session: take the pending snapshot (if any) to write it, recording its tick.
    pub fn take(&self) -> Option<Bytes> {
        let (tick, bytes) = self.pending.lock().take()?;
        self.taken_tick.store(tick, Relaxed);
        self.written_tick.store(tick, Relaxed);
        self.frames_sent.fetch_add(1, Relaxed);
        self.bytes_sent.fetch_add(bytes.len() as u64, Relaxed);
        Some(bytes)
    }

    /// Room: the tick of the last snapshot the session wrote.
    pub fn taken_tick(&self) -> u64 {
        self.taken_tick.load(Relaxed)
    }

    /// Room: the session was just added at `tick`; it counts as up to date.
    pub fn mark_joined_at(&self, tick: u64) {
        self.taken_tick.store(tick, Relaxed);
    }

    /// Session: queue an input whose seq is above every one accepted before (else it is
    /// refused, and the session tells the client); the oldest is dropped when the queue is full.
    pub fn push_input(&self, seq: u32, input: I) -> Result<(), StaleInput> {
        let mut inputs = self.inputs.lock();
        if seq <= inputs.last_seq {
            return Err(StaleInput {
                seq,
                last: inputs.last_seq,
            });
        }
        inputs.last_seq = seq;
        if inputs.queue.len() >= INPUT_QUEUE_CAPACITY {
            inputs.queue.pop_front();
            self.inputs_dropped.fetch_add(1, Relaxed);
        }
        inputs.queue.push_back((seq, input));
        Ok(())
    }

    /// Room: take every queued input, oldest first.
    pub fn drain_inputs(&self, into: &mut Vec<(u32, I)>) {
        into.extend(self.inputs.lock().queue.drain(..));
    }

    /// Room: the newest input seq accepted, which once the queue is drained is the player's last
    /// applied one (the queue drops its oldest, never its newest).
    pub fn last_input_seq(&self) -> u32 {
        self.inputs.lock().last_seq
    }

    /// Room, on a resume: this (new) seat carries on from `old`'s input seq, so the resumed
    /// client's seqs must keep increasing, as the game's ack does (`shared/PROTOCOL.md`).
    pub fn continue_inputs_from(&self, old: &Seat<I>) {
        let last = old.last_input_seq();
        let mut inputs = self.inputs.lock();
        inputs.last_seq = inputs.last_seq.max(last);
    }

    /// Room: ask the session to close with `reason` at its next wake.
    pub fn request_close(&self, close: Close) {
        *self.close.lock() = Some(close);
        self.pending.lock().take();
    }

    /// Room, after its migration: ask the session to send `to` and close with 4007, so the
    /// client resumes on the room's new node with its token.
    pub fn request_redirect(&self, to: Redirect) {
        *self.redirect.lock() = Some(to);
        self.request_close(Close::Redirected);
    }

    /// Session: the redirect that goes with a [`Close::Redirected`] the room asked for.
    pub fn take_redirect(&self) -> Option<Redirect> {
        self.redirect.lock().take()
    }

    /// Room, restoring a migrated member: the player's inputs go on from `seq` (the seat's last
    /// seq on the old node), as after a resume.
    pub fn continue_inputs_at(&self, seq: u32) {
        let mut inputs = self.inputs.lock();
        inputs.last_seq = inputs.last_seq.max(seq);
    }

    /// Session: a close the room asked for.
    pub fn close_requested(&self) -> Option<Close> {
        self.close.lock().take()
    }

    /// Room: shut the TCP connection down from outside (the session may be frozen).
    pub fn shutdown_connection(&self) {
        if let Some(conn) = self.conn.lock().as_ref() {
            conn.shutdown();
        }
    }

    /// Session: its client has stopped reading; hand the room a way to shut the connection down
    /// should the session freeze. Made lazily so that healthy clients cost one descriptor.
    pub fn arm_shutdown(&self, conn: ConnHandle) {
        self.conn.lock().get_or_insert(conn);
    }

    /// Whether [`Seat::arm_shutdown`] has been called.
    pub fn shutdown_armed(&self) -> bool {
        self.conn.lock().is_some()
    }

    pub fn stats(&self) -> SeatStats {
        SeatStats {
            frames_sent: self.frames_sent.load(Relaxed),
            bytes_sent: self.bytes_sent.load(Relaxed),
            frames_dropped: self.frames_dropped.load(Relaxed),
            inputs_dropped: self.inputs_dropped.load(Relaxed),
            taken_tick: self.taken_tick.load(Relaxed),
            deltas: self.deltas,
            acked_tick: self.acked_tick.load(Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_snapshot_wins_and_replaced_ones_are_counted() {
        let seat: Seat<()> = Seat::new();
        assert!(!seat.offer(1, Bytes::from_static(b"1")));
        assert!(seat.offer(2, Bytes::from_static(b"2")));
        assert!(seat.offer(3, Bytes::from_static(b"3")));
        assert_eq!(seat.take().as_deref(), Some(&b"3"[..]));
        assert_eq!(seat.take(), None);
        let s = seat.stats();
        assert_eq!((s.frames_sent, s.frames_dropped, s.taken_tick), (1, 2, 3));
        assert_eq!(s.bytes_sent, 1);
    }

    #[test]
    fn the_input_queue_is_bounded_and_keeps_the_newest() {
        let seat: Seat<u32> = Seat::new();
        for seq in 1..=20 {
            seat.push_input(seq, seq).expect("seqs 1..=20 increase");
        }
        let mut out = Vec::new();
        seat.drain_inputs(&mut out);
        assert_eq!(out.len(), INPUT_QUEUE_CAPACITY);
        assert_eq!(out.first().unwrap().0, 20 - INPUT_QUEUE_CAPACITY as u32 + 1);
        assert_eq!(out.last().unwrap().0, 20);
        assert_eq!(
            seat.stats().inputs_dropped,
            20 - INPUT_QUEUE_CAPACITY as u64
        );
    }

    #[test]
    fn acks_only_move_forward_and_only_to_ticks_that_were_written() {
        let seat: Seat<()> = Seat::new().with_deltas(true);
        seat.offer(5, Bytes::from_static(b"5"));
        seat.take();
        seat.ack(4);
        seat.ack(3);
        assert_eq!(seat.acked_tick(), 4);
        seat.ack(1_000_000);
        assert_eq!(seat.acked_tick(), 4, "tick 1,000,000 was never sent");
        seat.ack(5);
        assert_eq!(seat.acked_tick(), 5);
        // The join tick counts for stall detection but was never written: no ack of it.
        let fresh: Seat<()> = Seat::new().with_deltas(true);
        fresh.mark_joined_at(120);
        fresh.ack(120);
        assert_eq!(fresh.acked_tick(), 0);
    }

    #[test]
    fn a_close_request_discards_the_pending_snapshot() {
        let seat: Seat<()> = Seat::new();
        seat.offer(1, Bytes::from_static(b"x"));
        seat.request_close(Close::RoomClosed);
        assert!(seat.pending.lock().is_none());
        assert!(seat.close_requested().is_some());
        assert!(seat.close_requested().is_none());
    }

    #[test]
    fn an_input_whose_seq_does_not_increase_is_refused() {
        let seat: Seat<u32> = Seat::new();
        assert_eq!(seat.push_input(0, 0), Err(StaleInput { seq: 0, last: 0 }));
        assert_eq!(seat.push_input(5, 5), Ok(()));
        assert_eq!(seat.push_input(5, 5), Err(StaleInput { seq: 5, last: 5 }));
        assert_eq!(seat.push_input(3, 3), Err(StaleInput { seq: 3, last: 5 }));
        assert_eq!(seat.push_input(6, 6), Ok(()));
        let mut out = Vec::new();
        seat.drain_inputs(&mut out);
        assert_eq!(out, vec![(5, 5), (6, 6)]);
        assert_eq!(seat.last_input_seq(), 6);
    }

    #[test]
    fn a_resumed_seat_carries_on_from_the_old_seats_input_seq() {
        let old: Seat<u32> = Seat::new();
        old.push_input(41, 0).expect("first input");
        old.push_input(42, 0).expect("increasing");
        let resumed: Seat<u32> = Seat::new();
        resumed.continue_inputs_from(&old);
        assert_eq!(resumed.last_input_seq(), 42);
        assert_eq!(
            resumed.push_input(1, 0),
            Err(StaleInput { seq: 1, last: 42 }),
            "a client that restarts its count is refused"
        );
        assert_eq!(resumed.push_input(43, 0), Ok(()));
    }
}
