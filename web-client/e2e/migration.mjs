// Browser e2e of live room migration (issue 12; shared/PROTOCOL.md, "Redirect"), run by e2e.mjs
// against the real server: a real redis-server and two nodes on it. Page P and observer page O
// play in one room on node m1; P collects an orb and stands still. Then m1 is drained
// (`POST /admin/drain`: the nodes bind to loopback, so no token is needed): the room moves to m2
// and m1 sends both pages `Redirect` + close 4007. P must keep playing as the same player (same
// id, score and position, no notice, never "reconnecting"), O must draw P all along (apart from
// O's own hand-over: a page draws nothing from a Welcome to its first snapshot), the cluster must
// list the room once, on m2, and P's inputs must move it there.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rooms, startRedis } from './cluster.mjs';
import {
  checkStillSteers,
  dist,
  find,
  largestStep,
  scoreAndStand,
  startRecorders,
  waitUntil,
} from './resume.mjs';

/** Longest run of frames in which O does not draw P that the check accepts, ms. */
const MAX_UNDRAWN_MS = 1000;

/** The time span of the longest run of consecutive frames that do not draw player `id`. */
function longestUndrawn(frames, id) {
  let longest = 0;
  let since = null;
  for (const f of frames) {
    const drawn = f.players.some((p) => p.id === id);
    if (!drawn && since === null) since = f.t;
    if (drawn && since !== null) {
      longest = Math.max(longest, f.t - since);
      since = null;
    }
  }
  return since === null ? longest : Infinity;
}

/**
 * @param {object} env  the helpers of e2e.mjs
 * @param {(label: string, env: object) => Promise<{url: string, stop: () => Promise<void>}>}
 *   env.startNode  a server with extra environment (its log is test-results/<label>.log)
 */
export async function migrationChecks({
  open,
  startNode,
  roomPrefix,
  cleanups,
  check,
  log,
  waitView,
  waitStill,
  viewOf,
  resultsDir,
}) {
  const redisUrl = await startRedis(cleanups, log);
  const node = (id) =>
    startNode(`migration-${id}`, { TICKCAST_REDIS_URL: redisUrl, TICKCAST_NODE_ID: id });
  const [m1, m2] = [await node('m1'), await node('m2')];
  const room = `${roomPrefix}-migrate`;
  const twoIn = (room) => {
    const t = window.tickcast;
    return !!t && t.connected && t.roomId === room && t.players.length === 2;
  };
  const pageP = await open('migration-P');
  const pageO = await open('migration-O');
  await pageP.goto(`${m1.url}/?room=${room}&name=P`);
  await waitView(
    pageP,
    'page P to open the room on node m1',
    (room) => window.tickcast?.connected && window.tickcast.roomId === room,
    room,
    15_000,
  );
  await pageO.goto(`${m1.url}/?room=${room}&name=O`);
  await waitView(pageP, 'page P to see O', twoIn, room);
  await waitView(pageO, 'page O to join P', twoIn, room);
  const listedOn = async (nodeId) =>
    (await rooms(m2)).filter((r) => r.id === room && r.node === nodeId && r.players === 2)
      .length === 1;
  await waitUntil(`/rooms to list ${room} on m1`, () => listedOn('m1'), 10_000);
  check(true, `pages P and O play in ${room} on node m1 (listed there by the cluster)`);

  const id = (await viewOf(pageP)).playerId;
  const { selfBefore, seenBefore } = await scoreAndStand({
    player: pageP,
    observer: pageO,
    label: 'P',
    id,
    waitView,
    waitStill,
    viewOf,
    check,
  });

  await startRecorders(pageP, pageO);
  const tickAtDrain = (await viewOf(pageO)).tick;
  const tDrain = Date.now();
  const drain = await fetch(`${m1.url}/admin/drain`, { method: 'POST' });
  check(
    drain.ok,
    `POST ${m1.url}/admin/drain is accepted on a loopback node (HTTP ${drain.status})`,
  );
  await waitUntil(`/rooms to list ${room} on m2 only`, () => listedOn('m2'), 15_000);
  const tMoved = Date.now();
  check(true, `the cluster lists ${room} once, on m2, with both players (${tMoved - tDrain} ms)`);
  await waitView(pageP, 'page P to play on after the move', twoIn, room, 10_000);
  await waitView(pageO, 'page O to play on after the move', twoIn, room, 10_000);
  // Keep recording for another 10 ticks after both are back.
  const tickBack = (await viewOf(pageO)).tick;
  await waitView(
    pageO,
    'O to get 10 more snapshots',
    (t) => window.tickcast.tick >= t,
    tickBack + 10,
  );
  const framesP = await pageP.evaluate(() => window.__recStop());
  const framesO = await pageO.evaluate(() => window.__recStop());
  writeFileSync(
    join(resultsDir, 'migration-frames.json'),
    JSON.stringify({ id, tickAtDrain, framesP, framesO }),
  );

  const viewP = await viewOf(pageP);
  const selfAfter = find(viewP, id);
  const seenAfter = find(await viewOf(pageO), id);
  for (const [label, frames, page] of [
    ['P', framesP, pageP],
    ['O', framesO, pageO],
  ]) {
    const statuses = [...new Set(frames.map((f) => f.status))];
    check(
      statuses.every((s) => s === 'connected' || s === 'moving') &&
        (await page.locator('#notice').isHidden()),
      `page ${label} followed the move without a visible disconnect or a notice (status ${statuses.join(' → ')})`,
    );
  }
  check(
    viewP.playerId === id && framesP.every((f) => f.playerId === id) && !!selfAfter,
    `P is the same player after the move (${viewP.playerId})`,
  );
  check(
    selfAfter.score === selfBefore.score && seenAfter?.score === selfBefore.score,
    `P's score is kept (${selfBefore.score} before, ${selfAfter.score} after; O sees ${seenAfter?.score})`,
  );
  const moved = dist(selfAfter, selfBefore);
  const movedSeen = dist(seenAfter, seenBefore);
  check(
    moved < 1 && movedSeen < 1 && largestStep(framesP, id) < 1 && largestStep(framesO, id) < 1,
    `P is where it stood (moved ${moved.toFixed(2)} in its own view, ${movedSeen.toFixed(2)} in O's) and never jumped: not respawned`,
  );
  const undrawnMs = longestUndrawn(framesO, id);
  const undrawn = framesO.filter((f) => !f.players.some((p) => p.id === id)).length;
  check(
    undrawnMs < MAX_UNDRAWN_MS && framesO.at(-1).players.some((p) => p.id === id),
    `O drew P throughout the move: ${framesO.length - undrawn} of ${framesO.length} frames ` +
      `(ticks ${framesO[0].tick}–${framesO.at(-1).tick}, drain at ${tickAtDrain}); the longest gap, ` +
      `O's own Welcome to its first snapshot, ${Math.round(undrawnMs)} ms (limit ${MAX_UNDRAWN_MS})`,
  );

  // Inputs still count on the new node (Input.seq keeps rising across the hand-over).
  await checkStillSteers({
    player: pageP,
    observer: pageO,
    id,
    selfX: selfAfter.x,
    seenX: seenAfter.x,
    what: 'P move in the room on m2',
    check,
    waitView,
  });
  await pageP.screenshot({ path: join(resultsDir, 'e2e-migration-P.png') });
  await pageP.close();
  await pageO.close();
  await m1.stop();
  await m2.stop();
}
