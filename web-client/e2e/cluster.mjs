// Browser e2e of a two-node cluster (shared/PROTOCOL.md, "Redirect"), run by e2e.mjs against the
// real server: a real redis-server (Unix socket, no persistence, as tests/tests/common/
// redis_server.rs starts it) and two nodes on it, both serving the built web client. Page A joins
// a named room through node 1, which creates it there; page B opens A's invite link through
// node 2, which redirects B's join to node 1 (4007). Both must end in the one room, each seeing
// the other, and the cluster's /rooms must list that room once, on node 1, with both players.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REDIS_START_TIMEOUT_MS = 10_000;

/** Whether a Unix socket at `path` accepts a connection. */
const accepts = (path) =>
  new Promise((res) => {
    const s = createConnection({ path });
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });

/**
 * Starts `redis-server` on a Unix socket only (`--port 0` turns TCP off), without persistence,
 * and resolves with its `redis+unix://` URL once it accepts connections.
 */
export async function startRedis(cleanups, log) {
  const dir = mkdtempSync(join(tmpdir(), 'tickcast-e2e-redis-'));
  const socket = join(dir, 'redis.sock');
  const args = ['--port', '0', '--unixsocket', socket, '--save', '', '--appendonly', 'no'];
  log(`starting redis-server ${args.join(' ')}`);
  const child = spawn('redis-server', [...args, '--dir', dir], { stdio: 'ignore' });
  const spawned = new Promise((res, rej) => {
    child.once('spawn', res);
    child.once('error', (e) =>
      rej(
        new Error(
          `cannot start redis-server (${e.message}): apt-get install -y redis-server; the cluster checks need it`,
        ),
      ),
    );
  });
  let exited = false;
  const exit = new Promise((res) => child.once('exit', () => res((exited = true))));
  cleanups.push(async () => {
    if (!exited) {
      child.kill('SIGKILL');
      await exit;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  await spawned;
  const deadline = Date.now() + REDIS_START_TIMEOUT_MS;
  while (!(existsSync(socket) && (await accepts(socket)))) {
    if (exited) throw new Error('redis-server exited before accepting connections');
    if (Date.now() > deadline) {
      throw new Error(
        `redis-server did not accept connections within ${REDIS_START_TIMEOUT_MS} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return `redis+unix://${socket}`;
}

/** The cluster's `GET /rooms` as seen by `node`. */
export async function rooms(node) {
  const r = await fetch(`${node.url}/rooms`);
  if (!r.ok) throw new Error(`GET ${node.url}/rooms: HTTP ${r.status}`);
  return r.json();
}

/**
 * @param {object} env  the helpers of e2e.mjs
 * @param {(label: string, env: object) => Promise<{url: string}>} env.startNode  a server with
 *   extra environment (its log is test-results/<label>.log)
 */
export async function clusterChecks({
  open,
  startNode,
  roomPrefix,
  cleanups,
  check,
  log,
  waitView,
  viewOf,
  resultsDir,
}) {
  const redisUrl = await startRedis(cleanups, log);
  const node = (id) =>
    startNode(`node-${id}`, { TICKCAST_REDIS_URL: redisUrl, TICKCAST_NODE_ID: id });
  const [n1, n2] = [await node('n1'), await node('n2')];
  check(n1.url !== n2.url, `two cluster nodes on one redis-server: ${n1.url}, ${n2.url}`);

  const room = `${roomPrefix}-cluster`;
  const pageA = await open('cluster-A');
  await pageA.goto(`${n1.url}/?room=${room}&name=A`);
  await waitView(
    pageA,
    'page A to join on node 1',
    (room) => window.tickcast?.connected && window.tickcast.roomId === room,
    room,
    15_000,
  );
  // A's invite link (the address bar names the room), opened on node 2's address.
  const invite = new URL(pageA.url());
  check(invite.searchParams.get('room') === room, `page A's address is an invite link: ${invite}`);
  const throughN2 = new URL(`${invite.pathname}${invite.search}`, n2.url);
  throughN2.searchParams.set('name', 'B');
  const pageB = await open('cluster-B');
  await pageB.goto(throughN2.toString());

  const ids = [(await viewOf(pageA)).playerId];
  const bothIn = ({ room, n }) => {
    const t = window.tickcast;
    return !!t && t.connected && t.roomId === room && t.players.length === n;
  };
  await waitView(pageB, 'page B to join A through node 2', bothIn, { room, n: 2 }, 20_000);
  ids.push((await viewOf(pageB)).playerId);
  await waitView(pageA, 'page A to see B', bothIn, { room, n: 2 }, 10_000);
  for (const [label, page] of [
    ['A', pageA],
    ['B', pageB],
  ]) {
    const v = await viewOf(page);
    check(
      ids.every((id) => v.players.some((p) => p.id === id)),
      `page ${label} sees both players in ${room}`,
    );
  }
  check(new URL(pageB.url()).origin === n2.url, 'page B was loaded from node 2');

  // One room in the whole cluster, on node 1, with both: B was redirected, not given a copy.
  let listed = [];
  const deadline = Date.now() + 10_000;
  for (;;) {
    listed = (await rooms(n2)).filter((r) => r.id === room);
    if (listed.length === 1 && listed[0].players === 2) break;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  check(
    listed.length === 1 && listed[0].players === 2 && listed[0].node === 'n1',
    `node 2's /rooms lists ${room} once, on node n1, with 2 players: ${JSON.stringify(listed)}`,
  );
  await pageB.screenshot({ path: join(resultsDir, 'e2e-cluster-B.png') });
  await pageA.close();
  await pageB.close();
  await n2.stop();
  await n1.stop();
}
