import { describe, expect, it } from 'vitest';
import { sanitizeControls, stepBody, type Body } from '../src/physics';
import { Predictor } from '../src/prediction';
import type { ArenaInfo, Controls } from '../src/arena';

// The arena of the golden "welcome" vector (and the server's defaults).
const arena: ArenaInfo = {
  width: 1600,
  height: 900,
  player_radius: 20,
  orb_radius: 8,
  accel: 1800,
  max_speed: 320,
  drag: Math.fround(0.02),
  boost: Math.fround(1.6),
};
const TICK_RATE = 30;
const dt = 1 / TICK_RATE;

const RIGHT: Controls = { x: 1, y: 0, buttons: 0 };
const DOWN_BOOST: Controls = { x: 0, y: 1, buttons: 1 };
const IDLE: Controls = { x: 0, y: 0, buttons: 0 };

function replay(from: Body, inputs: Controls[]): Body {
  return inputs.reduce((b, c) => stepBody(b, c, arena, dt), from);
}

describe('arena physics', () => {
  it('accelerates, applies drag, and caps the speed (boost raises the cap)', () => {
    let b: Body = { x: 800, y: 450, vx: 0, vy: 0 };
    b = stepBody(b, RIGHT, arena, dt);
    // v = 1800 * 1/30 = 60, then * 0.02^(1/30)
    expect(b.vx).toBeCloseTo(60 * Math.pow(0.02, dt), 3);
    expect(b.x).toBeCloseTo(800 + b.vx * dt, 3);
    for (let i = 0; i < 120; i++) b = stepBody(b, RIGHT, arena, dt);
    expect(Math.hypot(b.vx, b.vy)).toBeLessThanOrEqual(320 + 1e-3);
    let c: Body = { x: 100, y: 100, vx: 0, vy: 0 };
    for (let i = 0; i < 30; i++) c = stepBody(c, DOWN_BOOST, arena, dt);
    expect(c.vy).toBeGreaterThan(320);
    expect(c.vy).toBeLessThanOrEqual(320 * 1.6 + 1e-3);
  });

  it('clamps to the walls and zeroes the velocity component that hit', () => {
    let b: Body = { x: 1575, y: 450, vx: 300, vy: 50 };
    b = stepBody(b, RIGHT, arena, dt);
    expect(b.x).toBe(1580);
    expect(b.vx).toBe(0);
    expect(b.vy).not.toBe(0);
  });

  it('sanitizes controls like the server', () => {
    expect(sanitizeControls({ x: NaN, y: Infinity, buttons: 0 })).toEqual({
      x: 0,
      y: 0,
      buttons: 0,
    });
    const d = sanitizeControls({ x: 1, y: 1, buttons: 1 });
    expect(Math.hypot(d.x, d.y)).toBeCloseTo(1, 6);
    expect(sanitizeControls({ x: 5, y: 0, buttons: 0 }).x).toBe(1);
  });
});

describe('prediction and reconciliation', () => {
  it('predicts locally from the first server state', () => {
    const p = new Predictor(arena, TICK_RATE);
    p.reconcile({ x: 400, y: 300, vx: 0, vy: 0, last_input: 0 });
    p.applyInput(1, RIGHT);
    p.applyInput(2, RIGHT);
    expect(p.state).toEqual(replay({ x: 400, y: 300, vx: 0, vy: 0 }, [RIGHT, RIGHT]));
    expect(p.state!.x).toBeGreaterThan(400);
  });

  it('after reconcile the prediction is the server state plus a replay of unacked inputs', () => {
    const p = new Predictor(arena, TICK_RATE);
    p.reconcile({ x: 400, y: 300, vx: 0, vy: 0, last_input: 0 });
    const script: Controls[] = [
      RIGHT,
      RIGHT,
      DOWN_BOOST,
      DOWN_BOOST,
      IDLE,
      RIGHT,
      RIGHT,
      DOWN_BOOST,
    ];
    script.forEach((c, i) => p.applyInput(i + 1, c));
    expect(p.pendingInputs.map((x) => x.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);

    // The server applied inputs 1..3, but its position differs a little from ours (f32, timing).
    const server = { x: 409.5, y: 301.25, vx: 55, vy: 70, last_input: 3 };
    p.reconcile(server);
    expect(p.pendingInputs.map((x) => x.seq)).toEqual([4, 5, 6, 7, 8]);
    expect(p.lastReplayed).toBe(5);
    expect(p.state).toEqual(replay(server, script.slice(3)));

    // A later snapshot acking everything: prediction = server state exactly.
    const server2 = { x: 450, y: 320, vx: 10, vy: 20, last_input: 8 };
    p.reconcile(server2);
    expect(p.pendingInputs).toHaveLength(0);
    expect(p.state).toEqual({ x: 450, y: 320, vx: 10, vy: 20 });

    // New inputs continue from there; an old (re-ordered) ack does not resurrect anything.
    p.applyInput(9, RIGHT);
    p.reconcile({ ...server2, last_input: 8 });
    expect(p.state).toEqual(replay({ x: 450, y: 320, vx: 10, vy: 20 }, [RIGHT]));
  });

  it('hides small corrections behind a decaying offset instead of jumping', () => {
    const p = new Predictor(arena, TICK_RATE);
    p.reconcile({ x: 400, y: 300, vx: 0, vy: 0, last_input: 0 });
    for (let s = 1; s <= 4; s++) p.applyInput(s, RIGHT);
    const drawnBefore = p.renderPosition(1, 0)!;
    const acked = replay({ x: 400, y: 300, vx: 0, vy: 0 }, [RIGHT, RIGHT]);
    p.reconcile({ ...acked, x: acked.x - 6, last_input: 2 }); // server is 6 units behind us
    const drawnAfter = p.renderPosition(1, 0)!;
    expect(drawnAfter.x).toBeCloseTo(drawnBefore.x, 4); // no visible jump
    expect(p.state!.x).toBeCloseTo(drawnBefore.x - 6, 1); // but the prediction moved
    // The offset decays to nothing within a few hundred ms.
    for (let i = 0; i < 30; i++) p.renderPosition(1, 1 / 60);
    expect(Math.abs(p.correctionOffset.x)).toBeLessThan(0.05);
    expect(p.renderPosition(1, 0)!.x).toBeCloseTo(p.state!.x, 1);
  });

  it('snaps when the correction is large (e.g. after a reconnect)', () => {
    const p = new Predictor(arena, TICK_RATE);
    p.reconcile({ x: 400, y: 300, vx: 0, vy: 0, last_input: 0 });
    p.applyInput(1, RIGHT);
    p.reconcile({ x: 1200, y: 800, vx: 0, vy: 0, last_input: 1 });
    expect(p.renderPosition(1, 0)).toEqual({ x: 1200, y: 800 });
  });
});
