/**
 * Delta snapshots (shared/PROTOCOL.md, "Delta snapshots"): the quantised arena, applying a patch
 * to a baseline, and the client's baseline store. Mirrors `shared/src/delta.rs` rule for rule.
 *
 * Every stored state is treated as immutable: applying a patch builds new lists and new objects
 * for the entities it changes and shares the unchanged ones with the baseline.
 */
import type { ArenaState } from './protocol';

/** Positions (units) and velocities (units/s) travel multiplied by this and rounded. */
export const SCALE = 100;
/** States the client keeps: the largest window a server may use (its default is 32). */
export const DEFAULT_CAPACITY = 64;

const I32_MIN = -0x8000_0000;
const I32_MAX = 0x7fff_ffff;
const U32_MAX = 0xffff_ffff;

// ---------------------------------------------------------------------------------------------
// Types (the wire's field names, like protocol.ts; uuids as canonical lowercase hex strings)

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
}

/** The patch of an id-sorted entity list against a baseline list. */
export interface EntityPatch<E> {
  /** Indices into the baseline, strictly ascending. */
  removed: number[];
  /** Flat: per changed entity its baseline index, a field mask, then `new − old` per set bit. */
  changed: number[];
  /** New entities in full, sorted by id. */
  added: E[];
}

export interface ArenaPatch {
  players: EntityPatch<QuantizedPlayer>;
  orbs: EntityPatch<QuantizedOrb>;
}

/** The body of the `delta` server message. */
export interface DeltaSnapshot {
  tick: number;
  base_tick: number;
  server_time_ms: number;
  patch: ArenaPatch;
}

/** The baseline of a full patch (`base_tick` 0). */
export function emptyArena(): QuantizedArena {
  return { players: [], orbs: [] };
}

// ---------------------------------------------------------------------------------------------
// Errors

export type DeltaErrorKind =
  | 'UnknownBaseline'
  | 'NotNewer'
  | 'BadIndex'
  | 'BadMask'
  | 'Truncated'
  | 'FieldOutOfRange'
  | 'DuplicateOrUnsorted';

/**
 * Why a delta could not be applied (the variants of the Rust `DeltaError`). A well-behaved server
 * never causes one; the client drops the frame and keeps its ack where it was.
 */
export class DeltaError extends Error {
  constructor(
    readonly kind: DeltaErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'DeltaError';
  }
}

// ---------------------------------------------------------------------------------------------
// Entities

/** What applying a patch needs to know about one entity type. */
export interface EntityKind<E> {
  /** The number of patchable fields; bit `i` of a mask is field `i`. */
  readonly fields: number;
  /** Negative, zero or positive as `a`'s id sorts before, equal to or after `b`'s. */
  compareIds(a: E, b: E): number;
  field(e: E, i: number): number;
  /** A copy of `e` with field `i` set to `v` (already checked to be in the field's range). */
  withField(e: E, i: number, v: number): E;
  /** The inclusive range of field `i`. */
  range(i: number): readonly [number, number];
}

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

// ---------------------------------------------------------------------------------------------
// Applying a patch

/**
 * `base` (sorted by id) with `patch` applied (PROTOCOL.md, "Applying a patch"). Every index, mask
 * and value is checked; a malformed patch throws a {@link DeltaError}, never anything else.
 */
export function applyEntityPatch<E>(
  kind: EntityKind<E>,
  base: readonly E[],
  patch: EntityPatch<E>,
): E[] {
  const { removed, changed, added } = patch;
  const out: E[] = [];
  let r = 0; // next entry of `removed`
  let c = 0; // next integer of `changed`
  const nextInt = (): number => {
    if (c >= changed.length)
      throw new DeltaError('Truncated', 'the changed-fields list ends in the middle of an entry');
    return changed[c++]!;
  };
  const badIndex = (index: number) =>
    new DeltaError('BadIndex', `entity index ${index} is out of range or out of order`);
  let nextChange: number | undefined = changed.length > 0 ? changed[c++] : undefined;
  for (let idx = 0; idx < base.length; idx++) {
    if (r < removed.length && removed[r] === idx) {
      r++;
      if (nextChange === idx) throw badIndex(idx);
      continue;
    }
    let entity: E = base[idx]!;
    if (nextChange === idx) {
      const mask = nextInt();
      if (!Number.isSafeInteger(mask) || mask <= 0 || mask >= 2 ** kind.fields) {
        throw new DeltaError(
          'BadMask',
          `field mask ${mask} names fields this entity does not have`,
        );
      }
      for (let f = 0; f < kind.fields; f++) {
        if ((mask & (1 << f)) === 0) continue;
        const d = nextInt();
        const v = kind.field(entity, f) + d;
        const [min, max] = kind.range(f);
        if (!Number.isSafeInteger(d) || !Number.isInteger(v) || v < min || v > max) {
          throw new DeltaError(
            'FieldOutOfRange',
            `field ${f} leaves its range after the difference is applied`,
          );
        }
        entity = kind.withField(entity, f, v);
      }
      nextChange = c < changed.length ? changed[c++] : undefined;
      if (nextChange !== undefined && !(nextChange > idx)) throw badIndex(nextChange);
    }
    out.push(entity);
  }
  // A removed index or a change left over: out of range, out of order, or not an integer.
  if (r < removed.length) throw badIndex(removed[r]!);
  if (nextChange !== undefined) throw badIndex(nextChange);
  for (let i = 1; i < removed.length; i++) {
    if (!(removed[i - 1]! < removed[i]!)) throw badIndex(removed[i]!);
  }
  if (added.length === 0) return out;
  const unsorted = () =>
    new DeltaError(
      'DuplicateOrUnsorted',
      'added entities are not sorted by id, or an id is present twice',
    );
  for (let i = 1; i < added.length; i++) {
    if (kind.compareIds(added[i - 1]!, added[i]!) >= 0) throw unsorted();
  }
  // Merge the two id-sorted lists.
  const merged: E[] = [];
  let k = 0;
  for (const a of added) {
    while (k < out.length && kind.compareIds(out[k]!, a) < 0) merged.push(out[k++]!);
    if (k < out.length && kind.compareIds(out[k]!, a) === 0) throw unsorted();
    merged.push(a);
  }
  while (k < out.length) merged.push(out[k++]!);
  return merged;
}

/** The arena `base` with `patch` applied; throws a {@link DeltaError} if it is malformed. */
export function applyArenaPatch(base: QuantizedArena, patch: ArenaPatch): QuantizedArena {
  return {
    players: applyEntityPatch(PLAYER_KIND, base.players, patch.players),
    orbs: applyEntityPatch(ORB_KIND, base.orbs, patch.orbs),
  };
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
    })),
    orbs: q.orbs.map((o) => ({ id: o.id, x: dequantize(o.x), y: dequantize(o.y) })),
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
    }))
    .sort(PLAYER_KIND.compareIds)
    .filter((p, i, all) => i === 0 || all[i - 1]!.id !== p.id);
  const orbs = state.orbs
    .map((o) => ({ id: o.id, x: quantize(o.x), y: quantize(o.y) }))
    .sort(ORB_KIND.compareIds)
    .filter((o, i, all) => i === 0 || all[i - 1]!.id !== o.id);
  return { players, orbs };
}

// ---------------------------------------------------------------------------------------------
// The baseline store

/**
 * The client's received states (PROTOCOL.md, "The client's baseline store"): applies each delta
 * to the baseline it names, keeps the result under its tick, and says what to acknowledge.
 */
export class Baselines {
  /** (tick, state), oldest first, ticks strictly increasing. */
  private frames: { tick: number; state: QuantizedArena }[] = [];
  readonly capacity: number;

  constructor(capacity = DEFAULT_CAPACITY) {
    this.capacity = Math.max(1, Math.floor(capacity));
  }

  /** The newest tick held (0 before the first delta): the client's `Input.ack_tick`. */
  get ackTick(): number {
    return this.frames.length > 0 ? this.frames[this.frames.length - 1]!.tick : 0;
  }

  /** How many states are held. */
  get size(): number {
    return this.frames.length;
  }

  /** The ticks held, oldest first. */
  ticks(): number[] {
    return this.frames.map((f) => f.tick);
  }

  /** The newest state held. */
  latest(): QuantizedArena | null {
    return this.frames.length > 0 ? this.frames[this.frames.length - 1]!.state : null;
  }

  /** Forgets everything (a new connection starts from a full patch). */
  reset(): void {
    this.frames = [];
  }

  /**
   * Applies a received delta and keeps the result as a baseline; returns it. Throws a
   * {@link DeltaError} (and changes nothing) for a tick that is not newer than the newest held
   * one, a baseline that is not held, or a malformed patch.
   */
  receive(snap: DeltaSnapshot): QuantizedArena {
    const newest = this.ackTick;
    if (!(snap.tick > newest)) {
      throw new DeltaError(
        'NotNewer',
        `tick ${snap.tick} is not newer than the newest held tick ${newest}`,
      );
    }
    let next: QuantizedArena;
    if (snap.base_tick === 0) {
      next = applyArenaPatch(emptyArena(), snap.patch);
    } else {
      const i = this.frames.findIndex((f) => f.tick === snap.base_tick);
      if (i < 0) {
        throw new DeltaError(
          'UnknownBaseline',
          `the patch's baseline tick ${snap.base_tick} is not held (too old, or never received)`,
        );
      }
      next = applyArenaPatch(this.frames[i]!.state, snap.patch);
      // The server has seen an ack of at least `base_tick` and will not go back further.
      this.frames.splice(0, i);
    }
    if (this.frames.length >= this.capacity) this.frames.shift();
    this.frames.push({ tick: snap.tick, state: next });
    return next;
  }
}
