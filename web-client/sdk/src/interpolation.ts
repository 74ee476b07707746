/**
 * Entity interpolation: other players are drawn a little in the past (about 100 ms behind the
 * newest snapshot), between the two snapshots around that render time. A gap in the tick numbers
 * (snapshots the server dropped for us) only makes the two neighbours further apart, so motion
 * stays smooth through it.
 *
 * Time is measured in ticks: the server ticks on a fixed schedule, so `tick × tickMs` is an even
 * server timeline. `RenderClock` maps the local clock onto it and advances a render tick smoothly
 * (never backwards), nudging its speed by a few percent to track the arrivals.
 */

export interface Point {
  x: number;
  y: number;
}

interface Frame {
  tick: number;
  entities: Map<string, Point>;
}

/** How many snapshots are kept (about 2 s at 30 Hz). */
const MAX_FRAMES = 64;

export class Interpolator {
  private frames: Frame[] = [];

  /** Adds a snapshot's entity positions. Out-of-order or repeated ticks are ignored. */
  push(tick: number, entities: Iterable<{ id: string } & Point>): void {
    const newest = this.frames[this.frames.length - 1];
    if (newest && tick <= newest.tick) return;
    const map = new Map<string, Point>();
    for (const e of entities) map.set(e.id, { x: e.x, y: e.y });
    this.frames.push({ tick, entities: map });
    if (this.frames.length > MAX_FRAMES) this.frames.splice(0, this.frames.length - MAX_FRAMES);
  }

  clear(): void {
    this.frames = [];
  }

  get newestTick(): number | null {
    return this.frames[this.frames.length - 1]?.tick ?? null;
  }

  get oldestTick(): number | null {
    return this.frames[0]?.tick ?? null;
  }

  /**
   * Entity positions at `renderTick` (fractional). Before the oldest snapshot: the oldest
   * positions; after the newest: the newest (held, never extrapolated). An entity that is in the
   * later snapshot only appears at its position there; one that left is gone.
   */
  sample(renderTick: number): Map<string, Point> {
    const out = new Map<string, Point>();
    const frames = this.frames;
    if (frames.length === 0) return out;
    const first = frames[0]!;
    const last = frames[frames.length - 1]!;
    if (renderTick >= last.tick) return copy(last.entities);
    if (renderTick <= first.tick) return copy(first.entities);
    // Binary search for the last frame at or before renderTick.
    let lo = 0;
    let hi = frames.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (frames[mid]!.tick <= renderTick) lo = mid;
      else hi = mid;
    }
    const a = frames[lo]!;
    const b = frames[hi]!;
    const t = (renderTick - a.tick) / (b.tick - a.tick);
    for (const [id, pb] of b.entities) {
      const pa = a.entities.get(id);
      out.set(id, pa ? { x: pa.x + (pb.x - pa.x) * t, y: pa.y + (pb.y - pa.y) * t } : { ...pb });
    }
    return out;
  }

  /** Drops snapshots no longer needed for render times at or after `renderTick`. */
  prune(renderTick: number): void {
    let keepFrom = 0;
    while (keepFrom + 1 < this.frames.length && this.frames[keepFrom + 1]!.tick <= renderTick) {
      keepFrom++;
    }
    if (keepFrom > 0) this.frames.splice(0, keepFrom);
  }
}

function copy(m: Map<string, Point>): Map<string, Point> {
  const out = new Map<string, Point>();
  for (const [id, p] of m) out.set(id, { ...p });
  return out;
}

/** Further than this (ticks) behind its target, the render clock jumps ahead… */
const RESYNC_TICKS = 15;
/** …and further than this ahead of it, it stops until the target catches up. */
const FREEZE_TICKS = 3;
/** The render clock may run this much faster or slower than real time to catch up. */
const MAX_RATE_ADJUST = 0.1;
/** Arrivals kept for estimating the server's actual tick period (~3 s at 30 Hz)… */
const WINDOW = 90;
/** …and the most recent of them that place the arrival line (~1 s). */
const LINE_WINDOW = 30;
/** Arrivals must span this many ticks (~1 s) before the tick period is measured at all. */
const MIN_PERIOD_SPAN = 30;
/** No snapshot for this long (ms) means a stall: the arrival line is re-learnt. */
const STALL_MS = 250;

/**
 * Maps local time onto the server's tick timeline. From the recent arrivals (tick, local time)
 * it estimates the actual time per tick (an overloaded server ticks slower than nominal) and the
 * earliest-arrival line `arrival(tick) = offset + tick × period`; the render target is `delayMs`
 * behind that line, so snapshots delayed by jitter up to `delayMs` still arrive in time.
 */
export class RenderClock {
  readonly tickMs: number;
  private arrivals: { tick: number; at: number }[] = [];
  private period: number;
  private offset: number | null = null;
  private renderTick: number | null = null;
  private lastNow = 0;

  /**
   * @param tickRate the room's nominal tick rate (Hz)
   * @param delayMs how far behind the earliest-arrival line to render
   */
  constructor(
    tickRate: number,
    readonly delayMs = 100,
  ) {
    this.tickMs = 1000 / tickRate;
    this.period = this.tickMs;
  }

  /** The estimated time between ticks, ms. */
  get periodMs(): number {
    return this.period;
  }

  /** Records that snapshot `tick` arrived at local time `nowMs`. */
  observe(tick: number, nowMs: number): void {
    const a = this.arrivals;
    const last = a[a.length - 1];
    // The server stalled (or our tab did), or a different server: the old arrival line is no
    // longer true, start over from here.
    if (last && (tick <= last.tick || nowMs - last.at > STALL_MS)) a.length = 0;
    a.push({ tick, at: nowMs });
    if (a.length > WINDOW) a.shift();
    this.period = this.estimatePeriod();
    // The earliest-arrival line over the last second (older samples only estimate the period).
    let offset = Infinity;
    for (let i = Math.max(0, a.length - LINE_WINDOW); i < a.length; i++) {
      offset = Math.min(offset, a[i]!.at - a[i]!.tick * this.period);
    }
    this.offset = offset;
  }

  /**
   * The actual time per tick, from the slope of the earliest-arrival envelope: the earliest
   * arrival (relative to the nominal timeline) in the older half of the window against the one
   * in the newer half. Late arrivals (jitter, and the burst right after joining, when the first
   * snapshots are handled late and together) do not move it, unlike a slope through the first
   * and last arrival, which a late first snapshot makes far too short: the render clock then ran
   * ahead of the newest snapshot for seconds after every join. Until the arrivals span
   * `MIN_PERIOD_SPAN` ticks the nominal period is used.
   */
  private estimatePeriod(): number {
    const a = this.arrivals;
    const first = a[0]!.tick;
    const span = a[a.length - 1]!.tick - first;
    if (span < MIN_PERIOD_SPAN) return this.tickMs;
    const mid = first + span / 2;
    let older = Infinity;
    let newer = Infinity;
    for (const { tick, at } of a) {
      const r = at - (tick - first) * this.tickMs;
      if (tick < mid) older = Math.min(older, r);
      else newer = Math.min(newer, r);
    }
    // With a steady drift both minima sit at the same end of their halves, span / 2 apart.
    const p = this.tickMs + (newer - older) / (span / 2);
    return Math.min(this.tickMs * 2, Math.max(this.tickMs * 0.5, p));
  }

  /** The tick to render at local time `nowMs`: smooth, never decreasing. */
  tick(nowMs: number): number {
    if (this.offset === null) return 0;
    const target = (nowMs - this.offset - this.delayMs) / this.period;
    if (this.renderTick === null || target - this.renderTick > RESYNC_TICKS) {
      // Far behind (start, or our tab was asleep): jump ahead.
      this.renderTick = Math.max(this.renderTick ?? -Infinity, target);
    } else if (target - this.renderTick < -FREEZE_TICKS) {
      // Well ahead (the server stalled and the arrival line moved later): wait for it.
    } else {
      const elapsedTicks = Math.max(0, nowMs - this.lastNow) / this.period;
      // How far off we would be after advancing at real-time speed.
      const error = target - (this.renderTick + elapsedTicks);
      const rate = 1 + Math.max(-MAX_RATE_ADJUST, Math.min(MAX_RATE_ADJUST, error * 0.2));
      this.renderTick += elapsedTicks * rate;
    }
    this.lastNow = nowMs;
    return this.renderTick;
  }
}
