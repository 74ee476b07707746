/**
 * The parts of the picture that do not move: the window's backdrop glow and the arena's floor,
 * grid and border. render.ts paints them once into offscreen layers (again only when the window
 * size or the scale changes) and copies those each frame.
 */
import palette from '../../assets/web/palette.json';
import { roundRect } from './canvas';
import type { ArenaInfo } from './arena';

/** A soft glow in the middle of a `w` × `h` (CSS px) window. */
export function paintBackdrop(ctx: CanvasRenderingContext2D, w: number, h: number): void {
  const g = ctx.createRadialGradient(
    w * 0.5,
    h * 0.45,
    0,
    w * 0.5,
    h * 0.45,
    Math.max(w, h) * 0.75,
  );
  g.addColorStop(0, 'rgba(59, 91, 219, 0.11)');
  g.addColorStop(1, 'rgba(0, 0, 0, 0)');
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, w, h);
}

/** The arena `a` at `scale` (CSS px per unit), its top-left corner at (`x`, `y`). */
export function paintArena(
  ctx: CanvasRenderingContext2D,
  a: ArenaInfo,
  scale: number,
  x: number,
  y: number,
): void {
  const w = a.width * scale;
  const h = a.height * scale;
  const r = Math.min(18, 40 * scale);

  ctx.save();
  ctx.shadowColor = 'rgba(59, 91, 219, 0.55)';
  ctx.shadowBlur = 28;
  roundRect(ctx, x, y, w, h, r);
  const floor = ctx.createLinearGradient(x, y, x, y + h);
  floor.addColorStop(0, palette.floorEdge);
  floor.addColorStop(0.5, palette.floor);
  floor.addColorStop(1, palette.floorEdge);
  ctx.fillStyle = floor;
  ctx.fill();
  ctx.restore();

  ctx.save();
  roundRect(ctx, x, y, w, h, r);
  ctx.clip();
  ctx.strokeStyle = palette.grid;
  ctx.lineWidth = 1;
  const step = 100 * scale;
  ctx.beginPath();
  for (let gx = x + step; gx < x + w - 1; gx += step) {
    ctx.moveTo(Math.round(gx) + 0.5, y);
    ctx.lineTo(Math.round(gx) + 0.5, y + h);
  }
  for (let gy = y + step; gy < y + h - 1; gy += step) {
    ctx.moveTo(x, Math.round(gy) + 0.5);
    ctx.lineTo(x + w, Math.round(gy) + 0.5);
  }
  ctx.stroke();
  ctx.restore();

  ctx.save();
  roundRect(ctx, x, y, w, h, r);
  ctx.strokeStyle = palette.border;
  ctx.globalAlpha = 0.85;
  ctx.lineWidth = 2;
  ctx.stroke();
  ctx.restore();
}
