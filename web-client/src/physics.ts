/**
 * The arena's movement rule (PROTOCOL.md, "Arena physics"), for client-side prediction.
 *
 * The server simulates in f32; every intermediate result here is rounded with `Math.fround` so the
 * prediction follows the server's arithmetic as closely as JavaScript allows. Small differences
 * (operation order, `powf`) are absorbed by reconciliation on every snapshot.
 */
import { BUTTON_BOOST, type ArenaInfo, type Controls } from './arena';

export interface Body {
  x: number;
  y: number;
  vx: number;
  vy: number;
}

const f = Math.fround;

/** What the server does to controls before using them: non-finite → 0, clamp, length ≤ 1. */
export function sanitizeControls(c: Controls): Controls {
  const fix = (v: number) => (Number.isFinite(v) ? Math.min(1, Math.max(-1, f(v))) : 0);
  let x = fix(c.x);
  let y = fix(c.y);
  const len = f(Math.sqrt(f(f(x * x) + f(y * y))));
  if (len > 1) {
    x = f(x / len);
    y = f(y / len);
  }
  return { x, y, buttons: c.buttons & 0xff };
}

/** Advances one body by one tick of `dt` seconds under `controls`; returns a new body. */
export function stepBody(body: Body, controls: Controls, arena: ArenaInfo, dt: number): Body {
  const c = sanitizeControls(controls);
  const k = c.buttons & BUTTON_BOOST ? f(arena.boost) : 1;
  const dtf = f(dt);
  const accel = f(arena.accel);
  // Same operation order as the server: v += x * accel * k * dt.
  let vx = f(f(body.vx) + f(f(f(c.x * accel) * k) * dtf));
  let vy = f(f(body.vy) + f(f(f(c.y * accel) * k) * dtf));
  const keep = f(Math.pow(f(arena.drag), dtf));
  vx = f(vx * keep);
  vy = f(vy * keep);
  const max = f(f(arena.max_speed) * k);
  const speed = f(Math.sqrt(f(f(vx * vx) + f(vy * vy))));
  if (speed > max) {
    vx = f(f(vx / speed) * max);
    vy = f(f(vy / speed) * max);
  }
  let x = f(f(body.x) + f(vx * dtf));
  let y = f(f(body.y) + f(vy * dtf));
  const r = f(arena.player_radius);
  const maxX = f(f(arena.width) - r);
  const maxY = f(f(arena.height) - r);
  if (x < r) {
    x = r;
    vx = 0;
  } else if (x > maxX) {
    x = maxX;
    vx = 0;
  }
  if (y < r) {
    y = r;
    vy = 0;
  } else if (y > maxY) {
    y = maxY;
    vy = 0;
  }
  return { x, y, vx, vy };
}
