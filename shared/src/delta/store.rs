//! The two ends of a delta stream: the server's ring of recent states ([`History`]), which
//! picks the baseline for a client's ack and patches from it, and the client's store of
//! received states ([`Baselines`]), which applies what arrives to the baseline it names.
//!
//! Talks to: the server's room (one [`History`] per room) and any client (one [`Baselines`]
//! per connection); both only through [`super::Diffable`].

use std::collections::VecDeque;

use super::{DeltaError, Diffable, Step};
use crate::messages::{DeltaSnapshot, PackedDelta};
use crate::EncodeError;

/// How many recent states the server keeps by default (about 1 s at 30 Hz, Quake 3's
/// `PACKET_BACKUP`). An ack older than that gets a full patch. With ack clocking holding clients
/// at 0.5 s of unacknowledged ticks, an acking client's baseline stays well inside it; each tick
/// kept costs about 1 KiB per room of 8 (measured: 4.5 KiB of RSS per client for 32 more ticks).
pub const DEFAULT_WINDOW: usize = 32;

/// The largest window a server may use, and so the number of states a client must be able to
/// hold ([`Baselines::default`] holds this many).
pub const MAX_WINDOW: usize = 64;

/// The server's recent replicated states, one per tick, newest last.
#[derive(Debug)]
pub struct History<F> {
    frames: VecDeque<(u64, F)>,
    window: usize,
}

impl<F: Diffable> History<F> {
    /// Keeps the last `window` states (at least 1). Allocates nothing until the first state:
    /// a room without delta clients never records one, and one with them holds only what its
    /// clients' ack lag needs (the server forgets the rest), usually far fewer than `window`.
    pub fn new(window: usize) -> Self {
        History {
            frames: VecDeque::new(),
            window: window.max(1),
        }
    }

    /// Records the state of `tick`, which must be newer than every recorded one.
    pub fn push(&mut self, tick: u64, frame: F) {
        debug_assert!(self.frames.back().is_none_or(|(t, _)| *t < tick));
        if self.frames.len() == self.window {
            self.frames.pop_front();
        }
        self.frames.push_back((tick, frame));
    }

    /// Forgets the states older than `tick`. Acks only move forward, so once every client has
    /// acknowledged `tick` or later (or joined after it), older states can never be a baseline
    /// again: the window then holds only as many states as the clients' ack lag needs.
    pub fn forget_before(&mut self, tick: u64) {
        while self.frames.front().is_some_and(|(t, _)| *t < tick) {
            self.frames.pop_front();
        }
    }

    /// How many states are held.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether no state is held.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The newest recorded state.
    pub fn latest(&self) -> Option<(u64, &F)> {
        self.frames.back().map(|(t, f)| (*t, f))
    }

    /// The baseline for a client that acknowledged `acked`: that tick's state if it is still
    /// held and older than the newest one, else none (send a full snapshot, base tick 0).
    pub fn baseline_for(&self, acked: u64) -> u64 {
        let newest = self.latest().map_or(0, |(t, _)| t);
        if acked == 0 || acked >= newest || self.get(acked).is_none() {
            0
        } else {
            acked
        }
    }

    /// The state recorded for `tick`.
    pub fn get(&self, tick: u64) -> Option<&F> {
        let i = self.frames.binary_search_by_key(&tick, |(t, _)| *t).ok()?;
        Some(&self.frames[i].1)
    }

    /// Appends the packed patch from `base_tick` (0 = the empty state) to the newest state, for
    /// a room ticking at `tick_rate`; `Ok(false)` (nothing written) if nothing is recorded or
    /// `base_tick` is not held.
    pub fn pack_from(
        &self,
        base_tick: u64,
        tick_rate: u16,
        out: &mut Vec<u8>,
    ) -> Result<bool, EncodeError> {
        let Some((tick, newest)) = self.latest() else {
            return Ok(false);
        };
        let step = Step {
            ticks: tick.saturating_sub(base_tick),
            tick_rate,
        };
        let empty;
        let base = if base_tick == 0 {
            empty = F::default();
            &empty
        } else {
            match self.get(base_tick) {
                Some(base) => base,
                None => return Ok(false),
            }
        };
        base.pack(newest, step, out)?;
        Ok(true)
    }

    /// The patch from `base_tick` (0 = the empty state; see [`History::baseline_for`]) to the
    /// newest state, or none if nothing is recorded or `base_tick` is not held.
    pub fn patch_from(&self, base_tick: u64) -> Option<F::Patch> {
        let (_, newest) = self.latest()?;
        if base_tick == 0 {
            Some(F::default().diff(newest))
        } else {
            Some(self.get(base_tick)?.diff(newest))
        }
    }
}

/// A client's received states: applies each delta snapshot to the baseline it names.
#[derive(Debug)]
pub struct Baselines<F> {
    frames: VecDeque<(u64, F)>,
    capacity: usize,
}

impl<F: Diffable> Default for Baselines<F> {
    fn default() -> Self {
        Self::new(MAX_WINDOW)
    }
}

impl<F: Diffable> Baselines<F> {
    /// Holds at most `capacity` states (at least 1). The server never patches against a tick
    /// older than the client's newest ack, so the server's window is plenty.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Baselines {
            frames: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// The newest tick held (0 before the first snapshot): what the client acknowledges.
    pub fn ack_tick(&self) -> u64 {
        self.frames.back().map_or(0, |(t, _)| *t)
    }

    /// The newest state held.
    pub fn latest(&self) -> Option<&F> {
        self.frames.back().map(|(_, f)| f)
    }

    /// Applies a received delta snapshot and keeps the result as a baseline; returns it.
    pub fn receive(&mut self, snap: &DeltaSnapshot<F::Patch>) -> Result<&F, DeltaError> {
        self.receive_with(snap.tick, snap.base_tick, |base| base.apply(&snap.patch))
    }

    /// Applies a received packed delta (`"d"`) of a room ticking at `tick_rate` (the
    /// `Welcome`'s) and keeps the result as a baseline; returns it.
    pub fn receive_packed(&mut self, snap: &PackedDelta, tick_rate: u16) -> Result<&F, DeltaError> {
        let step = Step {
            ticks: snap.tick.saturating_sub(snap.base_tick),
            tick_rate,
        };
        self.receive_with(snap.tick, snap.base_tick, |base| {
            base.unpack(&snap.patch, step)
        })
    }

    /// The store's rules around one patch, whichever its form: `apply` gets the baseline.
    fn receive_with(
        &mut self,
        tick: u64,
        base_tick: u64,
        apply: impl FnOnce(&F) -> Result<F, DeltaError>,
    ) -> Result<&F, DeltaError> {
        let newest = self.ack_tick();
        if tick <= newest {
            return Err(DeltaError::NotNewer { tick, newest });
        }
        let next = if base_tick == 0 {
            apply(&F::default())?
        } else {
            let i = self
                .frames
                .binary_search_by_key(&base_tick, |(t, _)| *t)
                .map_err(|_| DeltaError::UnknownBaseline(base_tick))?;
            let next = apply(&self.frames[i].1)?;
            // The server has seen an ack of at least `base_tick` and will not go back further.
            self.frames.drain(..i);
            next
        };
        if self.frames.len() == self.capacity {
            self.frames.pop_front();
        }
        self.frames.push_back((tick, next));
        Ok(&self.frames.back().expect("a state was just pushed").1)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn the_client_store_follows_the_server_ring_and_refuses_unknown_baselines() {
        let mut history = History::new(4);
        let mut client: Baselines<Dots> = Baselines::new(4);
        let frame = |x| Dots(vec![dot(1, x)]);
        let snap = |history: &History<Dots>, tick, base_tick| DeltaSnapshot {
            tick,
            base_tick,
            server_time_ms: 0,
            patch: history.patch_from(base_tick).unwrap(),
        };
        history.push(1, frame(10));
        assert_eq!(history.baseline_for(client.ack_tick()), 0);
        client.receive(&snap(&history, 1, 0)).unwrap();
        history.push(2, frame(20));
        assert_eq!(history.baseline_for(1), 1);
        assert_eq!(client.receive(&snap(&history, 2, 1)).unwrap(), &frame(20));
        assert_eq!(client.ack_tick(), 2);
        // A repeat of an old tick, and a baseline the client never had, are refused.
        assert!(matches!(
            client.receive(&snap(&history, 2, 1)),
            Err(DeltaError::NotNewer { .. })
        ));
        history.push(3, frame(30));
        history.push(4, frame(40));
        let mut other: Baselines<Dots> = Baselines::new(4);
        assert_eq!(
            other.receive(&snap(&history, 4, 3)),
            Err(DeltaError::UnknownBaseline(3))
        );
        // Once tick 1 leaves the window, an ack of 1 gets a full snapshot.
        history.push(5, frame(50));
        assert_eq!(history.baseline_for(1), 0);
        assert_eq!(history.baseline_for(2), 2);
        assert_eq!(
            history.baseline_for(5),
            0,
            "an ack of the newest tick is no baseline"
        );
        assert_eq!(history.baseline_for(99), 0, "nor is a tick from the future");
        // Once every client acked 4 or later, ticks 2 and 3 can go.
        history.forget_before(4);
        assert_eq!(history.len(), 2);
        assert_eq!(history.baseline_for(3), 0);
        assert_eq!(history.baseline_for(4), 4);
    }
}
