//! Criterion benchmarks of the per-tick work: snapshot encode/decode for rooms of 8, 32 and 128
//! players, one simulation step, and a room's whole tick including the fan-out to N seats
//! (offer to each seat's latest-wins slot + wake its session actor).
//!
//! The `delta` group measures what delta snapshots add to a 16-player room's tick (replicating
//! the state, diffing against a baseline two ticks old, encoding) and what a client pays to
//! apply one, next to the full snapshot's encode and decode; and the same for packed deltas
//! (`"d"`: residuals of a prediction, varints).
//!
//! The `migration` group measures what moving a 16-player room costs the nodes: saving the
//! arena, encoding its room image, and on the target decoding the image and restoring the arena.
//!
//! Run: `cargo bench -p tickcast-server --bench tick`. Results are recorded in BENCHMARKS.md.

use std::sync::Arc;

use actix::prelude::*;
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tickcast_server::directory::Epoch;
use tickcast_server::game::arena::{Arena, ArenaConfig};
use tickcast_server::game::Game;
use tickcast_server::image::{MemberImage, RoomImage};
use tickcast_server::seat::Seat;
use tickcast_server::wake::{self, Wake, WakeHandle, Wakes};
use tickcast_shared::arena::{ArenaServerMsg, Controls, QuantizedArena};
use tickcast_shared::delta::{Diffable, Step};
use tickcast_shared::{decode, encode_into, DeltaSnapshot, PackedDelta, ServerMsg, Snapshot};
use uuid::Uuid;

const SIZES: [usize; 3] = [8, 32, 128];
const DT: f32 = 1.0 / 30.0;

fn arena_with(players: usize) -> (Arena, Vec<Uuid>) {
    let mut g = Arena::new(ArenaConfig::default(), 7);
    let ids: Vec<Uuid> = (0..players)
        .map(|i| Uuid::from_u128(i as u128 + 1))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        g.player_joined(*id, &format!("player-{i}"));
    }
    for (i, id) in ids.iter().enumerate() {
        let a = i as f32;
        g.apply_input(*id, 1, &Controls::new(a.sin(), a.cos(), (i % 2) as u8));
    }
    for _ in 0..30 {
        g.step(DT);
    }
    (g, ids)
}

fn snapshot_msg(g: &Arena, tick: u64) -> ArenaServerMsg {
    ServerMsg::Snapshot(Snapshot {
        tick,
        server_time_ms: 1_764_000_000_000,
        state: g.snapshot(),
    })
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("snapshot");
    for n in SIZES {
        let (g, _) = arena_with(n);
        let msg = snapshot_msg(&g, 1000);
        let mut buf = Vec::new();
        encode_into(&msg, &mut buf).unwrap();
        group.throughput(Throughput::Bytes(buf.len() as u64));
        group.bench_with_input(BenchmarkId::new("encode", n), &msg, |b, msg| {
            let mut out = Vec::with_capacity(buf.len());
            b.iter(|| encode_into(msg, &mut out).unwrap());
        });
        group.bench_with_input(BenchmarkId::new("decode", n), &buf, |b, bytes| {
            b.iter(|| decode::<ArenaServerMsg>(bytes).unwrap());
        });
        group.bench_with_input(BenchmarkId::new("state", n), &g, |b, g| {
            b.iter(|| g.snapshot());
        });
    }
    group.finish();
}

fn step(c: &mut Criterion) {
    let mut group = c.benchmark_group("arena_step");
    for n in SIZES {
        let (g, ids) = arena_with(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            let mut g = g.clone();
            let mut seq = 1;
            b.iter(|| {
                seq += 1;
                for id in &ids {
                    g.apply_input(*id, seq, &Controls::new(0.5, -0.5, 0));
                }
                g.step(DT);
            });
        });
    }
    group.finish();
}

/// A stand-in session: takes the snapshot when woken, like `Session`'s Wake handler.
struct Sink(Arc<Seat<Controls>>, Option<Wakes>);

impl Actor for Sink {
    type Context = Context<Self>;
    fn started(&mut self, ctx: &mut Context<Self>) {
        if let Some(wakes) = self.1.take() {
            ctx.add_stream(wakes);
        }
    }
}

impl StreamHandler<Wake> for Sink {
    fn handle(&mut self, _: Wake, _: &mut Context<Self>) {
        let _ = self.0.take();
    }
}

/// The room's whole tick for a room of 8 players fanned out to N seats: drain inputs, step,
/// build the state, encode once, then offer + wake per seat.
fn room_tick(c: &mut Criterion) {
    let mut group = c.benchmark_group("room_tick_fanout");
    let sys = System::new();
    for seats in [8usize, 128, 1024] {
        let (g, ids) = arena_with(8);
        let sinks: Vec<(Arc<Seat<Controls>>, WakeHandle)> = sys.block_on(async {
            (0..seats)
                .map(|_| {
                    let seat = Arc::new(Seat::new());
                    let (wake, wakes) = wake::channel();
                    Sink(seat.clone(), Some(wakes)).start();
                    (seat, wake)
                })
                .collect()
        });
        group.throughput(Throughput::Elements(seats as u64));
        // Outside the routine, which criterion calls many times: a seat refuses a seq it saw.
        let mut tick = 0u64;
        group.bench_with_input(BenchmarkId::from_parameter(seats), &seats, |b, _| {
            let mut g = g.clone();
            let mut buf = Vec::with_capacity(2048);
            let mut inputs = Vec::new();
            b.iter(|| {
                tick += 1;
                for (i, (seat, _)) in sinks.iter().enumerate().take(ids.len()) {
                    seat.push_input(tick as u32, Controls::new(1.0, 0.0, 0))
                        .expect("the tick, hence the seq, increases");
                    seat.drain_inputs(&mut inputs);
                    for (seq, input) in inputs.drain(..) {
                        g.apply_input(ids[i], seq, &input);
                    }
                }
                g.step(DT);
                let msg: ArenaServerMsg = snapshot_msg(&g, tick);
                encode_into(&msg, &mut buf).unwrap();
                let bytes = Bytes::copy_from_slice(&buf);
                for (seat, wake) in &sinks {
                    seat.offer(tick, bytes.clone());
                    let _ = wake.wake();
                }
            });
        });
        drop(sinks);
    }
    group.finish();
}

/// Full snapshot vs delta for the same tick of a 16-player room (the default room size) whose
/// players all move, with the baseline two ticks old (a typical ack lag).
fn delta(c: &mut Criterion) {
    let mut group = c.benchmark_group("delta");
    let (mut g, ids) = arena_with(16);
    let mut frames = Vec::new();
    for seq in 2..5 {
        for (i, id) in ids.iter().enumerate() {
            let a = (i as f32) + seq as f32 * 0.3;
            g.apply_input(*id, seq, &Controls::new(a.cos(), a.sin(), 0));
        }
        g.step(DT);
        frames.push(QuantizedArena::from_state(&g.snapshot()));
    }
    let (base, next) = (&frames[0], &frames[2]);
    let full = snapshot_msg(&g, 1002);
    let delta: ArenaServerMsg = ServerMsg::Delta(DeltaSnapshot {
        tick: 1002,
        base_tick: 1000,
        server_time_ms: 1_764_000_000_000,
        patch: base.diff(next),
    });
    let step = Step {
        ticks: 2,
        tick_rate: 30,
    };
    let packed = |base: &QuantizedArena, next: &QuantizedArena| {
        let mut patch = Vec::with_capacity(256);
        base.pack(next, step, &mut patch).unwrap();
        ArenaServerMsg::Packed(PackedDelta {
            tick: 1002,
            base_tick: 1000,
            server_time_ms: 1_764_000_000_000,
            patch,
        })
    };
    let (mut full_bytes, mut delta_bytes, mut packed_bytes) = (Vec::new(), Vec::new(), Vec::new());
    encode_into(&full, &mut full_bytes).unwrap();
    encode_into(&delta, &mut delta_bytes).unwrap();
    encode_into(&packed(base, next), &mut packed_bytes).unwrap();
    eprintln!(
        "16 players: full snapshot {} bytes, delta {} bytes ({:.0}% smaller), packed {} bytes \
         (every player turning every tick: the packed worst case)",
        full_bytes.len(),
        delta_bytes.len(),
        100.0 * (1.0 - delta_bytes.len() as f64 / full_bytes.len() as f64),
        packed_bytes.len(),
    );
    let state = g.snapshot();
    group.bench_function("full_encode", |b| {
        let mut out = Vec::with_capacity(2048);
        b.iter(|| encode_into(&full, &mut out).unwrap());
    });
    group.bench_function("replicate", |b| {
        b.iter(|| QuantizedArena::from_state(&state));
    });
    group.bench_function("diff_encode", |b| {
        let mut out = Vec::with_capacity(2048);
        b.iter(|| {
            let msg: ArenaServerMsg = ServerMsg::Delta(DeltaSnapshot {
                tick: 1002,
                base_tick: 1000,
                server_time_ms: 1_764_000_000_000,
                patch: base.diff(next),
            });
            encode_into(&msg, &mut out).unwrap();
        });
    });
    group.bench_function("diff_pack_encode", |b| {
        let mut out = Vec::with_capacity(2048);
        b.iter(|| encode_into(&packed(base, next), &mut out).unwrap());
    });
    group.bench_function("full_decode", |b| {
        b.iter(|| decode::<ArenaServerMsg>(&full_bytes).unwrap());
    });
    group.bench_function("client_decode_apply", |b| {
        b.iter(|| {
            let Ok(ServerMsg::Delta(d)) = decode::<ArenaServerMsg>(&delta_bytes) else {
                unreachable!("a delta was encoded")
            };
            base.apply(&d.patch).unwrap()
        });
    });
    group.bench_function("client_decode_unpack", |b| {
        b.iter(|| {
            let Ok(ServerMsg::Packed(d)) = decode::<ArenaServerMsg>(&packed_bytes) else {
                unreachable!("a packed delta was encoded")
            };
            base.unpack(&d.patch, step).unwrap()
        });
    });
    group.finish();
}

/// A 16-player arena frozen after a tick, its room image, and the way back.
fn migration(c: &mut Criterion) {
    let mut group = c.benchmark_group("migration");
    let (g, ids) = arena_with(16);
    let image = RoomImage {
        room_id: "r0000abcd".into(),
        public: true,
        epoch: Epoch(1),
        tick: 1000,
        tick_rate: 30,
        max_players: 16,
        game: g.save(),
        members: ids
            .iter()
            .enumerate()
            .map(|(i, id)| MemberImage {
                player_id: *id,
                name: format!("player-{i}"),
                resume_token: Uuid::from_u128(!(i as u128)).simple().to_string(),
                last_input_seq: 1,
                held_ms: None,
            })
            .collect(),
    };
    let bytes = image.encode();
    eprintln!(
        "16 players: saved arena {} bytes, room image {} bytes",
        image.game.len(),
        bytes.len()
    );
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("save_arena", |b| b.iter(|| g.save()));
    group.bench_function("encode_image", |b| b.iter(|| image.encode()));
    group.bench_function("decode_image_restore_arena", |b| {
        b.iter(|| Arena::restore(&RoomImage::decode(&bytes).unwrap().game).unwrap());
    });
    group.finish();
}

criterion_group!(benches, codec, step, room_tick, delta, migration);
criterion_main!(benches);
