/**
 * The SDK in Node against the real server (the cargo-built binary on port 0), through a TCP
 * proxy that can cut the connection: joins, plays (its inputs are acknowledged in the snapshots),
 * resumes its seat after a cut connection (same player, score and position kept), and leaves
 * (another client sees it gone at once). The `ws` package is the WebSocket: Node 20 has none.
 *
 *   npm run test:sdk        (TICKCAST_SERVER_BIN=path to skip the cargo build)
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { JoinRefusedError, connect, makeCodec, type GameClient, type Room } from 'tickcast-client';
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
import { startTcpProxy, type TcpProxy } from '../../e2e/tcp-proxy.mjs';
import { serverBinary, startServer, until, type RunningServer } from './server';

/** The bundled arena, as a game of the SDK. */
const arena: GameClient<Controls, ArenaState, ArenaInfo, ArenaPatch, QuantizedArena> = {
  codec: makeCodec(ARENA_WIRE),
  deltas: { diff: ARENA_DIFF, toState: dequantizeArena },
  players: (s) => s.players,
};

type ArenaRoom = Room<Controls, ArenaState, ArenaInfo, ArenaPatch, QuantizedArena>;

let server: RunningServer;
let proxy: TcpProxy;

beforeAll(async () => {
  server = await startServer('sdk-integration');
  proxy = await startTcpProxy(server.port);
}, 20 * 60_000);

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
});

/** Sends inputs every 30 ms until the room's own player shows `last_input` ≥ the newest seq. */
async function playUntilAcked(room: ArenaRoom, controls: Controls, inputs = 10) {
  let sent = 0;
  let newest = 0;
  const timer = setInterval(() => {
    if (sent >= inputs) return;
    const seq = room.sendInput(controls);
    if (seq !== null) {
      sent++;
      newest = seq;
    }
  }, 30);
  try {
    return await until(`${inputs} inputs acknowledged`, () => {
      const me = room.state?.players.find((p) => p.id === room.playerId);
      return sent >= inputs && me && me.last_input >= newest ? me : undefined;
    });
  } finally {
    clearInterval(timer);
  }
}

describe('the SDK in Node against the real server', () => {
  it('joins, plays, resumes after a cut connection, and leaves', async () => {
    const roomId = `sdk-${process.pid}`;
    const proxied = `ws://127.0.0.1:${new URL(proxy.url).port}/ws`;
    const room = await connect(proxied, { game: arena, name: 'sdk', room: roomId, WebSocket });
    expect(room.id).toBe(roomId);
    const me = room.playerId!;
    const welcomes: string[] = [];
    room.on('welcome', (w) => welcomes.push(w.player_id));
    const statuses: string[] = [];
    room.on('status', (s) => statuses.push(s));

    // Plays: inputs go out numbered, the server applies them (last_input) and the state moves.
    const before = await playUntilAcked(room, { x: 0, y: 0, buttons: 0 }, 3);
    const moved = await playUntilAcked(room, { x: 1, y: 0, buttons: 0 }, 20);
    expect(moved.x).toBeGreaterThan(before.x);
    expect(room.ackTick).toBeGreaterThan(0);
    expect(room.stats.deltaShare).toBeGreaterThan(0.5);

    // Another client (direct, no proxy) watches the room.
    const observer = await connect(server.wsUrl, {
      game: arena,
      name: 'observer',
      room: roomId,
      WebSocket,
    });
    await until('the observer to see the player', () =>
      observer.state?.players.some((p) => p.id === me),
    );

    // A cut connection (RST, no close frame): the SDK reconnects and resumes the same seat.
    const seqBeforeCut = room.lastSeq;
    expect(proxy.drop()).toBeGreaterThan(0);
    await until('a resumed Welcome', () => welcomes.length > 0);
    expect(welcomes[0]).toBe(me);
    expect(statuses).toContain('reconnecting');
    const resumed = await playUntilAcked(room, { x: -1, y: 0, buttons: 0 }, 5);
    expect(resumed.id).toBe(me);
    expect(room.lastSeq).toBeGreaterThan(seqBeforeCut);
    expect(observer.state!.players.filter((p) => p.name === 'sdk')).toHaveLength(1);

    // Leaves: the seat is freed at once (close 1000), the observer sees the player gone.
    const closed: number[] = [];
    room.on('close', (code) => closed.push(code));
    room.leave();
    expect(closed).toEqual([1000]);
    await until(
      'the observer to see the player leave',
      () => observer.state?.players.every((p) => p.id !== me),
      5000,
    );
    observer.leave();
  }, 60_000);

  it('joins with a join token offered in the handshake, and is told why a bad one is refused', async () => {
    const secret = `sdk-${process.pid}-secret`;
    const authed = await startServer('sdk-integration-auth', { TICKCAST_AUTH_SECRET: secret });
    try {
      const minted = spawnSync(serverBinary(), ['token', '--secret', secret, '--name', 'tok'], {
        encoding: 'utf8',
      });
      const token = minted.stdout.trim().split('\n').pop()!;
      expect(minted.status).toBe(0);
      const room = await connect(authed.wsUrl, { game: arena, name: 'tok', token, WebSocket });
      expect(room.connected).toBe(true);
      room.leave();
      const refused = await connect(authed.wsUrl, {
        game: arena,
        name: 'tok',
        token: `${token}x`,
        WebSocket,
      }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(JoinRefusedError);
      expect((refused as JoinRefusedError).code).toBe(401);
      expect((refused as JoinRefusedError).reason).toMatch(/signature|malformed/);
    } finally {
      await authed.stop();
    }
  }, 60_000);
});
