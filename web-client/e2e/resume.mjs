// Browser e2e of session resume (shared/PROTOCOL.md, "Resume"), run by e2e.mjs against the real
// server. Page R is loaded through a TCP proxy (tcp-proxy.mjs) so the test can cut its network
// without a WebSocket close frame; page O, connected directly, watches.
//
// 1. Resume: R collects an orb and stops; the proxy resets R's connections. R must notice, reconnect
//    by itself with its resume token and get the same player back (same id, score and position, no
//    respawn), and O must see R in every frame it draws across the drop. Inputs work afterwards.
// 2. Grace over: against a server started with a 1 s --resume-grace, R's connections are reset and
//    new ones refused until O sees R leave. Once the network is back R's resume is answered with
//    close 4005 and R joins again at once as a new player, with no error shown.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTcpProxy } from './tcp-proxy.mjs';

/** In the page: records `window.tickcast` every animation frame until `window.__recStop()`. */
export const startRecorder = () => {
  const frames = [];
  let on = true;
  const f = (t) => {
    const v = window.tickcast;
    frames.push({
      t,
      tick: v.tick,
      status: v.status,
      connected: v.connected,
      playerId: v.playerId,
      players: v.players.map((p) => ({ id: p.id, x: p.x, y: p.y, score: p.score })),
    });
    if (on) requestAnimationFrame(f);
  };
  requestAnimationFrame(f);
  window.__recFrames = () => frames.length;
  window.__recStop = () => {
    on = false;
    return frames;
  };
};

/** In the page: holds the arrow keys towards the nearest orb until `window.__steerStop()`. */
export const steerToOrbs = () => {
  const held = new Set();
  const press = (code, down) => {
    if (down === held.has(code)) return;
    if (down) held.add(code);
    else held.delete(code);
    window.dispatchEvent(new KeyboardEvent(down ? 'keydown' : 'keyup', { key: code, code }));
  };
  const timer = setInterval(() => {
    const t = window.tickcast;
    const me = t.players.find((p) => p.id === t.playerId);
    if (!me || t.orbs.length === 0) return;
    const d = (o) => Math.hypot(o.x - me.x, o.y - me.y);
    const best = t.orbs.reduce((a, b) => (d(b) < d(a) ? b : a));
    press('ArrowRight', best.x - me.x > 8);
    press('ArrowLeft', best.x - me.x < -8);
    press('ArrowDown', best.y - me.y > 8);
    press('ArrowUp', best.y - me.y < -8);
  }, 30);
  window.__steerStop = () => {
    clearInterval(timer);
    for (const k of [...held]) press(k, false);
  };
};

export const find = (view, id) => view.players.find((p) => p.id === id);
export const dist = (a, b) => Math.hypot(a.x - b.x, a.y - b.y);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A score worth keeping: steers `player` (page `label`) onto an orb until `observer` sees it score,
 * lets it coast to a stop, and checks both pages draw it at the same place. Returns where each
 * page has it then.
 */
export async function scoreAndStand({
  player,
  observer,
  label,
  id,
  waitView,
  waitStill,
  viewOf,
  check,
}) {
  await player.evaluate(steerToOrbs);
  await waitView(
    observer,
    `${label} to collect an orb (score seen by the observer)`,
    ({ id }) => window.tickcast.players.find((p) => p.id === id)?.score >= 1,
    { id },
    20_000,
  );
  await player.evaluate(() => window.__steerStop());
  await waitStill(player, `${label} to stop moving`);
  await waitStill(observer, `the observer's view of ${label} to stop moving`, { id });
  const selfBefore = find(await viewOf(player), id);
  const seenBefore = find(await viewOf(observer), id);
  check(
    dist(selfBefore, seenBefore) < 1,
    `${label} stands with score ${selfBefore.score} at (${selfBefore.x.toFixed(1)}, ${selfBefore.y.toFixed(1)}), ` +
      `where the observer draws it too (${seenBefore.x.toFixed(1)}, ${seenBefore.y.toFixed(1)})`,
  );
  return { selfBefore, seenBefore };
}

/**
 * After a resume or a hand-over, `player`'s inputs still count: it steers towards the far side
 * (from `selfX`, where it is) and `observer` sees it move 100 units from `seenX`.
 */
export async function checkStillSteers({
  player,
  observer,
  id,
  selfX,
  seenX,
  what,
  check,
  waitView,
}) {
  const right = selfX < 800;
  const key = right ? 'ArrowRight' : 'ArrowLeft';
  await player.bringToFront();
  await player.keyboard.down(key);
  await waitView(
    observer,
    `the observer to see ${what}`,
    ({ id, x0, right }) => {
      const p = window.tickcast.players.find((q) => q.id === id);
      return p && (right ? p.x > x0 + 100 : p.x < x0 - 100);
    },
    { id, x0: seenX, right },
    10_000,
  );
  await player.keyboard.up(key);
  check(true, `the observer sees ${what} (${key})`);
}

/** Starts {@link startRecorder} on each page and waits until each has recorded a few frames. */
export async function startRecorders(...pages) {
  for (const p of pages) await p.evaluate(startRecorder);
  for (const p of pages) {
    await p.waitForFunction(() => window.__recFrames() >= 5, null, { timeout: 5000 });
  }
}

/** Polls `fn` (in Node) every 50 ms until it returns a truthy value. */
export async function waitUntil(label, fn, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}`);
    await sleep(50);
  }
}

/** Waits for a line of the server's log (colours stripped) matching every pattern. */
function waitForLogLine(logPath, patterns, timeoutMs = 5000) {
  return waitUntil(
    `a server log line matching ${patterns.join(' and ')} in ${logPath}`,
    () =>
      existsSync(logPath) &&
      readFileSync(logPath, 'utf8')
        // eslint-disable-next-line no-control-regex
        .replace(/\x1b\[[0-9;]*m/g, '')
        .split('\n')
        .find((line) => patterns.every((p) => p.test(line))),
    timeoutMs,
  );
}

/** The largest move of player `id` between two consecutive recorded frames that both draw it. */
export function largestStep(frames, id) {
  let prev = null;
  let step = 0;
  for (const f of frames) {
    const p = f.players.find((q) => q.id === id);
    if (!p) continue;
    if (prev) step = Math.max(step, dist(p, prev));
    prev = p;
  }
  return step;
}

/**
 * @param {object} env
 * @param {(label: string) => Promise<import('playwright-core').Page>} env.open  a new page
 * @param {{url: string, logPath: string}} env.server  the main server (default resume grace)
 * @param {() => Promise<{url: string, logPath: string, stop: () => Promise<void>}>} env.startGraceServer
 *   starts another server with `--resume-grace 1`
 */
export async function resumeChecks({
  open,
  server,
  startGraceServer,
  roomPrefix,
  cleanups,
  check,
  log,
  waitView,
  waitStill,
  viewOf,
  resultsDir,
}) {
  const twoIn = (room) => {
    const t = window.tickcast;
    return !!t && t.connected && t.roomId === room && t.players.length === 2;
  };

  // --- 1. A dropped connection resumes the same player. ---------------------------------------
  const proxy = await startTcpProxy(Number(new URL(server.url).port));
  cleanups.push(proxy.close);
  const room = `${roomPrefix}-resume`;
  const pageR = await open('R');
  const pageO = await open('O');
  await pageR.goto(`${proxy.url}/?room=${room}&name=R`);
  await pageO.goto(`${server.url}/?room=${room}&name=O`);
  await waitView(pageR, 'page R (through the proxy) to join', twoIn, room);
  await waitView(pageO, 'page O (direct) to join', twoIn, room);
  const id = (await viewOf(pageR)).playerId;
  check(
    proxy.webSockets.length === 1,
    `page R plays through the TCP proxy ${proxy.url} (1 WebSocket), page O directly`,
  );

  const { selfBefore, seenBefore } = await scoreAndStand({
    player: pageR,
    observer: pageO,
    label: 'R',
    id,
    waitView,
    waitStill,
    viewOf,
    check,
  });

  await startRecorders(pageR, pageO);
  const tickAtDrop = (await viewOf(pageO)).tick;
  const tDrop = Date.now();
  const dropped = proxy.drop();
  log(`reset ${dropped} proxied connection(s) of page R (TCP RST both ways, no close frame)`);
  await waitView(
    pageR,
    'page R to notice the lost connection',
    () => window.tickcast.status === 'reconnecting' && !window.tickcast.connected,
    null,
    10_000,
  );
  const tNoticed = Date.now();
  await waitView(pageR, 'page R to reconnect by itself', twoIn, room, 20_000);
  const tBack = Date.now();
  const selfAfter = find(await viewOf(pageR), id);
  // Keep recording O for another 10 ticks after R is back.
  const tickBack = (await viewOf(pageO)).tick;
  await waitView(
    pageO,
    'O to get 10 more snapshots',
    (t) => window.tickcast.tick >= t,
    tickBack + 10,
  );
  const framesR = await pageR.evaluate(() => window.__recStop());
  const framesO = await pageO.evaluate(() => window.__recStop());
  const viewR = await viewOf(pageR);
  // Every recorded frame of both pages, for looking into a failure.
  writeFileSync(
    join(resultsDir, 'resume-frames.json'),
    JSON.stringify({ id, tickAtDrop, framesR, framesO }),
  );
  const seenAfter = find(await viewOf(pageO), id);

  check(
    dropped >= 1 &&
      proxy.webSockets.length >= 2 &&
      proxy.connections.every((c) => c.serverClose === null),
    `R's connection was cut without a close frame and R opened a new WebSocket by itself ` +
      `(noticed in ${tNoticed - tDrop} ms, connected again ${tBack - tDrop} ms after the drop)`,
  );
  const statuses = [...new Set(framesR.map((f) => f.status))];
  check(
    statuses.includes('reconnecting') &&
      !statuses.includes('refused') &&
      !statuses.includes('closed') &&
      viewR.status === 'connected' &&
      viewR.connected &&
      viewR.closed === null,
    `R's status went ${statuses.join(' → ')} and the page shows it connected again`,
  );
  check(viewR.playerId === id && !!selfAfter, `R came back as the same player (${viewR.playerId})`);
  check(
    selfAfter.score === selfBefore.score && seenAfter?.score === selfBefore.score,
    `R's score is intact (${selfBefore.score} before, ${selfAfter.score} after; O sees ${seenAfter?.score})`,
  );
  const moved = dist(selfAfter, selfBefore);
  const movedSeen = dist(seenAfter, seenBefore);
  check(
    moved < 1 && movedSeen < 1,
    `R is where it was (moved ${moved.toFixed(2)} in its own view, ${movedSeen.toFixed(2)} in O's): not respawned`,
  );
  const stepR = largestStep(framesR, id);
  const undrawn = framesR.filter((f) => !f.players.some((p) => p.id === id)).length;
  check(
    framesR.every((f) => f.playerId === id) && stepR < 1,
    `R draws itself continuously across the drop (${framesR.length} frames, largest step ` +
      `${stepR.toFixed(2)}; ${undrawn} frame(s) between the Welcome and its first snapshot undrawn)`,
  );
  const withoutR = framesO.filter((f) => !f.players.some((p) => p.id === id));
  const ticks = new Set(framesO.map((f) => f.tick));
  const first = framesO[0].tick;
  const last = framesO[framesO.length - 1].tick;
  check(
    withoutR.length === 0 && framesO.every((f) => f.players.length === 2),
    `O drew R in every one of its ${framesO.length} frames across the drop ` +
      `(ticks ${first}–${last}, drop at ${tickAtDrop}; ${ticks.size} distinct ticks seen)`,
  );
  const stepO = largestStep(framesO, id);
  check(
    ticks.size >= (last - first + 1) / 2 && stepO < 1,
    `O kept receiving snapshots through the drop and R stood still in them (largest step ${stepO.toFixed(2)})`,
  );
  // A player that leaves never comes back under the same id (a new join gets a new id), so R
  // being present at the end also rules out a leave between two recorded frames.
  const lost = await waitForLogLine(server.logPath, [/seat held for a resume/, new RegExp(id)]);
  const resumed = await waitForLogLine(server.logPath, [/player resumed/, new RegExp(id)]);
  check(
    !!lost && !!resumed,
    'the server log shows the seat held after the lost connection, then "player resumed"',
  );

  // Inputs still count (Input.seq keeps increasing across the resume).
  await checkStillSteers({
    player: pageR,
    observer: pageO,
    id,
    selfX: selfAfter.x,
    seenX: seenAfter.x,
    what: 'R move after the resume',
    check,
    waitView,
  });
  await pageR.close();
  await pageO.close();
  await proxy.close();

  // --- 2. After the grace period the seat is gone: 4005, then a fresh player. ----------------
  const graceServer = await startGraceServer();
  const proxy2 = await startTcpProxy(Number(new URL(graceServer.url).port));
  cleanups.push(proxy2.close);
  const room2 = `${roomPrefix}-grace`;
  const pageR2 = await open('R2');
  const pageO2 = await open('O2');
  await pageR2.goto(`${proxy2.url}/?room=${room2}&name=R`);
  await pageO2.goto(`${graceServer.url}/?room=${room2}&name=O`);
  await waitView(pageR2, 'page R2 (through the proxy) to join', twoIn, room2);
  await waitView(pageO2, 'page O2 (direct) to join', twoIn, room2);
  const oldId = (await viewOf(pageR2)).playerId;

  proxy2.refuse(true);
  const t0 = Date.now();
  proxy2.drop();
  await waitView(
    pageO2,
    'O2 to see R2 leave once the 1 s grace is over',
    ({ id }) => {
      const t = window.tickcast;
      return t.players.length === 1 && !t.players.some((p) => p.id === id);
    },
    { id: oldId },
    15_000,
  );
  const tLeft = Date.now();
  await waitUntil(
    'R2 to try to reconnect while the network is down',
    () => proxy2.stats.refused >= 1,
    10_000,
  );
  const down = await viewOf(pageR2);
  check(
    down.status === 'reconnecting' && down.closed === null,
    `with its connections reset and refused, R2 keeps retrying (${proxy2.stats.refused} ` +
      `connection(s) refused); O2 saw it leave ${tLeft - t0} ms after the drop`,
  );
  await waitForLogLine(graceServer.logPath, [/resume grace over; player left/, new RegExp(oldId)]);

  proxy2.refuse(false);
  const tUp = Date.now();
  await waitView(pageR2, 'R2 to join again once the network is back', twoIn, room2, 20_000);
  const tJoined = Date.now();
  const again = await viewOf(pageR2);
  const closes = proxy2.connections.filter((c) => c.serverClose);
  const stale = closes.find((c) => c.serverClose.code === 4005);
  check(
    !!stale && closes.length === 1,
    `R2's resume was refused with close 4005 ("${stale?.serverClose.reason}") ` +
      `${stale ? stale.serverClose.at - tUp : '?'} ms after the network came back`,
  );
  const notice = await pageR2.evaluate(() => !document.getElementById('notice').hidden);
  check(
    again.playerId &&
      again.playerId !== oldId &&
      again.connected &&
      again.closed === null &&
      !notice,
    `R2 then joined again as a new player (${again.playerId}), with no error notice`,
  );
  // "4005 rejoins fresh at once": the page's next connection follows the end of the refused one
  // (when the browser reports the close) without a backoff. A backoff here would be ≥ 1.5 s: at
  // least two attempts (the first after the drop, one refused) have failed by now.
  const next = proxy2.connections.find((c) => c.acceptedAt >= stale.endedAt);
  const gap = next ? next.acceptedAt - stale.endedAt : NaN;
  check(
    gap < 1000,
    `R2 reconnected ${gap} ms after the refused connection ended (no backoff); the server ` +
      `ended it ${stale.endedAt - stale.serverClose.at} ms after its close frame, and R2 showed ` +
      `both players again ${tJoined - stale.serverClose.at} ms after the 4005`,
  );
  await waitView(
    pageO2,
    'O2 to see the new R2 and not the old one',
    ({ oldId, newId }) => {
      const ids = window.tickcast.players.map((p) => p.id);
      return ids.includes(newId) && !ids.includes(oldId);
    },
    { oldId, newId: again.playerId },
    10_000,
  );
  check(true, 'O2 sees the new player, the old one stays gone');
  await pageR2.close();
  await pageO2.close();
  await proxy2.close();
  await graceServer.stop();
}
