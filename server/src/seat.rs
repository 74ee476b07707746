//! A seat: the state one session and its room share, and the heart of backpressure.
//!
//! # Why latest-wins works here
//! The room never queues snapshots for a session. Each tick it *replaces* the seat's single
//! pending snapshot (an `Option<Bytes>`: the same reference-counted bytes for every seat, so a
//! replace is a pointer swap, not a copy) and then `try_send`s a `Wake` to the session through
//! the one `Recipient` it stored at join (a full mailbox just means a wake is already queued). A
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
//! the room's mailbox: the room drains the queue once per tick.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use actix_web_actors::ws::CloseReason;
use bytes::Bytes;
use parking_lot::Mutex;

use crate::conn::ConnHandle;

/// How many inputs wait per player between two ticks; older ones are dropped first.
pub const INPUT_QUEUE_CAPACITY: usize = 8;

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
    inputs: Mutex<VecDeque<(u32, I)>>,
    /// Set by the room when the session must close (stall, room failure, shutdown).
    close: Mutex<Option<CloseReason>>,
    /// Tick of the last snapshot the session took (written by the session, read by the room).
    taken_tick: AtomicU64,
    /// Whether the client applies delta snapshots (fixed at join).
    deltas: bool,
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
            inputs: Mutex::new(VecDeque::with_capacity(INPUT_QUEUE_CAPACITY)),
            close: Mutex::new(None),
            taken_tick: AtomicU64::new(0),
            deltas: false,
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

    /// Session: queue an input; the oldest is dropped when the queue is full.
    pub fn push_input(&self, seq: u32, input: I) {
        let mut q = self.inputs.lock();
        if q.len() >= INPUT_QUEUE_CAPACITY {
            q.pop_front();
            self.inputs_dropped.fetch_add(1, Relaxed);
        }
        q.push_back((seq, input));
    }

    /// Room: take every queued input, oldest first.
    pub fn drain_inputs(&self, into: &mut Vec<(u32, I)>) {
        into.extend(self.inputs.lock().drain(..));
    }

    /// Room: ask the session to close with `reason` at its next wake.
    pub fn request_close(&self, reason: CloseReason) {
        *self.close.lock() = Some(reason);
        self.pending.lock().take();
    }

    /// Session: a close the room asked for.
    pub fn close_requested(&self) -> Option<CloseReason> {
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
            seat.push_input(seq, seq);
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
        seat.request_close(CloseReason::from(actix_web_actors::ws::CloseCode::Away));
        assert!(seat.pending.lock().is_none());
        assert!(seat.close_requested().is_some());
        assert!(seat.close_requested().is_none());
    }
}
