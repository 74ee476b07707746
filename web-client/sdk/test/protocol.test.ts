import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  decodeClientMsg,
  decodeServerMsg,
  encodeClientMsg,
  type ArenaClientMsg,
  type ArenaServerMsg,
} from '../../src/arena';
import {
  EXACT_FLOAT_ENCODING,
  MAX_REDIRECT_HOPS,
  PROTOCOL_VERSION,
  ProtocolError,
  RedirectError,
  checkRedirect,
  isRetryableClose,
  uuidToString,
  validateName,
} from '../src/protocol';
import { fromSerde } from '../../test/serde';

interface Vector {
  direction: 'client' | 'server';
  hex: string;
  name: string;
  value: Record<string, unknown>;
  /** Packed deltas: the envelope read off the `bin` (its `value` is the bin as numbers). */
  envelope?: { tick: number; base_tick: number; server_time_ms: number; patch: string };
}

// The same golden file the Rust crate tests against; read in place, never copied.
const vectorsPath = fileURLToPath(
  new URL('../../../assets/protocol-vectors.json', import.meta.url),
);
const file = JSON.parse(readFileSync(vectorsPath, 'utf8')) as {
  protocol_version: number;
  vectors: Vector[];
};

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The serde "externally tagged" JSON form used in the vectors file. */
function serdeForm(msg: ArenaClientMsg | ArenaServerMsg): Record<string, unknown> {
  return { [msg.type]: msg.body };
}

/** A typed client message from the serde JSON form (keys are already the protocol's names). */
function clientFromSerde(value: Record<string, unknown>): ArenaClientMsg {
  const [type, body] = Object.entries(value)[0] as [ArenaClientMsg['type'], never];
  return { type, body } as ArenaClientMsg;
}

describe('the package version', () => {
  it('is tied to the protocol: major version = PROTOCOL_VERSION', () => {
    const pkgPath = fileURLToPath(new URL('../package.json', import.meta.url));
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as {
      version: string;
      tickcast: { protocolVersion: number };
    };
    expect(Number(pkg.version.split('.')[0])).toBe(PROTOCOL_VERSION);
    expect(pkg.tickcast.protocolVersion).toBe(PROTOCOL_VERSION);
  });
});

describe('protocol vectors (assets/protocol-vectors.json)', () => {
  it('covers the protocol version this client speaks', () => {
    expect(file.protocol_version).toBe(PROTOCOL_VERSION);
    expect(file.vectors.length).toBeGreaterThanOrEqual(10);
  });

  for (const v of file.vectors) {
    it(`decodes ${v.direction} vector "${v.name}"`, () => {
      const bytes = fromHex(v.hex);
      const msg = v.direction === 'server' ? decodeServerMsg(bytes) : decodeClientMsg(bytes);
      if (v.envelope) {
        expect(msg.type).toBe('packed');
        const { patch, ...envelope } = v.envelope;
        const body = msg.body as { patch: Uint8Array };
        expect({ ...body, patch: toHex(body.patch) }).toEqual({ ...envelope, patch });
        return;
      }
      expect(serdeForm(msg)).toEqual(fromSerde(v.value));
    });

    if (v.direction === 'client') {
      it(`encodes client vector "${v.name}" to the exact bytes`, () => {
        const bytes = encodeClientMsg(clientFromSerde(v.value));
        expect(toHex(bytes)).toBe(v.hex);
        expect(serdeForm(decodeClientMsg(bytes))).toEqual(v.value);
      });
    }
  }

  it('sends f32/f64 fields as msgpack float 32/64 (exact, not the plain-number fallback)', () => {
    expect(EXACT_FLOAT_ENCODING).toBe(true);
  });
});

describe('decoding rules', () => {
  it('accepts a Welcome without the optional trailing resume_token', () => {
    // {"welcome": [uuid, "r1", 30, 42, 8, [8 floats]]} — the same as the vector minus the token.
    const welcome = file.vectors.find((v) => v.name === 'welcome')!;
    const full = fromHex(welcome.hex);
    // Drop the last field: array header 0x97 -> 0x96 and strip the trailing "a6 tok123".
    const idx = full.indexOf(0x97);
    const trimmed = full.slice(0, full.length - 7);
    trimmed[idx] = 0x96;
    const msg = decodeServerMsg(trimmed);
    expect(msg.type).toBe('welcome');
    if (msg.type === 'welcome') {
      expect(msg.body.resume_token).toBeNull();
      expect(msg.body.room_id).toBe('r1');
    }
  });

  it('ignores extra trailing fields a newer server may add', () => {
    // {"pong": [1234.5, 7, "extra"]}
    const msg = decodeServerMsg(
      fromHex('81a4706f6e6793cb40934a000000000007a565787472 61'.replace(' ', '')),
    );
    expect(msg).toEqual({ type: 'pong', body: { client_time: 1234.5, server_time_ms: 7 } });
  });

  it('accepts float 64 and ints where the protocol says f32', () => {
    // {"pong": [1, 2]} with an int client_time, and a snapshot orb with float64/int coordinates.
    const pong = decodeServerMsg(fromHex('81a4706f6e67920102'));
    expect(pong).toEqual({ type: 'pong', body: { client_time: 1, server_time_ms: 2 } });
    const snap = decodeServerMsg(fromHex('81a4736e617093050692909193010acb4004000000000000'));
    expect(snap.type === 'snap' && snap.body.state.orbs).toEqual([{ id: 1, x: 10, y: 2.5 }]);
  });

  it('rejects garbage, unknown variants, trailing bytes and short structs', () => {
    expect(() => decodeServerMsg(fromHex('c1'))).toThrow(ProtocolError);
    expect(() => decodeServerMsg(fromHex('81a3666f6f90'))).toThrow(/unknown server message/);
    expect(() => decodeServerMsg(fromHex('81a4706f6e6792010200'))).toThrow(ProtocolError);
    expect(() => decodeServerMsg(fromHex('81a4706f6e679101'))).toThrow(/at least 2/);
    expect(() => decodeServerMsg(fromHex('92a4706f6e6790'))).toThrow(/one-entry map/);
  });

  it('formats uuids canonically', () => {
    const bytes = fromHex('0123456789abcdef0123456789abcdef');
    expect(uuidToString(bytes)).toBe('01234567-89ab-cdef-0123-456789abcdef');
  });

  it('encodes f32 controls as float 32 even when integral, and ping as float 64', () => {
    const input = encodeClientMsg({
      type: 'input',
      body: { seq: 1, ack_tick: 0, controls: { x: -1, y: 0, buttons: 0 } },
    });
    expect(toHex(input)).toBe('81a5696e707574930100' + '93cabf800000ca0000000000');
    const ping = encodeClientMsg({ type: 'ping', body: { client_time: 5 } });
    expect(toHex(ping)).toBe('81a470696e6791cb4014000000000000');
  });

  it('keeps every client message under the 1024-byte limit', () => {
    const join = encodeClientMsg({
      type: 'join',
      body: { version: 1, room: 'r'.repeat(32), name: '𝔁'.repeat(20), resume: 't'.repeat(64) },
    });
    expect(join.length).toBeLessThan(1024);
  });
});

describe('Join.deltas and the delta message', () => {
  it('encodes join_with_deltas to the exact bytes', () => {
    const v = file.vectors.find((x) => x.name === 'join_with_deltas')!;
    const bytes = encodeClientMsg({
      type: 'join',
      body: { version: 1, room: null, name: 'carol', resume: null, deltas: true },
    });
    expect(toHex(bytes)).toBe(v.hex);
    expect(toHex(bytes).endsWith('c3')).toBe(true);
  });

  it('sends deltas: false when a Join does not say (the protocol default)', () => {
    const bytes = encodeClientMsg({
      type: 'join',
      body: { version: 1, room: null, name: 'alice', resume: null },
    });
    expect(toHex(bytes)).toBe(file.vectors.find((x) => x.name === 'join_any_room')!.hex);
  });

  it('decodes a Join without the optional trailing fields (resume, deltas)', () => {
    // {"join": [1, nil, "alice", nil]} and {"join": [1, nil, "alice"]}
    for (const hex of ['81a46a6f696e9401c0a5616c696365c0', '81a46a6f696e9301c0a5616c696365']) {
      expect(decodeClientMsg(fromHex(hex))).toEqual({
        type: 'join',
        body: { version: 1, room: null, name: 'alice', resume: null, deltas: false },
      });
    }
    // deltas must be a bool when present.
    expect(() => decodeClientMsg(fromHex('81a46a6f696e9501c0a5616c696365c001'))).toThrow(
      /deltas: expected a bool/,
    );
  });

  // {"delta": [2, 1, 0, [[[], CHANGED, []], [[], [], ORBS]]]} with the parts below spliced in.
  const delta = (changed: string, orbs = '90', removed = '90') =>
    fromHex(`81a564656c746194020100929390${changed}9093${removed}90${orbs}`);

  it('decodes a delta with the rules of the protocol', () => {
    const msg = decodeServerMsg(delta('9300d1ff9c05', '919301d2ffffff9c02'));
    expect(msg).toEqual({
      type: 'delta',
      body: {
        tick: 2,
        base_tick: 1,
        server_time_ms: 0,
        patch: {
          players: { removed: [], changed: [0, -100, 5], added: [] },
          orbs: { removed: [], changed: [], added: [{ id: 1, x: -100, y: 2 }] },
        },
      },
    });
  });

  it('rejects a delta with values of the wrong type or range (ProtocolError)', () => {
    const bad = [
      // A fractional float in changed. (An integral float such as 1.0 cannot be told from an int
      // once @msgpack/msgpack has decoded it; it is taken as that integer.)
      delta('91ca3fc00000'),
      delta('91a131'), // a string in changed
      delta('90', '919301ce80000000 02'.replace(' ', '')), // orb x above i32
      delta('90', '9193ce0001000000 00'.replace(' ', '')), // orb id above u16
      delta('90', '919301cb3ff800000000000002'), // orb x a fractional float
      delta('90', '90', '91ff'), // a negative removed index
      delta('90', '90', '91cf0000000100000000'), // a removed index above u32
      delta('90', '9192 0102'.replace(' ', '')), // a short orb
      fromHex('81a564656c746193020100'), // no patch
      fromHex('81a564656c7461940201009190'), // a patch without orbs
    ];
    for (const bytes of bad) expect(() => decodeServerMsg(bytes)).toThrow(ProtocolError);
  });

  it('rejects a delta whose added player has a short uuid or an out-of-range score', () => {
    const v = file.vectors.find((x) => x.name === 'delta_changes')!;
    const shortUuid = v.hex.replace('c41009090909', 'c40f090909');
    expect(() => decodeServerMsg(fromHex(shortUuid))).toThrow(/16 bytes/);
    // dan's score 3 -> -1 (0xff, a negative fixint).
    const negScore = v.hex.replace('a364616eff0000d1830003', 'a364616eff0000d18300ff');
    expect(negScore).not.toBe(v.hex);
    expect(() => decodeServerMsg(fromHex(negScore))).toThrow(/score/);
  });
});

describe('held seats', () => {
  it('decodes the held flag of snapshot_held_seat, and its absence as not held', () => {
    const v = file.vectors.find((x) => x.name === 'snapshot_held_seat')!;
    const msg = decodeServerMsg(fromHex(v.hex));
    expect(msg.type === 'snap' && msg.body.state.players[0]!.held).toBe(true);
    const old = file.vectors.find((x) => x.name === 'snapshot_two_players')!;
    const before = decodeServerMsg(fromHex(old.hex));
    expect(before.type === 'snap' && before.body.state.players.map((p) => p.held)).toEqual([
      undefined,
      undefined,
    ]);
  });

  it('rejects a held flag that is not a bool', () => {
    const v = file.vectors.find((x) => x.name === 'snapshot_held_seat')!;
    // The trailing `true` (c3) of carol's entry becomes the integer 1.
    const bad = v.hex.replace('020bc390', '020b0190');
    expect(bad).not.toBe(v.hex);
    expect(() => decodeServerMsg(fromHex(bad))).toThrow(/held/);
  });
});

describe('rounds', () => {
  const snap = file.vectors.find((x) => x.name === 'snapshot_round_over')!;
  const state = (hex: string) => {
    const msg = decodeServerMsg(fromHex(hex));
    if (msg.type !== 'snap') throw new Error(`expected a snapshot, got ${msg.type}`);
    return msg.body.state;
  };

  it('decodes the round of snapshot_round_over as an ArenaRound', () => {
    expect(state(snap.hex).round).toEqual({
      number: 3,
      phase: 'over',
      endsAtTick: 3750,
      winner: '01010101-0101-0101-0101-010101010101',
    });
  });

  it('decodes a playing round without a winner, and no round as absent', () => {
    // [3, over, 3750, alice] becomes [3, playing, 3750, nil].
    const playing = snap.hex.replace(/940301cd0ea6c410(01){16}$/, '940300cd0ea6c0');
    expect(playing).not.toBe(snap.hex);
    expect(state(playing).round).toEqual({
      number: 3,
      phase: 'playing',
      endsAtTick: 3750,
      winner: null,
    });
    const old = file.vectors.find((x) => x.name === 'snapshot_two_players')!;
    expect('round' in state(old.hex)).toBe(false);
  });

  it('rejects an unknown phase and a short round', () => {
    const phase2 = snap.hex.replace(/940301cd0ea6/, '940302cd0ea6');
    expect(() => decodeServerMsg(fromHex(phase2))).toThrow(/Round.phase/);
    const short = snap.hex.replace(/940301cd0ea6c410(01){16}$/, '930301cd0ea6');
    expect(() => decodeServerMsg(fromHex(short))).toThrow(/Round/);
  });
});

describe('redirect', () => {
  it('decodes the golden redirect vectors to a url and a room', () => {
    const v = file.vectors.find((x) => x.name === 'redirect')!;
    expect(decodeServerMsg(fromHex(v.hex))).toEqual({
      type: 'redirect',
      body: { url: 'ws://10.0.0.2:8080/ws', room_id: 'lobby-1' },
    });
    const behindOneHost = file.vectors.find((x) => x.name === 'redirect_behind_one_hostname')!;
    const msg = decodeServerMsg(fromHex(behindOneHost.hex));
    expect(msg.type === 'redirect' && msg.body.url).toBe('wss://play.example.com/n/node-b/ws');
  });

  it('rejects a redirect without a room or with a url that is not a string', () => {
    // {"redirect": ["ws://a/ws"]} and {"redirect": [1, "r1"]}
    expect(() =>
      decodeServerMsg(fromHex('81a8726564697265637491a9' + '77733a2f2f612f7773')),
    ).toThrow(/at least 2/);
    expect(() => decodeServerMsg(fromHex('81a8726564697265637492' + '01a27231'))).toThrow(
      /url: expected a string/,
    );
  });

  it('follows only absolute ws:// and wss:// URLs with a host (as the Rust crate)', () => {
    const r = (url: string) => ({ url, room_id: 'r1' });
    for (const url of [
      'ws://10.0.0.2:8080/ws',
      'wss://game.example/n/node-b/ws',
      'WSS://Game.Example/ws?token=t.x',
      'ws://[::1]:8080/ws',
    ]) {
      expect(() => checkRedirect(r(url)), url).not.toThrow();
    }
    for (const url of [
      '',
      'http://10.0.0.2:8080/ws',
      'https://game.example/ws',
      'javascript:alert(1)',
      '/ws',
      'ws://',
      'ws:///ws',
      'ws:10.0.0.2/ws',
      'ws://evil host/ws',
      'wsx://h/ws',
    ]) {
      expect(() => checkRedirect(r(url)), url).toThrow(RedirectError);
    }
    expect(MAX_REDIRECT_HOPS).toBe(3);
  });
});

describe('close codes and names', () => {
  it('retries only the retryable close codes', () => {
    for (const c of [1001, 1006, 1011, 4002, 4004, 4006, 4007, 4008]) {
      expect(isRetryableClose(c)).toBe(true);
    }
    for (const c of [1000, 1002, 1003, 1007, 1008, 1009, 4000, 4001, 4003, 4005]) {
      expect(isRetryableClose(c)).toBe(false);
    }
  });

  it('validates names like the server', () => {
    expect(validateName('  alice ')).toBe('alice');
    expect(validateName('Bob <b>')).toBe('Bob <b>');
    expect(validateName('')).toBeNull();
    expect(validateName('x'.repeat(21))).toBeNull();
    expect(validateName('a\u202eb')).toBeNull();
    expect(validateName('a\u200bb')).toBeNull();
    expect(validateName('a\nb')).toBeNull();
  });
});
