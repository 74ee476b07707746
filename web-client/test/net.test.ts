import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Connection, backoffDelay, type ConnectionEvents } from '../src/net';
import { decodeClientMsg, type ArenaClientMsg as ClientMsg } from '../src/arena';

/** A scripted stand-in for the browser WebSocket. */
class FakeSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static all: FakeSocket[] = [];
  readyState = FakeSocket.CONNECTING;
  binaryType = 'blob';
  sent: ClientMsg[] = [];
  sentBytes: number[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(bytes: Uint8Array) {
    this.sent.push(decodeClientMsg(bytes));
    this.sentBytes.push(bytes.byteLength);
  }
  close() {
    this.readyState = FakeSocket.CLOSED;
  }
  // Test helpers
  open() {
    this.readyState = FakeSocket.OPEN;
    this.onopen?.();
  }
  receive(hex: string) {
    const bytes = new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)));
    this.onmessage?.({ data: bytes.buffer });
  }
  serverClose(code: number, reason = '') {
    this.readyState = FakeSocket.CLOSED;
    this.onclose?.({ code, reason });
  }
}

// The golden "welcome" vector: resume_token "tok123".
const WELCOME =
  '81a777656c636f6d6597c410ababababababababababababababababa272311e2a0898ca44c80000ca44610000ca41a00000ca41000000ca44e10000ca43a00000ca3ca3d70aca3fcccccda6746f6b313233';

function recorder() {
  const log: string[] = [];
  const events: ConnectionEvents = {
    status: (s) => log.push(`status:${s}`),
    welcome: (w) => log.push(`welcome:${w.room_id}`),
    snapshot: () => log.push('snap'),
    delta: (d) => log.push(`delta:${d.tick}:${d.base_tick}`),
    pong: () => log.push('pong'),
    error: () => log.push('error'),
    refused: (code, _message, reason) => log.push(`refused:${code}:${reason}`),
  };
  return { log, events };
}

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
  vi.stubGlobal('WebSocket', FakeSocket);
  vi.stubGlobal('performance', { now: () => 1000 });
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('backoff', () => {
  it('doubles from 500 ms up to 10 s, with ±25 % jitter', () => {
    const mid = () => 0.5;
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, undefined, mid))).toEqual([
      500, 1000, 2000, 4000, 8000, 10000, 10000,
    ]);
    expect(backoffDelay(0, undefined, () => 0)).toBe(375);
    expect(backoffDelay(0, undefined, () => 0.999999)).toBe(625);
  });
});

describe('connection', () => {
  it('joins on open, then pings', () => {
    const { log, events } = recorder();
    new Connection('ws://x/ws', 'r1', 'alice', events).start();
    const ws = FakeSocket.all[0]!;
    ws.open();
    expect(ws.sent).toEqual([
      {
        type: 'join',
        body: { version: 1, room: 'r1', name: 'alice', resume: null, deltas: true },
      },
    ]);
    ws.receive(WELCOME);
    expect(log).toContain('welcome:r1');
    expect(ws.sent[1]).toEqual({ type: 'ping', body: { client_time: 1000 } });
    vi.advanceTimersByTime(1000);
    expect(ws.sent.filter((m) => m.type === 'ping')).toHaveLength(2);
  });

  it('joins with deltas and passes delta snapshots on', () => {
    const { log, events } = recorder();
    new Connection('ws://x/ws', 'r1', 'alice', events).start();
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.receive(WELCOME);
    // The golden "delta_unchanged" vector: tick 46 against 45.
    ws.receive('81a564656c7461942e2dcf0000019ab697e800929390909093909090');
    expect(log.at(-1)).toBe('delta:46:45');
  });

  it('reports the payload bytes of every message sent and received (for the net stats)', () => {
    const { events } = recorder();
    const traffic: string[] = [];
    let deltaBytes = 0;
    events.traffic = (direction, bytes) => traffic.push(`${direction}:${bytes}`);
    events.delta = (_d, bytes) => (deltaBytes = bytes);
    new Connection('ws://x/ws', 'r1', 'alice', events).start();
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.receive(WELCOME);
    const delta = '81a564656c7461942e2dcf0000019ab697e800929390909093909090';
    ws.receive(delta);
    const [join, ping] = ws.sentBytes;
    expect(join).toBeGreaterThan(10);
    expect(traffic).toEqual([
      `out:${join}`,
      `in:${WELCOME.length / 2}`,
      `out:${ping}`,
      `in:${delta.length / 2}`,
    ]);
    expect(deltaBytes).toBe(delta.length / 2);
  });

  it('can join without deltas (full snapshots)', () => {
    const { events } = recorder();
    new Connection('ws://x/ws', 'r1', 'alice', events, false).start();
    const ws = FakeSocket.all[0]!;
    ws.open();
    expect(ws.sent[0]).toMatchObject({ type: 'join', body: { deltas: false } });
  });

  it('reconnects with backoff after a retryable close and resumes with the token', () => {
    const { log, events } = recorder();
    new Connection('ws://x/ws', null, 'alice', events).start();
    let ws = FakeSocket.all[0]!;
    ws.open();
    ws.receive(WELCOME);
    ws.serverClose(1001, 'server shutting down');
    expect(log.at(-1)).toBe('status:reconnecting');
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(700); // first retry after 375–625 ms
    expect(FakeSocket.all).toHaveLength(2);
    ws = FakeSocket.all[1]!;
    ws.open();
    expect(ws.sent[0]).toEqual({
      type: 'join',
      body: { version: 1, room: null, name: 'alice', resume: 'tok123', deltas: true },
    });
    // Connection refused while the server is down (1006): the delay doubles.
    ws.serverClose(1006);
    vi.advanceTimersByTime(700);
    expect(FakeSocket.all).toHaveLength(2);
    vi.advanceTimersByTime(600);
    expect(FakeSocket.all).toHaveLength(3);
  });

  it('retries exactly the retryable codes', () => {
    for (const [code, retried] of [
      [1001, true],
      [1006, true],
      [1011, true],
      [4002, true],
      [4004, true],
      [4006, true],
      [1000, false],
      [1008, false],
      [4000, false],
      [4001, false],
      [4003, false],
    ] as const) {
      FakeSocket.all = [];
      const { log, events } = recorder();
      new Connection('ws://x/ws', 'r', 'a', events).start();
      FakeSocket.all[0]!.open();
      FakeSocket.all[0]!.serverClose(code, 'why');
      vi.advanceTimersByTime(60_000);
      expect(FakeSocket.all.length > 1, `code ${code}`).toBe(retried);
      if (!retried) expect(log).toContain(`refused:${code}:why`);
    }
  });

  it('joins fresh (no resume token) after 4005', () => {
    const { events } = recorder();
    new Connection('ws://x/ws', 'r', 'a', events).start();
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.receive(WELCOME);
    ws.serverClose(4005, 'resume token unknown');
    vi.advanceTimersByTime(1);
    const next = FakeSocket.all[1]!;
    next.open();
    expect(next.sent[0]).toMatchObject({ type: 'join', body: { resume: null } });
  });

  it('resumes its seat with the token after a heartbeat timeout (4006)', () => {
    const { events } = recorder();
    new Connection('ws://x/ws', 'r', 'a', events).start();
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.receive(WELCOME);
    ws.serverClose(4006, 'heartbeat timeout');
    vi.advanceTimersByTime(60_000);
    const next = FakeSocket.all[1]!;
    next.open();
    expect(next.sent[0]).toMatchObject({ type: 'join', body: { resume: 'tok123' } });
  });

  it('does not reconnect after stop()', () => {
    const { events } = recorder();
    const c = new Connection('ws://x/ws', 'r', 'a', events);
    c.start();
    FakeSocket.all[0]!.open();
    c.stop();
    FakeSocket.all[0]!.serverClose(1006);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });
});

describe('refused upgrades', () => {
  function failToOpen(fetchImpl: () => Promise<unknown>) {
    vi.stubGlobal('fetch', vi.fn(fetchImpl));
    const { log, events } = recorder();
    new Connection('ws://x/ws?token=t', 'r', 'a', events).start();
    FakeSocket.all[0]!.serverClose(1006);
    return log;
  }

  it('explains a refused join token (HTTP 401) and stops', async () => {
    const log = failToOpen(async () => ({
      status: 401,
      text: async () => 'unauthorized: token expired\n',
    }));
    await vi.runAllTimersAsync();
    expect(fetch).toHaveBeenCalledWith('http://x/ws?token=t', expect.anything());
    expect(log).toContain('refused:401:unauthorized: token expired');
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('explains a refused origin (HTTP 403) and stops', async () => {
    const log = failToOpen(async () => ({ status: 403, text: async () => 'origin not allowed' }));
    await vi.runAllTimersAsync();
    expect(log).toContain('refused:403:origin not allowed');
  });

  it('keeps retrying when the server is unreachable or full', async () => {
    const log = failToOpen(async () => {
      throw new TypeError('Failed to fetch');
    });
    await vi.advanceTimersByTimeAsync(700);
    expect(FakeSocket.all).toHaveLength(2);
    expect(log.filter((l) => l.startsWith('refused'))).toEqual([]);
    expect(log.at(-1)).toBe('status:reconnecting');
  });
});
