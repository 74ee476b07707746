import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  Connection,
  LEAVE_FLUSH_MS,
  backoffDelay,
  redirectTarget,
  type ConnectionEvents,
} from '../src/connection';
import { makeCodec } from '../src/protocol';
// The bundled arena is the SDK's reference game in tests (the golden vectors are its messages).
import { FakeSocket, WELCOME } from './fake-socket';
import { ARENA_WIRE, type ArenaInfo, type ArenaPatch, type ArenaState } from '../../src/arena';

type Events = ConnectionEvents<ArenaState, ArenaInfo, ArenaPatch>;

/** A connection playing the arena, on the (stubbed) global WebSocket. */
function conn(
  url: string,
  room: string | null,
  name: string,
  events: Events,
  deltas = true,
  token: string | null = null,
) {
  return new Connection({ url, room, name, events, deltas, token, codec: makeCodec(ARENA_WIRE) });
}

function recorder() {
  const log: string[] = [];
  const events: Events = {
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
    conn('ws://x/ws', 'r1', 'alice', events).start();
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
    conn('ws://x/ws', 'r1', 'alice', events).start();
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
    conn('ws://x/ws', 'r1', 'alice', events).start();
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
    conn('ws://x/ws', 'r1', 'alice', events, false).start();
    const ws = FakeSocket.all[0]!;
    ws.open();
    expect(ws.sent[0]).toMatchObject({ type: 'join', body: { deltas: false } });
  });

  it('reconnects with backoff after a retryable close and resumes with the token', () => {
    const { log, events } = recorder();
    conn('ws://x/ws', null, 'alice', events).start();
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
    // A resume names the Welcome's room (for routing in a cluster; the server keeps the seat's).
    expect(ws.sent[0]).toEqual({
      type: 'join',
      body: { version: 1, room: 'r1', name: 'alice', resume: 'tok123', deltas: true },
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
      [4007, true], // without a Redirect before it: retried through the entry URL
      [1000, false],
      [1008, false],
      [4000, false],
      [4001, false],
      [4003, false],
    ] as const) {
      FakeSocket.all = [];
      const { log, events } = recorder();
      conn('ws://x/ws', 'r', 'a', events).start();
      FakeSocket.all[0]!.open();
      FakeSocket.all[0]!.serverClose(code, 'why');
      vi.advanceTimersByTime(60_000);
      expect(FakeSocket.all.length > 1, `code ${code}`).toBe(retried);
      if (!retried) expect(log).toContain(`refused:${code}:why`);
    }
  });

  it('joins fresh (no resume token) after 4005', () => {
    const { events } = recorder();
    conn('ws://x/ws', 'r', 'a', events).start();
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
    conn('ws://x/ws', 'r', 'a', events).start();
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
    const c = conn('ws://x/ws', 'r', 'a', events);
    c.start();
    FakeSocket.all[0]!.open();
    c.stop();
    FakeSocket.all[0]!.serverClose(1006);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('leaves on page-away with a 1000 close, waits once for the frame to go out, never returns', () => {
    const { events } = recorder();
    const c = conn('ws://x/ws', 'r', 'a', events);
    c.start();
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.receive(WELCOME);
    const waits: number[] = [];
    c.leave((ms) => waits.push(ms));
    expect(ws.closedWith).toBe(1000);
    expect(waits).toEqual([LEAVE_FLUSH_MS]);
    // `beforeunload` then `pagehide`: the server has answered the close, no second wait.
    c.leave((ms) => waits.push(ms));
    expect(waits).toEqual([LEAVE_FLUSH_MS]);
    c.leave((ms) => waits.push(ms));
    expect(waits).toEqual([LEAVE_FLUSH_MS]);
    ws.serverClose(1006);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('waits once more at pagehide while the server has not answered the close', () => {
    const { events } = recorder();
    const c = conn('ws://x/ws', 'r', 'a', events);
    c.start();
    const ws = FakeSocket.all[0]!;
    ws.open();
    const waits: number[] = [];
    c.leave((ms) => waits.push(ms));
    ws.readyState = FakeSocket.CLOSING;
    c.leave((ms) => waits.push(ms));
    c.leave((ms) => waits.push(ms));
    expect(waits).toEqual([LEAVE_FLUSH_MS, LEAVE_FLUSH_MS]);
  });

  it('a page that goes away before its socket opened does not wait', () => {
    const { events } = recorder();
    const c = conn('ws://x/ws', 'r', 'a', events);
    c.start();
    const waits: number[] = [];
    c.leave((ms) => waits.push(ms));
    expect(waits).toEqual([]);
  });
});

describe('the handshake and rejoining', () => {
  it('offers the join token as a subprotocol next to tickcast.v1, never in the URL', () => {
    const { events } = recorder();
    conn('ws://x/ws', 'r1', 'alice', events, true, 'abc.def').start();
    expect(FakeSocket.all[0]!.url).toBe('ws://x/ws');
    expect(FakeSocket.all[0]!.protocols).toEqual(['tickcast.v1', 'tickcast.token.abc.def']);
    FakeSocket.all = [];
    conn('ws://x/ws', 'r1', 'alice', events).start();
    expect(FakeSocket.all[0]!.protocols).toEqual(['tickcast.v1']);
  });

  it('after a close that cannot resume, rejoins the room the server assigned (also after quick play)', () => {
    const { events } = recorder();
    conn('ws://x/ws', null, 'alice', events).start();
    const quick = FakeSocket.all[0]!;
    quick.open();
    expect(quick.sent[0]).toMatchObject({ type: 'join', body: { room: null } });
    quick.receive(WELCOME); // the server put us in room "r1"
    quick.serverClose(1001, 'server shutting down');
    vi.advanceTimersByTime(700);
    const restarted = FakeSocket.all[1]!;
    restarted.open();
    expect(restarted.sent[0]).toMatchObject({ body: { room: 'r1', resume: 'tok123' } });
    // The restarted server does not know the seat: a fresh join, to the same room by id.
    restarted.serverClose(4005, 'resume token unknown');
    vi.advanceTimersByTime(1);
    const fresh = FakeSocket.all[2]!;
    fresh.open();
    expect(fresh.sent[0]).toMatchObject({ body: { room: 'r1', resume: null } });
  });
});

describe('redirects', () => {
  // The golden "redirect" vector: ws://10.0.0.2:8080/ws, room "lobby-1".
  const REDIRECT =
    '81a8726564697265637492b577733a2f2f31302e302e302e323a383038302f7773a76c6f6262792d31';

  it('follows a redirect at once to the room’s node: same name, its room, the page’s token', () => {
    const { log, events } = recorder();
    conn('ws://lb/ws?token=t.x', null, 'alice', events).start();
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.receive(REDIRECT);
    ws.serverClose(4007, 'room is on another node');
    // No timer has run: the next socket is already open(ing).
    expect(FakeSocket.all).toHaveLength(2);
    const next = FakeSocket.all[1]!;
    expect(next.url).toBe('ws://10.0.0.2:8080/ws?token=t.x');
    next.open();
    expect(next.sent[0]).toEqual({
      type: 'join',
      body: { version: 1, room: 'lobby-1', name: 'alice', resume: null, deltas: true },
    });
    next.receive(WELCOME);
    expect(log).toEqual(['status:connecting', 'status:moving', 'status:connected', 'welcome:r1']);
  });

  it('resumes its seat on the new node after a hand-over (redirect while playing)', () => {
    const { log, events } = recorder();
    conn('ws://x/ws', 'r1', 'alice', events).start();
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.receive(WELCOME);
    ws.redirectTo('wss://node-b.example/ws', 'r1');
    const next = FakeSocket.all[1]!;
    expect(next.url).toBe('wss://node-b.example/ws');
    next.open();
    expect(next.sent[0]).toMatchObject({ type: 'join', body: { room: 'r1', resume: 'tok123' } });
    expect(log.filter((l) => l.startsWith('refused'))).toEqual([]);
    expect(log.at(-1)).toBe('status:moving');
  });

  it('gives up after three redirects in a row, with a clear status', () => {
    const { log, events } = recorder();
    conn('ws://x/ws', 'r1', 'alice', events).start();
    for (let i = 0; i < 4; i++) {
      const ws = FakeSocket.all[i]!;
      ws.open();
      ws.redirectTo(`ws://node-${i}/ws`, 'r1');
    }
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all.map((s) => s.url)).toEqual([
      'ws://x/ws',
      'ws://node-0/ws',
      'ws://node-1/ws',
      'ws://node-2/ws',
    ]);
    expect(log.at(-2)).toBe('status:refused');
    expect(log.at(-1)).toBe(
      'refused:4007:gave up after 4 redirects in a row (the last to "ws://node-3/ws")',
    );
  });

  it('counts the hops again after a Welcome', () => {
    const { log, events } = recorder();
    conn('ws://x/ws', 'r1', 'alice', events).start();
    let n = 0;
    const hop = () => {
      const ws = FakeSocket.all[n++]!;
      ws.open();
      ws.redirectTo(`ws://node-${n}/ws`, 'r1');
    };
    hop();
    hop();
    hop();
    // Welcomed on the third node; then three hand-overs in a row are followed again.
    const welcomed = FakeSocket.all[n]!;
    welcomed.open();
    welcomed.receive(WELCOME);
    welcomed.redirectTo('ws://node-4/ws', 'r1');
    n++;
    hop();
    hop();
    expect(FakeSocket.all).toHaveLength(7);
    expect(log.filter((l) => l.startsWith('refused'))).toEqual([]);
  });

  it('does not follow a redirect that is not to a ws:// or wss:// URL', () => {
    const { log, events } = recorder();
    conn('ws://x/ws', 'r1', 'alice', events).start();
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.redirectTo('https://evil.example/ws', 'r1');
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(log.at(-1)).toBe(
      'refused:4007:redirect to "https://evil.example/ws" refused: not a ws:// or wss:// URL',
    );
  });

  it('goes back to the entry URL for a reconnect with backoff', () => {
    const { events } = recorder();
    conn('ws://lb/ws', null, 'alice', events).start();
    FakeSocket.all[0]!.open();
    FakeSocket.all[0]!.redirectTo('ws://node-b/ws', 'r1');
    const b = FakeSocket.all[1]!;
    b.open();
    b.receive(WELCOME);
    b.serverClose(1006); // node B is gone
    vi.advanceTimersByTime(700);
    const again = FakeSocket.all[2]!;
    expect(again.url).toBe('ws://lb/ws');
    again.open();
    expect(again.sent[0]).toMatchObject({ type: 'join', body: { room: 'r1', resume: 'tok123' } });
  });

  it('keeps a redirect’s own token and carries none the page does not have', () => {
    const r = (url: string) => ({ url, room_id: 'r1' });
    expect(redirectTarget(r('ws://b/ws?token=own'), 'ws://lb/ws?token=page')).toBe(
      'ws://b/ws?token=own',
    );
    expect(redirectTarget(r('wss://b/n/2/ws'), 'wss://lb/ws')).toBe('wss://b/n/2/ws');
    expect(() => redirectTarget(r('javascript:alert(1)'), 'ws://lb/ws')).toThrow(
      /not a ws:\/\/ or wss:\/\/ URL/,
    );
  });
});

describe('refused upgrades', () => {
  function failToOpen(fetchImpl: () => Promise<unknown>) {
    vi.stubGlobal('fetch', vi.fn(fetchImpl));
    const { log, events } = recorder();
    conn('ws://x/ws?token=t', 'r', 'a', events).start();
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

  it('asks with the join token as a bearer token when it offered it as a subprotocol', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => ({ status: 401, text: async () => 'unauthorized: bad token signature' })),
    );
    const { log, events } = recorder();
    conn('ws://x/ws', 'r', 'a', events, true, 'abc.def').start();
    FakeSocket.all[0]!.serverClose(1006);
    await vi.runAllTimersAsync();
    expect(fetch).toHaveBeenCalledWith('http://x/ws', {
      cache: 'no-store',
      credentials: 'same-origin',
      headers: { authorization: 'Bearer abc.def' },
    });
    expect(log).toContain('refused:401:unauthorized: bad token signature');
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
