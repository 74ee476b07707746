/**
 * Variable-length integers of packed deltas (shared/PROTOCOL.md, "Packed deltas"; mirrors
 * `shared/src/varint.rs`): unsigned LEB128 (7 bits a byte, low bits first, high bit = more
 * follows) and zigzag for signed values (0, −1, 1, −2 … → 0, 1, 2, 3 …). Knows nothing of the
 * messages that use them; `protocol.ts` reads the packed envelope with it, `delta.ts` the patch.
 *
 * Values are JavaScript numbers: exact up to 2^53. A varint beyond that (up to the format's 64
 * bits) is read approximately; in a valid message no value is that large (ticks, times, ids and
 * every field fit), so such a value can only make the message fail a range check.
 */

/** Reads varints and raw bytes; every read is checked and throws what `fail` throws. */
export class VarintReader {
  private pos = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly fail: (what: string) => never,
  ) {}

  /** Bytes not read yet. */
  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  byte(): number {
    if (this.pos >= this.bytes.length) this.fail('ends early');
    return this.bytes[this.pos++]!;
  }

  take(n: number): Uint8Array {
    if (n > this.remaining) this.fail('ends early');
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The bytes not read yet, consuming them. */
  rest(): Uint8Array {
    return this.take(this.remaining);
  }

  /** An unsigned LEB128 varint of at most 10 bytes that fits 64 bits. */
  u(): number {
    let v = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      const b = this.byte();
      const bits = b & 0x7f;
      if (shift === 63 && bits > 1) this.fail('varint overflows 64 bits');
      v += bits * 2 ** shift;
      if ((b & 0x80) === 0) return v;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** A zigzag varint. */
  i(): number {
    const z = this.u();
    // z odd: −(z + 1) / 2; even: z / 2 (arithmetic, not bit operations: z may exceed 32 bits).
    return z % 2 === 1 ? -(z + 1) / 2 : z / 2;
  }

  /** An unsigned varint in `0..=max`. */
  uMax(max: number, what: string): number {
    const v = this.u();
    if (v > max) this.fail(`${what} out of range`);
    return v;
  }

  /** A signed varint in `min..=max`. */
  iIn(min: number, max: number, what: string): number {
    const v = this.i();
    if (v < min || v > max) this.fail(`${what} out of range`);
    return v;
  }

  /** A count of items at least one byte each: never more than the bytes left. */
  count(): number {
    const n = this.u();
    if (n > this.remaining) this.fail('count larger than the bytes left');
    return n;
  }
}

/** Appends `v` (a non-negative safe integer) as an unsigned LEB128 varint (tests and tools). */
export function putU(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/** Appends `v` (a safe integer) zigzag-encoded. */
export function putI(out: number[], v: number): void {
  putU(out, v < 0 ? -2 * v - 1 : 2 * v);
}
