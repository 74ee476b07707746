/**
 * Delta snapshots (shared/PROTOCOL.md, "Delta snapshots"), generic over the game: the patch of an
 * id-sorted entity list and how to apply it, and the client's baseline store. Mirrors
 * `shared/src/delta.rs` rule for rule. The arena's replicated state and patch are in `arena.ts`.
 *
 * Packed deltas (`"d"`, PROTOCOL.md "Packed deltas") are applied by {@link unpackEntities} per
 * entity list, with the residuals of a prediction; the game's `Diffable.unpack` calls it.
 *
 * Every stored state is treated as immutable: applying a patch builds new lists and new objects
 * for the entities it changes and shares the unchanged ones with the baseline.
 */
import { arr, fail, u32, type DeltaSnapshot, type PackedDelta } from './protocol.js';
import { VarintReader } from './varint.js';

/** States the client keeps: the largest window a server may use (its default is 32). */
export const DEFAULT_CAPACITY = 64;

// ---------------------------------------------------------------------------------------------
// Types (the wire's field names, like protocol.ts)

/** The patch of an id-sorted entity list against a baseline list. */
export interface EntityPatch<E> {
  /** Indices into the baseline, strictly ascending. */
  removed: number[];
  /** Flat: per changed entity its baseline index, a field mask, then `new − old` per set bit. */
  changed: number[];
  /** New entities in full, sorted by id. */
  added: E[];
}

/**
 * A replicated state the client rebuilds from patches (the Rust `Diffable`, client side): the
 * baseline of a full patch, and applying a patch.
 */
export interface Diffable<F, P> {
  /** The state a full patch (`base_tick` 0) applies to. */
  empty(): F;
  /** `base` with `patch` applied; throws a {@link DeltaError} if the patch is malformed. */
  apply(base: F, patch: P): F;
  /**
   * `base` with the packed patch `bytes` applied, `step` after it (a game that can, joins with
   * `packed`); throws a {@link DeltaError} if the patch is malformed.
   */
  unpack?(base: F, bytes: Uint8Array, step: Step): F;
}

/**
 * What a packed patch predicts from: `tick − base_tick`, and the Welcome's tick rate (the Rust
 * `delta::Step`).
 */
export interface Step {
  ticks: number;
  tickRate: number;
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
  | 'DuplicateOrUnsorted'
  | 'Malformed';

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
  return mergeAdded(kind, out, added);
}

/** `kept` (sorted by id) with `added` inserted in id order; `added` must be sorted, ids unique. */
function mergeAdded<E>(kind: EntityKind<E>, out: E[], added: readonly E[]): E[] {
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

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * An entity patch off the wire, `[removed: [u32…], changed: [i64…], added: [E…]]`, its added
 * entities decoded by `entity` (for a game's `GameWire.patchFromWire`). Only the types are
 * checked here (a ProtocolError otherwise); the indices, masks and values are checked by
 * {@link applyEntityPatch}. `changed` holds any integers: those beyond ±2^53 (decoded lossily)
 * can only be invalid and fail there.
 */
export function entityPatchFromWire<E>(
  v: unknown,
  what: string,
  entity: (v: unknown) => E,
): EntityPatch<E> {
  const p = arr(v, what, 3);
  return {
    removed: arr(p[0], `${what}.removed`, 0).map((r) => u32(r, `${what}.removed`)),
    changed: arr(p[1], `${what}.changed`, 0).map((c) => {
      if (typeof c !== 'number' || !Number.isInteger(c)) fail(`${what}.changed: expected integers`);
      return c;
    }),
    added: arr(p[2], `${what}.added`, 0).map(entity),
  };
}

// ---------------------------------------------------------------------------------------------
// Packed entity lists (PROTOCOL.md, "Packed deltas"; mirrors `shared/src/packed.rs`)

/** A reader of a packed patch whose malformations are {@link DeltaError}s. */
export function packedReader(bytes: Uint8Array): VarintReader {
  return new VarintReader(bytes, (what) => {
    throw new DeltaError('Malformed', `the packed patch is malformed: ${what}`);
  });
}

/** What applying a packed section needs besides {@link EntityKind}. */
export interface PackedKind<E> extends EntityKind<E> {
  /**
   * How far field `i` is predicted to move from the baseline entity `base` over `step`, given
   * the new field values `fields` (it may read only fields whose own drift is always 0). Absent:
   * no drift.
   */
  drift?(base: E, fields: readonly number[], i: number, step: Step): number;
  /** An entity written in full (an added one). */
  read(r: VarintReader): E;
}

/** Ticks are capped here for prediction (a real step is at most the server's window). */
const MAX_PREDICTED_TICKS = 0xffff_ffff;

/** `ticks` of a step, capped for prediction. */
export function predictedTicks(step: Step): number {
  return Math.min(step.ticks, MAX_PREDICTED_TICKS);
}

/**
 * `floor((2·v·ticks + rate) / (2·rate))`: where a body moving at `v` hundredths per second is
 * after `ticks` ticks, in hundredths, halves rounded up; 0 at a tick rate of 0. Exact: BigInt
 * when the product leaves the safe integers.
 */
export function travel(v: number, step: Step): number {
  const rate = step.tickRate;
  if (rate === 0) return 0;
  const ticks = predictedTicks(step);
  const num = 2 * v * ticks + rate;
  if (Number.isSafeInteger(num)) return Math.floor(num / (2 * rate));
  const n = 2n * BigInt(v) * BigInt(ticks) + BigInt(rate);
  const d = 2n * BigInt(rate);
  const q = n / d - (n % d < 0n ? 1n : 0n);
  return Number(q);
}

/** Reads a gap-coded index (PROTOCOL.md: the first itself, then `index − previous − 1`). */
function readIndex(r: VarintReader, previous: number | undefined, len: number): number {
  const g = r.u();
  const index = previous === undefined ? g : g + previous + 1;
  if (!(index < len)) {
    throw new DeltaError('BadIndex', `entity index ${index} is out of range or out of order`);
  }
  return index;
}

/**
 * `base` (sorted by id) with the packed section at the reader's position applied, `step` after
 * the baseline. Every index, mask and value is checked; a malformed section throws a
 * {@link DeltaError}.
 */
export function unpackEntities<E>(
  kind: PackedKind<E>,
  base: readonly E[],
  r: VarintReader,
  step: Step,
): E[] {
  const gone = new Array<boolean>(base.length).fill(false);
  let prev: number | undefined;
  for (let n = r.count(); n > 0; n--) {
    prev = readIndex(r, prev, base.length);
    gone[prev] = true;
  }
  const residuals = new Map<number, number[]>();
  prev = undefined;
  for (let n = r.count(); n > 0; n--) {
    const i = readIndex(r, prev, base.length);
    if (gone[i]) throw new DeltaError('BadIndex', `entity index ${i} is removed and changed`);
    prev = i;
    const mask = r.u();
    if (mask === 0 || mask >= 2 ** kind.fields) {
      throw new DeltaError('BadMask', `field mask ${mask} names fields this entity does not have`);
    }
    const res: number[] = [];
    for (let f = 0; f < kind.fields; f++) res.push((mask & (1 << f)) !== 0 ? r.i() : 0);
    residuals.set(i, res);
  }
  const kept: E[] = [];
  base.forEach((b, i) => {
    if (gone[i]) return;
    const res = residuals.get(i);
    const fields: number[] = [];
    for (let f = 0; f < kind.fields; f++) fields.push(kind.field(b, f) + (res ? res[f]! : 0));
    let e = b;
    for (let f = 0; f < kind.fields; f++) {
      const v = fields[f]! + (kind.drift ? kind.drift(b, fields, f, step) : 0);
      const [min, max] = kind.range(f);
      if (!Number.isInteger(v) || v < min || v > max) {
        throw new DeltaError(
          'FieldOutOfRange',
          `field ${f} leaves its range after the residual is applied`,
        );
      }
      if (v !== kind.field(b, f)) e = kind.withField(e, f, v);
    }
    kept.push(e);
  });
  const added: E[] = [];
  for (let n = r.count(); n > 0; n--) added.push(kind.read(r));
  return mergeAdded(kind, kept, added);
}

// ---------------------------------------------------------------------------------------------
// The baseline store

/**
 * The client's received states (PROTOCOL.md, "The client's baseline store"): applies each delta
 * to the baseline it names, keeps the result under its tick, and says what to acknowledge.
 */
export class Baselines<F, P> {
  /** (tick, state), oldest first, ticks strictly increasing. */
  private frames: { tick: number; state: F }[] = [];
  readonly capacity: number;

  constructor(
    private readonly kind: Diffable<F, P>,
    capacity = DEFAULT_CAPACITY,
  ) {
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
  latest(): F | null {
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
  receive(snap: DeltaSnapshot<P>): F {
    return this.receiveWith(snap.tick, snap.base_tick, (base) => this.kind.apply(base, snap.patch));
  }

  /**
   * {@link Baselines.receive} for a packed delta (`"d"`) of a room ticking at `tickRate` (the
   * Welcome's). Throws a {@link DeltaError} as `receive` does, and when the game cannot unpack.
   */
  receivePacked(snap: PackedDelta, tickRate: number): F {
    const unpack = this.kind.unpack;
    if (!unpack) throw new DeltaError('Malformed', 'this game cannot apply packed deltas');
    const step = { ticks: snap.tick - snap.base_tick, tickRate };
    return this.receiveWith(snap.tick, snap.base_tick, (base) =>
      unpack.call(this.kind, base, snap.patch, step),
    );
  }

  /** The store's rules around one patch, whichever its form: `apply` gets the baseline. */
  private receiveWith(tick: number, baseTick: number, apply: (base: F) => F): F {
    const newest = this.ackTick;
    if (!(tick > newest)) {
      throw new DeltaError(
        'NotNewer',
        `tick ${tick} is not newer than the newest held tick ${newest}`,
      );
    }
    let next: F;
    if (baseTick === 0) {
      next = apply(this.kind.empty());
    } else {
      const i = this.frames.findIndex((f) => f.tick === baseTick);
      if (i < 0) {
        throw new DeltaError(
          'UnknownBaseline',
          `the patch's baseline tick ${baseTick} is not held (too old, or never received)`,
        );
      }
      next = apply(this.frames[i]!.state);
      // The server has seen an ack of at least `base_tick` and will not go back further.
      this.frames.splice(0, i);
    }
    if (this.frames.length >= this.capacity) this.frames.shift();
    this.frames.push({ tick, state: next });
    return next;
  }
}
