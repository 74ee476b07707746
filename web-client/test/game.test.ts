import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Game, KEEP_ACROSS_RESUME_MS, keepsDrawnState, type GameConnection } from '../src/game';
import type { ConnectionEvents } from '../src/net';
import { decodeServerMsg, type ArenaClientMsg as ClientMsg } from '../src/arena';
import type { Frame } from '../src/render';
import { currentTickcastView } from '../src/view';

// The message types as the connection hands them over (kept off the modules that define them,
// which are being reorganised).
type Welcome = Parameters<ConnectionEvents['welcome']>[0];
type Snapshot = Parameters<ConnectionEvents['snapshot']>[0];
type DeltaSnapshot = Parameters<ConnectionEvents['delta']>[0];
type PlayerState = Snapshot['state']['players'][number];
type Input = Extract<ClientMsg, { type: 'input' }>['body'];

// ---------------------------------------------------------------------------------------------
// Fakes

/** Stands in for net.ts's `Connection`: the test plays the server through `events`. */
class FakeConnection implements GameConnection {
  open = false;
  started = 0;
  readonly sent: ClientMsg[] = [];

  constructor(readonly events: ConnectionEvents) {}

  get isOpen(): boolean {
    return this.open;
  }

  start(): void {
    this.started++;
  }

  stop(): void {
    this.open = false;
    this.events.status('closed', 'Left the room');
  }

  left = 0;

  leave(): void {
    this.left++;
    this.stop();
  }

  send(msg: ClientMsg): boolean {
    if (!this.open) return false;
    this.sent.push(msg);
    return true;
  }

  inputs(): Input[] {
    return this.sent.flatMap((m) => (m.type === 'input' ? [m.body] : []));
  }
}

/** A memory-backed `localStorage`. */
function fakeStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: (k) => items.get(k) ?? null,
    key: (i) => [...items.keys()][i] ?? null,
    removeItem: (k) => void items.delete(k),
    setItem: (k, v) => void items.set(k, String(v)),
  };
}

const ME = '0a0a0a0a-0a0a-4a0a-8a0a-0a0a0a0a0a0a';
const OTHER = '0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b';
const TICK_RATE = 30;
const TICK_MS = 1000 / TICK_RATE;

const vectorsPath = fileURLToPath(new URL('../../assets/protocol-vectors.json', import.meta.url));
const vectors = (
  JSON.parse(readFileSync(vectorsPath, 'utf8')) as { vectors: { name: string; hex: string }[] }
).vectors;

/** A golden vector's message, decoded. */
function golden(name: string) {
  const v = vectors.find((v) => v.name === name);
  if (!v) throw new Error(`no vector ${name}`);
  return decodeServerMsg(new Uint8Array(v.hex.match(/../g)!.map((h) => parseInt(h, 16))));
}

/** The golden Welcome (room r1, 30 Hz, 8 players, the server's default arena) for us at tick 10. */
function welcome(over: Partial<Welcome> = {}): Welcome {
  const msg = golden('welcome');
  if (msg.type !== 'welcome') throw new Error('the welcome vector is not a Welcome');
  return { ...msg.body, player_id: ME, tick: 10, ...over };
}

function player(id: string, x: number, y: number, over: Partial<PlayerState> = {}): PlayerState {
  return { id, name: id.slice(0, 2), x, y, vx: 0, vy: 0, score: 0, last_input: 0, ...over };
}

/** The other player walks right 10 units a tick; we stand still at (300, 200). */
const otherX = (tick: number) => 100 + 10 * tick;

function snap(tick: number): Snapshot {
  return {
    tick,
    server_time_ms: 1_764_000_000_000 + tick * TICK_MS,
    state: {
      players: [player(ME, 300, 200), player(OTHER, otherX(tick), 500)],
      orbs: [{ id: 0, x: 50, y: 60 }],
    },
  };
}

/** A full patch (`base_tick` 0) of our player alone at (`x`, `y`) in hundredths of a unit. */
function fullPatch(tick: number, x: number, y: number, score = 0): DeltaSnapshot {
  const none = { removed: [], changed: [], added: [] };
  return {
    tick,
    base_tick: 0,
    server_time_ms: 1_764_000_000_000,
    patch: {
      players: { ...none, added: [{ ...player(ME, x, y), score }] },
      orbs: none,
    },
  };
}

/** A delta that changes nothing, against the tick before. */
function unchanged(tick: number): DeltaSnapshot {
  const none = { removed: [], changed: [], added: [] };
  return {
    tick,
    base_tick: tick - 1,
    server_time_ms: 1_764_000_000_000,
    patch: { players: none, orbs: none },
  };
}

/** A golden delta vector, decoded: delta_full (tick 43) → delta_changes (45) → delta_unchanged (46). */
function goldenDelta(name: string): DeltaSnapshot {
  const msg = golden(name);
  if (msg.type !== 'delta') throw new Error(`${name} is not a delta`);
  return msg.body;
}

/**
 * A game with a fake connection, a renderer that keeps the last frame, and a clock the test
 * moves: `frameAt(t)` runs the animation frame the game asked for at time `t`.
 */
class Session {
  t = 1000;
  readonly game: Game;
  readonly conn: FakeConnection;
  lastFrame: Frame | null = null;
  readonly refusals: [number, string, string][] = [];
  readonly netStatsShown: boolean[] = [];
  private raf: FrameRequestCallback | null = null;

  constructor() {
    vi.stubGlobal('requestAnimationFrame', (cb: FrameRequestCallback) => {
      this.raf = cb;
      return 1;
    });
    vi.stubGlobal('cancelAnimationFrame', () => {
      this.raf = null;
    });
    let conn: FakeConnection | null = null;
    this.game = new Game({
      room: 'r1',
      name: 'me',
      canvas: new EventTarget() as HTMLCanvasElement,
      onRefused: (code, message, reason) => this.refusals.push([code, message, reason]),
      onNetStatsVisible: (v) => this.netStatsShown.push(v),
      connect: (events) => (conn = new FakeConnection(events)),
      renderer: { draw: (f) => (this.lastFrame = f) },
      now: () => this.t,
    });
    this.conn = conn!;
    this.game.start();
  }

  get view() {
    return currentTickcastView();
  }

  get events(): ConnectionEvents {
    return this.conn.events;
  }

  /** Runs one animation frame at `t` ms. */
  frameAt(t: number): Frame {
    this.t = t;
    const raf = this.raf;
    if (!raf) throw new Error('the game asked for no animation frame');
    raf(t);
    return this.lastFrame!;
  }

  /** The server accepts us (again): `connected`, then the Welcome. */
  welcome(w: Welcome = welcome()): void {
    this.conn.open = true;
    this.events.status('connected', 'Connected');
    this.events.welcome(w);
  }

  /** Delivers `msg` at `t`, then runs a frame 1 ms later. */
  deliver(t: number, msg: Snapshot | DeltaSnapshot): Frame {
    this.t = t;
    if ('patch' in msg) this.events.delta(msg, 40);
    else this.events.snapshot(msg, 200);
    return this.frameAt(t + 1);
  }

  /** The connection dropped; the real one retries on its own. */
  drop(): void {
    this.conn.open = false;
    this.events.status('reconnecting', 'Connection lost. Reconnecting in 1 s…');
  }
}

/** When snapshot `tick` arrives, with the Welcome (tick 10) at t = 1000. */
const arrival = (tick: number) => 1000 + (tick - 10) * TICK_MS;

let session: Session;
let warn: ReturnType<typeof vi.spyOn>;

beforeEach(() => {
  vi.useFakeTimers();
  vi.stubGlobal('window', new EventTarget());
  vi.stubGlobal('localStorage', fakeStorage());
  warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  session = new Session();
});

afterEach(() => {
  session.game.stop();
  warn.mockRestore();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

// ---------------------------------------------------------------------------------------------
// Tests

describe('a game on full snapshots', () => {
  it('opens its connection on start and shows nothing before the Welcome', () => {
    expect(session.conn.started).toBe(1);
    const f = session.frameAt(1000);
    expect(f.arena).toBeNull();
    expect(f.players).toEqual([]);
    expect(f.hud.status).toBe('connecting');
    expect(session.view.connected).toBe(false);
  });

  it('draws us where the server has us and the others about 100 ms behind the newest', () => {
    session.welcome();
    let f: Frame | null = null;
    for (let tick = 11; tick <= 40; tick++) f = session.deliver(arrival(tick), snap(tick));
    const view = session.view;
    expect(view.connected).toBe(true);
    expect(view.tick).toBe(40);
    expect(view.roomId).toBe('r1');
    const me = view.players.find((p) => p.id === ME)!;
    expect(me.x).toBeCloseTo(300, 6);
    expect(me.y).toBeCloseTo(200, 6);
    // 100 ms = 3 ticks behind tick 40, give or take the render clock's smoothing.
    const other = view.players.find((p) => p.id === OTHER)!;
    expect(other.x).toBeGreaterThanOrEqual(otherX(35));
    expect(other.x).toBeLessThanOrEqual(otherX(39));
    expect(f!.hud).toMatchObject({ players: 2, maxPlayers: 8 });
    // The room, tick and tick rate are for the net stats overlay, not the player's HUD.
    expect(f!.hud).not.toHaveProperty('roomId');
    expect(f!.hud).not.toHaveProperty('tick');
    expect(f!.round).toBeNull();
    expect(view.round).toBeNull();
    expect(f!.focus).toMatchObject({ x: me.x, y: me.y });
    expect(f!.orbs).toEqual([{ id: 0, x: 50, y: 60 }]);
  });

  it('sends one input per tick, seq counting up, acknowledging the newest snapshot', () => {
    session.welcome();
    for (let tick = 11; tick <= 40; tick++) session.deliver(arrival(tick), snap(tick));
    const inputs = session.conn.inputs();
    expect(inputs.length).toBeGreaterThanOrEqual(29);
    expect(inputs.length).toBeLessThanOrEqual(31);
    expect(inputs.map((i) => i.seq)).toEqual(inputs.map((_, i) => i + 1));
    expect(inputs.at(-1)!.ack_tick).toBe(40);
    expect(session.view.net).toMatchObject({ snapshots: 30, deltas: 0, ackTick: 40 });
  });

  it('draws a player whose seat is held as held, and as connected again once it is back', () => {
    session.welcome();
    let f: Frame | null = null;
    for (let tick = 11; tick <= 20; tick++) {
      const s = snap(tick);
      if (tick >= 15) s.state.players[1]!.held = true;
      f = session.deliver(arrival(tick), s);
    }
    expect(f!.players.find((p) => p.id === OTHER)!.held).toBe(true);
    expect(f!.players.find((p) => p.me)!.held).toBe(false);
    expect(session.view.players.find((p) => p.id === OTHER)!.held).toBe(true);
    for (let tick = 21; tick <= 25; tick++) f = session.deliver(arrival(tick), snap(tick));
    expect(f!.players.find((p) => p.id === OTHER)!.held).toBe(false);
  });

  it('leaves through the connection when the page goes away', () => {
    session.welcome();
    session.game.leave();
    expect(session.conn.left).toBe(1);
    expect(session.conn.isOpen).toBe(false);
  });

  it('ignores a snapshot that is not newer than the newest', () => {
    session.welcome();
    session.deliver(arrival(12), snap(12));
    const late = snap(11);
    late.state.players[0]!.x = 900;
    const f = session.deliver(arrival(12) + 5, late);
    expect(session.view.tick).toBe(12);
    expect(f.players.find((p) => p.me)!.x).toBeCloseTo(300, 6);
  });

  it('shows the median round trip of the pings, skipping the first', () => {
    session.welcome();
    const pong = (sentAt: number, rtt: number) => {
      session.t = sentAt + rtt;
      session.events.pong({ client_time: sentAt, server_time_ms: 0 });
    };
    pong(1000, 500);
    expect(session.view.pingMs).toBeNull();
    pong(2000, 30);
    pong(3000, 20);
    pong(4000, 45);
    expect(session.frameAt(4100).hud.pingMs).toBe(30);
    expect(session.view.pingMs).toBe(30);
  });
});

describe('the HUD of a game', () => {
  it('keeps each player in its colour when another joins', () => {
    session.welcome();
    session.deliver(arrival(11), snap(11));
    const colours = (f: Frame) => new Map(f.players.map((p) => [p.id, p.color]));
    const before = colours(session.deliver(arrival(12), snap(12)));
    const THIRD = '00000000-0000-4000-8000-000000000000';
    const crowded = (tick: number): Snapshot => {
      const s = snap(tick);
      // Listed first (its id sorts first), as the server lists players.
      return {
        ...s,
        state: { ...s.state, players: [player(THIRD, 800, 400), ...s.state.players] },
      };
    };
    for (let tick = 13; tick <= 20; tick++) session.deliver(arrival(tick), crowded(tick));
    const after = colours(session.lastFrame!);
    expect(after.get(ME)).toBe(before.get(ME));
    expect(after.get(OTHER)).toBe(before.get(OTHER));
    expect(new Set(session.view.players.map((p) => p.color)).size).toBe(
      session.view.players.length,
    );
  });

  it('counts the round down from the snapshot, then shows the winner', () => {
    session.welcome();
    const withRound = (tick: number, round: object): Snapshot => {
      const s = snap(tick);
      return { ...s, state: { ...s.state, round } as Snapshot['state'] };
    };
    // A round ending at tick 20 + 2 minutes at 30 Hz.
    const playing = { number: 2, phase: 'playing', endsAtTick: 20 + 3600, winner: null };
    let f = session.deliver(arrival(20), withRound(20, playing));
    expect(f.round?.clock).toMatchObject({ title: 'Round 2', time: '2:00', urgent: false });
    expect(f.round?.banner).toBeNull();
    expect(session.view.round).toEqual(playing);
    f = session.deliver(arrival(21), withRound(3600 + 20 - 30 * 5, playing));
    expect(f.round?.clock).toMatchObject({ time: '0:05', urgent: true });
    const over = { number: 2, phase: 'over', endsAtTick: 3620 + 150, winner: OTHER };
    f = session.deliver(arrival(22), withRound(3620, over));
    expect(f.round?.banner).toMatchObject({
      title: `${OTHER.slice(0, 2)} wins round 2!`,
      subtitle: 'Next round in 5 s',
    });
  });
});

describe('a game on delta snapshots', () => {
  it('applies the golden delta chain and acknowledges the newest baseline', () => {
    session.welcome(welcome({ tick: 40 }));
    // Before the first delta nothing is held: inputs acknowledge 0, asking for a full patch.
    session.frameAt(arrival(41) + 1);
    expect(session.conn.inputs().at(-1)!.ack_tick).toBe(0);

    session.deliver(arrival(43), goldenDelta('delta_full'));
    session.deliver(arrival(45), goldenDelta('delta_changes'));
    const f = session.deliver(arrival(46), goldenDelta('delta_unchanged'));
    expect(session.view.tick).toBe(46);
    expect(session.view.net).toMatchObject({
      snapshots: 0,
      deltas: 3,
      fullDeltas: 1,
      deltaErrors: 0,
      lastBaseTick: 45,
      ackTick: 46,
      // delta_unchanged is against 45: the states before it are forgotten.
      baselines: 2,
    });
    // Dequantised: hundredths of a unit → units.
    expect(f.orbs).toEqual([
      { id: 0, x: 10, y: 20 },
      { id: 1, x: 400, y: 300 },
    ]);
    expect(f.hud.players).toBe(2);
    session.frameAt(arrival(47) + 1);
    expect(session.conn.inputs().at(-1)!.ack_tick).toBe(46);
  });

  it('drops a delta against a baseline it does not hold and recovers on the next good one', () => {
    session.welcome(welcome({ tick: 40 }));
    session.deliver(arrival(43), goldenDelta('delta_full'));
    // 46 is against 45, which never arrived.
    session.deliver(arrival(46), goldenDelta('delta_unchanged'));
    expect(session.view.tick).toBe(43);
    expect(session.view.net).toMatchObject({
      deltas: 2,
      deltaErrors: 1,
      lastDeltaError: 'UnknownBaseline',
      ackTick: 43,
    });
    expect(warn).toHaveBeenCalledTimes(1);
    // The ack stays on what we hold, so the server's next delta is against it.
    session.frameAt(arrival(46) + 20);
    expect(session.conn.inputs().at(-1)!.ack_tick).toBe(43);

    session.deliver(arrival(47), { ...goldenDelta('delta_changes'), tick: 47 });
    expect(session.view.tick).toBe(47);
    expect(session.view.net).toMatchObject({ deltas: 3, deltaErrors: 1, ackTick: 47 });
  });

  it('drops a malformed delta without touching what it holds', () => {
    session.welcome(welcome({ tick: 40 }));
    session.deliver(arrival(43), goldenDelta('delta_full'));
    const bad = goldenDelta('delta_changes');
    bad.patch.players.changed[0] = 99; // no player 99 in the baseline
    const f = session.deliver(arrival(45), bad);
    expect(session.view.net).toMatchObject({
      deltaErrors: 1,
      lastDeltaError: 'BadIndex',
      ackTick: 43,
      baselines: 1,
    });
    expect(session.view.tick).toBe(43);
    expect(f.orbs).toEqual([
      { id: 0, x: 10, y: 20 },
      { id: 1, x: 1599.5, y: 0.5 },
    ]);
    session.deliver(arrival(46), { ...goldenDelta('delta_changes'), tick: 46 });
    expect(session.view.net).toMatchObject({ deltaErrors: 1, ackTick: 46, baselines: 2 });
  });
});

describe('a game across a reconnect', () => {
  it('resumes as the same player from a full patch, seq still counting up', () => {
    session.welcome(welcome({ tick: 40 }));
    session.deliver(arrival(41), fullPatch(41, 30000, 20000, 5));
    for (let tick = 42; tick <= 50; tick++) session.deliver(arrival(tick), unchanged(tick));
    expect(session.view.net).toMatchObject({ deltas: 10, deltaErrors: 0, ackTick: 50 });
    const before = session.conn.inputs();
    expect(before.length).toBeGreaterThan(0);
    const lastSeq = before.at(-1)!.seq;

    session.drop();
    expect(session.view).toMatchObject({ connected: false, status: 'reconnecting' });
    let f = session.frameAt(arrival(60));
    expect(f.hud.statusText).toBe('Connection lost. Reconnecting in 1 s…');
    expect(session.conn.inputs()).toHaveLength(before.length);

    session.t = arrival(100);
    session.welcome(welcome({ tick: 100 }));
    // A new connection starts from a full patch: nothing held, nothing drawn yet.
    expect(session.view).toMatchObject({ connected: true, playerId: ME, tick: 100 });
    expect(session.view.net).toMatchObject({ baselines: 0, ackTick: 0 });
    expect(session.view.players).toEqual([]);
    session.frameAt(arrival(101));
    const resumed = session.conn.inputs().slice(before.length);
    expect(resumed.map((i) => i.seq)).toEqual(resumed.map((_, i) => lastSeq + 1 + i));
    expect(resumed.at(-1)!.ack_tick).toBe(0);

    f = session.deliver(arrival(102), fullPatch(102, 31000, 20000, 5));
    expect(session.view.net).toMatchObject({ fullDeltas: 2, ackTick: 102, baselines: 1 });
    expect(session.view.players).toEqual([
      {
        id: ME,
        name: ME.slice(0, 2),
        x: 310,
        y: 200,
        score: 5,
        held: false,
        color: expect.stringMatching(/^#[0-9a-f]{6}$/),
      },
    ]);
    expect(f.hud.status).toBe('connected');
  });

  it('keeps drawing everyone across a hand-over to the same seat, then goes on seamlessly', () => {
    session.welcome();
    for (let tick = 11; tick <= 20; tick++) session.deliver(arrival(tick), snap(tick));
    const drawn = session.view.players;
    expect(drawn.map((p) => p.id).sort()).toEqual([ME, OTHER].sort());
    const sent = session.conn.inputs().length;

    // Redirect + 4007: the connection goes, and the seat resumes on another node 3 ticks on.
    session.drop();
    session.t = arrival(22);
    session.welcome(welcome({ tick: 23, room_id: 'r1' }));
    expect(session.view).toMatchObject({ connected: true, playerId: ME, tick: 23 });
    expect(session.view.players).toEqual(drawn);
    // The frames before the new node's first snapshot still draw both players.
    let f = session.frameAt(arrival(23));
    expect(f.players.map((p) => p.id).sort()).toEqual([ME, OTHER].sort());
    expect(f.players.find((p) => p.me)).toMatchObject({ x: 300, y: 200 });
    // Inputs go on with seq counting up; the new connection has no snapshot to acknowledge yet.
    const resumed = session.conn.inputs().slice(sent);
    expect(resumed.length).toBeGreaterThan(0);
    expect(resumed.at(-1)!.ack_tick).toBe(0);

    f = session.deliver(arrival(24), snap(24));
    const other = f.players.find((p) => p.id === OTHER)!;
    // Interpolated from the buffer kept across the hand-over: between ticks 20 and 24, not a
    // jump to the newest position.
    expect(other.x).toBeGreaterThan(otherX(20));
    expect(other.x).toBeLessThan(otherX(24));
    session.frameAt(arrival(25));
    expect(session.conn.inputs().at(-1)!.ack_tick).toBe(24);
  });

  it('starts over on a Welcome for another player, or one behind the drawn snapshot', () => {
    session.welcome();
    for (let tick = 11; tick <= 14; tick++) session.deliver(arrival(tick), snap(tick));
    session.drop();
    // A room restored from an older checkpoint: its tick is behind what we drew.
    session.welcome(welcome({ tick: 12 }));
    expect(session.view.players).toEqual([]);
    session.deliver(arrival(13), snap(13));
    session.drop();
    session.welcome(welcome({ tick: 14, player_id: OTHER }));
    expect(session.view).toMatchObject({ playerId: OTHER, players: [] });
  });

  it('reports a refusal once, shows the close, and stops sending inputs', () => {
    session.welcome();
    session.deliver(arrival(11), snap(11));
    const sent = session.conn.inputs().length;
    session.conn.open = false;
    session.events.status('refused', 'The room is full.');
    session.events.refused(4001, 'The room is full.', 'room full');
    expect(session.refusals).toEqual([[4001, 'The room is full.', 'room full']]);
    expect(session.view.closed).toEqual({ code: 4001, reason: 'room full' });
    session.conn.open = true; // even if the socket still took messages
    session.frameAt(arrival(20));
    expect(session.conn.inputs()).toHaveLength(sent);
  });
});

describe('the net stats overlay', () => {
  it('is hidden at start, and shown with its figures once toggled, which is remembered', () => {
    expect(session.netStatsShown).toEqual([false]);
    session.welcome();
    session.deliver(arrival(11), snap(11));
    expect(session.lastFrame!.netStats).toBeNull();
    session.game.setNetStatsVisible(true);
    expect(session.netStatsShown).toEqual([false, true]);
    expect(localStorage.getItem('tickcast.netstats')).toBe('1');
    const f = session.deliver(arrival(12), snap(12));
    expect(f.netStats!.bars.length).toBe(2);
    expect(f.netStats!.rows.flat().map((c) => c.label)).toContain('rtt');
    expect(session.view.netStats.visible).toBe(true);
  });
});

describe('whether a Welcome keeps what is drawn', () => {
  const drawn = { playerId: ME, tickRate: TICK_RATE, tick: 100 };
  const w = (over: Partial<Welcome> = {}) => welcome({ tick: 103, ...over });

  it('keeps it for the same seat a few ticks on', () => {
    expect(keepsDrawnState(drawn, w())).toBe(true);
    expect(keepsDrawnState(drawn, w({ tick: 100 }))).toBe(true);
    const limit = 100 + (KEEP_ACROSS_RESUME_MS / 1000) * TICK_RATE;
    expect(keepsDrawnState(drawn, w({ tick: limit }))).toBe(true);
    expect(keepsDrawnState(drawn, w({ tick: limit + 1 }))).toBe(false);
  });

  it('does not keep it for another player, another tick rate, an older tick or nothing drawn', () => {
    expect(keepsDrawnState(drawn, w({ player_id: OTHER }))).toBe(false);
    expect(keepsDrawnState(drawn, w({ tick_rate: 60 }))).toBe(false);
    expect(keepsDrawnState(drawn, w({ tick: 99 }))).toBe(false);
    expect(keepsDrawnState(null, w())).toBe(false);
  });
});
