/**
 * Canvas drawing: the arena scaled to fit the window, orbs, players with names (canvas text, never
 * markup), the HUD and the scoreboard. Pure presentation: it draws what it is given.
 */
import palette from '../../assets/web/palette.json';
import type { StickView } from './input';
import { STICK_RADIUS } from './input';
import type { ConnStatus } from './net';
import type { GraphBar, NetStatsCell } from './netstats';
import type { ArenaInfo } from './arena';

export { palette };

export interface DrawPlayer {
  id: string;
  name: string;
  x: number;
  y: number;
  score: number;
  color: string;
  me: boolean;
}

export interface DrawOrb {
  id: number;
  x: number;
  y: number;
}

export interface Pop {
  x: number;
  y: number;
  born: number;
  color: string;
}

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

export interface Frame {
  arena: ArenaInfo | null;
  players: DrawPlayer[];
  orbs: DrawOrb[];
  pops: Pop[];
  hud: Hud;
  stick: StickView | null;
  boosting: boolean;
  /** Our own player's position: the view follows it when the arena does not fit. */
  focus: { x: number; y: number } | null;
  /** The net stats overlay (`N`), when shown. */
  netStats: NetStatsOverlay | null;
  /** Seconds, for animation. */
  time: number;
}

export interface NetStatsOverlay {
  /** Two figures per row (see `netStatsRows`). */
  rows: [NetStatsCell, NetStatsCell][];
  /** The latest snapshot frames, oldest first, for the bar graph. */
  bars: readonly GraphBar[];
  /** Bytes of a full frame: the graph's scale, so deltas show how far below it they stay. */
  fullBytes: number | null;
}

function hashId(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** A stable colour for a player id, the same on every client. */
export function playerColor(id: string): string {
  const colors = palette.players;
  return colors[hashId(id) % colors.length]!;
}

/**
 * Colours for everyone in a room: each player gets its hashed colour, or the next one not taken
 * by a player listed before it. Every client sees the same snapshot order, so every client
 * picks the same colours, and two players share a colour only when the palette runs out.
 */
export function assignColors(ids: readonly string[]): Map<string, string> {
  const colors = palette.players;
  const taken = new Set<number>();
  const out = new Map<string, string>();
  for (const id of ids) {
    let i = hashId(id) % colors.length;
    for (let step = 0; step < colors.length && taken.has(i); step++) i = (i + 1) % colors.length;
    if (taken.size >= colors.length) i = hashId(id) % colors.length;
    taken.add(i);
    out.set(id, colors[i]!);
  }
  return out;
}

/** Below this fit-to-window scale (arena units → CSS px) the view zooms in and follows us… */
const FOLLOW_BELOW_SCALE = 0.4;
/** …to this scale (or as far as the window's height allows). */
const MIN_SCALE = 0.55;
/** Room around the cached arena layer for its glow. */
const ARENA_PAD = 40;

const FONT = `system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif`;
const MONO = `ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace`;

export class Renderer {
  private readonly ctx: CanvasRenderingContext2D;
  private cssW = 0;
  private cssH = 0;
  private dpr = 1;
  private scale = 1;
  private ox = 0;
  private oy = 0;
  /** The window's background, redrawn only when the window size changes. */
  private bgLayer: HTMLCanvasElement | null = null;
  private bgKey = '';
  /** Arena floor, grid and border at the current scale, redrawn only when the scale changes. */
  private arenaLayer: HTMLCanvasElement | null = null;
  private arenaKey = '';
  /** Recent drawn positions per player (arena units), for motion trails. */
  private trails = new Map<string, { x: number; y: number; t: number }[]>();
  /** Pre-rendered glowing sprites (orbs, player glows), keyed by size and colour. */
  private sprites = new Map<string, HTMLCanvasElement>();

  constructor(private readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('canvas 2D is not available');
    this.ctx = ctx;
  }

  /** Matches the canvas to its CSS size and the device pixel ratio. Cheap when unchanged. */
  private fit(): void {
    const rect = this.canvas.getBoundingClientRect();
    const dpr = Math.min(window.devicePixelRatio || 1, 3);
    const w = Math.max(1, Math.round(rect.width));
    const h = Math.max(1, Math.round(rect.height));
    if (w !== this.cssW || h !== this.cssH || dpr !== this.dpr) {
      this.cssW = w;
      this.cssH = h;
      this.dpr = dpr;
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(h * dpr);
    }
  }

  /**
   * Scales the arena to fit the window. On small screens (phones) where that would make players
   * tiny, a minimum scale applies and the view follows `focus` (our own player) instead.
   */
  private layout(arena: ArenaInfo, focus: { x: number; y: number } | null): void {
    const small = this.cssW < 600 || this.cssH < 500;
    const margin = small ? 8 : 24;
    const top = small ? 64 : 24;
    const bottom = small ? 8 : 44; // room for the controls hint and the toolbar
    const availW = this.cssW - margin * 2;
    const availH = this.cssH - top - bottom;
    const fit = Math.min(availW / arena.width, availH / arena.height);
    // Only when the whole arena would be really small (phones): zoom in and follow.
    const zoom = fit < FOLLOW_BELOW_SCALE ? Math.min(MIN_SCALE, availH / arena.height) : fit;
    this.scale = Math.max(0.05, fit, zoom);
    const place = (size: number, avail: number, start: number, f: number | undefined) => {
      const s = size * this.scale;
      if (s <= avail || f === undefined) return start + (avail - s) / 2;
      const centred = start + avail / 2 - f * this.scale;
      return Math.min(start, Math.max(start + avail - s, centred));
    };
    // Whole device pixels, so the cached arena layer is drawn crisp.
    const snap = (v: number) => Math.round(v * this.dpr) / this.dpr;
    this.ox = snap(place(arena.width, availW, margin, focus?.x));
    this.oy = snap(place(arena.height, availH, top, focus?.y));
  }

  draw(f: Frame): void {
    this.fit();
    const ctx = this.ctx;
    if (f.arena) this.layout(f.arena, f.focus);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this.background(), 0, 0);
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    if (f.arena) {
      const layer = this.arenaCanvas(f.arena);
      ctx.drawImage(
        layer,
        this.ox - ARENA_PAD,
        this.oy - ARENA_PAD,
        layer.width / this.dpr,
        layer.height / this.dpr,
      );
    }

    if (f.arena) {
      this.drawPops(f, f.arena);
      this.drawOrbs(f.orbs, f.arena, f.time);
      // Others first, me on top.
      const sorted = [...f.players].sort((a, b) => Number(a.me) - Number(b.me));
      this.drawTrails(sorted, f.arena, f.time);
      for (const p of sorted) this.drawPlayer(p, f.arena, f.time, p.me && f.boosting);
      for (const p of sorted) this.drawName(p, f.arena);
    }
    this.drawHud(f.hud);
    if (f.netStats) this.drawNetStats(f.netStats);
    if (f.arena) this.drawScoreboard(f.players);
    if (f.stick) this.drawStick(f.stick);
    this.drawHint();
    this.drawBanner(f.hud);
  }

  /**
   * The parts that do not move are drawn once into offscreen canvases: a software (GPU-less)
   * browser would otherwise spend most of each frame on gradients and blur.
   */
  private background(): HTMLCanvasElement {
    const key = `${this.canvas.width}x${this.canvas.height}`;
    if (this.bgLayer && key === this.bgKey) return this.bgLayer;
    const layer = this.bgLayer ?? document.createElement('canvas');
    layer.width = this.canvas.width;
    layer.height = this.canvas.height;
    const ctx = layer.getContext('2d')!;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.fillStyle = palette.background;
    ctx.fillRect(0, 0, this.cssW, this.cssH);
    this.drawBackdrop(ctx);
    this.bgLayer = layer;
    this.bgKey = key;
    return layer;
  }

  private arenaCanvas(arena: ArenaInfo): HTMLCanvasElement {
    const key = `${arena.width}x${arena.height}:${this.scale}@${this.dpr}`;
    if (this.arenaLayer && key === this.arenaKey) return this.arenaLayer;
    const layer = this.arenaLayer ?? document.createElement('canvas');
    layer.width = Math.ceil((arena.width * this.scale + ARENA_PAD * 2) * this.dpr);
    layer.height = Math.ceil((arena.height * this.scale + ARENA_PAD * 2) * this.dpr);
    const ctx = layer.getContext('2d')!;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, layer.width, layer.height);
    this.drawArena(ctx, arena, ARENA_PAD, ARENA_PAD);
    this.arenaLayer = layer;
    this.arenaKey = key;
    return layer;
  }

  /** A square sprite of `size` CSS px drawn by `paint` (cached), at device resolution. */
  private sprite(
    key: string,
    size: number,
    paint: (ctx: CanvasRenderingContext2D, c: number) => void,
  ): HTMLCanvasElement {
    const fullKey = `${key}@${size.toFixed(2)}x${this.dpr}`;
    let c = this.sprites.get(fullKey);
    if (!c) {
      if (this.sprites.size > 128) this.sprites.clear();
      c = document.createElement('canvas');
      c.width = c.height = Math.ceil(size * this.dpr);
      const ctx = c.getContext('2d')!;
      ctx.scale(this.dpr, this.dpr);
      paint(ctx, size / 2);
      this.sprites.set(fullKey, c);
    }
    return c;
  }

  private drawSprite(img: HTMLCanvasElement, x: number, y: number, size: number): void {
    this.ctx.drawImage(img, x - size / 2, y - size / 2, size, size);
  }

  private drawBackdrop(ctx: CanvasRenderingContext2D): void {
    const g = ctx.createRadialGradient(
      this.cssW * 0.5,
      this.cssH * 0.45,
      0,
      this.cssW * 0.5,
      this.cssH * 0.45,
      Math.max(this.cssW, this.cssH) * 0.75,
    );
    g.addColorStop(0, 'rgba(59, 91, 219, 0.11)');
    g.addColorStop(1, 'rgba(0, 0, 0, 0)');
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, this.cssW, this.cssH);
  }

  private sx(x: number): number {
    return this.ox + x * this.scale;
  }

  private sy(y: number): number {
    return this.oy + y * this.scale;
  }

  private drawArena(ctx: CanvasRenderingContext2D, a: ArenaInfo, x: number, y: number): void {
    const w = a.width * this.scale;
    const h = a.height * this.scale;
    const r = Math.min(18, 40 * this.scale);

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
    const step = 100 * this.scale;
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

  private drawOrbs(orbs: DrawOrb[], a: ArenaInfo, t: number): void {
    const base = Math.max(2.5, a.orb_radius * this.scale);
    const size = base * 7;
    const img = this.sprite('orb', size, (ctx, c) => {
      const r = base;
      const glow = ctx.createRadialGradient(c, c, 0, c, c, c);
      glow.addColorStop(0, 'rgba(255, 209, 102, 0.55)');
      glow.addColorStop(0.45, 'rgba(255, 209, 102, 0.12)');
      glow.addColorStop(1, 'rgba(255, 209, 102, 0)');
      ctx.fillStyle = glow;
      ctx.fillRect(0, 0, c * 2, c * 2);
      const body = ctx.createRadialGradient(c - r * 0.3, c - r * 0.3, r * 0.1, c, c, r);
      body.addColorStop(0, palette.orbCore);
      body.addColorStop(1, palette.orb);
      ctx.fillStyle = body;
      ctx.beginPath();
      ctx.arc(c, c, r, 0, Math.PI * 2);
      ctx.fill();
    });
    for (const o of orbs) {
      const pulse = 1 + 0.12 * Math.sin(t * 4 + o.id * 1.7);
      this.drawSprite(img, this.sx(o.x), this.sy(o.y), size * pulse);
    }
  }

  /** A collected orb bursts into a few sparks that fly out and fade. */
  private drawPops(f: Frame, a: ArenaInfo): void {
    const ctx = this.ctx;
    const life = 0.45;
    for (const p of f.pops) {
      const age = f.time - p.born;
      if (age < 0 || age > life) continue;
      const k = age / life;
      const cx = this.sx(p.x);
      const cy = this.sy(p.y);
      const dist = (a.orb_radius + k * a.player_radius * 2) * this.scale;
      const r = Math.max(1.2, a.orb_radius * this.scale * 0.45 * (1 - k));
      ctx.save();
      ctx.globalAlpha = 1 - k * k;
      ctx.fillStyle = palette.orb;
      for (let i = 0; i < 8; i++) {
        const ang = (i / 8) * Math.PI * 2 + p.born;
        ctx.beginPath();
        ctx.arc(cx + Math.cos(ang) * dist, cy + Math.sin(ang) * dist, r, 0, Math.PI * 2);
        ctx.fill();
      }
      ctx.restore();
    }
  }

  /** A short fading tail behind each moving player (the last ~0.25 s of drawn positions). */
  private drawTrails(players: DrawPlayer[], a: ArenaInfo, t: number): void {
    const ctx = this.ctx;
    const alive = new Set<string>();
    for (const p of players) {
      alive.add(p.id);
      let trail = this.trails.get(p.id);
      if (!trail) this.trails.set(p.id, (trail = []));
      const last = trail[trail.length - 1];
      // A jump (reconnect, respawn) starts a new trail instead of drawing a streak.
      if (last && Math.hypot(p.x - last.x, p.y - last.y) > a.player_radius * 4) trail.length = 0;
      trail.push({ x: p.x, y: p.y, t });
      while (trail.length > 0 && t - trail[0]!.t > 0.25) trail.shift();
      if (trail.length < 2) continue;
      const r = Math.max(4, a.player_radius * this.scale);
      ctx.save();
      ctx.lineCap = 'round';
      ctx.strokeStyle = p.color;
      for (let i = 1; i < trail.length; i++) {
        const k = i / trail.length;
        ctx.globalAlpha = 0.28 * k;
        ctx.lineWidth = r * 1.4 * k;
        ctx.beginPath();
        ctx.moveTo(this.sx(trail[i - 1]!.x), this.sy(trail[i - 1]!.y));
        ctx.lineTo(this.sx(trail[i]!.x), this.sy(trail[i]!.y));
        ctx.stroke();
      }
      ctx.restore();
    }
    for (const id of this.trails.keys()) if (!alive.has(id)) this.trails.delete(id);
  }

  private drawPlayer(p: DrawPlayer, a: ArenaInfo, t: number, boosting: boolean): void {
    const ctx = this.ctx;
    const x = this.sx(p.x);
    const y = this.sy(p.y);
    const r = Math.max(4, a.player_radius * this.scale);

    // Soft glow and shaded body in the player's colour, pre-rendered once per colour and size.
    const size = r * 4;
    const img = this.sprite(`player:${p.color}:${p.me ? 1 : 0}`, size, (g, c) => {
      const glow = g.createRadialGradient(c, c, r * 0.8, c, c, c);
      glow.addColorStop(0, withAlpha(p.color, p.me ? 0.55 : 0.35));
      glow.addColorStop(1, withAlpha(p.color, 0));
      g.fillStyle = glow;
      g.fillRect(0, 0, c * 2, c * 2);
      const body = g.createRadialGradient(c - r * 0.35, c - r * 0.4, r * 0.15, c, c, r);
      body.addColorStop(0, lighten(p.color, 0.35));
      body.addColorStop(1, p.color);
      g.fillStyle = body;
      g.beginPath();
      g.arc(c, c, r, 0, Math.PI * 2);
      g.fill();
    });
    this.drawSprite(img, x, y, size);

    ctx.lineWidth = Math.max(1.5, r * 0.1);
    ctx.strokeStyle = 'rgba(0, 0, 0, 0.35)';
    ctx.beginPath();
    ctx.arc(x, y, r - ctx.lineWidth / 2, 0, Math.PI * 2);
    ctx.stroke();

    if (p.me) {
      // Highlight: a white ring and a slow pulse around it.
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = Math.max(2, r * 0.14);
      ctx.beginPath();
      ctx.arc(x, y, r + ctx.lineWidth * 0.9, 0, Math.PI * 2);
      ctx.stroke();
      const pulse = (t * 0.8) % 1;
      ctx.save();
      ctx.globalAlpha = 0.45 * (1 - pulse);
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(x, y, r * (1.25 + pulse * 0.6), 0, Math.PI * 2);
      ctx.stroke();
      ctx.restore();
      if (boosting) {
        ctx.save();
        ctx.globalAlpha = 0.8;
        ctx.strokeStyle = palette.orb;
        ctx.setLineDash([4, 5]);
        ctx.lineDashOffset = -t * 40;
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.arc(x, y, r * 1.55, 0, Math.PI * 2);
        ctx.stroke();
        ctx.restore();
      }
    }

    // Score inside the circle.
    const fs = Math.max(9, Math.min(18, r * 0.8));
    ctx.font = `700 ${fs}px ${FONT}`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillStyle = 'rgba(6, 9, 18, 0.85)';
    ctx.fillText(String(p.score), x, y + 1);
  }

  private drawName(p: DrawPlayer, a: ArenaInfo): void {
    const ctx = this.ctx;
    const x = this.sx(p.x);
    const r = Math.max(4, a.player_radius * this.scale);
    const y = this.sy(p.y) - r - (p.me ? 10 : 7);
    const fs = Math.max(11, Math.min(15, r * 0.7));
    ctx.font = `${p.me ? 700 : 600} ${fs}px ${FONT}`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    const label = fitText(ctx, p.name, 160);
    ctx.lineJoin = 'round';
    ctx.lineWidth = 4;
    ctx.strokeStyle = 'rgba(6, 9, 18, 0.9)';
    ctx.strokeText(label, x, y);
    ctx.fillStyle = p.me ? '#ffffff' : palette.text;
    ctx.fillText(label, x, y);
  }

  private drawHud(h: Hud): void {
    const ctx = this.ctx;
    const x = 12;
    const y = 12;
    const w = 236;
    const lh = 19;
    panel(ctx, x, y, w, 12 + lh * 3);
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
    const statusLabel =
      h.status === 'connected'
        ? 'Connected'
        : h.status === 'refused'
          ? 'Disconnected'
          : h.status === 'closed'
            ? 'Closed'
            : h.status === 'reconnecting'
              ? 'Reconnecting…'
              : 'Connecting…';
    ctx.fillText(statusLabel, x + 28, y + 6 + lh / 2 + 1);
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
  private drawNetStats(n: NetStatsOverlay): void {
    const ctx = this.ctx;
    const x = 12;
    const y = 12 + 12 + 19 * 3 + 8; // below the HUD panel
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

  private drawScoreboard(players: DrawPlayer[]): void {
    const ctx = this.ctx;
    const rows = [...players].sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
    const shown = rows.slice(0, 8);
    // Always list ourselves, even when outside the top 8.
    const me = rows.find((p) => p.me);
    if (me && !shown.includes(me)) shown[shown.length - 1] = me;
    const w = 196;
    const lh = 22;
    const x = this.cssW - w - 12;
    const y = 12;
    if (x < 260 && this.cssW < 600) return; // tiny screens: the HUD wins
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

  private drawStick(s: StickView): void {
    const ctx = this.ctx;
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

  private drawHint(): void {
    if (this.cssW < 600) return;
    const ctx = this.ctx;
    ctx.font = `500 12px ${FONT}`;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    ctx.fillStyle = palette.textDim;
    ctx.fillText(
      'WASD / arrows to move  ·  Shift to boost  ·  grab the orbs  ·  N net stats',
      16,
      this.cssH - 26,
    );
  }

  private drawBanner(h: Hud): void {
    if (h.status === 'connected' || h.status === 'refused' || h.status === 'closed') return;
    const ctx = this.ctx;
    // The picture is stale while we are not connected: dim it.
    ctx.fillStyle = 'rgba(6, 9, 18, 0.45)';
    ctx.fillRect(0, 0, this.cssW, this.cssH);
    ctx.font = `600 14px ${FONT}`;
    const text = fitText(ctx, h.statusText, Math.min(760, this.cssW - 40));
    const w = ctx.measureText(text).width + 40;
    const x = (this.cssW - w) / 2;
    const y = this.cssH - 64;
    panel(ctx, x, y, w, 36);
    ctx.fillStyle = palette.warn;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(text, this.cssW / 2, y + 18);
  }
}

function panel(ctx: CanvasRenderingContext2D, x: number, y: number, w: number, h: number): void {
  ctx.save();
  roundRect(ctx, x, y, w, h, 10);
  ctx.fillStyle = palette.panel;
  ctx.fill();
  ctx.strokeStyle = palette.panelBorder;
  ctx.lineWidth = 1;
  ctx.stroke();
  ctx.restore();
}

function roundRect(
  ctx: CanvasRenderingContext2D,
  x: number,
  y: number,
  w: number,
  h: number,
  r: number,
): void {
  ctx.beginPath();
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}

/** Truncates `text` with an ellipsis to fit `maxWidth` in the current font. */
function fitText(ctx: CanvasRenderingContext2D, text: string, maxWidth: number): string {
  if (ctx.measureText(text).width <= maxWidth) return text;
  const chars = [...text];
  while (chars.length > 1 && ctx.measureText(chars.join('') + '…').width > maxWidth) chars.pop();
  return chars.join('') + '…';
}

function withAlpha(hex: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) return hex;
  const n = parseInt(m[1]!, 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

function lighten(hex: string, amount: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) return hex;
  const n = parseInt(m[1]!, 16);
  const mix = (c: number) => Math.round(c + (255 - c) * amount);
  return `rgb(${mix((n >> 16) & 255)}, ${mix((n >> 8) & 255)}, ${mix(n & 255)})`;
}
