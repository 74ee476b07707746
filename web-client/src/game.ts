/**
 * A game session in the browser: connection events in (Welcome, snapshots, deltas applied to
 * their baselines, pongs, closes), the input loop at the tick rate, prediction of our own player,
 * interpolation of the others, the render loop, and the `window.tickcast` view (view.ts). main.ts
 * starts one per page. Units with rules of their own live elsewhere (delta.ts, prediction.ts,
 * interpolation.ts, schedule.ts, pops.ts, netstats.ts, netpanel.ts, colors.ts, round.ts); this
 * class wires them. The connection, the renderer and the clock can be injected, so tests drive a
 * session with a fake connection and fake time.
 */
import { assignColors, playerColor } from './colors';
import {
  ArenaBaselines as Baselines,
  dequantizeArena,
  type ArenaDelta as DeltaSnapshot,
  type ArenaInfo,
  type ArenaSnapshot as Snapshot,
  type ArenaWelcome as Welcome,
  type Controls,
  type QuantizedArena,
} from './arena';
import {
  DeltaError,
  InputSchedule,
  Interpolator,
  NetStats,
  RenderClock,
  RoundTrips,
  type Point,
} from 'tickcast-client';
import { InputState } from './input';
import { Connection, defaultSocketUrl, type ConnStatus, type ConnectionEvents } from './net';
import { NetStatsPanel, isToggleEvent } from './netpanel';
import { Predictor } from './prediction';
import { OrbPops } from './pops';
import { Renderer, type DrawPlayer, type Frame } from './render';
import { roundHud, roundOf, type Round } from './round';
import { installView, publishView } from './view';

/** What the game needs of its connection (net.ts's `Connection`; a fake one in tests). */
export type GameConnection = Pick<Connection, 'start' | 'stop' | 'leave' | 'send' | 'isOpen'>;

/** What the game needs of its renderer (render.ts's `Renderer`; a recorder in tests). */
export interface FrameSink {
  draw(frame: Frame): void;
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
  /** Opens the connection that reports to `events` (default: a `Connection` to `url`). */
  connect?(events: ConnectionEvents): GameConnection;
  /** Draws the frames (default: a `Renderer` on `canvas`). */
  renderer?: FrameSink;
  /** The clock, ms (default: `performance.now()`; animation frames bring their own time). */
  now?(): number;
}

const INTERP_DELAY_MS = 100;

/**
 * How far behind a resume's Welcome the last drawn snapshot may be and still be kept. A
 * hand-over (4007 + resume on another node) takes a few ticks; after a longer break the others
 * have moved on, and drawing them where they were would only jump once the new snapshots come.
 */
export const KEEP_ACROSS_RESUME_MS = 1000;

/**
 * Whether a Welcome resumes the seat we are drawing, close enough in time that the drawn players,
 * the interpolation buffer, the render clock and our prediction carry over unchanged (no
 * flicker): the same player id, the same tick rate, and a room tick that went on from the newest
 * snapshot by at most `KEEP_ACROSS_RESUME_MS` (not back: a room restored from an older
 * checkpoint starts over).
 */
export function keepsDrawnState(
  drawn: { playerId: string; tickRate: number; tick: number } | null,
  w: Pick<Welcome, 'player_id' | 'tick_rate' | 'tick'>,
): boolean {
  if (!drawn || drawn.playerId !== w.player_id || drawn.tickRate !== w.tick_rate) return false;
  const ahead = w.tick - drawn.tick;
  return ahead >= 0 && (ahead * 1000) / w.tick_rate <= KEEP_ACROSS_RESUME_MS;
}

export class Game {
  private readonly conn: GameConnection;
  private readonly input = new InputState();
  private readonly renderer: FrameSink;
  private readonly now: () => number;
  private status: ConnStatus = 'connecting';
  private statusText = 'Connecting…';
  private welcome: Welcome | null = null;
  private arena: ArenaInfo | null = null;
  private predictor: Predictor | null = null;
  private interp = new Interpolator();
  private clock: RenderClock | null = null;
  private latest: Snapshot | null = null;
  /** Whether this connection has brought a snapshot yet (`latest` may be the previous one's). */
  private snapshotOnThisConnection = false;
  private newestTick = 0;
  /** Strictly increasing for the whole page session (also across reconnects and resumes). */
  private seq = 0;
  /** One input per server tick period; animation frames and `inputTimer` both pump it. */
  private readonly schedule = new InputSchedule();
  private lastControls: Controls = { x: 0, y: 0, buttons: 0 };
  private inputTimer: ReturnType<typeof setInterval> | null = null;
  private rafId = 0;
  private lastFrameAt = 0;
  /** Round trips of the once-a-second ping. */
  private readonly rtt = new RoundTrips();
  private closed: { code: number; reason: string } | null = null;
  private readonly pops = new OrbPops();
  private renderedPlayers: DrawPlayer[] = [];
  /** Each player's colour, kept while the player stays (colors.ts). */
  private colors = new Map<string, string>();
  /** The newest snapshot's round (`null`: the server has no rounds). */
  private round: Round | null = null;
  /** Smoothed cost of one frame's drawing, ms (for the view/debugging). */
  private drawMs = 0;
  /** The states delta snapshots are patched against; reset for each connection. */
  private readonly baselines = new Baselines();
  /** Traffic: over a sliding window for the net graph overlay, and totals since page load. */
  private readonly stats = new NetStats();
  /** The net stats overlay (`N`): shown or not, its figures a few times a second. */
  private readonly netPanel = new NetStatsPanel(this.stats);
  private readonly onKeyDown = (e: KeyboardEvent) => {
    if (!isToggleEvent(e)) return;
    e.preventDefault();
    this.setNetStatsVisible(!this.netPanel.visible);
  };

  constructor(private readonly opts: GameOptions) {
    installView();
    this.now = opts.now ?? (() => performance.now());
    this.renderer = opts.renderer ?? new Renderer(opts.canvas);
    const events: ConnectionEvents = {
      status: (s, detail) => {
        this.status = s;
        this.statusText = detail;
        if (s !== 'connected') this.stopInputLoop();
        this.publish();
      },
      welcome: (w) => this.onWelcome(w),
      snapshot: (s, bytes) => {
        this.stats.snapshot(this.now(), s.tick, 'snap', bytes);
        this.onSnapshot(s);
      },
      delta: (d, bytes) => this.onDelta(d, bytes, () => this.baselines.receive(d)),
      packed: (d, bytes) =>
        this.onDelta(d, bytes, () => this.baselines.receivePacked(d, this.welcome?.tick_rate ?? 0)),
      traffic: (direction, bytes) => {
        if (direction === 'in') this.stats.received(this.now(), bytes);
        else this.stats.sent(this.now(), bytes);
      },
      pong: (p) => this.rtt.pong(this.now(), p.client_time),
      error: () => {},
      refused: (code, message, reason) => {
        this.closed = { code, reason };
        this.stopInputLoop();
        this.publish();
        this.opts.onRefused(code, message, reason);
      },
    };
    this.conn = opts.connect
      ? opts.connect(events)
      : new Connection(opts.url ?? defaultSocketUrl(), opts.room, opts.name, events);
  }

  start(): void {
    this.input.attach(this.opts.canvas);
    window.addEventListener('keydown', this.onKeyDown);
    this.opts.onNetStatsVisible?.(this.netPanel.visible);
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

  /** The page is going away: leave the room at once (see `Connection.leave`), then stop. */
  leave(): void {
    this.conn.leave();
    this.stop();
  }

  get netStatsShown(): boolean {
    return this.netPanel.visible;
  }

  /** Shows or hides the net stats overlay (remembered in localStorage). */
  setNetStatsVisible(visible: boolean): void {
    if (!this.netPanel.setVisible(visible)) return;
    this.opts.onNetStatsVisible?.(visible);
    this.publish();
  }

  /** Recomputes the net stats figures when they are due (a few times a second). */
  private sampleNetStats(now: number): void {
    this.netPanel.sample(now, () => ({
      rttMs: this.rtt.ms,
      tickRate: this.welcome?.tick_rate ?? null,
      newestTick: this.newestTick,
      ackTick: this.ackTick(),
    }));
  }

  private onWelcome(w: Welcome): void {
    const sameSeat = this.welcome?.player_id === w.player_id;
    const drawn =
      this.welcome && this.latest
        ? {
            playerId: this.welcome.player_id,
            tickRate: this.welcome.tick_rate,
            tick: this.latest.tick,
          }
        : null;
    const keep = keepsDrawnState(drawn, w);
    this.welcome = w;
    this.arena = w.game;
    this.snapshotOnThisConnection = false;
    if (!sameSeat) this.pops.forgetOrbs();
    if (!keep) {
      this.predictor = new Predictor(w.game, w.tick_rate);
      this.clock = new RenderClock(w.tick_rate, INTERP_DELAY_MS);
      this.interp = new Interpolator();
      this.latest = null;
      // Until this connection's first snapshot nothing is drawn; publishing the old
      // connection's players with `connected` would show a view that the next frame takes back.
      this.renderedPlayers = [];
    }
    // Kept (a hand-over): the last drawn players stay, interpolation goes on from its buffer and
    // our prediction from its pending inputs (the seat keeps their seq), until new snapshots.
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
    const now = this.now();
    this.latest = s;
    this.snapshotOnThisConnection = true;
    this.newestTick = s.tick;
    this.clock.observe(s.tick, now);
    const me = this.welcome.player_id;
    this.interp.push(
      s.tick,
      s.state.players.filter((p) => p.id !== me),
    );
    const mine = s.state.players.find((p) => p.id === me);
    if (mine) this.predictor.reconcile(mine);
    this.colors = assignColors(
      s.state.players.map((p) => p.id),
      this.colors,
    );
    this.round = roundOf(s.state);
    // Orbs that moved were collected: leave a short "pop" where they were.
    this.pops.observe(s.state.orbs, now / 1000);
    // Keep the view fresh even if animation frames are throttled (background tab).
    if (now - this.lastFrameAt > 250) {
      this.computePlayers(now, 0);
      this.sampleNetStats(now);
    }
    this.publish();
  }

  /**
   * A delta snapshot (`"delta"` or packed `"d"`): patched onto its baseline by `receive`, then
   * handled exactly like a full snapshot. One that cannot be applied is dropped and counted; the
   * ack stays where it was, so the server's next delta is against a state we hold (or a full
   * patch).
   */
  private onDelta(
    d: Pick<DeltaSnapshot, 'tick' | 'base_tick' | 'server_time_ms'>,
    bytes: number,
    receive: () => QuantizedArena,
  ): void {
    const now = this.now();
    this.stats.snapshot(now, d.tick, d.base_tick === 0 ? 'full' : 'delta', bytes, d.base_tick);
    let state;
    try {
      state = receive();
    } catch (e) {
      if (!(e instanceof DeltaError)) throw e;
      this.stats.deltaError(now, e.kind);
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
    return this.snapshotOnThisConnection ? this.newestTick : 0;
  }

  private startInputLoop(tickRate: number): void {
    this.stopInputLoop();
    this.schedule.restart(this.now(), 1000 / tickRate);
    this.inputTimer = setInterval(() => this.pumpInputs(this.now()), 1000 / tickRate / 2);
  }

  /** Sends the inputs that are due by `now` (after a long stall, only one). */
  private pumpInputs(now: number): void {
    if (!this.inputTimer) return;
    for (let due = this.schedule.take(now, this.clock?.periodMs); due > 0; due--) this.sendInput();
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
    this.stats.interpDelay(this.now(), (s.tick - renderTick) * this.clock.periodMs);
    const others = this.interp.sample(renderTick);
    this.interp.prune(renderTick);
    const me = this.welcome.player_id;
    const alpha = this.schedule.alpha(now);
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
        held: p.held === true,
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
    const w = this.welcome;
    this.sampleNetStats(this.now());
    const t0 = this.now();
    this.renderer.draw({
      arena: this.arena,
      players: this.renderedPlayers,
      orbs: this.latest?.state.orbs ?? [],
      pops: this.pops.at(t),
      hud: {
        status: this.status,
        statusText: this.statusText,
        pingMs: this.rtt.ms,
        players: this.latest?.state.players.length ?? 0,
        maxPlayers: w?.max_players ?? null,
      },
      round: roundHud(
        this.round,
        this.newestTick,
        w?.tick_rate ?? 0,
        this.latest?.state.players ?? [],
        w?.player_id ?? null,
      ),
      stick: this.input.stick(),
      boosting: (this.lastControls.buttons & 1) === 1,
      focus: this.renderedPlayers.find((p) => p.me) ?? null,
      netStats: this.netPanel.overlay({
        roomId: w?.room_id ?? this.opts.room,
        tick: this.newestTick,
      }),
      time: t,
    });
    this.drawMs = this.drawMs * 0.9 + (this.now() - t0) * 0.1;
    this.publish();
  }

  private publish(): void {
    const w = this.welcome;
    const pingMs = this.rtt.ms;
    publishView(
      Object.freeze({
        connected: this.status === 'connected' && this.conn.isOpen,
        status: this.status,
        playerId: w?.player_id ?? null,
        roomId: w?.room_id ?? null,
        tick: this.newestTick,
        tickRate: w?.tick_rate ?? null,
        pingMs: pingMs === null ? null : Math.round(pingMs * 10) / 10,
        arena: this.arena
          ? Object.freeze({ width: this.arena.width, height: this.arena.height })
          : null,
        players: Object.freeze(
          this.renderedPlayers.map((p) =>
            Object.freeze({
              id: p.id,
              name: p.name,
              x: p.x,
              y: p.y,
              score: p.score,
              held: p.held === true,
              color: p.color,
            }),
          ),
        ),
        round: this.round ? Object.freeze({ ...this.round }) : null,
        closed: this.closed ? Object.freeze({ ...this.closed }) : null,
        orbs: Object.freeze((this.latest?.state.orbs ?? []).map((o) => Object.freeze({ ...o }))),
        drawMs: Math.round(this.drawMs * 100) / 100,
        net: Object.freeze({
          ...this.stats.totals(),
          ackTick: this.ackTick(),
          baselines: this.baselines.size,
        }),
        netStats: this.netPanel.view,
      }),
    );
  }
}
