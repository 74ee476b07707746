/**
 * The tickcast wire protocol, version 1 (see shared/PROTOCOL.md, which is normative): the
 * envelopes, generic over the game's own types like the Rust crate's (`I` input, `S` snapshot
 * state, `W` welcome parameters, `P` delta patch), the codec, close codes and validation.
 *
 * MessagePack itself is done by `@msgpack/msgpack`; this module only converts between the
 * positional arrays of the wire (structs are arrays, enum variants are one-entry maps) and typed
 * objects. Field names follow the protocol (snake_case) so that a decoded message is exactly the
 * serde JSON form of `assets/protocol-vectors.json`, with uuids as canonical hex strings.
 *
 * Nothing here knows a game: a game supplies a {@link GameWire} for its own bodies and gets a
 * bound codec from {@link makeCodec}. The bundled arena's types and codec live in `arena.ts`,
 * which imports this module and `delta.ts`; neither imports it.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import { VarintReader } from './varint.js';

export const PROTOCOL_VERSION = 1;
/** `MAX_CLIENT_MESSAGE_BYTES`: the server closes with 1009 above this. */
export const MAX_CLIENT_MESSAGE_BYTES = 1024;

// ---------------------------------------------------------------------------------------------
// Types

export interface Join {
  version: number;
  room: string | null;
  name: string;
  resume: string | null;
  /** Whether this client applies delta snapshots (absent = false, the protocol's default). */
  deltas?: boolean;
  /**
   * With `deltas`: whether it applies packed ones (`"d"`, PROTOCOL.md "Packed deltas"). On the
   * wire only when true, so a join without it is encoded as before it existed.
   */
  packed?: boolean;
}

export interface Input<I> {
  seq: number;
  ack_tick: number;
  /** The game-specific control state. */
  controls: I;
}

export interface Ping {
  client_time: number;
}

export type ClientMsg<I> =
  { type: 'join'; body: Join } | { type: 'input'; body: Input<I> } | { type: 'ping'; body: Ping };

export interface Welcome<W> {
  player_id: string;
  room_id: string;
  tick_rate: number;
  tick: number;
  max_players: number;
  /** The game's parameters. */
  game: W;
  resume_token: string | null;
}

export interface Snapshot<S> {
  tick: number;
  server_time_ms: number;
  state: S;
}

/** The body of the `delta` server message: a patch against the state of `base_tick`. */
export interface DeltaSnapshot<P> {
  tick: number;
  base_tick: number;
  server_time_ms: number;
  patch: P;
}

/**
 * The body of the `d` server message (PROTOCOL.md, "Packed deltas"): the envelope read off the
 * `bin`, and the game's packed patch, applied by the baseline store with the Welcome's tick rate.
 */
export interface PackedDelta {
  tick: number;
  /** 0: against the empty state. */
  base_tick: number;
  server_time_ms: number;
  /** The game's packed patch (the rest of the `bin`). */
  patch: Uint8Array;
}

export interface Pong {
  client_time: number;
  server_time_ms: number;
}

export interface ErrorMsg {
  code: number;
  message: string;
}

/**
 * The room is on another node: close 4007 follows, and the client repeats its join at `url` at
 * once, naming `room_id` (PROTOCOL.md, "Redirect").
 */
export interface Redirect {
  /** The owner node's absolute WebSocket URL, e.g. `ws://10.0.0.2:8080/ws`. */
  url: string;
  /** The room the join must name at `url`. */
  room_id: string;
}

export type ServerMsg<S, W, P> =
  | { type: 'welcome'; body: Welcome<W> }
  | { type: 'snap'; body: Snapshot<S> }
  | { type: 'delta'; body: DeltaSnapshot<P> }
  | { type: 'packed'; body: PackedDelta }
  | { type: 'pong'; body: Pong }
  | { type: 'error'; body: ErrorMsg }
  | { type: 'redirect'; body: Redirect };

/** A message that is valid MessagePack but not a valid tickcast message. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

// ---------------------------------------------------------------------------------------------
// Close codes (PROTOCOL.md, "Close codes")

export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  TextFrame: 1003,
  Abnormal: 1006,
  InvalidMessage: 1007,
  Policy: 1008,
  TooBig: 1009,
  Internal: 1011,
  VersionMismatch: 4000,
  RoomFull: 4001,
  ServerFull: 4002,
  InvalidName: 4003,
  TooSlow: 4004,
  ResumeUnknown: 4005,
  TimedOut: 4006,
  Redirect: 4007,
  RoomCreationLimited: 4008,
} as const;

/**
 * Close codes after which a client reconnects: with backoff, except 4006 and 4007 (the seat is
 * held; after 4007 to the Redirect's URL).
 */
export const RETRYABLE_CLOSE_CODES: ReadonlySet<number> = new Set([
  1001, 1006, 1011, 4002, 4004, 4006, 4007, 4008,
]);

export function isRetryableClose(code: number): boolean {
  return RETRYABLE_CLOSE_CODES.has(code);
}

/** A short human explanation of a close code, for the player. */
export function describeClose(code: number): string {
  switch (code) {
    case 1000:
      return 'The connection was closed.';
    case 1001:
      return 'The server is restarting.';
    case 1002:
      return 'WebSocket protocol error.';
    case 1003:
      return 'The server only speaks binary frames.';
    case 1006:
      return 'The connection to the server was lost.';
    case 1007:
      return 'The server could not understand this client.';
    case 1008:
      return 'The server closed the connection (policy violation).';
    case 1009:
      return 'A message was too large.';
    case 1011:
      return 'The room hit an internal error.';
    case 4000:
      return 'This client is out of date (protocol version mismatch). Reload the page.';
    case 4001:
      return 'That room is full. Pick another room or quick-play.';
    case 4002:
      return 'The server is full right now.';
    case 4003:
      return 'That name or room id is not allowed.';
    case 4004:
      return 'This tab fell behind the game.';
    case 4005:
      return 'Your seat expired; joining as a new player.';
    case 4006:
      return 'The server stopped hearing from this tab; resuming your seat.';
    case 4007:
      return 'The room is on another server; moving there.';
    case 4008:
      return 'Too many new rooms were opened from your network. Try again in a few seconds, or use quick play.';
    default:
      return `The server closed the connection (code ${code}).`;
  }
}

// ---------------------------------------------------------------------------------------------
// Redirects (PROTOCOL.md, "Redirect")

/** Redirects a client follows in a row, without a Welcome in between, before giving up. */
export const MAX_REDIRECT_HOPS = 3;

/** Why a client does not follow a {@link Redirect}. */
export class RedirectError extends Error {
  constructor(
    readonly kind: 'not-websocket' | 'too-many-hops',
    readonly url: string,
    message: string,
  ) {
    super(message);
    this.name = 'RedirectError';
  }
}

// An absolute ws:// or wss:// URL with a host, nothing blank in it (the Rust crate's rule).
const REDIRECT_URL_RE = /^wss?:\/\/[^/?#\s]\S*$/i;

/**
 * Throws a {@link RedirectError} unless a client may follow `r`: its URL must be an absolute
 * `ws://` or `wss://` URL with a host (never another scheme: an `http:` page, `javascript:` …).
 */
export function checkRedirect(r: Redirect): void {
  if (!REDIRECT_URL_RE.test(r.url)) {
    throw new RedirectError(
      'not-websocket',
      r.url,
      `redirect to ${JSON.stringify(r.url)} refused: not a ws:// or wss:// URL`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Validation helpers shared with the lobby

export const ROOM_ID_RE = /^[A-Za-z0-9_-]{1,32}$/;

export function isValidRoomId(room: string): boolean {
  return ROOM_ID_RE.test(room);
}

// Control characters, zero-width characters and bidi overrides/isolates (PROTOCOL.md, Join).
// eslint-disable-next-line no-control-regex
const BAD_NAME_CHARS = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/u;

/** Mirrors the server's name rule: 1–20 characters after trimming, nothing invisible. */
export function validateName(raw: string): string | null {
  const name = raw.trim();
  const len = [...name].length;
  if (len < 1 || len > 20 || BAD_NAME_CHARS.test(name)) return null;
  return name;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Protocol `f32` fields are msgpack float 32 on the wire (what rmp-serde writes) and `f64` fields
 * are float 64. JavaScript has one number type and `@msgpack/msgpack` writes integral numbers
 * (1.0, 0) as ints, so float fields are wrapped in `F32`/`F64` markers and written by the
 * library's own float writers through a small hook on its encoder. The hook uses internal methods,
 * so it is probed at start-up: if the library ever changes shape, the markers are sent as plain
 * numbers, which the server also accepts ("Decoders must also accept float 64 and any int").
 */
class F32 {
  constructor(readonly value: number) {}
}
class F64 {
  constructor(readonly value: number) {}
}

/** Marks a protocol `f32` field of a message about to be encoded (see above). */
export function f32(value: number): unknown {
  return new F32(value);
}

/** Marks a protocol `f64` field of a message about to be encoded (see above). */
export function f64(value: number): unknown {
  return new F64(value);
}

interface EncoderInternals {
  doEncode(object: unknown, depth: number): void;
  writeU8(value: number): void;
  writeF32(value: number): void;
  writeF64(value: number): void;
}

function unwrapFloats(value: unknown): unknown {
  if (value instanceof F32 || value instanceof F64) return value.value;
  if (Array.isArray(value)) return value.map(unwrapFloats);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapFloats(v)]));
  }
  return value;
}

function makeEncoder(): { encode(value: unknown): Uint8Array; exact: boolean } {
  const encoder = new Encoder();
  const internals = encoder as unknown as EncoderInternals;
  if (
    typeof internals.doEncode === 'function' &&
    typeof internals.writeU8 === 'function' &&
    typeof internals.writeF32 === 'function' &&
    typeof internals.writeF64 === 'function'
  ) {
    const base = internals.doEncode;
    internals.doEncode = function (this: EncoderInternals, object: unknown, depth: number) {
      if (object instanceof F32) {
        this.writeU8(0xca);
        this.writeF32(object.value);
      } else if (object instanceof F64) {
        this.writeU8(0xcb);
        this.writeF64(object.value);
      } else {
        base.call(this, object, depth);
      }
    };
    const probe = encoder.encode([new F32(1), new F64(1)]);
    const expected = [0x92, 0xca, 0x3f, 0x80, 0, 0, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0];
    if (probe.length === expected.length && probe.every((b, i) => b === expected[i])) {
      return { encode: (v) => encoder.encode(v), exact: true };
    }
  }
  const plain = new Encoder();
  return { encode: (v) => plain.encode(unwrapFloats(v)), exact: false };
}

const encoder = makeEncoder();

/** Whether float fields go out as float 32 / float 64 (true with the pinned @msgpack/msgpack). */
export const EXACT_FLOAT_ENCODING = encoder.exact;

function nullable<T>(v: T | null | undefined): T | null {
  return v === undefined ? null : v;
}

/**
 * What the codec needs to know about a game: how its own parts of the messages look on the wire
 * (positional arrays, floats marked with {@link f32}/{@link f64}). Each `…FromWire` checks the
 * shape and types and throws a {@link ProtocolError} for anything else.
 */
export interface GameWire<I, S, W, P> {
  /** The wire form of `Input.controls`. */
  inputToWire(input: I): unknown;
  inputFromWire(v: unknown): I;
  /** `Welcome.game`. */
  infoFromWire(v: unknown): W;
  /** `Snapshot.state`. */
  stateFromWire(v: unknown): S;
  /** `Delta.patch`. */
  patchFromWire(v: unknown): P;
}

/** The positional (wire) form of a client message, before MessagePack (floats still marked). */
function clientMsgToWire<I>(
  game: GameWire<I, unknown, unknown, unknown>,
  msg: ClientMsg<I>,
): Record<string, unknown[]> {
  switch (msg.type) {
    case 'join': {
      const j = msg.body;
      return {
        join: [
          j.version,
          nullable(j.room),
          j.name,
          nullable(j.resume),
          j.deltas ?? false,
          ...(j.packed ? [true] : []),
        ],
      };
    }
    case 'input': {
      const i = msg.body;
      return { input: [i.seq, i.ack_tick, game.inputToWire(i.controls)] };
    }
    case 'ping':
      return { ping: [new F64(msg.body.client_time)] };
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

const decoder = new Decoder();

// The checks below are exported for a game's {@link GameWire}: each takes the value and a name
// for the error message, and throws a ProtocolError if the value is not of its type.

export function fail(what: string): never {
  throw new ProtocolError(what);
}

export function arr(v: unknown, what: string, minLen: number): unknown[] {
  if (!Array.isArray(v)) fail(`${what}: expected an array`);
  if (v.length < minLen) fail(`${what}: expected at least ${minLen} fields, got ${v.length}`);
  return v;
}

export function num(v: unknown, what: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return fail(`${what}: expected a number`);
}

export function uint(v: unknown, what: string): number {
  const n = num(v, what);
  if (!Number.isInteger(n) || n < 0) fail(`${what}: expected an unsigned integer`);
  return n;
}

export function str(v: unknown, what: string): string {
  if (typeof v !== 'string') fail(`${what}: expected a string`);
  return v;
}

export function optStr(v: unknown, what: string): string | null {
  return v == null ? null : str(v, what);
}

/** An optional trailing bool: absent or nil is false. */
function optBool(v: unknown, what: string): boolean {
  if (v == null) return false;
  if (typeof v !== 'boolean') fail(`${what}: expected a bool`);
  return v;
}

/** Formats 16 raw bytes (RFC 4122 order) as the canonical 8-4-4-4-12 lowercase hex string. */
export function uuidToString(bytes: Uint8Array): string {
  if (bytes.length !== 16) fail(`uuid: expected 16 bytes, got ${bytes.length}`);
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function uuid(v: unknown, what: string): string {
  if (!(v instanceof Uint8Array)) fail(`${what}: expected bin 16`);
  return uuidToString(v);
}

/** An integer in `min..=max` (a float with a fraction, or a value out of range, is refused). */
export function intIn(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(`${what}: expected an integer in ${min}..=${max}`);
  }
  return v;
}

export const I32_MIN = -0x8000_0000;
export const I32_MAX = 0x7fff_ffff;
export const U32_MAX = 0xffff_ffff;

export function i32(v: unknown, what: string): number {
  return intIn(v, what, I32_MIN, I32_MAX);
}

export function u32(v: unknown, what: string): number {
  return intIn(v, what, 0, U32_MAX);
}

/** Splits a one-entry map `{ "variant": body }`. */
function variant(v: unknown): [string, unknown] {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) {
    fail('expected a one-entry map {variant: body}');
  }
  const entries = Object.entries(v);
  if (entries.length !== 1) fail(`expected a one-entry map, got ${entries.length} entries`);
  return entries[0] as [string, unknown];
}

/**
 * The packed envelope: `tick`, `tick − base_tick` (0: against the empty state) and
 * `server_time_ms` as unsigned varints, then the patch.
 */
export function packedDeltaFromBytes(bytes: Uint8Array): PackedDelta {
  const r = new VarintReader(bytes, (what) => fail(`PackedDelta: ${what}`));
  const tick = r.u();
  const back = r.u();
  const server_time_ms = r.u();
  if (back > tick) fail('PackedDelta: base tick before tick 0');
  return { tick, base_tick: back === 0 ? 0 : tick - back, server_time_ms, patch: r.rest() };
}

/** Converts an already-unpacked server message (positional arrays) to a typed one. */
function serverMsgFromWire<S, W, P>(
  game: GameWire<unknown, S, W, P>,
  value: unknown,
): ServerMsg<S, W, P> {
  const [key, body] = variant(value);
  switch (key) {
    case 'welcome': {
      const w = arr(body, 'Welcome', 6);
      return {
        type: 'welcome',
        body: {
          player_id: uuid(w[0], 'player_id'),
          room_id: str(w[1], 'room_id'),
          tick_rate: uint(w[2], 'tick_rate'),
          tick: uint(w[3], 'tick'),
          max_players: uint(w[4], 'max_players'),
          game: game.infoFromWire(w[5]),
          resume_token: optStr(w[6], 'resume_token'),
        },
      };
    }
    case 'snap': {
      const s = arr(body, 'Snapshot', 3);
      return {
        type: 'snap',
        body: {
          tick: uint(s[0], 'tick'),
          server_time_ms: uint(s[1], 'server_time_ms'),
          state: game.stateFromWire(s[2]),
        },
      };
    }
    case 'delta': {
      const d = arr(body, 'Delta', 4);
      return {
        type: 'delta',
        body: {
          tick: uint(d[0], 'tick'),
          base_tick: uint(d[1], 'base_tick'),
          server_time_ms: uint(d[2], 'server_time_ms'),
          patch: game.patchFromWire(d[3]),
        },
      };
    }
    case 'd': {
      if (!(body instanceof Uint8Array)) fail('PackedDelta: expected a bin');
      return { type: 'packed', body: packedDeltaFromBytes(body) };
    }
    case 'pong': {
      const p = arr(body, 'Pong', 2);
      return {
        type: 'pong',
        body: {
          client_time: num(p[0], 'client_time'),
          server_time_ms: uint(p[1], 'server_time_ms'),
        },
      };
    }
    case 'error': {
      const e = arr(body, 'Error', 2);
      return { type: 'error', body: { code: uint(e[0], 'code'), message: str(e[1], 'message') } };
    }
    case 'redirect': {
      const r = arr(body, 'Redirect', 2);
      return { type: 'redirect', body: { url: str(r[0], 'url'), room_id: str(r[1], 'room_id') } };
    }
    default:
      return fail(`unknown server message "${key}"`);
  }
}

/** Converts an already-unpacked client message to a typed one (used by tests and tools). */
function clientMsgFromWire<I>(
  game: GameWire<I, unknown, unknown, unknown>,
  value: unknown,
): ClientMsg<I> {
  const [key, body] = variant(value);
  switch (key) {
    case 'join': {
      const j = arr(body, 'Join', 3);
      return {
        type: 'join',
        body: {
          version: uint(j[0], 'version'),
          room: optStr(j[1], 'room'),
          name: str(j[2], 'name'),
          resume: optStr(j[3], 'resume'),
          deltas: optBool(j[4], 'deltas'),
          // Like serde's JSON form: the flag only when set.
          ...(optBool(j[5], 'packed') ? { packed: true } : {}),
        },
      };
    }
    case 'input': {
      const i = arr(body, 'Input', 3);
      return {
        type: 'input',
        body: {
          seq: uint(i[0], 'seq'),
          ack_tick: uint(i[1], 'ack_tick'),
          controls: game.inputFromWire(i[2]),
        },
      };
    }
    case 'ping': {
      const p = arr(body, 'Ping', 1);
      return { type: 'ping', body: { client_time: num(p[0], 'client_time') } };
    }
    default:
      return fail(`unknown client message "${key}"`);
  }
}

function unpack(bytes: Uint8Array): unknown {
  try {
    // `decode` rejects trailing bytes ("Extra ... found"), as the protocol requires.
    return decoder.decode(bytes);
  } catch (e) {
    throw new ProtocolError(`not valid MessagePack: ${(e as Error).message}`);
  }
}

/** The protocol's messages for one game, encoded and decoded. */
export interface Codec<I, S, W, P> {
  encodeClientMsg(msg: ClientMsg<I>): Uint8Array;
  decodeClientMsg(bytes: Uint8Array): ClientMsg<I>;
  decodeServerMsg(bytes: Uint8Array): ServerMsg<S, W, P>;
  /** Converts an already-unpacked client message (positional arrays) to a typed one. */
  clientMsgFromWire(value: unknown): ClientMsg<I>;
  /** Converts an already-unpacked server message (positional arrays) to a typed one. */
  serverMsgFromWire(value: unknown): ServerMsg<S, W, P>;
}

/** The codec of the game whose parts of the messages `game` describes. */
export function makeCodec<I, S, W, P>(game: GameWire<I, S, W, P>): Codec<I, S, W, P> {
  return {
    encodeClientMsg: (msg) => encoder.encode(clientMsgToWire(game, msg)),
    decodeClientMsg: (bytes) => clientMsgFromWire(game, unpack(bytes)),
    decodeServerMsg: (bytes) => serverMsgFromWire(game, unpack(bytes)),
    clientMsgFromWire: (value) => clientMsgFromWire(game, value),
    serverMsgFromWire: (value) => serverMsgFromWire(game, value),
  };
}
