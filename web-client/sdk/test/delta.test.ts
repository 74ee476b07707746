import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Encoder } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import {
  ArenaBaselines,
  ORB_KIND,
  PLAYER_KIND,
  applyArenaPatch,
  decodeServerMsg,
  dequantize,
  dequantizeArena,
  emptyArena,
  quantize,
  quantizeArena,
  type ArenaDelta,
  type ArenaPatch,
  type ArenaState,
  type QuantizedArena,
  type QuantizedOrb,
  type QuantizedPlayer,
} from '../../src/arena';
import {
  Baselines,
  DeltaError,
  applyEntityPatch,
  type DeltaErrorKind,
  type EntityKind,
  type EntityPatch,
} from '../src/delta';
import { ProtocolError } from '../src/protocol';
import { fromSerde } from '../../test/serde';

// ---------------------------------------------------------------------------------------------
// Helpers

interface DeltaVector {
  name: string;
  direction: 'server';
  hex: string;
  value: { delta: ArenaDelta };
  base: QuantizedArena;
  result: QuantizedArena;
}

const vectorsPath = fileURLToPath(
  new URL('../../../assets/protocol-vectors.json', import.meta.url),
);
const vectors = (JSON.parse(readFileSync(vectorsPath, 'utf8')) as { vectors: { name: string }[] })
  .vectors;
// Packed-delta vectors (with an `envelope`) are tested in packed.test.ts.
const allDeltaVectors = fromSerde(
  vectors.filter((v) => 'base' in v && !('envelope' in v)) as unknown as DeltaVector[],
);
/** The three vectors that chain ticks 43, 45, 46. */
const deltaVectors = allDeltaVectors.filter((v) =>
  ['delta_full', 'delta_changes', 'delta_unchanged'].includes(v.name),
);

function fromHex(hex: string): Uint8Array {
  return new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)));
}

function decodeDelta(bytes: Uint8Array): ArenaDelta {
  const msg = decodeServerMsg(bytes);
  if (msg.type !== 'delta') throw new Error(`expected a delta, got ${msg.type}`);
  return msg.body;
}

/** The error kind `f` throws (failing the test if it throws anything but a DeltaError). */
function errorKind(f: () => unknown): DeltaErrorKind | 'ok' {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof DeltaError) return e.kind;
    throw e;
  }
}

/** A seeded PRNG (mulberry32): the same sequence on every run. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** An integer in lo..hi (exclusive). */
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo)),
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof rng>;

function uuidOf(byte: number): string {
  const h = byte.toString(16).padStart(2, '0').repeat(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function uuidBytes(id: string): Uint8Array {
  return fromHex(id.replace(/-/g, ''));
}

function player(byte: number, x = 0, name = `p${byte}`): QuantizedPlayer {
  return { id: uuidOf(byte), name, x, y: 0, vx: 0, vy: 0, score: 0, last_input: 0 };
}

function orb(id: number, x = 0): QuantizedOrb {
  return { id, x, y: 7 };
}

function patch<E>(removed: number[], changed: number[], added: E[] = []): EntityPatch<E> {
  return { removed, changed, added };
}

// ---------------------------------------------------------------------------------------------
// A model of the server (shared/src/delta.rs: EntityPatch::diff and History), for stream tests

function diffEntities<E>(
  kind: EntityKind<E>,
  base: readonly E[],
  next: readonly E[],
  sameFixed: (a: E, b: E) => boolean = () => true,
): EntityPatch<E> {
  const out = patch<E>([], []);
  let i = 0;
  let j = 0;
  for (;;) {
    const b = base[i];
    const n = next[j];
    if (b !== undefined && n !== undefined && kind.compareIds(b, n) === 0) {
      if (sameFixed(b, n)) {
        const entry = [i, 0];
        let mask = 0;
        for (let f = 0; f < kind.fields; f++) {
          const d = kind.field(n, f) - kind.field(b, f);
          if (d !== 0) {
            mask |= 1 << f;
            entry.push(d);
          }
        }
        entry[1] = mask;
        if (mask !== 0) out.changed.push(...entry);
      } else {
        out.removed.push(i);
        out.added.push(n);
      }
      i++;
      j++;
    } else if (b !== undefined && n !== undefined && kind.compareIds(b, n) > 0) {
      out.added.push(n);
      j++;
    } else if (b !== undefined) {
      out.removed.push(i);
      i++;
    } else if (n !== undefined) {
      out.added.push(n);
      j++;
    } else {
      return out;
    }
  }
}

function diffArena(base: QuantizedArena, next: QuantizedArena): ArenaPatch {
  return {
    players: diffEntities(PLAYER_KIND, base.players, next.players, (a, b) => a.name === b.name),
    orbs: diffEntities(ORB_KIND, base.orbs, next.orbs),
  };
}

/** The server's ring of recent states (`History` in delta.rs). */
class History {
  private frames: { tick: number; state: QuantizedArena }[] = [];
  constructor(private readonly window: number) {}
  push(tick: number, state: QuantizedArena) {
    if (this.frames.length === this.window) this.frames.shift();
    this.frames.push({ tick, state });
  }
  get(tick: number) {
    return this.frames.find((f) => f.tick === tick)?.state;
  }
  baselineFor(acked: number): number {
    const newest = this.frames.at(-1)?.tick ?? 0;
    return acked === 0 || acked >= newest || !this.get(acked) ? 0 : acked;
  }
  patchFrom(baseTick: number): ArenaPatch {
    const newest = this.frames.at(-1)!.state;
    return diffArena(baseTick === 0 ? emptyArena() : this.get(baseTick)!, newest);
  }
}

/** The wire form of a delta message, as rmp-serde would write it (before MessagePack). */
function deltaToWire(d: ArenaDelta): unknown {
  const ep = <E>(p: EntityPatch<E>, e: (x: E) => unknown[]) => [
    p.removed,
    p.changed,
    p.added.map(e),
  ];
  return {
    delta: [
      d.tick,
      d.base_tick,
      d.server_time_ms,
      [
        ep(d.patch.players, (p) => [
          uuidBytes(p.id),
          p.name,
          p.x,
          p.y,
          p.vx,
          p.vy,
          p.score,
          p.last_input,
        ]),
        ep(d.patch.orbs, (o) => [o.id, o.x, o.y]),
      ],
    ],
  };
}

const encoder = new Encoder();

/** Mostly small values (so fields often stay equal), sometimes extremes. */
function value(r: Rng): number {
  return r.chance(0.8) ? r.int(-3, 3) : r.int(-0x8000_0000, 0x8000_0000);
}

function counter(r: Rng): number {
  return r.chance(0.8) ? r.int(0, 3) : r.int(0, 0x1_0000_0000);
}

/** A state whose entities come from small id pools, so consecutive states share many. */
function randomArena(r: Rng): QuantizedArena {
  const players: QuantizedPlayer[] = [];
  for (let n = 0; n < 6; n++) {
    if (!r.chance(0.7)) continue;
    players.push({
      id: uuidOf((n * 37) & 0xff),
      name: r.chance(0.5) ? 'ann' : 'bob',
      x: value(r),
      y: value(r),
      vx: value(r),
      vy: value(r),
      score: counter(r),
      last_input: counter(r),
    });
  }
  const orbs: QuantizedOrb[] = [];
  for (let n = 0; n < 6; n++) if (r.chance(0.8)) orbs.push({ id: n, x: value(r), y: value(r) });
  return { players, orbs };
}

const PLAYER_KEYS = ['id', 'name', 'x', 'y', 'vx', 'vy', 'score', 'last_input'] as const;

/** A fast field-by-field equality (toEqual is too slow for thousands of frames). */
function sameArena(a: QuantizedArena, b: QuantizedArena): boolean {
  return (
    a.players.length === b.players.length &&
    a.orbs.length === b.orbs.length &&
    a.players.every((p, i) => PLAYER_KEYS.every((k) => p[k] === b.players[i]![k])) &&
    a.orbs.every((o, i) => o.id === b.orbs[i]!.id && o.x === b.orbs[i]!.x && o.y === b.orbs[i]!.y)
  );
}

function wrapI32(v: number): number {
  return v | 0;
}

// ---------------------------------------------------------------------------------------------
// Golden vectors

describe('delta golden vectors (assets/protocol-vectors.json)', () => {
  it('has the delta vectors', () => {
    expect(allDeltaVectors.map((v) => v.name)).toEqual([
      'delta_full',
      'delta_changes',
      'delta_unchanged',
      'delta_seat_held',
      'delta_round_over',
    ]);
  });

  for (const v of allDeltaVectors) {
    it(`"${v.name}": decoding the bytes and applying them to base gives result`, () => {
      const d = decodeDelta(fromHex(v.hex));
      expect(d).toEqual(v.value.delta);
      expect(applyArenaPatch(v.base, d.patch)).toEqual(v.result);
    });
  }

  it('a round goes on until a patch carries a new one, and reaches the dequantised state', () => {
    const v = allDeltaVectors.find((x) => x.name === 'delta_round_over')!;
    const over = applyArenaPatch(v.base, decodeDelta(fromHex(v.hex)).patch);
    expect(over.round?.phase).toBe('over');
    const empty = { removed: [], changed: [], added: [] };
    const next = applyArenaPatch(over, { players: empty, orbs: empty });
    expect(next.round).toEqual(over.round);
    expect(dequantizeArena(next).round).toEqual(over.round);
    expect(quantizeArena(dequantizeArena(next)).round).toEqual(over.round);
    expect('round' in applyArenaPatch(emptyArena(), { players: empty, orbs: empty })).toBe(false);
  });

  it('the three vectors chain through a baseline store (ticks 43, 45, 46)', () => {
    const store = new ArenaBaselines();
    for (const v of deltaVectors) {
      expect(store.receive(decodeDelta(fromHex(v.hex)))).toEqual(v.result);
      expect(store.ackTick).toBe(v.value.delta.tick);
    }
    // Base 45 arrived, so tick 43 was dropped: only 45 and 46 are held.
    expect(store.ticks()).toEqual([45, 46]);
  });

  it('dequantises delta_changes to the float state (hundredths)', () => {
    const state = dequantizeArena(deltaVectors[1]!.result);
    expect(state.players[0]).toEqual({
      id: '01010101-0101-0101-0101-010101010101',
      name: 'alice',
      x: 111.17,
      y: 200.25,
      vx: 320,
      vy: -320,
      score: 4,
      last_input: 9,
    });
    expect(state.players[1]).toMatchObject({ name: 'dan', x: -0.01, y: 0 });
    expect(state.orbs).toEqual([
      { id: 0, x: 10, y: 20 },
      { id: 1, x: 400, y: 300 },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Malformed patches: one rule each

describe('malformed patches are typed errors', () => {
  const orbs = [orb(1, 1), orb(2, 2)];
  const applyOrbs = (p: EntityPatch<QuantizedOrb>) => () => applyEntityPatch(ORB_KIND, orbs, p);
  const players = [player(1), player(2)];
  const applyPlayers = (p: EntityPatch<QuantizedPlayer>) => () =>
    applyEntityPatch(PLAYER_KIND, players, p);

  it('a removed index out of range', () => {
    expect(errorKind(applyOrbs(patch([2], [])))).toBe('BadIndex');
  });

  it('removed indices not strictly ascending (out of order, or repeated)', () => {
    expect(errorKind(applyOrbs(patch([1, 0], [])))).toBe('BadIndex');
    expect(errorKind(applyOrbs(patch([0, 0], [])))).toBe('BadIndex');
  });

  it('a changed index out of range (past the end, or negative)', () => {
    expect(errorKind(applyOrbs(patch([], [5, 1, 1])))).toBe('BadIndex');
    expect(errorKind(applyOrbs(patch([], [-1, 1, 1])))).toBe('BadIndex');
    expect(errorKind(() => applyEntityPatch(ORB_KIND, [], patch([], [0, 1, 1])))).toBe('BadIndex');
  });

  it('changed entries not strictly ascending', () => {
    expect(errorKind(applyOrbs(patch([], [1, 1, 1, 0, 1, 1])))).toBe('BadIndex');
    expect(errorKind(applyOrbs(patch([], [0, 1, 1, 0, 1, 1])))).toBe('BadIndex');
  });

  it('a changed index that is also removed', () => {
    expect(errorKind(applyOrbs(patch([0], [0, 1, 1])))).toBe('BadIndex');
    expect(errorKind(applyOrbs(patch([1], [0, 1, 1, 1, 1, 1])))).toBe('BadIndex');
  });

  it('a zero or negative mask', () => {
    expect(errorKind(applyOrbs(patch([], [0, 0])))).toBe('BadMask');
    expect(errorKind(applyOrbs(patch([], [0, -1, 1])))).toBe('BadMask');
  });

  it('a mask naming a field the entity does not have', () => {
    expect(errorKind(applyOrbs(patch([], [0, 0b100, 1])))).toBe('BadMask');
    expect(errorKind(applyPlayers(patch([], [0, 0b100_0000, 1])))).toBe('BadMask');
    expect(errorKind(applyOrbs(patch([], [0, 2 ** 40, 1])))).toBe('BadMask');
    // Six player fields: mask 0b111111 is fine.
    const all = applyEntityPatch(PLAYER_KIND, players, patch([], [0, 0b11_1111, 1, 2, 3, 4, 5, 6]));
    expect(all[0]).toMatchObject({ x: 1, y: 2, vx: 3, vy: 4, score: 5, last_input: 6 });
  });

  it('a truncated entry (no mask, or fewer differences than mask bits)', () => {
    expect(errorKind(applyOrbs(patch([], [0, 0b11, 1])))).toBe('Truncated');
    expect(errorKind(applyOrbs(patch([], [0])))).toBe('Truncated');
  });

  it('an i32 field leaving its range', () => {
    expect(errorKind(applyOrbs(patch([], [0, 1, 0x7fff_ffff])))).toBe('FieldOutOfRange');
    const low = [{ id: 1, x: -0x8000_0000, y: 0 }];
    expect(errorKind(() => applyEntityPatch(ORB_KIND, low, patch([], [0, 1, -1])))).toBe(
      'FieldOutOfRange',
    );
    expect(errorKind(applyOrbs(patch([], [0, 1, Number.MAX_SAFE_INTEGER + 2])))).toBe(
      'FieldOutOfRange',
    );
    // The extremes themselves are fine.
    expect(applyEntityPatch(ORB_KIND, low, patch([], [0, 1, 0xffff_ffff]))[0]!.x).toBe(0x7fff_ffff);
  });

  it('a u32 field leaving its range (score below 0, last_input above 2^32 − 1)', () => {
    expect(errorKind(applyPlayers(patch([], [0, 0b1_0000, -1])))).toBe('FieldOutOfRange');
    expect(errorKind(applyPlayers(patch([], [1, 0b10_0000, 2 ** 32])))).toBe('FieldOutOfRange');
    expect(
      applyEntityPatch(PLAYER_KIND, players, patch([], [1, 0b10_0000, 2 ** 32 - 1]))[1],
    ).toMatchObject({ last_input: 2 ** 32 - 1 });
  });

  it('added entities not sorted by id', () => {
    expect(errorKind(applyOrbs(patch([], [], [orb(4), orb(3)])))).toBe('DuplicateOrUnsorted');
  });

  it('an added id twice, or one that remains from the baseline', () => {
    expect(errorKind(applyOrbs(patch([], [], [orb(4), orb(4)])))).toBe('DuplicateOrUnsorted');
    expect(errorKind(applyOrbs(patch([], [], [orb(2)])))).toBe('DuplicateOrUnsorted');
    expect(errorKind(applyPlayers(patch([], [], [player(1)])))).toBe('DuplicateOrUnsorted');
  });

  it('a removed-and-added id is a replacement (how a rename travels)', () => {
    expect(applyEntityPatch(ORB_KIND, orbs, patch([0], [], [orb(1, 9)]))).toEqual([
      orb(1, 9),
      orb(2, 2),
    ]);
    const renamed = applyEntityPatch(PLAYER_KIND, players, patch([1], [], [player(2, 5, 'zed')]));
    expect(renamed.map((p) => p.name)).toEqual(['p1', 'zed']);
  });

  it('player ids are ordered as unsigned bytes', () => {
    const base = [player(0x0a), player(0x80)];
    const merged = applyEntityPatch(
      PLAYER_KIND,
      base,
      patch([], [], [player(0x09), player(0x7f), player(0xff)]),
    );
    expect(merged.map((p) => p.id.slice(0, 2))).toEqual(['09', '0a', '7f', '80', 'ff']);
    // 0x80 sorts after 0x7f (unsigned), so this order is wrong.
    expect(
      errorKind(() =>
        applyEntityPatch(PLAYER_KIND, [], patch([], [], [player(0x80), player(0x7f)])),
      ),
    ).toBe('DuplicateOrUnsorted');
  });

  it('never changes the baseline it is applied to', () => {
    const base: QuantizedArena = { players: [player(1, 5)], orbs: [orb(1, 1)] };
    const copy = structuredClone(base);
    applyArenaPatch(base, {
      players: patch([], [0, 1, 10]),
      orbs: patch([], [0, 0b11, 1, 1], [orb(3)]),
    });
    expect(base).toEqual(copy);
  });
});

// ---------------------------------------------------------------------------------------------
// The baseline store

describe('the baseline store', () => {
  const frame = (x: number): QuantizedArena => ({ players: [player(1, x)], orbs: [] });
  const full = (tick: number, x: number): ArenaDelta => ({
    tick,
    base_tick: 0,
    server_time_ms: 0,
    patch: diffArena(emptyArena(), frame(x)),
  });
  const delta = (tick: number, base: number, fromX: number, x: number): ArenaDelta => ({
    tick,
    base_tick: base,
    server_time_ms: 0,
    patch: diffArena(frame(fromX), frame(x)),
  });

  it('stores any game’s state, e.g. one whose patch is the whole state', () => {
    // A counter game (like the server's `counter.rs`): the patch replaces the state.
    const store = new Baselines<number, number>({ empty: () => 0, apply: (_base, next) => next });
    const counter = (tick: number, base_tick: number, patch: number) => ({
      tick,
      base_tick,
      server_time_ms: 0,
      patch,
    });
    expect(store.receive(counter(3, 0, 7))).toBe(7);
    expect(store.receive(counter(4, 3, 9))).toBe(9);
    expect(store.ticks()).toEqual([3, 4]);
    expect(errorKind(() => store.receive(counter(5, 1, 2)))).toBe('UnknownBaseline');
  });

  it('acks 0 until the first delta, then the newest tick held', () => {
    const store = new ArenaBaselines();
    expect(store.ackTick).toBe(0);
    expect(store.latest()).toBeNull();
    store.receive(full(5, 10));
    expect(store.ackTick).toBe(5);
    expect(store.receive(delta(7, 5, 10, 20))).toEqual(frame(20));
    expect(store.ackTick).toBe(7);
    expect(store.latest()).toEqual(frame(20));
  });

  it('refuses a tick that is not newer, and changes nothing', () => {
    const store = new ArenaBaselines();
    store.receive(full(5, 10));
    expect(errorKind(() => store.receive(delta(5, 5, 10, 20)))).toBe('NotNewer');
    expect(errorKind(() => store.receive(full(4, 1)))).toBe('NotNewer');
    expect(store.ticks()).toEqual([5]);
  });

  it('refuses a baseline it does not hold, and keeps its ack', () => {
    const store = new ArenaBaselines();
    store.receive(full(5, 10));
    expect(errorKind(() => store.receive(delta(9, 8, 10, 20)))).toBe('UnknownBaseline');
    expect(store.ackTick).toBe(5);
    expect(errorKind(() => new ArenaBaselines().receive(delta(2, 1, 0, 1)))).toBe(
      'UnknownBaseline',
    );
  });

  it('keeps its ack after a malformed patch', () => {
    const store = new ArenaBaselines();
    store.receive(full(5, 10));
    const bad: ArenaDelta = {
      tick: 6,
      base_tick: 5,
      server_time_ms: 0,
      patch: { players: patch([3], []), orbs: patch([], []) },
    };
    expect(errorKind(() => store.receive(bad))).toBe('BadIndex');
    expect(store.ackTick).toBe(5);
    expect(store.ticks()).toEqual([5]);
  });

  it('drops the states older than a delta’s baseline', () => {
    const store = new ArenaBaselines();
    store.receive(full(1, 1));
    store.receive(delta(2, 1, 1, 2));
    store.receive(delta(3, 1, 1, 3));
    expect(store.ticks()).toEqual([1, 2, 3]);
    store.receive(delta(4, 2, 2, 4));
    expect(store.ticks()).toEqual([2, 3, 4]);
    expect(errorKind(() => store.receive(delta(5, 1, 1, 5)))).toBe('UnknownBaseline');
  });

  it('a full patch (base 0) is applied to the empty state and keeps older baselines', () => {
    const store = new ArenaBaselines();
    store.receive(full(1, 1));
    store.receive(full(3, 3));
    expect(store.ticks()).toEqual([1, 3]);
    expect(store.latest()).toEqual(frame(3));
  });

  it('holds at most 64 states', () => {
    const store = new ArenaBaselines();
    for (let t = 1; t <= 100; t++) store.receive(full(t, t));
    expect(store.size).toBe(64);
    expect(store.ticks()[0]).toBe(37);
    expect(store.receive(delta(101, 37, 37, 0))).toEqual(frame(0));
    expect(store.ticks()).toHaveLength(64);
  });

  it('reset forgets everything (a new connection starts from a full patch)', () => {
    const store = new ArenaBaselines();
    store.receive(full(9, 1));
    store.reset();
    expect(store.ackTick).toBe(0);
    expect(store.receive(full(2, 2))).toEqual(frame(2));
  });
});

// ---------------------------------------------------------------------------------------------
// The stream (mirrors shared/tests/delta_props.rs)

describe('a delta stream with drops and late acks', () => {
  it('diff then apply gives the next state (random pairs)', () => {
    const r = rng(7);
    for (let n = 0; n < 500; n++) {
      const base = randomArena(r);
      const next = randomArena(r);
      const got = applyArenaPatch(base, diffArena(base, next));
      if (!sameArena(got, next)) expect(got).toEqual(next);
    }
  });

  it('the client rebuilds every state it receives, through MessagePack (seeded, 300 runs)', () => {
    let received = 0;
    let deltas = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const window = r.int(1, 12);
      const history = new History(window);
      const client = new ArenaBaselines(window);
      let serverAck = 0;
      let acks: { at: number; tick: number }[] = []; // acks in flight
      let prev = emptyArena();
      const steps = r.int(1, 80);
      for (let i = 0; i < steps; i++) {
        const tick = i + 1;
        // The next world state: a fresh random one, or mostly the previous one.
        const random = randomArena(r);
        const keep = r.int(0, 4);
        let state: QuantizedArena;
        if (keep === 0) {
          state = random;
        } else {
          state = {
            players: prev.players.map((p, k) => {
              const rx = random.players[k]?.x;
              if (rx === undefined || rx % 2 !== 0) return p;
              return { ...p, x: wrapI32(p.x + rx), last_input: (p.last_input + 1) >>> 0 };
            }),
            orbs: keep === 1 && random.orbs.length > 0 ? random.orbs : prev.orbs,
          };
        }
        prev = state;
        const read = r.chance(0.75);
        const ackDelay = r.int(0, 6);

        for (const a of acks) if (a.at <= i) serverAck = Math.max(serverAck, a.tick);
        acks = acks.filter((a) => a.at > i);
        history.push(tick, state);
        const baseTick = history.baselineFor(serverAck);
        const snap: ArenaDelta = {
          tick,
          base_tick: baseTick,
          server_time_ms: 1_764_000_000_000 + tick,
          patch: history.patchFrom(baseTick),
        };
        // Latest-wins: a frame the client does not read this tick is replaced, never seen.
        if (!read) continue;
        const got = decodeDelta(encoder.encode(deltaToWire(snap)));
        const rebuilt = client.receive(got);
        if (!sameArena(rebuilt, state)) {
          expect(rebuilt, `seed ${seed} tick ${tick} base ${baseTick}`).toEqual(state);
        }
        received++;
        if (baseTick !== 0) deltas++;
        acks.push({ at: i + ackDelay, tick: client.ackTick });
      }
    }
    // The runs exercised both full patches and real deltas.
    expect(received).toBeGreaterThan(1000);
    expect(deltas).toBeGreaterThan(received / 4);
  }, 60_000);

  it('hostile bytes give ProtocolError or DeltaError, never anything else (seeded)', () => {
    const r = rng(99);
    const base = deltaVectors[1]!.base;
    let decoded = 0;
    for (let n = 0; n < 3000; n++) {
      const bytes = fromHex(deltaVectors[r.int(0, deltaVectors.length)]!.hex);
      for (let k = r.int(1, 4); k > 0; k--) bytes[r.int(0, bytes.length)] = r.int(0, 256);
      const cut = r.chance(0.2) ? bytes.slice(0, r.int(0, bytes.length)) : bytes;
      let d: ArenaDelta;
      try {
        d = decodeDelta(cut);
      } catch (e) {
        if (!(e instanceof ProtocolError) && !/expected a delta/.test((e as Error).message)) {
          throw e;
        }
        continue;
      }
      decoded++;
      errorKind(() => applyArenaPatch(base, d.patch));
      errorKind(() => applyArenaPatch(emptyArena(), d.patch));
    }
    expect(decoded).toBeGreaterThan(100);
  });
});

// ---------------------------------------------------------------------------------------------
// Quantisation

describe('quantisation', () => {
  it('rounds to hundredths, half away from zero, like the server', () => {
    expect(quantize(Math.fround(1.2349))).toBe(123);
    expect(quantize(Math.fround(-1.235))).toBe(-124);
    expect(quantize(0.125)).toBe(13);
    expect(quantize(-0.125)).toBe(-13);
    expect(Object.is(quantize(-0.001), 0)).toBe(true);
    expect(quantize(NaN)).toBe(0);
    expect(quantize(Infinity)).toBe(0x7fff_ffff);
    expect(quantize(-Infinity)).toBe(-0x8000_0000);
    expect(dequantize(-124)).toBe(-1.24);
  });

  it('dequantised states are within 0.005 units of the original (seeded)', () => {
    const r = rng(3);
    for (let n = 0; n < 2000; n++) {
      const f = () => Math.fround((r.next() * 2 - 1) * (r.chance(0.5) ? 1e5 : 10));
      const [x, y] = [f(), f()];
      const state: ArenaState = {
        players: [{ id: uuidOf(1), name: 'a', x, y, vx: y, vy: x, score: 1, last_input: 2 }],
        orbs: [{ id: 3, x: y, y: x }],
      };
      const back = dequantizeArena(quantizeArena(state));
      const p = back.players[0]!;
      const o = back.orbs[0]!;
      for (const [a, b] of [
        [p.x, x],
        [p.y, y],
        [p.vx, y],
        [p.vy, x],
        [o.x, y],
        [o.y, x],
      ] as const) {
        expect(Math.abs(a - b)).toBeLessThanOrEqual(0.005 + Math.abs(b) * 1e-12);
      }
      expect(p).toMatchObject({ id: uuidOf(1), name: 'a', score: 1, last_input: 2 });
    }
  });

  it('sorts by id and drops repeated ids when quantising', () => {
    const p = (byte: number) => ({ ...player(byte), x: 1.5 });
    const q = quantizeArena({
      players: [p(3), p(1), p(2), p(1)],
      orbs: [
        { id: 9, x: 0, y: 0 },
        { id: 2, x: 0.014, y: -0.015 },
      ],
    });
    expect(q.players.map((x) => x.id.slice(0, 2))).toEqual(['01', '02', '03']);
    expect(q.players[0]!.x).toBe(150);
    expect(q.orbs).toEqual([
      { id: 2, x: 1, y: -2 },
      { id: 9, x: 0, y: 0 },
    ]);
  });
});

describe('held seats in deltas', () => {
  const v = allDeltaVectors.find((x) => x.name === 'delta_seat_held')!;

  it('a player whose seat became held is removed and added again with the flag', () => {
    const d = decodeDelta(fromHex(v.hex));
    expect(d.patch.players.removed).toEqual([0]);
    expect(d.patch.players.changed).toEqual([]);
    expect(d.patch.players.added[0]!.held).toBe(true);
    const result = applyArenaPatch(v.base, d.patch);
    expect(result.players[0]!.held).toBe(true);
    expect(dequantizeArena(result).players[0]!.held).toBe(true);
  });

  it('a flag left off the wire decodes as not held, and re-quantising keeps it off', () => {
    expect(v.base.players[0]!.held).toBeUndefined();
    const state = dequantizeArena(v.base);
    expect('held' in state.players[0]!).toBe(false);
    expect(quantizeArena(state)).toEqual(v.base);
  });
});
