//! What a bot pays per snapshot: [`SnapshotView::scan`] (in place, no allocation) against a full
//! `tickcast_shared::decode` into a `Snapshot`, for rooms of 8, 32 and 128 players.
//!
//! `cargo bench -p tickcast-bot --bench snapshot_scan`

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use tickcast_bot::SnapshotView;
use tickcast_shared::arena::{ArenaServerMsg, ArenaState, Orb, PlayerState};
use tickcast_shared::{decode, encode, PlayerId, Snapshot};

fn snapshot(players: u8) -> Vec<u8> {
    let players = (0..players)
        .map(|i| PlayerState {
            id: PlayerId::from_bytes([i; 16]),
            name: format!("bot-{i}").into(),
            x: f32::from(i) * 10.0,
            y: 450.0,
            vx: 1.0,
            vy: -1.0,
            score: u32::from(i),
            last_input: 1000 + u32::from(i),
            held: false,
        })
        .collect();
    let orbs = (0..24)
        .map(|i| Orb {
            id: i,
            x: f32::from(i) * 60.0,
            y: 300.0,
        })
        .collect();
    encode(&ArenaServerMsg::Snapshot(Snapshot {
        tick: 123_456,
        server_time_ms: 1_795_000_000_000,
        state: ArenaState {
            players,
            orbs,
            round: None,
        },
    }))
    .expect("encodes")
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("snapshot_read");
    for n in [8u8, 32, 128] {
        let bytes = snapshot(n);
        let me = [n / 2; 16];
        g.bench_with_input(BenchmarkId::new("scan", n), &bytes, |b, bytes| {
            b.iter(|| SnapshotView::scan(black_box(bytes), &me))
        });
        g.bench_with_input(BenchmarkId::new("full_decode", n), &bytes, |b, bytes| {
            b.iter(|| decode::<ArenaServerMsg>(black_box(bytes)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
