/**
 * Delta snapshots (shared/PROTOCOL.md, "Delta snapshots"), generic over the game: the patch of an
 * id-sorted entity list and how to apply it, and the client's baseline store. Mirrors
 * `shared/src/delta.rs` rule for rule. The arena's replicated state and patch are in `arena.ts`.
 *
 * Every stored state is treated as immutable: applying a patch builds new lists and new objects
 * for the entities it changes and shares the unchanged ones with the baseline.
 */
import { arr, fail, u32, type DeltaSnapshot } from './protocol.js';

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
    const newest = this.ackTick;
    if (!(snap.tick > newest)) {
      throw new DeltaError(
        'NotNewer',
        `tick ${snap.tick} is not newer than the newest held tick ${newest}`,
      );
    }
    let next: F;
    if (snap.base_tick === 0) {
      next = this.kind.apply(this.kind.empty(), snap.patch);
    } else {
      const i = this.frames.findIndex((f) => f.tick === snap.base_tick);
      if (i < 0) {
        throw new DeltaError(
          'UnknownBaseline',
          `the patch's baseline tick ${snap.base_tick} is not held (too old, or never received)`,
        );
      }
      next = this.kind.apply(this.frames[i]!.state, snap.patch);
      // The server has seen an ack of at least `base_tick` and will not go back further.
      this.frames.splice(0, i);
    }
    if (this.frames.length >= this.capacity) this.frames.shift();
    this.frames.push({ tick: snap.tick, state: next });
    return next;
  }
}
