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

/** Beyond this distance (ticks) from its target, the render clock jumps instead of drifting. */
const RESYNC_TICKS = 15;
/** The render clock may run this much faster or slower than real time to catch up. */
const MAX_RATE_ADJUST = 0.1;

export class RenderClock {
  readonly tickMs: number;
  private offset: number | null = null;
  private renderTick: number | null = null;
  private lastNow = 0;

  /**
   * @param tickRate the room's tick rate (Hz)
   * @param delayMs how far behind the estimated newest tick to render
   */
  constructor(
    tickRate: number,
    readonly delayMs = 100,
  ) {
    this.tickMs = 1000 / tickRate;
  }

  /** Records that snapshot `tick` arrived at local time `nowMs`. */
  observe(tick: number, nowMs: number): void {
    const sample = nowMs - tick * this.tickMs;
    if (this.offset === null || Math.abs(sample - this.offset) > RESYNC_TICKS * this.tickMs * 4) {
      this.offset = sample;
    } else {
      // Late arrivals (jitter) pull the estimate up slowly; early ones pull it down faster.
      const k = sample < this.offset ? 0.2 : 0.05;
      this.offset += (sample - this.offset) * k;
    }
  }

  /** The tick to render at local time `nowMs`: smooth, never decreasing. */
  tick(nowMs: number): number {
    if (this.offset === null) return 0;
    const target = (nowMs - this.offset - this.delayMs) / this.tickMs;
    if (this.renderTick === null || Math.abs(target - this.renderTick) > RESYNC_TICKS) {
      this.renderTick = Math.max(this.renderTick ?? -Infinity, target);
    } else {
      const elapsedTicks = Math.max(0, nowMs - this.lastNow) / this.tickMs;
      // How far off we would be after advancing at real-time speed.
      const error = target - (this.renderTick + elapsedTicks);
      const rate = 1 + Math.max(-MAX_RATE_ADJUST, Math.min(MAX_RATE_ADJUST, error * 0.2));
      this.renderTick += elapsedTicks * rate;
    }
    this.lastNow = nowMs;
    return this.renderTick;
  }
}
