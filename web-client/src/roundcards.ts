/**
 * The round on screen: the round card in the panels (which round, the countdown, urgent in its
 * last seconds) and, in the over-phase, the winner banner centred on the stage with the final
 * scoreboard. overlays.ts places and calls them; the words and figures come from round.ts.
 * Pure presentation (names are canvas text, never markup).
 */
import palette from '../../assets/web/palette.json';
import { FONT, MONO, fitText, panel, wrapBalanced } from './canvas';
import type { Rect } from './layout';
import type { RoundBanner, RoundClock } from './round';
import { BOARD_ROW, drawScoreRows, type ScoreRow } from './scoreboard';

/** The round card's height. */
export const ROUND_CARD_HEIGHT = 48;

/** The round card in `r`: "Round 3" and what the time counts down to, the time large. */
export function drawRoundCard(ctx: CanvasRenderingContext2D, r: Rect, c: RoundClock): void {
  panel(ctx, r.x, r.y, r.w, r.h);
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  ctx.font = `700 ${r.w < 200 ? 20 : 24}px ${MONO}`;
  ctx.fillStyle = c.urgent ? palette.warn : palette.text;
  ctx.fillText(c.time, r.x + r.w - 12, r.y + r.h / 2 + 1);
  const textW = r.w - 36 - ctx.measureText(c.time).width;
  ctx.textAlign = 'left';
  ctx.font = `700 13px ${FONT}`;
  ctx.fillStyle = palette.text;
  ctx.fillText(fitText(ctx, c.title, textW), r.x + 12, r.y + 17);
  ctx.font = `500 11px ${FONT}`;
  ctx.fillStyle = palette.textDim;
  ctx.fillText(fitText(ctx, c.caption, textW), r.x + 12, r.y + 34);
}

/**
 * The over-phase banner, centred on `stage`: who won (wrapped, never cut), when the next round
 * starts, and the final scores.
 */
export function drawRoundBanner(
  ctx: CanvasRenderingContext2D,
  stage: Rect,
  b: RoundBanner,
  rows: readonly ScoreRow[],
): void {
  const w = Math.min(360, stage.w - 32);
  ctx.font = `800 22px ${FONT}`;
  const title = wrapBalanced(ctx, b.title, w - 40);
  const titleH = 28;
  const head = 22 + title.length * titleH + 24 + 26;
  const h = Math.min(stage.h - 16, head + BOARD_ROW * rows.length + 12);
  const x = stage.x + (stage.w - w) / 2;
  const y = stage.y + (stage.h - h) / 2;
  panel(ctx, x, y, w, h);
  ctx.fillStyle = palette.orb;
  ctx.fillRect(x + 20, y + 10, w - 40, 2);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillStyle = b.mine ? palette.orb : palette.text;
  title.forEach((l, i) => ctx.fillText(l, x + w / 2, y + 22 + titleH * i + titleH / 2));
  let ty = y + 22 + title.length * titleH;
  ctx.font = `500 13px ${FONT}`;
  ctx.fillStyle = palette.textDim;
  ctx.fillText(b.subtitle, x + w / 2, ty + 12);
  ty += 24;
  ctx.font = `700 11px ${FONT}`;
  ctx.fillText('FINAL SCORES', x + w / 2, ty + 13);
  ty += 26;
  const fit = Math.max(0, Math.floor((y + h - 8 - ty) / BOARD_ROW));
  drawScoreRows(ctx, x + 12, ty, w - 24, rows.slice(0, fit));
}
