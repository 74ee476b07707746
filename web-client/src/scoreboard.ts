/**
 * The scoreboard: which players it lists (a rule, tested alone) and how their rows are drawn —
 * in the panels by overlays.ts, and as the final scores under the round's winner banner by
 * roundcards.ts. Pure presentation.
 */
import palette from '../../assets/web/palette.json';
import { FONT, MONO, fitText, panel, roundRect } from './canvas';
import type { Rect } from './layout';

/** A player as the scoreboard lists it (render.ts's `DrawPlayer` is one). */
export interface ScoreRow {
  name: string;
  score: number;
  color: string;
  me: boolean;
}

/** The scoreboard's title height. */
const BOARD_HEAD = 34;
/** The height of one score row. */
export const BOARD_ROW = 22;

/**
 * Players the scoreboard lists: the top `max` by score (then name), always including ourselves
 * (in the last place when outside them).
 */
export function scoreboardRows<P extends ScoreRow>(players: readonly P[], max = 8): P[] {
  const rows = [...players].sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
  const shown = rows.slice(0, Math.max(1, max));
  const me = rows.find((p) => p.me);
  if (me && !shown.includes(me)) shown[shown.length - 1] = me;
  return shown;
}

/** The scoreboard panel in `r`, with as many rows as fit (at most 8). */
export function drawScoreboard(
  ctx: CanvasRenderingContext2D,
  r: Rect,
  players: readonly ScoreRow[],
): void {
  const fits = Math.floor((r.h - BOARD_HEAD - 6) / BOARD_ROW);
  if (fits < 1) return;
  const shown = scoreboardRows(players, Math.min(8, fits));
  panel(ctx, r.x, r.y, r.w, BOARD_HEAD + BOARD_ROW * Math.max(1, shown.length) + 4);
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  ctx.font = `700 11px ${FONT}`;
  ctx.fillStyle = palette.textDim;
  ctx.fillText('SCOREBOARD', r.x + 12, r.y + 17);
  drawScoreRows(ctx, r.x, r.y + BOARD_HEAD, r.w, shown);
}

/** Score rows (colour dot, name, score) from `y` down, `w` wide; ours highlighted. */
export function drawScoreRows(
  ctx: CanvasRenderingContext2D,
  x: number,
  y: number,
  w: number,
  rows: readonly ScoreRow[],
): void {
  const lh = BOARD_ROW;
  rows.forEach((p, i) => {
    const ry = y + lh * i + lh / 2;
    if (p.me) {
      ctx.fillStyle = 'rgba(255, 255, 255, 0.08)';
      roundRect(ctx, x + 5, ry - lh / 2 + 1, w - 10, lh - 2, 6);
      ctx.fill();
    }
    ctx.fillStyle = p.color;
    ctx.beginPath();
    ctx.arc(x + 17, ry, 5, 0, Math.PI * 2);
    ctx.fill();
    ctx.textBaseline = 'middle';
    ctx.font = `${p.me ? 700 : 500} 13px ${FONT}`;
    ctx.fillStyle = p.me ? '#ffffff' : palette.text;
    ctx.textAlign = 'left';
    ctx.fillText(fitText(ctx, p.name, w - 80), x + 30, ry + 1);
    ctx.textAlign = 'right';
    ctx.font = `700 13px ${MONO}`;
    ctx.fillText(String(p.score), x + w - 12, ry + 1);
  });
}
