import { describe, expect, it } from 'vitest';
import { GRAPH_BARS, NetStats, RoundTrips, type NetStatsContext } from '../src/netstats';

const CTX: NetStatsContext = { rttMs: 12, tickRate: 30, newestTick: 0, ackTick: 0 };
const TICK_MS = 1000 / 30;

/**
 * A connection at 30 Hz from t = 1000 ms: one full patch, then deltas of `bytes` against the
 * tick 3 back, an input (20 B) sent after every snapshot and a ping/pong (15 B each way) per
 * second. `skip` ticks are never sent. Returns the time after the last frame.
 */
function play(
  stats: NetStats,
  { frames, bytes = 60, skip = new Set<number>(), from = 1, t0 = 1000 } = {} as {
    frames: number;
    bytes?: number;
    skip?: Set<number>;
    from?: number;
    t0?: number;
  },
): number {
  let t = t0;
  for (let tick = from; tick < from + frames; tick++) {
    t = t0 + (tick - from) * TICK_MS;
    if (skip.has(tick)) continue;
    const full = tick === from;
    const size = full ? 350 : bytes;
    stats.received(t, size);
    stats.snapshot(t, tick, full ? 'full' : 'delta', size, full ? 0 : Math.max(from, tick - 3));
    stats.sent(t + 1, 20);
    stats.interpDelay(t + 2, 110);
    if ((tick - from) % 30 === 0) {
      stats.sent(t + 3, 15);
      stats.received(t + 4, 15);
    }
  }
  return t;
}

describe('NetStats rates over a sliding window', () => {
  it('gives no rates before there is anything to measure', () => {
    const s = new NetStats().sample(5000, CTX);
    expect(s.snapshotRate).toBeNull();
    expect(s.downBytesPerSec).toBeNull();
    expect(s.bytesPerSnapshot).toBeNull();
    expect(s.deltaShare).toBeNull();
    expect(s.ackLag).toBeNull();
    expect(s.droppedTotal).toBe(0);
    expect(s.rttMs).toBe(12);
  });

  it('measures a steady 30 Hz delta stream', () => {
    const stats = new NetStats(1000);
    const end = play(stats, { frames: 90 }); // 3 s
    const s = stats.sample(end + 5, { ...CTX, newestTick: 90, ackTick: 90 });
    // The last second holds 30 frames (ticks 61–90): all deltas of 60 B.
    expect(s.snapshotRate).toBeCloseTo(30, 0);
    expect(s.bytesPerSnapshot).toBe(60);
    expect(s.deltaShare).toBe(1);
    expect(s.fullShare).toBe(0);
    expect(s.fullBytes).toBe(350);
    // 30 × 60 B of snapshots + one pong; 30 inputs of 20 B + one ping.
    expect(s.downBytesPerSec).toBeGreaterThanOrEqual(1800);
    expect(s.downBytesPerSec).toBeLessThanOrEqual(1800 + 15);
    expect(s.upBytesPerSec).toBeGreaterThanOrEqual(600);
    expect(s.upBytesPerSec).toBeLessThanOrEqual(600 + 15);
    expect(s.droppedTicks).toBe(0);
    expect(s.deltaErrors).toBe(0);
    expect(s.ackLag).toBe(0);
    expect(s.baseAge).toBe(3);
    expect(s.interpDelayMs).toBe(110);
  });

  it('scales rates by the time observed while the window is not yet full', () => {
    const stats = new NetStats(1000);
    const end = play(stats, { frames: 15 }); // ~0.47 s
    const s = stats.sample(end, CTX);
    expect(s.snapshotRate).toBeGreaterThan(29);
    expect(s.snapshotRate).toBeLessThan(33);
    // The full patch is still in the window.
    expect(s.fullShare).toBeCloseTo(1 / 15, 5);
    expect(s.deltaShare).toBeCloseTo(14 / 15, 5);
  });

  it('forgets what left the window', () => {
    const stats = new NetStats(1000);
    const end = play(stats, { frames: 30 });
    const later = stats.sample(end + 1500, CTX);
    expect(later.snapshotRate).toBe(0);
    expect(later.downBytesPerSec).toBe(0);
    expect(later.upBytesPerSec).toBe(0);
    expect(later.bytesPerSnapshot).toBeNull();
    expect(later.deltaShare).toBeNull();
    expect(later.interpDelayMs).toBeNull();
    // Totals and the newest full frame's size stay.
    expect(later.fullBytes).toBe(350);
  });

  it('counts gaps in the tick numbers as dropped ticks, in the window and in total', () => {
    const stats = new NetStats(1000);
    const end = play(stats, { frames: 90, skip: new Set([10, 11, 12, 80, 85, 86]) });
    const s = stats.sample(end, CTX);
    expect(s.droppedTicks).toBe(3); // 80, 85, 86 are in the last second
    expect(s.droppedTotal).toBe(6);
    expect(s.snapshotRate).toBeCloseTo(27, 0);
    const bad = stats.graph().filter((b) => b.bad);
    expect(bad).toHaveLength(2); // the frames after the gaps at 80 and 85–86
  });

  it('does not count a new connection’s restart of the tick numbers as a gap', () => {
    const stats = new NetStats(1000);
    let t = play(stats, { frames: 30, from: 500 });
    stats.newConnection();
    t = play(stats, { frames: 30, from: 2000, t0: t + 300 });
    const s = stats.sample(t, CTX);
    expect(s.droppedTotal).toBe(0);
    // Both connections' full patches: one in the window, the new one is the newest.
    expect(s.fullShare).toBeGreaterThan(0);
  });

  it('counts delta apply errors and the ack lag they cause', () => {
    const stats = new NetStats(1000);
    let t = play(stats, { frames: 30 });
    t += TICK_MS;
    stats.snapshot(t, 31, 'delta', 60, 7);
    stats.deltaError(t, 'UnknownBaseline');
    const s = stats.sample(t, { ...CTX, newestTick: 31, ackTick: 30 });
    expect(s.deltaErrors).toBe(1);
    expect(s.deltaErrorsTotal).toBe(1);
    expect(s.ackLag).toBe(1);
    expect(stats.graph().at(-1)!.bad).toBe(true);
    const later = stats.sample(t + 2000, CTX);
    expect(later.deltaErrors).toBe(0);
    expect(later.deltaErrorsTotal).toBe(1);
  });

  it('treats full snapshots (a server without deltas) as full frames', () => {
    const stats = new NetStats(1000);
    for (let tick = 1; tick <= 30; tick++) stats.snapshot(tick * TICK_MS, tick, 'snap', 400);
    const s = stats.sample(30 * TICK_MS + 1, CTX);
    expect(s.deltaShare).toBe(0);
    expect(s.fullShare).toBe(1);
    expect(s.fullBytes).toBe(400);
    expect(s.baseAge).toBeNull();
  });

  it('keeps a bounded bar graph, oldest first', () => {
    const stats = new NetStats(1000);
    play(stats, { frames: GRAPH_BARS * 2 });
    const bars = stats.graph();
    expect(bars).toHaveLength(GRAPH_BARS);
    expect(bars.every((b) => b.kind === 'delta' && b.bytes === 60)).toBe(true);
  });

  it('stays exact over a long run (the window is pruned and compacted)', () => {
    const stats = new NetStats(1000);
    const end = play(stats, { frames: 30 * 120 }); // 2 minutes
    const s = stats.sample(end + 1, { ...CTX, newestTick: 3600, ackTick: 3600 });
    expect(s.snapshotRate).toBeCloseTo(30, 0);
    expect(s.bytesPerSnapshot).toBe(60);
    expect(s.downBytesPerSec! - 1800).toBeLessThanOrEqual(15);
  });
});

describe('NetStats totals since the page loaded', () => {
  it('counts full snapshots, deltas and full patches over every connection', () => {
    const stats = new NetStats(1000);
    expect(stats.totals()).toEqual({
      snapshots: 0,
      deltas: 0,
      fullDeltas: 0,
      deltaErrors: 0,
      lastDeltaError: null,
      lastBaseTick: 0,
    });
    play(stats, { frames: 30 }); // one full patch, 29 deltas
    stats.newConnection();
    play(stats, { frames: 3, t0: 5000 });
    stats.snapshot(6000, 4, 'snap', 400);
    expect(stats.totals()).toMatchObject({ snapshots: 1, deltas: 33, fullDeltas: 2 });
  });

  it('keeps the base tick of the last delta (a full snapshot does not change it)', () => {
    const stats = new NetStats(1000);
    stats.snapshot(0, 10, 'full', 300, 0);
    expect(stats.totals().lastBaseTick).toBe(0);
    stats.snapshot(33, 11, 'delta', 40, 10);
    stats.snapshot(66, 12, 'snap', 300);
    expect(stats.totals().lastBaseTick).toBe(10);
  });

  it('counts apply errors long after they leave the window, with the last kind', () => {
    const stats = new NetStats(1000);
    stats.snapshot(0, 5, 'delta', 40, 2);
    stats.deltaError(0, 'UnknownBaseline');
    stats.snapshot(33, 6, 'delta', 40, 3);
    stats.deltaError(33, 'BadMask');
    stats.sample(10_000, CTX);
    expect(stats.totals()).toMatchObject({ deltas: 2, deltaErrors: 2, lastDeltaError: 'BadMask' });
  });
});

describe('RoundTrips', () => {
  it('skips the first pong, which overlaps start-up', () => {
    const rtt = new RoundTrips();
    rtt.pong(1500, 1000);
    expect(rtt.ms).toBeNull();
    rtt.pong(2020, 2000);
    expect(rtt.ms).toBe(20);
  });

  it('is the median of the last five, so one slow round trip does not spike it', () => {
    const rtt = new RoundTrips();
    rtt.pong(0, 0);
    let t = 1000;
    for (const ms of [20, 22, 400, 21, 23]) {
      rtt.pong(t + ms, t);
      t += 1000;
    }
    expect(rtt.ms).toBe(22);
    // The sixth pushes the first (20) out: [22, 400, 21, 23, 30] → 23.
    rtt.pong(t + 30, t);
    expect(rtt.ms).toBe(23);
  });

  it('ignores a negative or absurdly long round trip', () => {
    const rtt = new RoundTrips();
    rtt.pong(0, 0);
    rtt.pong(1030, 1000);
    rtt.pong(1900, 2000);
    rtt.pong(70_000, 3000);
    expect(rtt.ms).toBe(30);
  });
});
