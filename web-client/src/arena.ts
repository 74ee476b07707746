/**
 * The bundled demo game's side of the protocol, mirroring `shared/src/arena.rs`: the arena's
 * controls, parameters and snapshot state; its replicated (quantised) form and patch for delta
 * snapshots; and the codec and aliases that plug these types into the generic envelopes of
 * `protocol.ts` and the generic delta rules of `delta.ts`. Imports point one way: this module
 * uses those two, neither of them knows it.
 */
import {
  arr,
  f32,
  fail,
  I32_MAX,
  I32_MIN,
  intIn,
  i32,
  makeCodec,
  num,
  str,
  u32,
  uint,
  U32_MAX,
  uuid,
  uuidToString,
  type ClientMsg,
  type DeltaSnapshot,
  type GameWire,
  type Input,
  type ServerMsg,
  type Snapshot,
  type Welcome,
} from './protocol';
import {
  Baselines,
  DEFAULT_CAPACITY,
  DeltaError,
  applyEntityPatch,
  entityPatchFromWire,
  packedReader,
  predictedTicks,
  travel,
  unpackEntities,
  type Diffable,
  type EntityKind,
  type EntityPatch,
  type PackedKind,
  type Step,
  type VarintReader,
} from './delta';

/** Controls.buttons bit 0. */
export const BUTTON_BOOST = 1;
/** Positions (units) and velocities (units/s) travel multiplied by this and rounded. */
export const SCALE = 100;

// ---------------------------------------------------------------------------------------------
// Types (the wire's field names; uuids as canonical lowercase hex strings)

export interface Controls {
  x: number;
  y: number;
  buttons: number;
}

export interface ArenaInfo {
  width: number;
  height: number;
  player_radius: number;
  orb_radius: number;
  accel: number;
  max_speed: number;
  drag: number;
  boost: number;
}

export interface PlayerState {
  id: string;
  name: string;
  x: number;
  y: number;
  vx: number;
  vy: number;
  score: number;
  last_input: number;
  /**
   * The player's connection is lost and its seat is held for a resume (PROTOCOL.md, "Held
   * seats"): an optional trailing field, on the wire only when true.
   */
  held?: boolean;
}

export interface Orb {
  id: number;
  x: number;
  y: number;
}

/** A player's id: its uuid as the canonical lowercase hex string. */
export type PlayerId = string;

/**
 * The round in progress (PROTOCOL.md, "Rounds"); wire `Round` = `[number, phase, ends_at,
 * winner]`. Every field is constant for a whole phase: count down with
 * `(endsAtTick - snapshot tick) / tick_rate` seconds.
 */
export interface ArenaRound {
  /** 1 for the room's first round, then one more per round. */
  number: number;
  /** `playing`: orbs score. `over`: scores are frozen and the winner is announced. */
  phase: 'playing' | 'over';
  /** The tick whose snapshot is the first of the next phase (wire `ends_at`). */
  endsAtTick: number;
  /**
   * While `over`: the player alone at the top score (it may have left since); null while
   * playing, and for a draw (a shared top score, or nobody scored).
   */
  winner: PlayerId | null;
}

export interface ArenaState {
  players: PlayerState[];
  orbs: Orb[];
  /** Present on a server that runs rounds (an optional trailing field). */
  round?: ArenaRound;
}

/** A player with position (hundredths of a unit) and velocity (hundredths per second). */
export interface QuantizedPlayer {
  id: string;
  name: string;
  x: number;
  y: number;
  vx: number;
  vy: number;
  score: number;
  last_input: number;
  /** See {@link PlayerState.held}. Not a patchable field: a flip re-adds the player. */
  held?: boolean;
}

/** An orb with its position in hundredths of a unit. */
export interface QuantizedOrb {
  id: number;
  x: number;
  y: number;
}

/** The arena as replicated: players sorted by id (uuid bytes, unsigned), orbs sorted by id. */
export interface QuantizedArena {
  players: QuantizedPlayer[];
  orbs: QuantizedOrb[];
  /** As in {@link ArenaState.round}. */
  round?: ArenaRound;
}

export interface ArenaPatch {
  players: EntityPatch<QuantizedPlayer>;
  orbs: EntityPatch<QuantizedOrb>;
  /** The round, only when it changed since the baseline; absent: the baseline's goes on. */
  round?: ArenaRound;
}

/** The baseline of a full patch (`base_tick` 0). */
export function emptyArena(): QuantizedArena {
  return { players: [], orbs: [] };
}

// The arena's messages: the generic envelopes with the arena's types plugged in.
export type ArenaClientMsg = ClientMsg<Controls>;
export type ArenaInput = Input<Controls>;
export type ArenaWelcome = Welcome<ArenaInfo>;
export type ArenaSnapshot = Snapshot<ArenaState>;
export type ArenaDelta = DeltaSnapshot<ArenaPatch>;
export type ArenaServerMsg = ServerMsg<ArenaState, ArenaInfo, ArenaPatch>;

// ---------------------------------------------------------------------------------------------
// Wire form

function arenaInfo(v: unknown): ArenaInfo {
  const a = arr(v, 'ArenaInfo', 8);
  return {
    width: num(a[0], 'width'),
    height: num(a[1], 'height'),
    player_radius: num(a[2], 'player_radius'),
    orb_radius: num(a[3], 'orb_radius'),
    accel: num(a[4], 'accel'),
    max_speed: num(a[5], 'max_speed'),
    drag: num(a[6], 'drag'),
    boost: num(a[7], 'boost'),
  };
}

/** The optional trailing `held` flag: absent (or nil) is false. */
function heldFlag(v: unknown, what: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  return fail(`${what}: expected a bool`);
}

/** `held: true` when the flag is set; nothing otherwise, like the wire. */
function withHeld<T extends object>(p: T, v: unknown, what: string): T & { held?: boolean } {
  return heldFlag(v, what) ? { ...p, held: true } : p;
}

function playerState(v: unknown): PlayerState {
  const p = arr(v, 'PlayerState', 8);
  return withHeld(
    {
      id: uuid(p[0], 'PlayerState.id'),
      name: str(p[1], 'PlayerState.name'),
      x: num(p[2], 'x'),
      y: num(p[3], 'y'),
      vx: num(p[4], 'vx'),
      vy: num(p[5], 'vy'),
      score: uint(p[6], 'score'),
      last_input: uint(p[7], 'last_input'),
    },
    p[8],
    'PlayerState.held',
  );
}

function orb(v: unknown): Orb {
  const o = arr(v, 'Orb', 3);
  return { id: uint(o[0], 'Orb.id'), x: num(o[1], 'Orb.x'), y: num(o[2], 'Orb.y') };
}

const ROUND_PHASES = ['playing', 'over'] as const;

/** A `Round`: `[number: u32, phase: 0 | 1, ends_at: u64, winner: uuid | nil]`. */
function arenaRound(v: unknown): ArenaRound {
  const r = arr(v, 'Round', 4);
  return {
    number: u32(r[0], 'Round.number'),
    phase: ROUND_PHASES[intIn(r[1], 'Round.phase', 0, 1)]!,
    endsAtTick: uint(r[2], 'Round.ends_at'),
    winner: r[3] == null ? null : uuid(r[3], 'Round.winner'),
  };
}

/** `round` when the optional trailing field is there (and not nil); nothing otherwise. */
function withRound<T extends object>(s: T, v: unknown): T & { round?: ArenaRound } {
  return v == null ? s : { ...s, round: arenaRound(v) };
}

function arenaState(v: unknown): ArenaState {
  const s = arr(v, 'ArenaState', 2);
  return withRound(
    {
      players: arr(s[0], 'players', 0).map(playerState),
      orbs: arr(s[1], 'orbs', 0).map(orb),
    },
    s[2],
  );
}

function quantizedPlayer(v: unknown): QuantizedPlayer {
  const p = arr(v, 'QuantizedPlayer', 8);
  return withHeld(
    {
      id: uuid(p[0], 'QuantizedPlayer.id'),
      name: str(p[1], 'QuantizedPlayer.name'),
      x: i32(p[2], 'x'),
      y: i32(p[3], 'y'),
      vx: i32(p[4], 'vx'),
      vy: i32(p[5], 'vy'),
      score: u32(p[6], 'score'),
      last_input: u32(p[7], 'last_input'),
    },
    p[8],
    'QuantizedPlayer.held',
  );
}

function quantizedOrb(v: unknown): QuantizedOrb {
  const o = arr(v, 'QuantizedOrb', 3);
  return { id: intIn(o[0], 'QuantizedOrb.id', 0, 0xffff), x: i32(o[1], 'x'), y: i32(o[2], 'y') };
}

function arenaPatch(v: unknown): ArenaPatch {
  const p = arr(v, 'ArenaPatch', 2);
  return withRound(
    {
      players: entityPatchFromWire(p[0], 'players', quantizedPlayer),
      orbs: entityPatchFromWire(p[1], 'orbs', quantizedOrb),
    },
    p[2],
  );
}

/** The arena's parts of the messages, as the codec needs them. */
export const ARENA_WIRE: GameWire<Controls, ArenaState, ArenaInfo, ArenaPatch> = {
  inputToWire: (c) => [f32(c.x), f32(c.y), c.buttons],
  inputFromWire: (v) => {
    const c = arr(v, 'Controls', 3);
    return { x: num(c[0], 'x'), y: num(c[1], 'y'), buttons: uint(c[2], 'buttons') };
  },
  infoFromWire: arenaInfo,
  stateFromWire: arenaState,
  patchFromWire: arenaPatch,
};

/** The arena's codec: encodes {@link ArenaClientMsg}s, decodes {@link ArenaServerMsg}s. */
export const {
  encodeClientMsg,
  decodeClientMsg,
  decodeServerMsg,
  clientMsgFromWire,
  serverMsgFromWire,
} = makeCodec(ARENA_WIRE);

// ---------------------------------------------------------------------------------------------
// Applying a patch

const PLAYER_FIELDS = ['x', 'y', 'vx', 'vy', 'score', 'last_input'] as const;
const I32: readonly [number, number] = [I32_MIN, I32_MAX];
const U32: readonly [number, number] = [0, U32_MAX];

/**
 * Players: fields x, y, vx, vy (i32), score, last_input (u32). Ids are canonical lowercase uuid
 * strings, whose string order is the order of their bytes compared as unsigned numbers.
 */
export const PLAYER_KIND: EntityKind<QuantizedPlayer> = {
  fields: PLAYER_FIELDS.length,
  compareIds: (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  field: (e, i) => e[PLAYER_FIELDS[i]!],
  withField: (e, i, v) => ({ ...e, [PLAYER_FIELDS[i]!]: v }),
  range: (i) => (i < 4 ? I32 : U32),
};

/** Orbs: fields x, y (i32); ids are u16. */
export const ORB_KIND: EntityKind<QuantizedOrb> = {
  fields: 2,
  compareIds: (a, b) => a.id - b.id,
  field: (e, i) => (i === 0 ? e.x : e.y),
  withField: (e, i, v) => (i === 0 ? { ...e, x: v } : { ...e, y: v }),
  range: () => I32,
};

/** The arena `base` with `patch` applied; throws a {@link DeltaError} if it is malformed. */
export function applyArenaPatch(base: QuantizedArena, patch: ArenaPatch): QuantizedArena {
  const round = patch.round ?? base.round;
  return {
    players: applyEntityPatch(PLAYER_KIND, base.players, patch.players),
    orbs: applyEntityPatch(ORB_KIND, base.orbs, patch.orbs),
    ...(round ? { round } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Applying a packed patch (PROTOCOL.md, "Packed deltas"; mirrors shared/src/arena/packed.rs)

function readUuid(r: VarintReader): string {
  return uuidToString(r.take(16));
}

function readFlag(r: VarintReader): boolean {
  const b = r.byte();
  if (b > 1)
    throw new DeltaError(
      'Malformed',
      'the packed patch is malformed: a flag that is neither 0 nor 1',
    );
  return b === 1;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Players: a connected one keeps moving at its new velocity; its last_input goes up a tick. */
export const PLAYER_PACKED: PackedKind<QuantizedPlayer> = {
  ...PLAYER_KIND,
  drift: (base, f, i, step) => {
    if (base.held) return 0;
    if (i === 0) return travel(f[2]!, step);
    if (i === 1) return travel(f[3]!, step);
    return i === 5 ? predictedTicks(step) : 0;
  },
  read: (r) => {
    const id = readUuid(r);
    let name: string;
    try {
      name = UTF8.decode(r.take(r.count()));
    } catch (e) {
      if (e instanceof DeltaError) throw e;
      throw new DeltaError('Malformed', 'the packed patch is malformed: a name that is not UTF-8');
    }
    const p: QuantizedPlayer = {
      id,
      name,
      x: r.iIn(I32_MIN, I32_MAX, 'x'),
      y: r.iIn(I32_MIN, I32_MAX, 'y'),
      vx: r.iIn(I32_MIN, I32_MAX, 'vx'),
      vy: r.iIn(I32_MIN, I32_MAX, 'vy'),
      score: r.uMax(U32_MAX, 'score'),
      last_input: r.uMax(U32_MAX, 'last_input'),
    };
    return readFlag(r) ? { ...p, held: true } : p;
  },
};

/** Orbs: predicted to stay where they are. */
export const ORB_PACKED: PackedKind<QuantizedOrb> = {
  ...ORB_KIND,
  read: (r) => ({
    id: r.uMax(0xffff, 'orb id'),
    x: r.iIn(I32_MIN, I32_MAX, 'x'),
    y: r.iIn(I32_MIN, I32_MAX, 'y'),
  }),
};

function readRound(r: VarintReader): ArenaRound {
  const number = r.uMax(U32_MAX, 'round number');
  const phase = r.byte();
  if (phase > 1)
    throw new DeltaError('Malformed', 'the packed patch is malformed: an unknown round phase');
  const endsAtTick = r.u();
  const winner = readFlag(r) ? readUuid(r) : null;
  return { number, phase: ROUND_PHASES[phase]!, endsAtTick, winner };
}

/**
 * The arena `base` with the packed patch `bytes` applied, `step` after it: players, orbs, then
 * the round when it changed (bytes after it are ignored: the format grows at its end).
 */
export function unpackArena(base: QuantizedArena, bytes: Uint8Array, step: Step): QuantizedArena {
  const r = packedReader(bytes);
  const players = unpackEntities(PLAYER_PACKED, base.players, r, step);
  const orbs = unpackEntities(ORB_PACKED, base.orbs, r, step);
  let round = base.round;
  if (r.remaining > 0) {
    const tag = r.byte();
    if (tag === 1) round = readRound(r);
    else if (tag !== 0) {
      throw new DeltaError(
        'Malformed',
        'the packed patch is malformed: a round tag that is neither 0 nor 1',
      );
    }
  }
  return { players, orbs, ...(round ? { round } : {}) };
}

/** The quantised arena as the baseline store rebuilds it, from `"delta"` and `"d"` alike. */
export const ARENA_DIFF: Diffable<QuantizedArena, ArenaPatch> = {
  empty: emptyArena,
  apply: applyArenaPatch,
  unpack: unpackArena,
};

/** The client's store of received arena states (PROTOCOL.md, "The client's baseline store"). */
export class ArenaBaselines extends Baselines<QuantizedArena, ArenaPatch> {
  constructor(capacity = DEFAULT_CAPACITY) {
    super(ARENA_DIFF, capacity);
  }
}

// ---------------------------------------------------------------------------------------------
// Quantisation

/** A float in hundredths, rounded half away from zero; non-finite → 0, huge values saturate. */
export function quantize(v: number): number {
  if (Number.isNaN(v)) return 0;
  const q = Math.sign(v) * Math.round(Math.abs(v) * SCALE);
  return Math.min(I32_MAX, Math.max(I32_MIN, q)) || 0;
}

/** The float a quantised value stands for. */
export function dequantize(q: number): number {
  return q / SCALE;
}

/** The float state the renderer, prediction and interpolation use (within 0.005 units). */
export function dequantizeArena(q: QuantizedArena): ArenaState {
  return {
    players: q.players.map((p) => ({
      id: p.id,
      name: p.name,
      x: dequantize(p.x),
      y: dequantize(p.y),
      vx: dequantize(p.vx),
      vy: dequantize(p.vy),
      score: p.score,
      last_input: p.last_input,
      ...(p.held ? { held: true } : {}),
    })),
    orbs: q.orbs.map((o) => ({ id: o.id, x: dequantize(o.x), y: dequantize(o.y) })),
    ...(q.round ? { round: q.round } : {}),
  };
}

/** The replicated form of a float state: quantised and sorted by id (first of a repeated id). */
export function quantizeArena(state: ArenaState): QuantizedArena {
  const players = state.players
    .map((p) => ({
      id: p.id,
      name: p.name,
      x: quantize(p.x),
      y: quantize(p.y),
      vx: quantize(p.vx),
      vy: quantize(p.vy),
      score: p.score,
      last_input: p.last_input,
      ...(p.held ? { held: true } : {}),
    }))
    .sort(PLAYER_KIND.compareIds)
    .filter((p, i, all) => i === 0 || all[i - 1]!.id !== p.id);
  const orbs = state.orbs
    .map((o) => ({ id: o.id, x: quantize(o.x), y: quantize(o.y) }))
    .sort(ORB_KIND.compareIds)
    .filter((o, i, all) => i === 0 || all[i - 1]!.id !== o.id);
  return { players, orbs, ...(state.round ? { round: state.round } : {}) };
}
