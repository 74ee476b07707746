/**
 * Client-side prediction of the local player, with reconciliation against the server's
 * acknowledged input sequence (`PlayerState.last_input`).
 *
 * Every input the client sends is also applied locally at once (one tick of physics per input,
 * since inputs go out at the tick rate) and kept as *pending* until a snapshot acknowledges it.
 * On each snapshot: take the server's state of our player, drop the pending inputs with
 * `seq <= last_input`, and replay the rest on top. The difference between where we were drawing
 * the player and the corrected prediction becomes a visual offset that decays over ~100 ms, so a
 * correction never shows as a jump.
 */
import { stepBody, type Body } from './physics';
import type { ArenaInfo, Controls, PlayerState } from './arena';

export interface PendingInput {
  seq: number;
  controls: Controls;
}

/** Above this many pending inputs the oldest are discarded (the server is not acking). */
const MAX_PENDING = 256;
/** A correction larger than this (arena units) is applied at once instead of smoothed. */
const SNAP_DISTANCE = 120;
/** Visual correction decay rate, per second (e^-rate·t). */
const CORRECTION_RATE = 12;

export class Predictor {
  private pending: PendingInput[] = [];
  /** The predicted state after every input sent so far. */
  private current: Body | null = null;
  /** The state one input earlier, for drawing between two predicted steps. */
  private previous: Body | null = null;
  private offsetX = 0;
  private offsetY = 0;
  /** How many inputs were replayed by the last reconciliation (for the HUD/debugging). */
  lastReplayed = 0;

  constructor(
    private readonly arena: ArenaInfo,
    private readonly tickRate: number,
  ) {}

  get dt(): number {
    return 1 / this.tickRate;
  }

  get state(): Body | null {
    return this.current;
  }

  get pendingInputs(): readonly PendingInput[] {
    return this.pending;
  }

  /** Records an input that was just sent and predicts its effect. */
  applyInput(seq: number, controls: Controls): void {
    this.pending.push({ seq, controls: { ...controls } });
    if (this.pending.length > MAX_PENDING)
      this.pending.splice(0, this.pending.length - MAX_PENDING);
    if (this.current) {
      this.previous = this.current;
      this.current = stepBody(this.current, controls, this.arena, this.dt);
    }
  }

  /** Reconciles with the server's view of our player in a snapshot. */
  reconcile(server: Pick<PlayerState, 'x' | 'y' | 'vx' | 'vy' | 'last_input'>): void {
    const before = this.current;
    this.pending = this.pending.filter((p) => p.seq > server.last_input);
    let body: Body = { x: server.x, y: server.y, vx: server.vx, vy: server.vy };
    let prev = body;
    for (const p of this.pending) {
      prev = body;
      body = stepBody(body, p.controls, this.arena, this.dt);
    }
    this.lastReplayed = this.pending.length;
    if (before && this.previous) {
      const dx = before.x - body.x;
      const dy = before.y - body.y;
      if (Math.hypot(dx + this.offsetX, dy + this.offsetY) < SNAP_DISTANCE) {
        this.offsetX += dx;
        this.offsetY += dy;
        // Keep the in-between position consistent with the corrected step.
        this.previous = {
          ...this.previous,
          x: this.previous.x - dx,
          y: this.previous.y - dy,
        };
        this.current = body;
        return;
      }
    }
    this.offsetX = 0;
    this.offsetY = 0;
    this.previous = this.pending.length > 0 ? prev : body;
    this.current = body;
  }

  /**
   * Where to draw the player: between the previous and current predicted step (`alpha` in 0..1
   * is the fraction of the input period elapsed since the last input), plus the decaying
   * correction offset. `elapsed` is the frame time in seconds.
   */
  renderPosition(alpha: number, elapsed: number): { x: number; y: number } | null {
    if (!this.current) return null;
    const decay = Math.exp(-CORRECTION_RATE * Math.max(0, elapsed));
    this.offsetX *= decay;
    this.offsetY *= decay;
    if (Math.abs(this.offsetX) < 0.01) this.offsetX = 0;
    if (Math.abs(this.offsetY) < 0.01) this.offsetY = 0;
    const a = Math.min(1, Math.max(0, alpha));
    const p = this.previous ?? this.current;
    return {
      x: p.x + (this.current.x - p.x) * a + this.offsetX,
      y: p.y + (this.current.y - p.y) * a + this.offsetY,
    };
  }

  get correctionOffset(): { x: number; y: number } {
    return { x: this.offsetX, y: this.offsetY };
  }
}
