/**
 * The overlays drawn over the world in screen space (CSS px, not arena units): the player's
 * panels — the HUD card (connection, players, ping), the round card and the scoreboard — in the
 * panel area of the layout (layout.ts), so they never cover the arena; the net stats graph (`N`,
 * with the room id and tick) over the stage's corner; the touch stick; the controls hint on the
 * bottom line; and, centred on the stage, the connection banner or the round's winner banner
 * (roundcards.ts). `Renderer.draw` (render.ts) calls {@link drawOverlays} once per frame after
 * the world; the figures come from game.ts through the `Frame`. Pure presentation: each overlay
 * draws what it is given; the choices that are rules (the status wording, which players the
 * scoreboard lists, the hint that fits) are plain functions, tested alone.
 */
import palette from '../../assets/web/palette.json';
import { FONT, MONO, fitText, panel, wrapBalanced } from './canvas';
import type { StickView } from './input';
import { STICK_RADIUS } from './input';
import type { Rect, ScreenLayout } from './layout';
import type { ConnStatus } from './net';
import type { GraphBar, NetStatsCell } from './netstats';
import type { RoundHud } from './round';
import { ROUND_CARD_HEIGHT, drawRoundBanner, drawRoundCard } from './roundcards';
import { drawScoreboard, scoreboardRows, type ScoreRow } from './scoreboard';

/** The HUD's figures: what a player needs, nothing about the server's internals. */
export interface Hud {
  status: ConnStatus;
  statusText: string;
  pingMs: number | null;
  players: number;
  maxPlayers: number | null;
}

export interface NetStatsOverlay {
  /** Two figures per row (see `netStatsRows`). */
  rows: [NetStatsCell, NetStatsCell][];
  /** The latest snapshot frames, oldest first, for the bar graph. */
  bars: readonly GraphBar[];
  /** Bytes of a full frame: the graph's scale, so deltas show how far below it they stay. */
  fullBytes: number | null;
  /** The room we are in (`null` before the Welcome). */
  roomId: string | null;
  /** The newest snapshot tick. */
  tick: number;
}

/** What the overlays show in one frame. */
export interface Overlays {
  hud: Hud;
  /** The round card and, in the over-phase, the winner banner (`null`: the server has no rounds). */
  round: RoundHud | null;
  /** The net stats graph, when shown. */
  netStats: NetStatsOverlay | null;
  /** The players, once there is an arena (no scoreboard before). */
  scoreboard: readonly ScoreRow[] | null;
  /** The touch stick, while dragging. */
  stick: StickView | null;
}

/** The HUD card's height. */
export const HUD_HEIGHT = 52;
/** Space between two panels. */
const GAP = 8;
/** The net stats panel's width. */
const NET_WIDTH = 290;

/**
 * Draws the overlays in their stacking order: panels, net graph, stick, hint, then the banner
 * over the stage (the connection banner wins over the round's).
 */
export function drawOverlays(
  ctx: CanvasRenderingContext2D,
  layout: ScreenLayout,
  o: Overlays,
): void {
  drawPanels(ctx, layout, o);
  if (o.netStats) drawNetStats(ctx, layout.stage, o.netStats);
  if (o.stick) drawStick(ctx, o.stick);
  if (layout.hint) drawHint(ctx, layout.hint);
  if (showsBanner(o.hud.status)) drawBanner(ctx, layout.stage, o.hud.statusText);
  else if (o.round?.banner && o.scoreboard) {
    drawRoundBanner(ctx, layout.stage, o.round.banner, scoreboardRows(o.scoreboard));
  }
}

/** The HUD card, the round card and the scoreboard, stacked (side) or in two columns (top). */
function drawPanels(ctx: CanvasRenderingContext2D, layout: ScreenLayout, o: Overlays): void {
  const p = layout.panels;
  const colW = layout.mode === 'side' ? p.w : (p.w - layout.margin) / 2;
  let y = p.y;
  drawHud(ctx, { x: p.x, y, w: colW, h: HUD_HEIGHT }, o.hud);
  y += HUD_HEIGHT + GAP;
  if (o.round) {
    drawRoundCard(ctx, { x: p.x, y, w: colW, h: ROUND_CARD_HEIGHT }, o.round.clock);
    y += ROUND_CARD_HEIGHT + GAP;
  }
  if (!o.scoreboard) return;
  const board =
    layout.mode === 'side'
      ? { x: p.x, y, w: p.w, h: p.y + p.h - y }
      : { x: p.x + colW + layout.margin, y: p.y, w: colW, h: p.h };
  drawScoreboard(ctx, board, o.scoreboard);
}

/** The HUD's status word. While the banner is up it tells what happens, so this does not. */
export function statusLabel(status: ConnStatus): string {
  return status === 'connected'
    ? 'Connected'
    : status === 'refused'
      ? 'Disconnected'
      : status === 'closed'
        ? 'Closed'
        : 'Not connected';
}

/** Whether the connection banner is shown: while (re)connecting, when the picture is stale. */
export function showsBanner(status: ConnStatus): boolean {
  return status !== 'connected' && status !== 'refused' && status !== 'closed';
}

/** The controls hint, longest first: the first that fits its line is drawn. */
export const HINTS = [
  'WASD / arrows to move  ·  Shift to boost  ·  grab the orbs  ·  N net stats',
  'WASD / arrows to move  ·  Shift to boost  ·  N net stats',
  'WASD / arrows  ·  Shift boost',
] as const;

/** The hint that fits `width` (text widths from `measure`), or `null` if none does. */
export function hintFor(width: number, measure: (text: string) => number): string | null {
  return HINTS.find((h) => measure(h) <= width) ?? null;
}

function drawHud(ctx: CanvasRenderingContext2D, r: Rect, h: Hud): void {
  panel(ctx, r.x, r.y, r.w, r.h);
  const color =
    h.status === 'connected' ? palette.ok : h.status === 'refused' ? palette.bad : palette.warn;
  const y1 = r.y + 17;
  const y2 = r.y + 36;
  ctx.fillStyle = color;
  ctx.beginPath();
  ctx.arc(r.x + 16, y1, 4.5, 0, Math.PI * 2);
  ctx.fill();
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  ctx.font = `700 13px ${FONT}`;
  ctx.fillStyle = palette.text;
  ctx.fillText(statusLabel(h.status), r.x + 28, y1);
  ctx.fillStyle = palette.textDim;
  ctx.font = `500 12px ${MONO}`;
  const ping = `ping ${h.pingMs === null ? '–' : `${Math.round(h.pingMs)} ms`}`;
  const room = r.w - 36 - ctx.measureText(ping).width;
  ctx.textAlign = 'right';
  ctx.fillText(ping, r.x + r.w - 12, y2);
  ctx.textAlign = 'left';
  ctx.font = `500 12px ${FONT}`;
  const count = h.maxPlayers ? `${h.players}/${h.maxPlayers}` : `${h.players}`;
  const label = `${count} players`;
  // A narrow card (a phone on its side) drops the word rather than run into the ping.
  ctx.fillText(ctx.measureText(label).width <= room ? label : count, r.x + 12, y2);
}

/**
 * The net graph, in the stage's top-left corner: the room and tick, a bar per snapshot frame
 * (height = bytes; full frames and frames after a gap or that failed in other colours), then the
 * figures in two columns.
 */
function drawNetStats(ctx: CanvasRenderingContext2D, stage: Rect, n: NetStatsOverlay): void {
  const x = stage.x + 8;
  const y = stage.y + 8;
  const w = Math.min(NET_WIDTH, stage.w - 16);
  const lh = 16;
  const graphH = 28;
  const head = 28 + lh;
  const h = head + graphH + 8 + lh * n.rows.length + 6;
  panel(ctx, x, y, w, h);
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  ctx.font = `700 11px ${FONT}`;
  ctx.fillStyle = palette.textDim;
  ctx.fillText('NET', x + 12, y + 15);
  ctx.textAlign = 'right';
  ctx.font = `500 11px ${FONT}`;
  ctx.fillText('N to hide', x + w - 12, y + 15);
  ctx.font = `500 11px ${MONO}`;
  ctx.fillStyle = palette.text;
  const tick = `#${n.tick}`;
  ctx.fillText(tick, x + w - 12, y + 28 + lh / 2 - 4);
  ctx.textAlign = 'left';
  const roomW = w - 36 - ctx.measureText(tick).width;
  ctx.fillText(fitText(ctx, `room ${n.roomId ?? '–'}`, roomW), x + 12, y + 28 + lh / 2 - 4);

  // Bars, newest at the right, scaled to a full frame (or the largest shown, if larger).
  const gx = x + 12;
  const gy = y + head;
  const gw = w - 24;
  const barW = gw / 64;
  const max = Math.max(64, n.fullBytes ?? 0, ...n.bars.map((b) => b.bytes));
  ctx.fillStyle = 'rgba(255, 255, 255, 0.04)';
  ctx.fillRect(gx, gy, gw, graphH);
  n.bars.forEach((b, i) => {
    const bh = Math.max(1, (b.bytes / max) * graphH);
    const bx = gx + gw - (n.bars.length - i) * barW;
    ctx.fillStyle = b.bad ? palette.bad : b.kind === 'delta' ? palette.ok : palette.warn;
    ctx.fillRect(bx, gy + graphH - bh, Math.max(1, barW - 1), bh);
  });

  const colW = (w - 24 - 12) / 2;
  n.rows.forEach((row, r) => {
    const ry = gy + graphH + 8 + lh * r + lh / 2;
    row.forEach((c, i) => {
      const cx = x + 12 + i * (colW + 12);
      ctx.textAlign = 'left';
      ctx.fillStyle = palette.textDim;
      ctx.fillText(c.label, cx, ry);
      ctx.textAlign = 'right';
      ctx.fillStyle = c.warn ? palette.warn : palette.text;
      const labelW = ctx.measureText(c.label).width + 6;
      ctx.fillText(fitText(ctx, c.value, colW - labelW), cx + colW, ry);
    });
  });
}

function drawStick(ctx: CanvasRenderingContext2D, s: StickView): void {
  ctx.save();
  ctx.globalAlpha = 0.5;
  ctx.strokeStyle = '#ffffff';
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.arc(s.originX, s.originY, STICK_RADIUS, 0, Math.PI * 2);
  ctx.stroke();
  let dx = s.x - s.originX;
  let dy = s.y - s.originY;
  const len = Math.hypot(dx, dy);
  if (len > STICK_RADIUS) {
    dx = (dx / len) * STICK_RADIUS;
    dy = (dy / len) * STICK_RADIUS;
  }
  ctx.fillStyle = '#ffffff';
  ctx.globalAlpha = 0.35;
  ctx.beginPath();
  ctx.arc(s.originX + dx, s.originY + dy, 26, 0, Math.PI * 2);
  ctx.fill();
  ctx.restore();
}

function drawHint(ctx: CanvasRenderingContext2D, line: Rect): void {
  ctx.font = `500 12px ${FONT}`;
  const hint = hintFor(line.w, (t) => ctx.measureText(t).width);
  if (!hint) return;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  ctx.fillStyle = palette.textDim;
  ctx.fillText(hint, line.x, line.y + line.h / 2);
}

/**
 * The connection banner, centred on the stage, which it dims (the picture is stale): the
 * connection's message said once, in full (wrapped, never cut), clear of the hint and panels.
 */
function drawBanner(ctx: CanvasRenderingContext2D, stage: Rect, text: string): void {
  ctx.fillStyle = 'rgba(6, 9, 18, 0.45)';
  ctx.fillRect(stage.x, stage.y, stage.w, stage.h);
  ctx.font = `600 14px ${FONT}`;
  const maxText = Math.max(60, Math.min(480, stage.w - 32) - 40);
  const lines = wrapBalanced(ctx, text, maxText);
  const lh = 20;
  const w = Math.max(...lines.map((l) => ctx.measureText(l).width), 0) + 40;
  const h = lines.length * lh + 20;
  const x = stage.x + (stage.w - w) / 2;
  const y = stage.y + (stage.h - h) / 2;
  panel(ctx, x, y, w, h);
  ctx.fillStyle = palette.warn;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  lines.forEach((l, i) => ctx.fillText(l, x + w / 2, y + 10 + lh * i + lh / 2));
}
