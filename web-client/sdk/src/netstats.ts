/**
 * Network statistics for a net graph (like Source's `net_graph`): what arrives and leaves on the
 * WebSocket, counted as it happens — once, in one ledger — and turned into rates over a sliding
 * window (~1 s) and totals since the start; and the round trip of the pings (a median). A client
 * feeds it from its connection's events and reads the figures out (`Room` does both and offers
 * them as `room.stats`; the demo's game.ts does it itself and draws them). Pure: no DOM, no clock
 * of its own — every call takes the time (`performance.now()` in a page, fake timestamps in tests).
 */

/** How a snapshot frame arrived. */
export type SnapshotKind =
  /** A full `snap` message (a server without deltas). */
  | 'snap'
  /** A `delta` against a baseline we acknowledged. */
  | 'delta'
  /** A `delta` with `base_tick` 0: a full patch against the empty state. */
  | 'full';

/** The figures the overlay shows and `window.tickcast.netStats` exposes. */
export interface NetStatsSample {
  /** Width of the sliding window the rates are computed over, ms. */
  readonly windowMs: number;
  /** Round-trip time from ping/pong (median of the last few), ms. */
  readonly rttMs: number | null;
  /** The room's nominal tick rate, Hz. */
  readonly tickRate: number | null;
  /** Snapshot frames (`snap` or `delta`) received per second. */
  readonly snapshotRate: number | null;
  /** WebSocket payload bytes received per second (every server message). */
  readonly downBytesPerSec: number | null;
  /** WebSocket payload bytes sent per second (inputs, pings). */
  readonly upBytesPerSec: number | null;
  /** Mean payload bytes of one snapshot frame in the window. */
  readonly bytesPerSnapshot: number | null;
  /** Bytes of the newest full snapshot or full patch (what every frame would cost without deltas). */
  readonly fullBytes: number | null;
  /** Share (0–1) of the window's snapshot frames that were deltas against a baseline… */
  readonly deltaShare: number | null;
  /** …and that were full (a `snap`, or a delta with `base_tick` 0). */
  readonly fullShare: number | null;
  /** Ticks missing between consecutive snapshot frames (gaps in `tick`) in the window… */
  readonly droppedTicks: number;
  /** …and since the page loaded. */
  readonly droppedTotal: number;
  /** Deltas that could not be applied, in the window… */
  readonly deltaErrors: number;
  /** …and since the page loaded. */
  readonly deltaErrorsTotal: number;
  /** Newest tick received − the tick our inputs acknowledge (0 while every delta applies). */
  readonly ackLag: number | null;
  /** `tick − base_tick` of the newest delta: how old the ack the server last had from us was. */
  readonly baseAge: number | null;
  /** How far behind the newest snapshot other players are drawn (mean over the window), ms. */
  readonly interpDelayMs: number | null;
}

/** Snapshot traffic since the page loaded (over all connections): `window.tickcast.net`. */
export interface NetTotals {
  /** Full `snap` messages received (a server without deltas, or with them disabled). */
  readonly snapshots: number;
  /** `delta` messages received, applied or not. */
  readonly deltas: number;
  /** Of those, full patches (`base_tick` 0: a connection's first, or after a long stall). */
  readonly fullDeltas: number;
  /** Deltas dropped because they could not be applied (`DeltaError`). */
  readonly deltaErrors: number;
  /** The kind of the last such error (`UnknownBaseline`, `BadIndex` …). */
  readonly lastDeltaError: string | null;
  /** `base_tick` of the last delta received. */
  readonly lastBaseTick: number;
}

/** What the game knows at sampling time (not events). */
export interface NetStatsContext {
  rttMs: number | null;
  tickRate: number | null;
  /** Newest snapshot tick received (0 before the first). */
  newestTick: number;
  /** What inputs acknowledge now. */
  ackTick: number;
}

/** One snapshot frame for the bar graph. */
export interface GraphBar {
  readonly bytes: number;
  readonly kind: SnapshotKind;
  /** This frame followed a gap in the tick numbers, or could not be applied. */
  readonly bad: boolean;
}

/** Timestamped values, oldest first; the ones older than the window are dropped as time passes. */
class Series {
  private times: number[] = [];
  private values: number[] = [];
  private head = 0;
  private total = 0;

  push(t: number, v: number): void {
    this.times.push(t);
    this.values.push(v);
    this.total += v;
  }

  /** Drops the entries at or before `cutoff`. */
  prune(cutoff: number): void {
    while (this.head < this.times.length && this.times[this.head]! <= cutoff) {
      this.total -= this.values[this.head]!;
      this.head++;
    }
    if (this.head > 256 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.values = this.values.slice(this.head);
      this.head = 0;
      // Re-add to shed floating-point drift from the running total.
      this.total = this.values.reduce((a, b) => a + b, 0);
    }
  }

  get count(): number {
    return this.times.length - this.head;
  }

  get sum(): number {
    return this.count === 0 ? 0 : this.total;
  }
}

/** Below this much observed time the rates are not shown (they would be noise). */
const MIN_SPAN_MS = 200;
/** Snapshot frames kept for the bar graph. */
export const GRAPH_BARS = 64;

export class NetStats {
  private readonly down = new Series();
  private readonly up = new Series();
  /** Snapshot frames: value = bytes. */
  private readonly snapBytes = new Series();
  private readonly deltaFrames = new Series();
  private readonly fullFrames = new Series();
  private readonly dropped = new Series();
  private readonly errors = new Series();
  private readonly interp = new Series();
  /** When counting started (the first event): rates use the time observed, up to the window. */
  private since: number | null = null;
  private lastTick: number | null = null;
  private lastBaseAge: number | null = null;
  private lastFullBytes: number | null = null;
  private droppedAll = 0;
  private errorsAll = 0;
  private snaps = 0;
  private deltas = 0;
  private fullDeltas = 0;
  private lastDeltaError: string | null = null;
  private lastBaseTick = 0;
  private bars: GraphBar[] = [];

  constructor(readonly windowMs = 1000) {}

  private start(now: number): void {
    if (this.since === null) this.since = now;
  }

  /** A WebSocket message received: its payload bytes. */
  received(now: number, bytes: number): void {
    this.start(now);
    this.down.push(now, bytes);
  }

  /** A WebSocket message sent: its payload bytes. */
  sent(now: number, bytes: number): void {
    this.start(now);
    this.up.push(now, bytes);
  }

  /**
   * A snapshot frame arrived (applied or not): `tick`, how it came, its payload bytes, and for a
   * delta its `base_tick`. A tick more than one past the previous one is a gap: the ticks in
   * between were never sent to us (the server dropped them for a slow reader, or held them back
   * until our ack moved).
   */
  snapshot(now: number, tick: number, kind: SnapshotKind, bytes: number, baseTick?: number): void {
    this.start(now);
    let gap = 0;
    if (this.lastTick !== null && tick > this.lastTick + 1) gap = tick - this.lastTick - 1;
    if (this.lastTick === null || tick > this.lastTick) this.lastTick = tick;
    if (gap > 0) {
      this.dropped.push(now, gap);
      this.droppedAll += gap;
    }
    this.snapBytes.push(now, bytes);
    if (kind === 'snap') this.snaps++;
    else {
      this.deltas++;
      this.lastBaseTick = baseTick ?? 0;
      if (kind === 'full') this.fullDeltas++;
    }
    if (kind === 'delta') this.deltaFrames.push(now, 1);
    else {
      this.fullFrames.push(now, 1);
      this.lastFullBytes = bytes;
    }
    this.lastBaseAge = kind === 'snap' ? null : baseTick ? tick - baseTick : null;
    this.bars.push({ bytes, kind, bad: gap > 0 });
    if (this.bars.length > GRAPH_BARS) this.bars.splice(0, this.bars.length - GRAPH_BARS);
  }

  /** The snapshot frame just recorded could not be applied: a `DeltaError` of `kind`. */
  deltaError(now: number, kind: string): void {
    this.start(now);
    this.errors.push(now, 1);
    this.errorsAll++;
    this.lastDeltaError = kind;
    const last = this.bars[this.bars.length - 1];
    if (last) this.bars[this.bars.length - 1] = { ...last, bad: true };
  }

  /** How far behind the newest snapshot the other players were drawn in this frame, ms. */
  interpDelay(now: number, ms: number): void {
    this.interp.push(now, ms);
  }

  /**
   * A new connection (a Welcome): its ticks do not continue the old ones, so the first snapshot
   * after it is not a gap.
   */
  newConnection(): void {
    this.lastTick = null;
    this.lastBaseAge = null;
  }

  /** The counters since the page loaded. */
  totals(): NetTotals {
    return {
      snapshots: this.snaps,
      deltas: this.deltas,
      fullDeltas: this.fullDeltas,
      deltaErrors: this.errorsAll,
      lastDeltaError: this.lastDeltaError,
      lastBaseTick: this.lastBaseTick,
    };
  }

  /** The snapshot frames of the bar graph, oldest first. */
  graph(): readonly GraphBar[] {
    return this.bars;
  }

  /** The figures at `now`, rates over the last `windowMs`. */
  sample(now: number, ctx: NetStatsContext): NetStatsSample {
    const cutoff = now - this.windowMs;
    for (const s of [
      this.down,
      this.up,
      this.snapBytes,
      this.deltaFrames,
      this.fullFrames,
      this.dropped,
      this.errors,
      this.interp,
    ]) {
      s.prune(cutoff);
    }
    const span = this.since === null ? 0 : Math.min(this.windowMs, now - this.since);
    const perSec = (s: Series) => (span >= MIN_SPAN_MS ? (s.sum * 1000) / span : null);
    const frames = this.snapBytes.count;
    return {
      windowMs: this.windowMs,
      rttMs: ctx.rttMs,
      tickRate: ctx.tickRate,
      snapshotRate: span >= MIN_SPAN_MS ? (frames * 1000) / span : null,
      downBytesPerSec: perSec(this.down),
      upBytesPerSec: perSec(this.up),
      bytesPerSnapshot: frames > 0 ? this.snapBytes.sum / frames : null,
      fullBytes: this.lastFullBytes,
      deltaShare: frames > 0 ? this.deltaFrames.count / frames : null,
      fullShare: frames > 0 ? this.fullFrames.count / frames : null,
      droppedTicks: this.dropped.sum,
      droppedTotal: this.droppedAll,
      deltaErrors: this.errors.count,
      deltaErrorsTotal: this.errorsAll,
      ackLag: this.lastTick === null ? null : Math.max(0, ctx.newestTick - ctx.ackTick),
      baseAge: this.lastBaseAge,
      interpDelayMs: this.interp.count > 0 ? this.interp.sum / this.interp.count : null,
    };
  }
}

/** Round trips the median is taken over. */
const RTT_SAMPLES = 5;
/** A longer round trip is a clock oddity (a suspended tab), not a measurement. */
const RTT_MAX_MS = 60_000;

/**
 * The round trip from ping/pong: the median of the last few, so it is steady and one slow frame
 * does not spike it. The first pong is skipped: its round trip overlaps page start-up (and the
 * server's join work).
 */
export class RoundTrips {
  private readonly recent: number[] = [];
  private pongs = 0;
  private median: number | null = null;

  /** A pong arrived at `now` for the ping sent at `sentAt` (its `client_time`). */
  pong(now: number, sentAt: number): void {
    const rtt = now - sentAt;
    if (this.pongs++ === 0) return;
    if (!(rtt >= 0 && rtt < RTT_MAX_MS)) return;
    this.recent.push(rtt);
    if (this.recent.length > RTT_SAMPLES) this.recent.shift();
    const sorted = [...this.recent].sort((a, b) => a - b);
    this.median = sorted[sorted.length >> 1]!;
  }

  /** The median round trip, ms; `null` until the second pong. */
  get ms(): number | null {
    return this.median;
  }
}
