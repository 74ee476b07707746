import { decode, encode } from '@msgpack/msgpack';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeCodec } from '../src/protocol';
import { connect, type GameClient } from '../src/room';
import type { WebSocketCtor } from '../src/transport';
import { FakeSocket, WELCOME } from './fake-socket';
import {
  ARENA_DIFF,
  ARENA_WIRE,
  dequantizeArena,
  type ArenaInfo,
  type ArenaPatch,
  type ArenaState,
  type Controls,
  type QuantizedArena,
} from '../../src/arena';

const arena: GameClient<Controls, ArenaState, ArenaInfo, ArenaPatch, QuantizedArena> = {
  codec: makeCodec(ARENA_WIRE),
  deltas: { diff: ARENA_DIFF, toState: dequantizeArena },
  players: (s) => s.players,
};

const STILL: Controls = { x: 0, y: 0, buttons: 0 };

/** The golden Welcome with another room id (what a server that placed us elsewhere sends). */
function welcomeTo(room: string): string {
  const bytes = new Uint8Array(WELCOME.match(/../g)!.map((h) => parseInt(h, 16)));
  const w = decode(bytes) as { welcome: unknown[] };
  w.welcome[1] = room;
  return [...encode(w)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Connects to the fake server and plays its Welcome; resolves with the room and its events. */
async function joined(room: string | null = 'r1') {
  const log: string[] = [];
  const pending = connect('ws://x/ws', {
    game: arena,
    name: 'alice',
    room,
    WebSocket: FakeSocket as unknown as WebSocketCtor,
  });
  const ws = FakeSocket.all[0]!;
  ws.open();
  ws.receive(WELCOME);
  const r = await pending;
  r.on('status', (s) => log.push(`status:${s}`));
  r.on('welcome', (w) => log.push(`welcome:${w.room_id}`));
  r.on('moved', (from, to) => log.push(`moved:${from}->${to}`));
  r.on('close', (code) => log.push(`close:${code}`));
  return { room: r, log };
}

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Room', () => {
  it('resolves on the Welcome, then numbers inputs and acknowledges nothing before a state', async () => {
    const { room } = await joined();
    expect(room.id).toBe('r1');
    expect(room.connected).toBe(true);
    expect(room.sendInput(STILL)).toBe(1);
    expect(room.sendInput(STILL)).toBe(2);
    const inputs = FakeSocket.all[0]!.sent.filter((m) => m.type === 'input');
    expect(inputs.map((m) => m.body)).toEqual([
      { seq: 1, ack_tick: 0, controls: STILL },
      { seq: 2, ack_tick: 0, controls: STILL },
    ]);
  });

  it('rejects connect with the refusal when the server refuses the join', async () => {
    const pending = connect('ws://x/ws', {
      game: arena,
      name: 'alice',
      room: 'full',
      WebSocket: FakeSocket as unknown as WebSocketCtor,
    });
    FakeSocket.all[0]!.open();
    FakeSocket.all[0]!.serverClose(4001, 'room is full');
    await expect(pending).rejects.toMatchObject({ code: 4001, reason: 'room is full' });
  });

  it('follows a mid-game redirect (live migration) with a resume: no close, no reconnect, inputs go on', async () => {
    const { room, log } = await joined();
    room.sendInput(STILL);
    FakeSocket.all[0]!.redirectTo('ws://node-b/ws', 'r1');
    expect(room.sendInput(STILL)).toBeNull(); // between nodes: nothing is sent, seq unchanged
    const b = FakeSocket.all[1]!;
    expect(b.url).toBe('ws://node-b/ws');
    b.open();
    expect(b.sent[0]).toMatchObject({ type: 'join', body: { room: 'r1', resume: 'tok123' } });
    b.receive(WELCOME);
    expect(log).toEqual(['status:moving', 'status:connected', 'welcome:r1']);
    expect(room.playerId).toBe('abababab-abab-abab-abab-abababababab');
    expect(room.sendInput(STILL)).toBe(2);
  });

  it('says when a rejoin lands in another room than before', async () => {
    const { room, log } = await joined(null);
    FakeSocket.all[0]!.serverClose(4005, 'resume token unknown');
    vi.advanceTimersByTime(1);
    const next = FakeSocket.all[1]!;
    next.open();
    expect(next.sent[0]).toMatchObject({ body: { room: 'r1', resume: null } });
    next.receive(welcomeTo('r2'));
    expect(log.filter((l) => l.startsWith('moved'))).toEqual(['moved:r1->r2']);
    expect(room.id).toBe('r2');
  });

  it('leaves with a 1000 close and reports it once', async () => {
    const { room, log } = await joined();
    room.leave();
    expect(FakeSocket.all[0]!.closedWith).toBe(1000);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(log.filter((l) => l.startsWith('close'))).toEqual(['close:1000']);
  });
});
