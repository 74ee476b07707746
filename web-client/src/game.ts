/**
 * A game session in the browser: connection, input loop at the tick rate, prediction of our own
 * player, interpolation of the others, the render loop, and the read-only `window.tickcast` view.
 */
import {
  ArenaBaselines as Baselines,
  dequantizeArena,
  type ArenaDelta as DeltaSnapshot,
  type ArenaInfo,
  type ArenaSnapshot as Snapshot,
  type ArenaWelcome as Welcome,
  type Controls,
  type Orb,
} from './arena';
import { DeltaError } from './delta';
import { InputState } from './input';
import { Interpolator, RenderClock, type Point } from './interpolation';
import { Connection, defaultSocketUrl, type ConnStatus } from './net';
import { NetStats, isNetStatsToggle, netStatsRows, type NetStatsSample } from './netstats';
import { Predictor } from './prediction';
import { Renderer, assignColors, playerColor, type DrawPlayer, type Pop } from './render';

export interface TickcastPlayerView {
  readonly id: string;
  readonly name: string;
  readonly x: number;
  readonly y: number;
  readonly score: number;
}

/** What `window.tickcast` shows (read-only; replaced by a new frozen object every frame). */
export interface TickcastView {
  readonly connected: boolean;
  readonly status: ConnStatus;
  readonly playerId: string | null;
  readonly roomId: string | null;
  /** Newest snapshot tick received. */
  readonly tick: number;
  readonly tickRate: number | null;
  readonly pingMs: number | null;
  readonly arena: { readonly width: number; readonly height: number } | null;
  /** Players as currently rendered (own player predicted, others interpolated). */
  readonly players: readonly TickcastPlayerView[];
  /** The last close that ended the session, if any. */
  readonly closed: { readonly code: number; readonly reason: string } | null;
  /** Orbs of the newest snapshot. */
  readonly orbs: readonly { readonly id: number; readonly x: number; readonly y: number }[];
  /** Smoothed time spent drawing one frame, ms. */
  readonly drawMs: number;
  /** Snapshot traffic since the page loaded (over all connections). */
  readonly net: TickcastNetView;
  /**
   * The net graph's figures (rates over the last second, refreshed 4 times a second whether the
   * overlay is shown or not) and whether it is shown (`N`).
   */
  readonly netStats: TickcastNetStatsView;
}

export interface TickcastNetStatsView extends NetStatsSample {
  /** Whether the overlay is shown. */
  readonly visible: boolean;
}

export interface TickcastNetView {
  /** Full `snap` messages received (a server without deltas, or with them disabled). */
  readonly snapshots: number;
  /** `delta` messages received, applied or not. */
  readonly deltas: number;
  /** Of those, full patches (`base_tick` 0: a connection's first, or after a long stall). */
  readonly fullDeltas: number;
  /** Deltas dropped because they could not be applied (`DeltaError`). */
  readonly deltaErrors: number;
  /** The kind of the last such error (`UnknownBaseline`, `BadIndex` …). */
  readonly lastDeltaError: string | null;
  /** `base_tick` of the last delta received. */
  readonly lastBaseTick: number;
  /** What inputs acknowledge now (`Input.ack_tick`). */
  readonly ackTick: number;
  /** Delta baselines held. */
  readonly baselines: number;
}

export interface GameOptions {
  room: string | null;
  name: string;
  canvas: HTMLCanvasElement;
  /** Called once when the server refuses or ends the session for good. */
  onRefused(code: number, message: string, reason: string): void;
  /** Called when the Welcome names the room (quick-play learns its room id here). */
  onRoom?(roomId: string): void;
  /** Called when the net stats overlay is shown or hidden (also once at start). */
  onNetStatsVisible?(visible: boolean): void;
  url?: string;
}

const INTERP_DELAY_MS = 100;
/** How often the net stats figures are recomputed, ms. */
const NET_STATS_EVERY_MS = 250;
/** localStorage key remembering whether the net stats overlay is shown. */
const NET_STATS_KEY = 'tickcast.netstats';

const EMPTY_NET_STATS: TickcastNetStatsView = Object.freeze({
  ...new NetStats().sample(0, { rttMs: null, tickRate: null, newestTick: 0, ackTick: 0 }),
  visible: false,
});

function loadNetStatsVisible(): boolean {
  try {
    return localStorage.getItem(NET_STATS_KEY) === '1';
  } catch {
    return false;
  }
}

function saveNetStatsVisible(visible: boolean): void {
  try {
    if (visible) localStorage.setItem(NET_STATS_KEY, '1');
    else localStorage.removeItem(NET_STATS_KEY);
  } catch {
    // storage disabled: fine
  }
}

let currentView: TickcastView = Object.freeze({
  connected: false,
  status: 'closed',
  playerId: null,
  roomId: null,
  tick: 0,
  tickRate: null,
  pingMs: null,
  arena: null,
  players: Object.freeze([]),
  closed: null,
  orbs: Object.freeze([]),
  drawMs: 0,
  net: Object.freeze({
    snapshots: 0,
    deltas: 0,
    fullDeltas: 0,
    deltaErrors: 0,
    lastDeltaError: null,
    lastBaseTick: 0,
    ackTick: 0,
    baselines: 0,
  }),
  netStats: EMPTY_NET_STATS,
});

/** Installs the read-only `window.tickcast` getter (once). */
export function installView(): void {
  if (Object.getOwnPropertyDescriptor(window, 'tickcast')) return;
  Object.defineProperty(window, 'tickcast', {
    get: () => currentView,
    enumerable: true,
    configurable: false,
  });
}

export class Game {
  private readonly conn: Connection;
  private readonly input = new InputState();
  private readonly renderer: Renderer;
  private status: ConnStatus = 'connecting';
  private statusText = 'Connecting…';
  private welcome: Welcome | null = null;
  private arena: ArenaInfo | null = null;
  private predictor: Predictor | null = null;
  private interp = new Interpolator();
  private clock: RenderClock | null = null;
  private latest: Snapshot | null = null;
  private newestTick = 0;
  /** Strictly increasing for the whole page session (also across reconnects and resumes). */
  private seq = 0;
  /**
   * Inputs follow a schedule: one per server tick period (the estimated actual period, so a
   * server running slow is not fed more inputs than it simulates). Both animation frames and a
   * timer (which keeps running when frames stop, e.g. in a background tab) pump it, and our
   * player is drawn from the schedule, not from the jittery moments the callbacks ran.
   */
  private nextInputAt = 0;
  private inputPeriod = 1000 / 30;
  private lastControls: Controls = { x: 0, y: 0, buttons: 0 };
  private inputTimer: ReturnType<typeof setInterval> | null = null;
  private rafId = 0;
  private lastFrameAt = 0;
  private pingMs: number | null = null;
  private rtts: number[] = [];
  private pongs = 0;
  private closed: { code: number; reason: string } | null = null;
  private orbsSeen = new Map<number, Orb>();
  private pops: Pop[] = [];
  private renderedPlayers: DrawPlayer[] = [];
  private colors = new Map<string, string>();
  /** Smoothed cost of one frame's drawing, ms (for the view/debugging). */
  private drawMs = 0;
  /** The states delta snapshots are patched against; reset for each connection. */
  private readonly baselines = new Baselines();
  private netStats = {
    snapshots: 0,
    deltas: 0,
    fullDeltas: 0,
    deltaErrors: 0,
    lastDeltaError: null as string | null,
    lastBaseTick: 0,
  };
  /** Traffic over a sliding window, for the net graph overlay. */
  private readonly stats = new NetStats();
  private netStatsVisible = loadNetStatsVisible();
  private netStatsView: TickcastNetStatsView = EMPTY_NET_STATS;
  private netStatsAt = -Infinity;
  /** The overlay's rows of the current figures (made when first drawn). */
  private netStatsRows: ReturnType<typeof netStatsRows> | null = null;
  private readonly onKeyDown = (e: KeyboardEvent) => {
    const target = e.target instanceof HTMLElement ? e.target : null;
    const toggle = isNetStatsToggle({
      key: e.key,
      code: e.code,
      ctrlKey: e.ctrlKey,
      altKey: e.altKey,
      metaKey: e.metaKey,
      repeat: e.repeat,
      targetTag: target?.tagName ?? null,
      targetEditable: target?.isContentEditable ?? false,
    });
    if (!toggle) return;
    e.preventDefault();
    this.setNetStatsVisible(!this.netStatsVisible);
  };

  constructor(private readonly opts: GameOptions) {
    installView();
    this.renderer = new Renderer(opts.canvas);
    this.conn = new Connection(opts.url ?? defaultSocketUrl(), opts.room, opts.name, {
      status: (s, detail) => {
        this.status = s;
        this.statusText = detail;
        if (s !== 'connected') this.stopInputLoop();
        this.publish();
      },
      welcome: (w) => this.onWelcome(w),
      snapshot: (s, bytes) => {
        this.netStats.snapshots++;
        this.stats.snapshot(performance.now(), s.tick, 'snap', bytes);
        this.onSnapshot(s);
      },
      delta: (d, bytes) => this.onDelta(d, bytes),
      traffic: (direction, bytes) => {
        if (direction === 'in') this.stats.received(performance.now(), bytes);
        else this.stats.sent(performance.now(), bytes);
      },
      pong: (p) => {
        const rtt = performance.now() - p.client_time;
        // The first round trip overlaps page start-up (and the server's join work): skip it.
        if (this.pongs++ === 0) return;
        if (rtt >= 0 && rtt < 60_000) {
          // The median of the last few round trips: steady, and one slow frame does not spike it.
          this.rtts.push(rtt);
          if (this.rtts.length > 5) this.rtts.shift();
          const sorted = [...this.rtts].sort((a, b) => a - b);
          this.pingMs = sorted[sorted.length >> 1]!;
        }
      },
      error: () => {},
      refused: (code, message, reason) => {
        this.closed = { code, reason };
        this.stopInputLoop();
        this.publish();
        this.opts.onRefused(code, message, reason);
      },
    });
  }

  start(): void {
    this.input.attach(this.opts.canvas);
    window.addEventListener('keydown', this.onKeyDown);
    this.opts.onNetStatsVisible?.(this.netStatsVisible);
    this.conn.start();
    const frame = (t: number) => {
      this.rafId = requestAnimationFrame(frame);
      this.frame(t);
    };
    this.rafId = requestAnimationFrame(frame);
  }

  stop(): void {
    this.conn.stop();
    this.stopInputLoop();
    this.input.dispose();
    window.removeEventListener('keydown', this.onKeyDown);
    cancelAnimationFrame(this.rafId);
  }

  get netStatsShown(): boolean {
    return this.netStatsVisible;
  }

  /** Shows or hides the net stats overlay (remembered in localStorage). */
  setNetStatsVisible(visible: boolean): void {
    if (visible === this.netStatsVisible) return;
    this.netStatsVisible = visible;
    saveNetStatsVisible(visible);
    this.netStatsView = Object.freeze({ ...this.netStatsView, visible });
    this.opts.onNetStatsVisible?.(visible);
    this.publish();
  }

  /** Recomputes the net stats figures when they are due (a few times a second). */
  private sampleNetStats(now: number): void {
    if (now - this.netStatsAt < NET_STATS_EVERY_MS) return;
    this.netStatsAt = now;
    const sample = this.stats.sample(now, {
      rttMs: this.pingMs,
      tickRate: this.welcome?.tick_rate ?? null,
      newestTick: this.newestTick,
      ackTick: this.ackTick(),
    });
    this.netStatsView = Object.freeze({ ...sample, visible: this.netStatsVisible });
    this.netStatsRows = null;
  }

  private onWelcome(w: Welcome): void {
    const sameSeat = this.welcome?.player_id === w.player_id;
    this.welcome = w;
    this.arena = w.game;
    this.predictor = new Predictor(w.game, w.tick_rate);
    this.clock = new RenderClock(w.tick_rate, INTERP_DELAY_MS);
    if (!sameSeat) this.orbsSeen.clear();
    this.interp = new Interpolator();
    this.latest = null;
    // Until this connection's first snapshot nothing is drawn; publishing the old connection's
    // players with `connected` would show a view that the next frame takes back.
    this.renderedPlayers = [];
    // A new connection starts from a full patch (base tick 0): old baselines are no use.
    this.baselines.reset();
    this.stats.newConnection();
    this.newestTick = Math.max(0, w.tick);
    this.opts.onRoom?.(w.room_id);
    this.startInputLoop(w.tick_rate);
    this.publish();
  }

  private onSnapshot(s: Snapshot): void {
    if (!this.welcome || !this.clock || !this.predictor) return;
    if (this.latest && s.tick <= this.latest.tick) return;
    const now = performance.now();
    this.latest = s;
    this.newestTick = s.tick;
    this.clock.observe(s.tick, now);
    const me = this.welcome.player_id;
    this.interp.push(
      s.tick,
      s.state.players.filter((p) => p.id !== me),
    );
    const mine = s.state.players.find((p) => p.id === me);
    if (mine) this.predictor.reconcile(mine);
    this.colors = assignColors(s.state.players.map((p) => p.id));
    // Orbs that moved were collected: leave a short "pop" where they were.
    const t = now / 1000;
    for (const o of s.state.orbs) {
      const old = this.orbsSeen.get(o.id);
      if (old && (old.x !== o.x || old.y !== o.y)) {
        this.pops.push({ x: old.x, y: old.y, born: t, color: '#ffd166' });
      }
      this.orbsSeen.set(o.id, o);
    }
    if (this.pops.length > 32) this.pops.splice(0, this.pops.length - 32);
    // Keep the view fresh even if animation frames are throttled (background tab).
    if (now - this.lastFrameAt > 250) {
      this.computePlayers(now, 0);
      this.sampleNetStats(now);
    }
    this.publish();
  }

  /**
   * A delta snapshot: patched onto its baseline, then handled exactly like a full snapshot. One
   * that cannot be applied is dropped and counted; the ack stays where it was, so the server's
   * next delta is against a state we hold (or a full patch).
   */
  private onDelta(d: DeltaSnapshot, bytes: number): void {
    const now = performance.now();
    this.stats.snapshot(now, d.tick, d.base_tick === 0 ? 'full' : 'delta', bytes, d.base_tick);
    this.netStats.deltas++;
    this.netStats.lastBaseTick = d.base_tick;
    if (d.base_tick === 0) this.netStats.fullDeltas++;
    let state;
    try {
      state = this.baselines.receive(d);
    } catch (e) {
      if (!(e instanceof DeltaError)) throw e;
      this.netStats.deltaErrors++;
      this.netStats.lastDeltaError = e.kind;
      this.stats.deltaError(now);
      console.warn(`tickcast: dropped delta ${d.tick} (base ${d.base_tick}): ${e.message}`);
      this.publish();
      return;
    }
    this.onSnapshot({
      tick: d.tick,
      server_time_ms: d.server_time_ms,
      state: dequantizeArena(state),
    });
  }

  /**
   * `Input.ack_tick`: with deltas the newest state held (0 before the first, so the server starts
   * with a full patch), else the newest full snapshot of this connection.
   */
  private ackTick(): number {
    if (this.baselines.size > 0) return this.baselines.ackTick;
    return this.latest ? this.newestTick : 0;
  }

  private startInputLoop(tickRate: number): void {
    this.stopInputLoop();
    this.inputPeriod = 1000 / tickRate;
    this.nextInputAt = performance.now() + this.inputPeriod;
    this.inputTimer = setInterval(() => this.pumpInputs(performance.now()), this.inputPeriod / 2);
  }

  /** Sends the inputs that are due by `now` (after a long stall, only one). */
  private pumpInputs(now: number): void {
    if (!this.inputTimer) return;
    if (now - this.nextInputAt > this.inputPeriod * 3) this.nextInputAt = now;
    while (now >= this.nextInputAt) {
      this.inputPeriod = this.clock?.periodMs ?? this.inputPeriod;
      this.nextInputAt += this.inputPeriod;
      this.sendInput();
    }
  }

  private stopInputLoop(): void {
    if (this.inputTimer) clearInterval(this.inputTimer);
    this.inputTimer = null;
  }

  private sendInput(): void {
    if (!this.conn.isOpen || !this.predictor) return;
    const controls = this.input.read();
    this.seq += 1;
    const sent = this.conn.send({
      type: 'input',
      body: { seq: this.seq, ack_tick: this.ackTick(), controls },
    });
    if (!sent) return;
    this.predictor.applyInput(this.seq, controls);
    this.lastControls = controls;
  }

  /** Positions of every player as they are drawn now. */
  private computePlayers(now: number, elapsed: number): void {
    const s = this.latest;
    if (!s || !this.welcome || !this.clock || !this.predictor) {
      this.renderedPlayers = [];
      return;
    }
    const renderTick = this.clock.tick(now);
    this.stats.interpDelay(performance.now(), (s.tick - renderTick) * this.clock.periodMs);
    const others = this.interp.sample(renderTick);
    this.interp.prune(renderTick);
    const me = this.welcome.player_id;
    const alpha = 1 - (this.nextInputAt - now) / this.inputPeriod;
    const mine = this.predictor.renderPosition(alpha, elapsed);
    const out: DrawPlayer[] = [];
    for (const p of s.state.players) {
      let pos: Point | null | undefined;
      if (p.id === me) pos = mine;
      else pos = others.get(p.id);
      if (!pos) continue; // joined after the render time: appears shortly
      out.push({
        id: p.id,
        name: p.name,
        x: pos.x,
        y: pos.y,
        score: p.score,
        color: this.colors.get(p.id) ?? playerColor(p.id),
        me: p.id === me,
      });
    }
    this.renderedPlayers = out;
  }

  private frame(now: number): void {
    this.pumpInputs(now);
    const elapsed = this.lastFrameAt ? Math.min(0.25, (now - this.lastFrameAt) / 1000) : 0;
    this.lastFrameAt = now;
    this.computePlayers(now, elapsed);
    const t = now / 1000;
    this.pops = this.pops.filter((p) => t - p.born < 0.6);
    const w = this.welcome;
    this.sampleNetStats(performance.now());
    const t0 = performance.now();
    this.renderer.draw({
      arena: this.arena,
      players: this.renderedPlayers,
      orbs: this.latest?.state.orbs ?? [],
      pops: this.pops,
      hud: {
        status: this.status,
        statusText: this.statusText,
        roomId: w?.room_id ?? this.opts.room,
        pingMs: this.pingMs,
        tickRate: w?.tick_rate ?? null,
        players: this.latest?.state.players.length ?? 0,
        maxPlayers: w?.max_players ?? null,
        tick: this.newestTick,
      },
      stick: this.input.stick(),
      boosting: (this.lastControls.buttons & 1) === 1,
      focus: this.renderedPlayers.find((p) => p.me) ?? null,
      netStats: this.netStatsVisible
        ? {
            rows: (this.netStatsRows ??= netStatsRows(this.netStatsView)),
            bars: this.stats.graph(),
            fullBytes: this.netStatsView.fullBytes,
          }
        : null,
      time: t,
    });
    this.drawMs = this.drawMs * 0.9 + (performance.now() - t0) * 0.1;
    this.publish();
  }

  private publish(): void {
    const w = this.welcome;
    currentView = Object.freeze({
      connected: this.status === 'connected' && this.conn.isOpen,
      status: this.status,
      playerId: w?.player_id ?? null,
      roomId: w?.room_id ?? null,
      tick: this.newestTick,
      tickRate: w?.tick_rate ?? null,
      pingMs: this.pingMs === null ? null : Math.round(this.pingMs * 10) / 10,
      arena: this.arena
        ? Object.freeze({ width: this.arena.width, height: this.arena.height })
        : null,
      players: Object.freeze(
        this.renderedPlayers.map((p) =>
          Object.freeze({ id: p.id, name: p.name, x: p.x, y: p.y, score: p.score }),
        ),
      ),
      closed: this.closed ? Object.freeze({ ...this.closed }) : null,
      orbs: Object.freeze((this.latest?.state.orbs ?? []).map((o) => Object.freeze({ ...o }))),
      drawMs: Math.round(this.drawMs * 100) / 100,
      net: Object.freeze({
        ...this.netStats,
        ackTick: this.ackTick(),
        baselines: this.baselines.size,
      }),
      netStats: this.netStatsView,
    });
  }
}
