/**
 * Canvas drawing of the world: the arena scaled to fit its stage, the free area beside the
 * player's panels (`layout.ts`; or following our player on small screens), orbs, pops, trails,
 * players with names (canvas text, never markup). The HUD and the other screen-space overlays are
 * `overlays.ts`, drawn on top; the static floor is `floor.ts`, colours `colors.ts`. game.ts hands
 * `Renderer.draw` a `Frame` each animation frame. Pure presentation: it draws what it is given.
 */
import palette from '../../assets/web/palette.json';
import { FONT, lighten, withAlpha } from './canvas';
import { paintArena, paintBackdrop } from './floor';
import type { StickView } from './input';
import { fitArena, screenLayout, worldArea, type Rect } from './layout';
import { HELD_ALPHA, drawPlayerName } from './nametag';
import { drawOverlays, type Hud, type NetStatsOverlay } from './overlays';
import type { RoundHud } from './round';
import type { ArenaInfo } from './arena';

export interface DrawPlayer {
  id: string;
  name: string;
  x: number;
  y: number;
  score: number;
  color: string;
  me: boolean;
  /** The player's connection is lost and its seat is held: drawn dimmed, "reconnecting…". */
  held?: boolean;
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

export interface Frame {
  arena: ArenaInfo | null;
  players: DrawPlayer[];
  orbs: DrawOrb[];
  pops: Pop[];
  hud: Hud;
  /** The round card and winner banner (`null`: the server has no rounds). */
  round: RoundHud | null;
  stick: StickView | null;
  boosting: boolean;
  /** Our own player's position: the view follows it when the arena does not fit. */
  focus: { x: number; y: number } | null;
  /** The net stats overlay (`N`), when shown. */
  netStats: NetStatsOverlay | null;
  /** Seconds, for animation. */
  time: number;
}

/** Room around the cached arena layer for its glow. */
const ARENA_PAD = 40;

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

  draw(f: Frame): void {
    this.fit();
    const ctx = this.ctx;
    const layout = screenLayout({ width: this.cssW, height: this.cssH }, f.arena);
    if (f.arena) this.place(layout.stage, f.arena, f.focus);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this.background(), 0, 0);
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    if (f.arena) {
      // The world stays out of the panels' area: they are never drawn over.
      const area = worldArea(layout, { width: this.cssW, height: this.cssH });
      ctx.save();
      ctx.beginPath();
      ctx.rect(area.x, area.y, area.w, area.h);
      ctx.clip();
      this.drawWorld(f, f.arena, area);
      ctx.restore();
    }
    // Banners and the net graph go over the part of the arena in view (on a phone the stage
    // may be taller than the arena).
    const shown = f.arena ? this.arenaInView(layout.stage, f.arena) : layout.stage;
    drawOverlays(
      ctx,
      { ...layout, stage: shown },
      {
        hud: f.hud,
        round: f.round,
        netStats: f.netStats,
        scoreboard: f.arena ? f.players : null,
        stick: f.stick,
      },
    );
  }

  /** Where the arena goes in `stage` (fitted, or following `focus` on small screens). */
  private place(stage: Rect, arena: ArenaInfo, focus: { x: number; y: number } | null): void {
    const v = fitArena(stage, arena, focus);
    this.scale = v.scale;
    // Whole device pixels, so the cached arena layer is drawn crisp.
    const snap = (n: number) => Math.round(n * this.dpr) / this.dpr;
    this.ox = snap(v.ox);
    this.oy = snap(v.oy);
  }

  /** The part of `stage` the arena covers (all of the stage where it does not fit). */
  private arenaInView(stage: Rect, arena: ArenaInfo): Rect {
    const x = Math.max(stage.x, this.ox);
    const y = Math.max(stage.y, this.oy);
    const right = Math.min(stage.x + stage.w, this.ox + arena.width * this.scale);
    const bottom = Math.min(stage.y + stage.h, this.oy + arena.height * this.scale);
    return { x, y, w: Math.max(1, right - x), h: Math.max(1, bottom - y) };
  }

  /** The arena floor, pops, orbs, trails, players and names (kept inside `area`). */
  private drawWorld(f: Frame, arena: ArenaInfo, area: Rect): void {
    const ctx = this.ctx;
    const layer = this.arenaCanvas(arena);
    ctx.drawImage(
      layer,
      this.ox - ARENA_PAD,
      this.oy - ARENA_PAD,
      layer.width / this.dpr,
      layer.height / this.dpr,
    );
    this.drawPops(f, arena);
    this.drawOrbs(f.orbs, arena, f.time);
    // Others first, me on top.
    const sorted = [...f.players].sort((a, b) => Number(a.me) - Number(b.me));
    this.drawTrails(sorted, arena, f.time);
    for (const p of sorted) {
      ctx.save();
      if (p.held) ctx.globalAlpha = HELD_ALPHA;
      this.drawPlayer(p, arena, f.time, p.me && f.boosting);
      ctx.restore();
    }
    for (const p of sorted) {
      const r = Math.max(4, arena.player_radius * this.scale);
      drawPlayerName(ctx, p, this.sx(p.x), this.sy(p.y) - r - (p.me ? 10 : 7), r, {
        left: area.x,
        right: area.x + area.w,
        top: area.y,
      });
    }
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
    paintBackdrop(ctx, this.cssW, this.cssH);
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
    paintArena(ctx, arena, this.scale, ARENA_PAD, ARENA_PAD);
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

  private sx(x: number): number {
    return this.ox + x * this.scale;
  }

  private sy(y: number): number {
    return this.oy + y * this.scale;
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
}
