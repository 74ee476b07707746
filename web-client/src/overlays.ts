/**
 * The six overlays drawn over the world in screen space (CSS px, not arena units): the HUD panel
 * (connection, room, ping), the net stats graph under it (`N`), the scoreboard, the touch stick,
 * the controls hint and the connection banner. `Renderer.draw` (render.ts) calls
 * {@link drawOverlays} once per frame after the world; the figures come from game.ts through the
 * `Frame`. Pure presentation: each overlay draws what it is given; the choices that are rules
 * (the status wording, which players the scoreboard lists) are plain functions, tested alone.
 */
import palette from '../../assets/web/palette.json';
import { FONT, MONO, fitText, panel, roundRect } from './canvas';
import type { StickView } from './input';
import { STICK_RADIUS } from './input';
import type { ConnStatus } from './net';
import type { GraphBar, NetStatsCell } from './netstats';

/** The HUD's figures. */
export interface Hud {
  status: ConnStatus;
  statusText: string;
  roomId: string | null;
  pingMs: number | null;
  tickRate: number | null;
  players: number;
  maxPlayers: number | null;
  tick: number;
}

export interface NetStatsOverlay {
  /** Two figures per row (see `netStatsRows`). */
  rows: [NetStatsCell, NetStatsCell][];
  /** The latest snapshot frames, oldest first, for the bar graph. */
  bars: readonly GraphBar[];
  /** Bytes of a full frame: the graph's scale, so deltas show how far below it they stay. */
  fullBytes: number | null;
}

/** A player as the scoreboard lists it (render.ts's `DrawPlayer` is one). */
export interface ScoreRow {
  name: string;
  score: number;
  color: string;
  me: boolean;
}

/** What the overlays show in one frame. */
export interface Overlays {
  hud: Hud;
  /** The net stats graph, when shown. */
  netStats: NetStatsOverlay | null;
  /** The players, once there is an arena (no scoreboard before). */
  scoreboard: readonly ScoreRow[] | null;
  /** The touch stick, while dragging. */
  stick: StickView | null;
}

/** The canvas size in CSS px. */
export interface Screen {
  width: number;
  height: number;
}

/** Draws the overlays in their stacking order (the banner last: it dims everything else). */
export function drawOverlays(ctx: CanvasRenderingContext2D, screen: Screen, o: Overlays): void {
  drawHud(ctx, o.hud);
  if (o.netStats) drawNetStats(ctx, o.netStats);
  if (o.scoreboard) drawScoreboard(ctx, screen, o.scoreboard);
  if (o.stick) drawStick(ctx, o.stick);
  drawHint(ctx, screen);
  drawBanner(ctx, screen, o.hud);
}

/** The HUD's first line for a connection status. */
export function statusLabel(status: ConnStatus): string {
  return status === 'connected'
    ? 'Connected'
    : status === 'refused'
      ? 'Disconnected'
      : status === 'closed'
        ? 'Closed'
        : status === 'reconnecting'
          ? 'Reconnecting…'
          : 'Connecting…';
}

/** Players the scoreboard lists: the top 8 by score (then name), always including ourselves. */
export function scoreboardRows<P extends ScoreRow>(players: readonly P[]): P[] {
  const rows = [...players].sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
  const shown = rows.slice(0, 8);
  // Always list ourselves, even when outside the top 8.
  const me = rows.find((p) => p.me);
  if (me && !shown.includes(me)) shown[shown.length - 1] = me;
  return shown;
}

/** Whether the banner is shown: while (re)connecting, when the picture is stale. */
export function showsBanner(status: ConnStatus): boolean {
  return status !== 'connected' && status !== 'refused' && status !== 'closed';
}

/** The HUD's line height. */
const HUD_LINE = 19;
/** The HUD panel's height: the net stats graph goes under it. */
const HUD_HEIGHT = 12 + HUD_LINE * 3;

function drawHud(ctx: CanvasRenderingContext2D, h: Hud): void {
  const x = 12;
  const y = 12;
  const w = 236;
  const lh = HUD_LINE;
  panel(ctx, x, y, w, HUD_HEIGHT);
  const color =
    h.status === 'connected' ? palette.ok : h.status === 'refused' ? palette.bad : palette.warn;
  ctx.fillStyle = color;
  ctx.beginPath();
  ctx.arc(x + 16, y + 6 + lh / 2 + 1, 4.5, 0, Math.PI * 2);
  ctx.fill();
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  ctx.font = `700 13px ${FONT}`;
  ctx.fillStyle = palette.text;
  ctx.fillText(statusLabel(h.status), x + 28, y + 6 + lh / 2 + 1);
  ctx.font = `500 12px ${FONT}`;
  ctx.fillStyle = palette.textDim;
  const room = h.roomId ? fitText(ctx, `Room ${h.roomId}`, 140) : 'No room yet';
  const count = h.maxPlayers ? `${h.players}/${h.maxPlayers} players` : '';
  ctx.fillText(room, x + 12, y + 6 + lh * 1.5 + 1);
  ctx.textAlign = 'right';
  ctx.fillText(count, x + w - 12, y + 6 + lh * 1.5 + 1);
  ctx.textAlign = 'left';
  ctx.font = `500 12px ${MONO}`;
  ctx.fillStyle = palette.text;
  const ping = h.pingMs === null ? '–' : `${Math.round(h.pingMs)} ms`;
  const rate = h.tickRate === null ? '–' : `${h.tickRate} Hz`;
  ctx.fillText(`ping ${ping}`, x + 12, y + 6 + lh * 2.5 + 1);
  ctx.fillText(rate, x + 104, y + 6 + lh * 2.5 + 1);
  ctx.textAlign = 'right';
  ctx.fillStyle = palette.textDim;
  ctx.fillText(`#${h.tick}`, x + w - 12, y + 6 + lh * 2.5 + 1);
}

/**
 * The net graph, under the HUD: a bar per snapshot frame (height = bytes; full frames and
 * frames after a gap or that failed in other colours), then the figures in two columns.
 */
function drawNetStats(ctx: CanvasRenderingContext2D, n: NetStatsOverlay): void {
  const x = 12;
  const y = 12 + HUD_HEIGHT + 8; // below the HUD panel
  const w = 290;
  const lh = 16;
  const graphH = 28;
  const h = 28 + graphH + 8 + lh * n.rows.length + 6;
  panel(ctx, x, y, w, h);
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  ctx.font = `700 11px ${FONT}`;
  ctx.fillStyle = palette.textDim;
  ctx.fillText('NET', x + 12, y + 15);
  ctx.textAlign = 'right';
  ctx.font = `500 11px ${FONT}`;
  ctx.fillText('N to hide', x + w - 12, y + 15);

  // Bars, newest at the right, scaled to a full frame (or the largest shown, if larger).
  const gx = x + 12;
  const gy = y + 28;
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

  ctx.font = `500 11px ${MONO}`;
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

function drawScoreboard(
  ctx: CanvasRenderingContext2D,
  screen: Screen,
  players: readonly ScoreRow[],
): void {
  const shown = scoreboardRows(players);
  const w = 196;
  const lh = 22;
  const x = screen.width - w - 12;
  const y = 12;
  if (x < 260 && screen.width < 600) return; // tiny screens: the HUD wins
  panel(ctx, x, y, w, 34 + lh * Math.max(1, shown.length));
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  ctx.font = `700 11px ${FONT}`;
  ctx.fillStyle = palette.textDim;
  ctx.fillText('SCOREBOARD', x + 12, y + 17);
  shown.forEach((p, i) => {
    const ry = y + 34 + lh * i + lh / 2;
    if (p.me) {
      ctx.fillStyle = 'rgba(255, 255, 255, 0.08)';
      roundRect(ctx, x + 5, ry - lh / 2 + 1, w - 10, lh - 2, 6);
      ctx.fill();
    }
    ctx.fillStyle = p.color;
    ctx.beginPath();
    ctx.arc(x + 17, ry, 5, 0, Math.PI * 2);
    ctx.fill();
    ctx.font = `${p.me ? 700 : 500} 13px ${FONT}`;
    ctx.fillStyle = p.me ? '#ffffff' : palette.text;
    ctx.textAlign = 'left';
    ctx.fillText(fitText(ctx, p.name, w - 80), x + 30, ry + 1);
    ctx.textAlign = 'right';
    ctx.font = `700 13px ${MONO}`;
    ctx.fillText(String(p.score), x + w - 12, ry + 1);
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

function drawHint(ctx: CanvasRenderingContext2D, screen: Screen): void {
  if (screen.width < 600) return;
  ctx.font = `500 12px ${FONT}`;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  ctx.fillStyle = palette.textDim;
  ctx.fillText(
    'WASD / arrows to move  ·  Shift to boost  ·  grab the orbs  ·  N net stats',
    16,
    screen.height - 26,
  );
}

function drawBanner(ctx: CanvasRenderingContext2D, screen: Screen, h: Hud): void {
  if (!showsBanner(h.status)) return;
  // The picture is stale while we are not connected: dim it.
  ctx.fillStyle = 'rgba(6, 9, 18, 0.45)';
  ctx.fillRect(0, 0, screen.width, screen.height);
  ctx.font = `600 14px ${FONT}`;
  const text = fitText(ctx, h.statusText, Math.min(760, screen.width - 40));
  const w = ctx.measureText(text).width + 40;
  const x = (screen.width - w) / 2;
  const y = screen.height - 64;
  panel(ctx, x, y, w, 36);
  ctx.fillStyle = palette.warn;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(text, screen.width / 2, y + 18);
}
