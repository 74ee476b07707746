//! A room's snapshot encodings for one tick: the full snapshot, encoded at most once, and one
//! delta per distinct baseline and form (`"delta"`, or packed `"d"` for clients that joined
//! with `packed`), from a window of recent replicated states ([`History`]).
//!
//! Seats that share a baseline share one encoding: a tick costs one encoding per *distinct*
//! baseline, not one per session (acks arrive a tick or two behind: about 1.3 encodings per
//! tick for rooms of 16 at 1,000 bots, BENCHMARKS.md). Every encoding is one allocation, and
//! every seat gets a reference-counted handle to it.
//!
//! Talks to: nobody. The room (`room.rs`) calls [`TickSnapshots::begin`] once per tick, then
//! [`TickSnapshots::full`] or [`TickSnapshots::delta`] for each seat as the delivery rules say
//! (`delivery.rs`), then [`TickSnapshots::end`].

use std::sync::Arc;

use bytes::Bytes;
use tickcast_shared::delta::{Diffable, History};
use tickcast_shared::{encode_into, DeltaSnapshot, EncodeError, PackedDelta, ServerMsg, Snapshot};

use crate::game::Game;
use crate::metrics::Metrics;

/// What a room sends, for game `G`.
pub type Msg<G> =
    ServerMsg<<G as Game>::State, <G as Game>::Info, <<G as Game>::Frame as Diffable>::Patch>;

/// The replicated states kept as baselines, and this tick's encodings.
pub struct TickSnapshots<G: Game> {
    /// Recent replicated states, the baselines of delta clients.
    history: History<G::Frame>,
    buf: Vec<u8>,
    tick: u64,
    /// When this tick was stepped (ms since the epoch).
    time_ms: u64,
    /// This tick's state until the full snapshot is encoded, and that encoding.
    state: Option<G::State>,
    full: Option<Bytes>,
    /// This tick's delta encodings, one per baseline tick (0 = against the empty state) and
    /// form (packed or not).
    deltas: Vec<((u64, bool), Bytes)>,
    /// The room's tick rate: packed patches predict motion over `tick − base_tick` ticks.
    tick_rate: u16,
    /// Scratch for packed patches.
    patch: Vec<u8>,
    metrics: Arc<Metrics>,
}

impl<G: Game> TickSnapshots<G> {
    /// Keeps up to `window` replicated states (at least 1), for a room ticking at `tick_rate`.
    pub fn new(window: usize, tick_rate: u16, metrics: Arc<Metrics>) -> Self {
        TickSnapshots {
            history: History::new(window),
            buf: Vec::with_capacity(1024),
            tick: 0,
            time_ms: 0,
            state: None,
            full: None,
            deltas: Vec::new(),
            tick_rate,
            patch: Vec::with_capacity(256),
            metrics,
        }
    }

    /// Records the replicated state of `tick` as a possible baseline.
    pub fn record(&mut self, tick: u64, frame: G::Frame) {
        self.history.push(tick, frame);
    }

    /// Forgets the states older than `floor` (see [`crate::delivery::baseline_floor`]).
    pub fn forget_before(&mut self, floor: u64) {
        self.history.forget_before(floor);
    }

    /// Starts tick `tick`, stepped at `time_ms`, whose snapshot state is `state`: the last
    /// tick's encodings are dropped.
    pub fn begin(&mut self, tick: u64, time_ms: u64, state: G::State) {
        self.tick = tick;
        self.time_ms = time_ms;
        self.state = Some(state);
        self.full = None;
        self.deltas.clear();
    }

    /// Ends the tick: the state is dropped if no full snapshot needed it; the encodings are
    /// kept for [`TickSnapshots::encodings`].
    pub fn end(&mut self) {
        self.state = None;
    }

    /// The full snapshot of this tick, encoded at most once.
    pub fn full(&mut self) -> Result<Bytes, EncodeError> {
        if let Some(bytes) = &self.full {
            return Ok(bytes.clone());
        }
        let state = self
            .state
            .take()
            .expect("the tick's state should be kept until its full snapshot is encoded");
        let msg: Msg<G> = ServerMsg::Snapshot(Snapshot {
            tick: self.tick,
            server_time_ms: self.time_ms,
            state,
        });
        let bytes = self.encode(&msg, "full")?;
        self.full = Some(bytes.clone());
        Ok(bytes)
    }

    /// This tick's delta for a client that acknowledged `acked`, packed (`"d"`) or not
    /// (`"delta"`), encoded once per baseline and form.
    pub fn delta(&mut self, acked: u64, packed: bool) -> Result<Bytes, EncodeError> {
        let base_tick = self.history.baseline_for(acked);
        if base_tick == 0 {
            self.metrics.delta_rebaselines_total.inc();
        }
        let key = (base_tick, packed);
        if let Some((_, bytes)) = self.deltas.iter().find(|(k, _)| *k == key) {
            return Ok(bytes.clone());
        }
        if self.history.latest().is_none_or(|(t, _)| t != self.tick) {
            // Nothing replicated this tick (deltas turned on mid-tick): a full snapshot is
            // always a valid answer.
            return self.full();
        }
        let msg: Msg<G> = if packed {
            self.patch.clear();
            if !self
                .history
                .pack_from(base_tick, self.tick_rate, &mut self.patch)?
            {
                return self.full();
            }
            ServerMsg::Packed(PackedDelta {
                tick: self.tick,
                base_tick,
                server_time_ms: self.time_ms,
                patch: std::mem::take(&mut self.patch),
            })
        } else {
            let Some(patch) = self.history.patch_from(base_tick) else {
                return self.full();
            };
            ServerMsg::Delta(DeltaSnapshot {
                tick: self.tick,
                base_tick,
                server_time_ms: self.time_ms,
                patch,
            })
        };
        let kind = match (base_tick, packed) {
            (0, false) => "delta_full",
            (_, false) => "delta",
            (0, true) => "packed_full",
            (_, true) => "packed",
        };
        let bytes = self.encode(&msg, kind)?;
        if let ServerMsg::Packed(p) = msg {
            self.patch = p.patch; // keep the scratch allocation
        }
        self.deltas.push((key, bytes.clone()));
        Ok(bytes)
    }

    /// Snapshots encoded this (or, between ticks, the last) tick.
    pub fn encodings(&self) -> usize {
        usize::from(self.full.is_some()) + self.deltas.len()
    }

    /// States kept as delta baselines.
    pub fn baselines_held(&self) -> usize {
        self.history.len()
    }

    fn encode(&mut self, msg: &Msg<G>, kind: &str) -> Result<Bytes, EncodeError> {
        encode_into(msg, &mut self.buf)?;
        // One allocation per encoding; every seat gets a reference-counted handle to it.
        let bytes = Bytes::copy_from_slice(&self.buf);
        self.metrics.snapshot_encodings_total.inc();
        self.metrics.snapshot_bytes_total.inc_by(bytes.len() as u64);
        self.metrics
            .snapshot_size_bytes
            .with_label_values(&[kind])
            .observe(bytes.len() as f64);
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::counter::{Counter, CounterState};
    use tickcast_shared::decode;
    use tickcast_shared::delta::{Baselines, DeltaError};

    fn state(total: i64) -> CounterState {
        CounterState {
            total,
            players: Vec::new(),
        }
    }

    /// Ticks 1..=`ticks` replicated, tick `ticks` begun.
    fn snapshots(ticks: u64) -> TickSnapshots<Counter> {
        let mut s = TickSnapshots::new(8, 30, Arc::new(Metrics::new()));
        for tick in 1..=ticks {
            s.record(tick, state(tick as i64));
        }
        s.begin(ticks, 1_000, state(ticks as i64));
        s
    }

    /// (tick, base tick) of a delta; (tick, none) of a full snapshot.
    fn kind(bytes: &[u8]) -> (u64, Option<u64>) {
        match decode::<Msg<Counter>>(bytes).expect("the room's own encoding decodes") {
            ServerMsg::Snapshot(s) => (s.tick, None),
            ServerMsg::Delta(d) => (d.tick, Some(d.base_tick)),
            ServerMsg::Packed(d) => (d.tick, Some(d.base_tick)),
            other => panic!("not a snapshot: {other:?}"),
        }
    }

    #[test]
    fn the_full_snapshot_is_encoded_once_however_many_seats_take_it() {
        let mut s = snapshots(3);
        let a = s.full().expect("encodes");
        let b = s.full().expect("encodes");
        assert_eq!(a.as_ptr(), b.as_ptr(), "one encoding, shared");
        assert_eq!(kind(&a), (3, None));
        assert_eq!(s.encodings(), 1);
    }

    #[test]
    fn delta_clients_with_the_same_baseline_share_one_encoding() {
        let mut s = snapshots(5);
        let a = s.delta(3, false).expect("encodes");
        let b = s.delta(3, false).expect("encodes");
        let c = s.delta(4, false).expect("encodes");
        assert_eq!(a.as_ptr(), b.as_ptr());
        assert_eq!((kind(&a), kind(&c)), ((5, Some(3)), (5, Some(4))));
        assert_eq!(s.encodings(), 2);
    }

    #[test]
    fn packed_and_plain_seats_on_one_baseline_get_one_encoding_of_each_form() {
        let mut s = snapshots(5);
        let plain = s.delta(3, false).expect("encodes");
        let packed = s.delta(3, true).expect("encodes");
        let again = s.delta(3, true).expect("encodes");
        assert_eq!(packed.as_ptr(), again.as_ptr());
        assert_eq!(s.encodings(), 2);
        assert_eq!((kind(&plain), kind(&packed)), ((5, Some(3)), (5, Some(3))));
        let Ok(ServerMsg::Packed(d)) = decode::<Msg<Counter>>(&packed) else {
            panic!("a packed delta");
        };
        let mut client: Baselines<CounterState> = Baselines::new(8);
        let full = s.delta(0, true).expect("encodes");
        let Ok(ServerMsg::Packed(f)) = decode::<Msg<Counter>>(&full) else {
            panic!("a packed full patch");
        };
        client.receive_packed(&f, 30).expect("applies");
        assert_eq!(client.ack_tick(), 5);
        assert_eq!(
            client.receive_packed(&d, 30),
            Err(DeltaError::NotNewer { tick: 5, newest: 5 }),
            "the same tick again"
        );
    }

    #[test]
    fn a_client_whose_ack_is_no_longer_held_gets_a_full_patch() {
        let mut s = snapshots(5);
        s.forget_before(4);
        let metrics = s.metrics.clone();
        for acked in [0, 2, 5] {
            // Never acked, forgotten, or the newest itself: base tick 0.
            assert_eq!(kind(&s.delta(acked, false).expect("encodes")), (5, Some(0)));
        }
        assert_eq!(metrics.delta_rebaselines_total.get(), 3);
        assert_eq!(s.encodings(), 1, "one full patch for all three");
    }

    #[test]
    fn without_a_state_replicated_this_tick_a_delta_client_gets_the_full_snapshot() {
        let mut s = snapshots(2);
        s.begin(3, 1_033, state(3));
        assert_eq!(kind(&s.delta(2, false).expect("encodes")), (3, None));
    }

    #[test]
    fn a_new_tick_drops_the_last_ticks_encodings_but_keeps_the_baselines() {
        let mut s = snapshots(2);
        s.full().expect("encodes");
        s.delta(1, false).expect("encodes");
        s.end();
        assert_eq!(
            s.encodings(),
            2,
            "kept for /rooms/{{id}} until the next tick"
        );
        s.record(3, state(3));
        s.begin(3, 1_066, state(3));
        assert_eq!((s.encodings(), s.baselines_held()), (0, 3));
    }
}
