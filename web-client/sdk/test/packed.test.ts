import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ArenaBaselines,
  ORB_PACKED,
  PLAYER_PACKED,
  decodeServerMsg,
  encodeClientMsg,
  unpackArena,
  type QuantizedArena,
  type QuantizedOrb,
  type QuantizedPlayer,
} from '../../src/arena';
import { DeltaError, travel, type DeltaErrorKind, type PackedKind, type Step } from '../src/delta';
import { packedDeltaFromBytes, ProtocolError, type PackedDelta } from '../src/protocol';
import { putI, putU, VarintReader } from '../src/varint';
import { fromSerde } from '../../test/serde';

interface PackedVector {
  name: string;
  hex: string;
  tick_rate: number;
  envelope: { tick: number; base_tick: number; server_time_ms: number; patch: string };
  base: QuantizedArena;
  result: QuantizedArena;
}

const vectorsPath = fileURLToPath(
  new URL('../../../assets/protocol-vectors.json', import.meta.url),
);
const vectors = (JSON.parse(readFileSync(vectorsPath, 'utf8')) as { vectors: object[] }).vectors;
const packedVectors = fromSerde(
  vectors.filter((v) => 'envelope' in v) as unknown as PackedVector[],
);

function fromHex(hex: string): Uint8Array {
  return new Uint8Array(hex.match(/../g)?.map((h) => parseInt(h, 16)) ?? []);
}

function decodePacked(bytes: Uint8Array): PackedDelta {
  const msg = decodeServerMsg(bytes);
  if (msg.type !== 'packed') throw new Error(`expected a packed delta, got ${msg.type}`);
  return msg.body;
}

function errorKind(f: () => unknown): DeltaErrorKind | 'ok' {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof DeltaError) return e.kind;
    throw e;
  }
}

/** A seeded PRNG (mulberry32): an integer in 0..n, the same sequence on every run. */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** A player standing at the origin. */
function standing(id: string, name: string): QuantizedPlayer {
  return { id, name, x: 0, y: 0, vx: 0, vy: 0, score: 0, last_input: 0 };
}

function reader(bytes: number[]): VarintReader {
  return new VarintReader(new Uint8Array(bytes), (what) => {
    throw new Error(what);
  });
}

// ---------------------------------------------------------------------------------------------
// A model of the server's packer (shared/src/packed.rs, shared/src/arena/packed.rs)

function writePlayer(p: QuantizedPlayer, out: number[]): void {
  out.push(...fromHex(p.id.replace(/-/g, '')));
  const name = new TextEncoder().encode(p.name);
  putU(out, name.length);
  out.push(...name);
  for (const v of [p.x, p.y, p.vx, p.vy]) putI(out, v);
  putU(out, p.score);
  putU(out, p.last_input);
  out.push(p.held ? 1 : 0);
}

function writeOrb(o: QuantizedOrb, out: number[]): void {
  putU(out, o.id);
  putI(out, o.x);
  putI(out, o.y);
}

function packSection<E>(
  kind: PackedKind<E>,
  sameFixed: (a: E, b: E) => boolean,
  write: (e: E, out: number[]) => void,
  base: readonly E[],
  next: readonly E[],
  step: Step,
  out: number[],
): void {
  const removed: number[] = [];
  const added: E[] = [];
  const changed: number[] = [];
  let nChanged = 0;
  let last: number | undefined;
  let j = 0;
  base.forEach((b, i) => {
    while (j < next.length && kind.compareIds(next[j]!, b) < 0) added.push(next[j++]!);
    const n = next[j];
    if (n === undefined || kind.compareIds(n, b) !== 0) return void removed.push(i);
    j++;
    if (!sameFixed(b, n)) {
      removed.push(i);
      added.push(n);
      return;
    }
    const fields = Array.from({ length: kind.fields }, (_, f) => kind.field(n, f));
    const res = fields.map(
      (v, f) => v - kind.field(b, f) - (kind.drift ? kind.drift(b, fields, f, step) : 0),
    );
    const mask = res.reduce((m, r, f) => (r !== 0 ? m | (1 << f) : m), 0);
    if (mask === 0) return;
    putU(changed, last === undefined ? i : i - last - 1);
    last = i;
    putU(changed, mask);
    for (const r of res) if (r !== 0) putI(changed, r);
    nChanged++;
  });
  while (j < next.length) added.push(next[j++]!);
  putU(out, removed.length);
  removed.forEach((r, k) => putU(out, k === 0 ? r : r - removed[k - 1]! - 1));
  putU(out, nChanged);
  out.push(...changed);
  putU(out, added.length);
  for (const a of added) write(a, out);
}

function packArena(base: QuantizedArena, next: QuantizedArena, step: Step): Uint8Array {
  const out: number[] = [];
  const samePlayer = (a: QuantizedPlayer, b: QuantizedPlayer) =>
    a.name === b.name && !!a.held === !!b.held;
  packSection(PLAYER_PACKED, samePlayer, writePlayer, base.players, next.players, step, out);
  packSection(ORB_PACKED, () => true, writeOrb, base.orbs, next.orbs, step, out);
  return new Uint8Array(out);
}

// ---------------------------------------------------------------------------------------------

describe('varints', () => {
  it('small values of either sign are one byte, and read back', () => {
    const cases: [number, number[]][] = [
      [0, [0]],
      [127, [0x7f]],
      [128, [0x80, 0x01]],
      [300, [0xac, 0x02]],
      [1764000000000, [0x80, 0xd0, 0xdf, 0xb4, 0xab, 0x33]],
    ];
    for (const [v, bytes] of cases) {
      const out: number[] = [];
      putU(out, v);
      expect(out).toEqual(bytes);
      expect(reader(bytes).u()).toBe(v);
    }
    for (const v of [0, -1, 1, -64, 63, -2133, 2_147_483_647, -2_147_483_648]) {
      const out: number[] = [];
      putI(out, v);
      if (v >= -64 && v <= 63) expect(out.length).toBe(1);
      expect(reader(out).i()).toBe(v);
    }
  });

  it('short, overlong and overflowing varints and counts are refused', () => {
    expect(() => reader([0x80]).u()).toThrow('ends early');
    expect(() => reader([...new Array<number>(10).fill(0x80), 0]).u()).toThrow(
      'longer than 10 bytes',
    );
    expect(() => reader([...new Array<number>(9).fill(0xff), 0x02]).u()).toThrow('overflows');
    expect(() => reader([5, 1, 2]).count()).toThrow('count');
  });
});

describe('the packed envelope', () => {
  it('reads tick, the distance back and the server time; 0 back is the empty baseline', () => {
    expect(packedDeltaFromBytes(new Uint8Array([0xac, 0x02, 2, 5, 9]))).toEqual({
      tick: 300,
      base_tick: 298,
      server_time_ms: 5,
      patch: new Uint8Array([9]),
    });
    expect(packedDeltaFromBytes(new Uint8Array([7, 0, 5])).base_tick).toBe(0);
    expect(() => packedDeltaFromBytes(new Uint8Array([1, 2, 0]))).toThrow(ProtocolError);
    expect(() => packedDeltaFromBytes(new Uint8Array([1, 0]))).toThrow(ProtocolError);
    // The body of "d" must be a bin (msgpack c4), not an array.
    expect(() => decodeServerMsg(new Uint8Array([0x81, 0xa1, 0x64, 0x93, 1, 0, 0]))).toThrow(
      ProtocolError,
    );
  });

  it('a join asks for packed deltas with a sixth field, only when set', () => {
    const join = (packed?: boolean) =>
      encodeClientMsg({
        type: 'join',
        body: { version: 1, room: null, name: 'a', resume: null, deltas: true, packed },
      });
    expect(join()[6]).toBe(0x95);
    expect(join(false)[6]).toBe(0x95);
    expect(join(true)[6]).toBe(0x96);
  });
});

describe('packed golden vectors (assets/protocol-vectors.json)', () => {
  it('has the packed vectors', () => {
    expect(packedVectors.map((v) => v.name)).toEqual([
      'packed_full',
      'packed_changes',
      'packed_predicted',
    ]);
  });

  for (const v of packedVectors) {
    it(`"${v.name}": decoding the bytes and unpacking them onto base gives result`, () => {
      const d = decodePacked(fromHex(v.hex));
      const step = { ticks: d.tick - d.base_tick, tickRate: v.tick_rate };
      expect(unpackArena(v.base, d.patch, step)).toEqual(v.result);
    });

    it(`"${v.name}": the model of the server's packer writes the same patch`, () => {
      const step = { ticks: v.envelope.tick - v.envelope.base_tick, tickRate: v.tick_rate };
      const bytes = [...packArena(v.base, v.result, step)];
      expect(bytes).toEqual([...fromHex(v.envelope.patch)]);
    });
  }

  it('the three vectors chain through a baseline store (ticks 43, 45, 46)', () => {
    const store = new ArenaBaselines();
    for (const v of packedVectors) {
      expect(store.receivePacked(decodePacked(fromHex(v.hex)), v.tick_rate)).toEqual(v.result);
    }
    expect(store.ackTick).toBe(46);
    expect(store.ticks()).toEqual([45, 46]);
  });
});

describe('prediction', () => {
  it('travel rounds v × ticks / rate with halves up, exactly, and is 0 at rate 0', () => {
    const at = (ticks: number, tickRate: number) => ({ ticks, tickRate });
    expect(travel(32_000, at(1, 30))).toBe(1_067);
    expect(travel(-32_000, at(1, 30))).toBe(-1_067);
    expect(travel(15, at(1, 30))).toBe(1);
    expect(travel(-15, at(1, 30))).toBe(0);
    expect(travel(32_000, at(2, 30))).toBe(2_133);
    expect(travel(100, at(3, 0))).toBe(0);
    // Beyond the safe integers (a hostile step): exact, as the Rust side's i128.
    expect(travel(2_147_483_647, at(0xffff_ffff, 1))).toBe(Number(2_147_483_647n * 0xffff_ffffn));
  });

  it('a held seat stands still; a connected player moves at its new velocity', () => {
    const p: QuantizedPlayer = {
      id: '01010101-0101-0101-0101-010101010101',
      name: 'a',
      x: 0,
      y: 0,
      vx: 3000,
      vy: -3000,
      score: 0,
      last_input: 1,
    };
    const base: QuantizedArena = { players: [p], orbs: [] };
    const none = new Uint8Array([0, 0, 0, 0, 0, 0]);
    const step = { ticks: 3, tickRate: 30 };
    expect(unpackArena(base, none, step).players[0]).toEqual({
      ...p,
      x: 300,
      y: -300,
      last_input: 4,
    });
    const held = { players: [{ ...p, held: true }], orbs: [] };
    expect(unpackArena(held, none, step)).toEqual(held);
  });
});

describe('malformed packed patches are DeltaErrors, never anything else', () => {
  const base: QuantizedArena = {
    players: [standing('01010101-0101-0101-0101-010101010101', 'a')],
    orbs: [{ id: 1, x: 0, y: 0 }],
  };
  const step = { ticks: 1, tickRate: 30 };
  const cases: [string, number[], DeltaErrorKind][] = [
    ['an empty patch', [], 'Malformed'],
    ['a removed index out of range', [1, 1, 0, 0, 0, 0, 0], 'BadIndex'],
    ['a changed index that was removed', [1, 0, 1, 0, 1, 2, 0, 0, 0, 0], 'BadIndex'],
    ['a zero mask', [0, 1, 0, 0, 0, 0, 0, 0], 'BadMask'],
    ['a mask bit beyond the fields', [0, 1, 0, 0x40, 2, 0, 0, 0, 0], 'BadMask'],
    [
      'a residual leaving i32',
      [0, 1, 0, 1, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 0, 0, 0],
      'FieldOutOfRange',
    ],
    ['a truncated entry', [0, 1, 0, 3, 2], 'Malformed'],
    ['a round tag of 2', [0, 0, 0, 0, 0, 0, 2], 'Malformed'],
    ['an added orb id beyond u16', [0, 0, 0, 0, 0, 1, 0x80, 0x80, 0x04, 0, 0], 'Malformed'],
    ['an added orb with a present id', [0, 0, 0, 0, 0, 1, 1, 0, 0], 'DuplicateOrUnsorted'],
  ];
  for (const [what, bytes, kind] of cases) {
    it(what, () => {
      expect(errorKind(() => unpackArena(base, new Uint8Array(bytes), step))).toBe(kind);
    });
  }

  it('random bytes give a state or a DeltaError', () => {
    const rand = rng(7);
    let states = 0;
    for (let n = 0; n < 2000; n++) {
      const bytes = new Uint8Array(Array.from({ length: rand(40) }, () => rand(256)));
      if (errorKind(() => unpackArena(base, bytes, step)) === 'ok') states++;
    }
    for (let n = 0; n < 2000; n++) {
      // Mostly small values: shaped like real sections, so deeper paths are reached.
      const bytes = new Uint8Array(Array.from({ length: rand(16) }, () => rand(4)));
      if (errorKind(() => unpackArena(base, bytes, step)) === 'ok') states++;
    }
    expect(states).toBeGreaterThan(0);
  });
});

describe('a packed stream under drops and late acks', () => {
  it('rebuilds every state it receives', () => {
    const rand = rng(11);
    const id = (n: number) =>
      `${n.toString(16).padStart(2, '0').repeat(4)}-${'00'.repeat(2)}-${'00'.repeat(2)}-${'00'.repeat(2)}-${'00'.repeat(6)}`;
    let state: QuantizedArena = { players: [], orbs: [] };
    const history: { tick: number; state: QuantizedArena }[] = [];
    const client = new ArenaBaselines();
    let serverAck = 0;
    const acks: { at: number; tick: number }[] = [];
    let againstABaseline = 0;
    for (let tick = 1; tick <= 300; tick++) {
      for (const a of acks.filter((a) => a.at <= tick)) serverAck = Math.max(serverAck, a.tick);
      // Players join and leave, run, turn, score; orbs respawn.
      const players = state.players
        .filter(() => rand(40) !== 0)
        .map((p) => {
          const vx = rand(4) === 0 ? p.vx + rand(4001) - 2000 : p.vx;
          const vy = rand(4) === 0 ? p.vy + rand(4001) - 2000 : p.vy;
          return {
            ...p,
            vx,
            vy,
            x: p.x + travel(vx, { ticks: 1, tickRate: 30 }) + rand(3) - 1,
            y: p.y + travel(vy, { ticks: 1, tickRate: 30 }) + rand(3) - 1,
            last_input: p.last_input + rand(3),
            score: p.score + (rand(10) === 0 ? 1 : 0),
          };
        });
      if (rand(8) === 0) {
        const n = rand(200) + 1;
        if (!players.some((p) => p.id === id(n))) {
          players.push(standing(id(n), `p${n}`));
        }
      }
      players.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const orbs = Array.from({ length: 4 }, (_, i) =>
        rand(5) === 0
          ? { id: i, x: rand(1000), y: rand(1000) }
          : (state.orbs[i] ?? { id: i, x: 0, y: 0 }),
      );
      state = { players, orbs };
      history.push({ tick, state });
      const base = history.find((h) => h.tick === serverAck && h.tick < tick);
      const baseTick = base ? base.tick : 0;
      const patch = packArena(base ? base.state : { players: [], orbs: [] }, state, {
        ticks: tick - baseTick,
        tickRate: 30,
      });
      if (rand(4) === 0) continue; // dropped: latest-wins replaced it
      const got = client.receivePacked({ tick, base_tick: baseTick, server_time_ms: 0, patch }, 30);
      expect(got).toEqual(state);
      if (baseTick > 0) againstABaseline++;
      acks.push({ at: tick + rand(5), tick: client.ackTick });
    }
    expect(againstABaseline).toBeGreaterThan(100);
  });
});
