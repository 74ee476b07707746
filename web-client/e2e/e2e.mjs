// Browser end-to-end test: the real tickcast-server binary serving web-client/dist, two headless
// Chromium pages (Debian's /usr/bin/chromium driven by playwright-core) in the same room; keys
// held in page A must move A's player as seen by page B.
//
//   npm run test:e2e                       build the client if stale, cargo-build the server, test
//   TICKCAST_SERVER_BIN=path npm run test:e2e   use an already-built server binary
//   CHROMIUM_PATH=/path/to/chromium            another Chromium
//   node e2e/e2e.mjs --screenshot ../assets/screenshot.png   also save a README screenshot
//   TICKCAST_E2E_MOCK=1 npm run test:e2e   against e2e/mock-server.mjs (client development only)
//
// Also run from here: resume.mjs (session resume), ghosts.mjs (leave on page-away, held seats),
// cluster.mjs (two nodes on a real redis-server: an invite link through the other node),
// reunion.mjs (quick play + invite link, a restart: both rejoin the same room) and
// migration.mjs (a drained node's room moves to the other node; its pages play on).
//
// Every wait is on a condition with a timeout; the server is killed at the end, also on failure.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Decoder, Encoder } from '@msgpack/msgpack';
import { chromium } from 'playwright-core';
import { ensureBuilt } from '../scripts/ensure-built.mjs';
import { clusterChecks } from './cluster.mjs';
import { ghostChecks } from './ghosts.mjs';
import { migrationChecks } from './migration.mjs';
import { resumeChecks } from './resume.mjs';
import { reunionChecks } from './reunion.mjs';

const webDir = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = resolve(webDir, '..');
const resultsDir = join(webDir, 'test-results');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Two pages play at once: keep timers and rendering of the page not in front at full speed.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];
const LISTEN_RE = /^tickcast listening on (http:\/\/127\.0\.0\.1:(\d+))\s*$/;
const SERVER_START_TIMEOUT_MS = 30_000;
const BUILD_TIMEOUT_MS = 20 * 60_000;
const MAX_PLAYERS = 2;

const screenshotArg = process.argv.indexOf('--screenshot');
const readmeScreenshot =
  screenshotArg > 0 ? resolve(process.cwd(), process.argv[screenshotArg + 1] ?? '') : null;

let passed = 0;
const cleanups = [];

function log(...args) {
  console.log('[e2e]', ...args);
}

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
  passed++;
  log(`ok ${passed} - ${what}`);
}

function serverBinary() {
  if (process.env.TICKCAST_SERVER_BIN) return resolve(process.env.TICKCAST_SERVER_BIN);
  log('building the server (cargo build -q -p tickcast-server)…');
  const r = spawnSync('cargo', ['build', '-q', '-p', 'tickcast-server'], {
    cwd: repoRoot,
    stdio: 'inherit',
    timeout: BUILD_TIMEOUT_MS,
  });
  if (r.error) throw new Error(`cannot run cargo: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`cargo build -p tickcast-server failed (exit ${r.status})`);
  const targetDir = process.env.CARGO_TARGET_DIR
    ? resolve(repoRoot, process.env.CARGO_TARGET_DIR)
    : join(repoRoot, 'target');
  return join(targetDir, 'debug', 'tickcast-server');
}

/**
 * Starts the real server (on port 0 the first time, on the same port for the restart) and
 * resolves with its URL once it prints the listening line.
 */
function startServer(
  bin,
  port = 0,
  { label = port ? 'server-restarted' : 'server', env = {} } = {},
) {
  if (!existsSync(bin)) throw new Error(`server binary not found: ${bin}`);
  mkdirSync(resultsDir, { recursive: true });
  const logPath = join(resultsDir, `${label}.log`);
  const logFile = createWriteStream(logPath);
  const args = ['--port', String(port), '--static-dir', 'web-client/dist'];
  log(`starting ${bin} ${args.join(' ')} (log: ${logPath})`);
  const child = spawn(bin, args, {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      RUST_LOG: process.env.RUST_LOG ?? 'info',
      // Rooms of 2, so that a third player is refused with 4001 (room full).
      TICKCAST_MAX_PLAYERS_PER_ROOM: String(MAX_PLAYERS),
      ...env,
    },
  });
  let exited = false;
  const exitPromise = new Promise((res) =>
    child.once('exit', (code, signal) => {
      exited = true;
      res({ code, signal });
    }),
  );
  child.stderr.pipe(logFile);
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    const { code, signal } = await exitPromise;
    clearTimeout(t);
    log(`server stopped (${signal ?? `exit ${code}`})`);
  };
  cleanups.push(stop);
  return new Promise((res, rej) => {
    const timer = setTimeout(
      () =>
        rej(new Error(`no "tickcast listening on …" line within ${SERVER_START_TIMEOUT_MS} ms`)),
      SERVER_START_TIMEOUT_MS,
    );
    const lines = createInterface({ input: child.stdout });
    let found = false;
    lines.on('line', (line) => {
      logFile.write(`[stdout] ${line}\n`);
      const m = LISTEN_RE.exec(line);
      if (m && !found) {
        found = true;
        clearTimeout(timer);
        res({ url: m[1], stop, logPath });
      } else if (m) {
        log(`warning: a second listening line: ${line}`);
      }
    });
    exitPromise.then(({ code, signal }) => {
      clearTimeout(timer);
      if (!found) rej(new Error(`server exited before listening (${signal ?? `exit ${code}`})`));
    });
  });
}

async function startMock(port = 0) {
  const { startMockServer } = await import('./mock-server.mjs');
  const server = await startMockServer({ port, maxPlayers: MAX_PLAYERS });
  cleanups.push(server.stop);
  log('USING THE MOCK SERVER (TICKCAST_E2E_MOCK=1): not a test of the real server');
  return server;
}

const view = () => window.tickcast;

async function viewOf(page) {
  return page.evaluate(view);
}

/**
 * Waits until `predicate(arg)` (run in the page, reading `window.tickcast`) is true; on timeout
 * the error says what the page showed.
 */
async function waitView(page, label, predicate, arg, timeout = 20_000) {
  try {
    await page.waitForFunction(predicate, arg, { timeout, polling: 50 });
  } catch (e) {
    const seen = await page.evaluate(view).catch(() => 'unavailable');
    throw new Error(
      `timed out after ${timeout} ms waiting for ${label}; window.tickcast = ${JSON.stringify(seen)}`,
      {
        cause: e,
      },
    );
  }
}

/**
 * In the page: whether player `id` (default: our own) moves less than `within` units over the
 * next `ticks` snapshot ticks. Counted in ticks, not wall time: a stalled page or server would
 * otherwise look like a player standing still.
 */
const stillOverTicks = async ({ id, within, ticks }) => {
  const at = () => {
    const t = window.tickcast;
    return { tick: t.tick, p: t.players.find((q) => q.id === (id ?? t.playerId)) };
  };
  const a = at();
  if (!a.p) return false;
  const started = performance.now();
  while (window.tickcast.tick < a.tick + ticks && performance.now() - started < 3000) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const b = at();
  return b.tick >= a.tick + ticks && !!b.p && Math.hypot(a.p.x - b.p.x, a.p.y - b.p.y) < within;
};

/**
 * Waits until player `id` (default: the page's own) stands still in `page`'s view. (Polled with
 * page.evaluate: page.waitForFunction does not await an async predicate, its promise is truthy.)
 */
async function waitStill(
  page,
  label,
  { id = null, within = 0.05, ticks = 9, timeout = 15_000 } = {},
) {
  const deadline = Date.now() + timeout;
  while (!(await page.evaluate(stillOverTicks, { id, within, ticks }))) {
    if (Date.now() > deadline) {
      const seen = await page.evaluate(view).catch(() => 'unavailable');
      throw new Error(
        `timed out after ${timeout} ms waiting for ${label}; window.tickcast = ${JSON.stringify(seen)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main() {
  ensureBuilt();
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`,
    );
  }
  const mock = !!process.env.TICKCAST_E2E_MOCK;
  const bin = mock ? null : serverBinary();
  const server = mock ? await startMock() : await startServer(bin);
  log(`server at ${server.url}`);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  cleanups.push(() => browser.close());
  const pageErrors = [];
  const open = async (label) => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(`${label}: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') log(`[${label} console] ${m.text()}`);
    });
    return page;
  };

  const room = `e2e-${randomBytes(4).toString('hex')}`;
  const nameA = 'A';
  const nameB = '<b>B</b>';
  const pageA = await open('A');
  const pageB = await open('B');
  const link = (name) => `${server.url}/?room=${room}&name=${encodeURIComponent(name)}`;
  await pageA.goto(link(nameA));
  await pageB.goto(link(nameB));

  const bothThere = (room) => {
    const t = window.tickcast;
    return !!t && t.connected && t.roomId === room && t.players.length === 2;
  };
  await waitView(pageA, 'page A connected and seeing 2 players', bothThere, room);
  await waitView(pageB, 'page B connected and seeing 2 players', bothThere, room);
  check(true, `both pages joined room ${room} and see 2 players`);

  const a0 = await viewOf(pageA);
  const b0 = await viewOf(pageB);
  check(a0.playerId && b0.playerId && a0.playerId !== b0.playerId, 'distinct player ids');
  check(typeof a0.tick === 'number' && a0.tick > 0, `snapshots arrive (tick ${a0.tick})`);
  const aInB = b0.players.find((p) => p.id === a0.playerId);
  check(aInB && aInB.name === nameA, 'page B renders player A with its name');
  check(
    new Set(b0.players.map((p) => p.color)).size === 2,
    `the two players have different colours (${b0.players.map((p) => p.color).join(', ')})`,
  );
  check(
    b0.players.some((p) => p.name === nameB) &&
      (await pageB.evaluate(() => document.querySelector('b') === null)),
    'a name with markup is shown as text, never as HTML',
  );

  // Hold ArrowRight in page A: page B must see A's x increase by a clear margin. (If A spawned
  // near the right wall, it first walks left to make room.)
  const width = a0.arena?.width ?? 1600;
  const movedBy = ({ id, x0, right, margin }) => {
    const p = window.tickcast.players.find((q) => q.id === id);
    return p && (right ? p.x > x0 + margin : p.x < x0 - margin);
  };
  await pageA.bringToFront();
  if (aInB.x > width - 400) {
    log(`A spawned at x=${aInB.x.toFixed(1)}, near the right wall: walking it left first`);
    await pageA.keyboard.down('ArrowLeft');
    await waitView(
      pageA,
      'A to walk away from the right wall',
      ({ id, limit }) => window.tickcast.players.find((q) => q.id === id)?.x < limit,
      { id: a0.playerId, limit: width - 500 },
      10_000,
    );
    await pageA.keyboard.up('ArrowLeft');
  }
  const right = true;
  const key = 'ArrowRight';
  const margin = 150;
  const xA0 = (await viewOf(pageA)).players.find((p) => p.id === a0.playerId).x;
  const xB0 = (await viewOf(pageB)).players.find((p) => p.id === a0.playerId).x;
  log(`A is at x=${xB0.toFixed(1)} in B's view; holding ${key} in page A`);
  await pageA.keyboard.down(key);
  await waitView(
    pageA,
    `A's own (predicted) player to move ${margin} units`,
    movedBy,
    { id: a0.playerId, x0: xA0, right, margin },
    10_000,
  );
  check(true, `page A sees its own player move (${key})`);
  await waitView(
    pageB,
    `page B to see A move ${margin} units right`,
    movedBy,
    { id: a0.playerId, x0: xB0, right, margin },
    10_000,
  );
  const b1 = await viewOf(pageB);
  const aInB1 = b1.players.find((p) => p.id === a0.playerId);
  check(true, `page B sees A's x increase from ${xB0.toFixed(1)} to ${aInB1.x.toFixed(1)}`);

  // Smoothness while A keeps moving: sample the drawn x of A on both pages every frame. No frame
  // may step backwards (beyond a hair) or jump faster than the boosted top speed allows.
  const sampleX = (id) =>
    new Promise((res) => {
      const out = [];
      const f = (t) => {
        const p = window.tickcast.players.find((q) => q.id === id);
        if (p) out.push([t, p.x]);
        if (out.length < 45) requestAnimationFrame(f);
        else res(out);
      };
      requestAnimationFrame(f);
    });
  const [seenByA, seenByB] = await Promise.all([
    pageA.evaluate(sampleX, a0.playerId),
    pageB.evaluate(sampleX, a0.playerId),
  ]);
  // A frame is "bad" if it steps backwards or moves faster than `limit` allows. A starved machine
  // (CI running other work) may stall a frame or two, so a couple of bad frames are tolerated;
  // systematic jitter or snapping would make many.
  const maxSpeed = 320 * 1.6;
  const smooth = (samples, label, { backLimit, speedLimit }) => {
    const sign = right ? 1 : -1;
    let back = 0;
    let fastest = 0;
    const bad = [];
    for (let i = 1; i < samples.length; i++) {
      const dx = (samples[i][1] - samples[i - 1][1]) * sign;
      const dt = Math.max(1, samples[i][0] - samples[i - 1][0]) / 1000;
      back = Math.max(back, -dx);
      fastest = Math.max(fastest, Math.abs(dx) / dt);
      if (-dx > backLimit || Math.abs(dx) / dt > speedLimit) {
        bad.push(`frame ${i}: dx=${dx.toFixed(2)} in ${(dt * 1000).toFixed(1)} ms`);
      }
    }
    log(
      `${label}: ${samples.length} frames, largest backward step ${back.toFixed(2)}, fastest ${fastest.toFixed(0)} units/s, ${bad.length} bad${bad.length ? ` (${bad.join('; ')})` : ''}`,
    );
    return bad.length;
  };
  const badA = smooth(seenByA, "A's own (predicted) motion", {
    backLimit: 3,
    speedLimit: maxSpeed * 2,
  });
  const badB = smooth(seenByB, "A's motion in page B (interpolated)", {
    backLimit: 0.5,
    speedLimit: maxSpeed * 1.5,
  });
  check(badB <= 2, `page B draws A moving smoothly (${badB} of 44 frames off)`);
  check(badA <= 2, `page A draws its own predicted motion smoothly (${badA} of 44 frames off)`);
  await pageA.keyboard.up(key);

  // Prediction/reconciliation against the real server: once A coasts to a stop, where A draws
  // itself (predicted) and where B draws A (interpolated server state) agree.
  await waitStill(pageA, "A's own position to settle", { within: 0.5 });
  const settledA = (await viewOf(pageA)).players.find((p) => p.id === a0.playerId);
  await waitView(
    pageB,
    "B's view of A to match A's own view",
    ({ id, x, y }) => {
      const p = window.tickcast.players.find((q) => q.id === id);
      return p && Math.hypot(p.x - x, p.y - y) < 3;
    },
    { id: a0.playerId, x: settledA.x, y: settledA.y },
    10_000,
  );
  check(
    true,
    `A's predicted position (${settledA.x.toFixed(1)}, ${settledA.y.toFixed(1)}) matches B's view after reconciliation`,
  );

  // The HUD's ping comes from ping/pong.
  await waitView(
    pageA,
    'a ping measurement',
    () => typeof window.tickcast.pingMs === 'number',
    null,
    5000,
  );
  check(true, `ping measured (${(await viewOf(pageA)).pingMs} ms)`);

  // Delta snapshots: both pages joined with `deltas`, so after one full patch (base 0) every frame
  // was a patch against a state the page had acknowledged, and all of the above ran on them.
  if (mock) {
    log('delta checks skipped: the mock server sends full snapshots');
  } else {
    for (const [label, page] of [
      ['A', pageA],
      ['B', pageB],
    ]) {
      const { net, tick } = await viewOf(page);
      const patched = net.deltas - net.fullDeltas;
      log(`page ${label} snapshot traffic: ${JSON.stringify(net)}`);
      check(
        net.snapshots === 0 &&
          net.deltas >= 30 &&
          patched >= net.deltas * 0.9 &&
          net.deltaErrors === 0 &&
          net.ackTick > 0 &&
          net.ackTick <= tick,
        `page ${label} ran on deltas: ${net.deltas} received, ${patched} against an acknowledged baseline, ${net.fullDeltas} full, ${net.deltaErrors} apply errors, no full snapshots`,
      );
    }
  }

  await netStatsChecks(pageA, mock);

  mkdirSync(resultsDir, { recursive: true });
  await pageA.screenshot({ path: join(resultsDir, 'e2e-page-a.png') });
  await pageB.screenshot({ path: join(resultsDir, 'e2e-page-b.png') });
  log(`screenshots in ${resultsDir}`);

  if (readmeScreenshot) await takeReadmeScreenshot(browser, server.url);

  // A third player in a room of 2 is refused (4001) and told so in plain words.
  const pageC = await open('C');
  await pageC.goto(link('C'));
  await waitView(
    pageC,
    'page C to be refused',
    () => window.tickcast.closed !== null,
    null,
    15_000,
  );
  const c = await viewOf(pageC);
  const notice = await pageC.evaluate(() => ({
    shown: !document.getElementById('notice').hidden,
    text: document.getElementById('notice-text').textContent,
    reason: document.getElementById('notice-reason').textContent,
  }));
  check(
    c.closed.code === 4001 && notice.shown && /full/i.test(notice.text),
    `a third player is refused with 4001 and sees "${notice.text}" / "${notice.reason}"`,
  );
  await pageC.screenshot({ path: join(resultsDir, 'e2e-room-full.png') });
  await pageC.close();

  // An out-of-date client: the Join is rewritten on its way to the real server to claim protocol
  // version 2; the server closes with 4000 and the page says what to do.
  const pageV = await open('V');
  await pageV.routeWebSocket(/\/ws/, (ws) => {
    const upstream = ws.connectToServer();
    let first = true;
    ws.onMessage((msg) => {
      if (first && typeof msg !== 'string') {
        first = false;
        const join = new Decoder().decode(msg);
        join.join[0] = 2;
        upstream.send(Buffer.from(new Encoder().encode(join)));
      } else {
        upstream.send(msg);
      }
    });
  });
  await pageV.goto(link('V'));
  await waitView(
    pageV,
    'the version mismatch to be refused',
    () => window.tickcast.closed !== null,
    null,
    15_000,
  );
  const v = await viewOf(pageV);
  const vNotice = await pageV.evaluate(() => ({
    text: document.getElementById('notice-text').textContent,
    reason: document.getElementById('notice-reason').textContent,
  }));
  check(
    v.closed.code === 4000 && /out of date/i.test(vNotice.text),
    `a protocol version mismatch is refused with 4000: "${vNotice.text}" / "${vNotice.reason}"`,
  );
  await pageV.close();

  // The lobby lists the room, and quick-play (any room with space) joins another one, since
  // this one is full; the address bar becomes that room's invite link.
  const pageD = await open('D');
  await pageD.goto(`${server.url}/`);
  await pageD.waitForFunction(
    (room) =>
      [...document.querySelectorAll('#room-list li')].some((li) => li.textContent.includes(room)),
    room,
    { timeout: 10_000, polling: 100 },
  );
  check(true, `the lobby lists room ${room} from GET /rooms`);
  await pageD.fill('#name', 'D');
  await pageD.screenshot({ path: join(resultsDir, 'e2e-lobby.png') });
  await pageD.click('#quick');
  // `?.`: the predicate may run in the new page before its script has installed window.tickcast
  // (a throwing predicate ends the wait at once; a navigation does not).
  await waitView(
    pageD,
    'quick-play to join a room',
    () => window.tickcast?.connected,
    null,
    15_000,
  );
  const d = await viewOf(pageD);
  const dUrl = new URL(pageD.url());
  check(
    d.roomId && d.roomId !== room && dUrl.searchParams.get('room') === d.roomId,
    `quick-play joined room ${d.roomId} (not the full one) and the URL is its invite link`,
  );
  await pageD.close();

  // Quick play with an empty name just works, as a guest ("Swift Otter 42").
  const pageG = await open('G');
  await pageG.goto(`${server.url}/`);
  await pageG.fill('#name', '');
  await pageG.click('#quick');
  await waitView(
    pageG,
    'quick-play with an empty name to join',
    () => window.tickcast?.connected && window.tickcast.players.length > 0,
    null,
    15_000,
  );
  const g = await viewOf(pageG);
  const guest = g.players.find((p) => p.id === g.playerId)?.name ?? '';
  check(
    /^[A-Z][a-z]+ [A-Z][a-z]+ \d\d$/.test(guest),
    `quick play with an empty name joins as the guest "${guest}"`,
  );
  await pageG.close();

  // Touch: on a phone-sized page, dragging on the canvas is a virtual stick.
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 },
    hasTouch: true,
    isMobile: true,
    deviceScaleFactor: 2,
  });
  const pageE = await phone.newPage();
  pageE.on('pageerror', (e) => pageErrors.push(`E: ${e.message}`));
  await pageE.goto(`${server.url}/?room=${room}-touch&name=E`);
  const alone = () => window.tickcast.connected && window.tickcast.players.length === 1;
  await waitView(pageE, 'the phone page to join', alone, null, 15_000);
  const e0 = await viewOf(pageE);
  const eX0 = e0.players[0].x;
  const dir = eX0 < (e0.arena?.width ?? 1600) - 400 ? 1 : -1;
  const cdp = await phone.newCDPSession(pageE);
  const touch = (type, x) =>
    cdp.send('Input.dispatchTouchEvent', {
      type,
      touchPoints: type === 'touchEnd' ? [] : [{ x, y: 500, id: 1 }],
    });
  await touch('touchStart', 195);
  for (let i = 1; i <= 4; i++) await touch('touchMove', 195 + dir * 20 * i);
  await waitView(
    pageE,
    'the touch-dragged player to move',
    ({ x0, dir }) => {
      const me = window.tickcast.players[0];
      return me && (me.x - x0) * dir > 150;
    },
    { x0: eX0, dir },
    10_000,
  );
  await pageE.screenshot({ path: join(resultsDir, 'e2e-phone.png') });
  await touch('touchEnd', 0);
  check(true, `a touch drag moves the player on a phone-sized page (from x=${eX0.toFixed(1)})`);
  await phone.close();

  // A server that requires signed join tokens: a bad token gets a clear message (HTTP 401 on the
  // upgrade, which a browser cannot see, so the client asks), a good one plays.
  if (!mock) {
    const secret = `e2e-${randomBytes(8).toString('hex')}`;
    const authed = await startServer(bin, 0, {
      label: 'server-auth',
      env: { TICKCAST_AUTH_SECRET: secret },
    });
    const minted = spawnSync(bin, ['token', '--secret', secret, '--name', 'T'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    const token = minted.stdout.trim().split('\n').pop();
    check(minted.status === 0 && token, 'minted a join token with `tickcast-server token`');
    const pageT = await open('T');
    await pageT.goto(`${authed.url}/?room=${room}&name=T&token=not-a-valid-token`);
    await waitView(
      pageT,
      'the bad token to be refused',
      () => window.tickcast.closed !== null,
      null,
      15_000,
    );
    const t = await viewOf(pageT);
    const tNotice = await pageT.evaluate(() => document.getElementById('notice-text').textContent);
    check(
      t.closed.code === 401 && /token/i.test(tNotice),
      `a bad join token is refused: "${tNotice}" (HTTP ${t.closed.code})`,
    );
    const socketUrls = [];
    pageT.on('websocket', (ws) => socketUrls.push(ws.url()));
    await pageT.goto(`${authed.url}/?room=${room}&name=T&token=${encodeURIComponent(token)}`);
    await waitView(pageT, 'the good token to play', () => window.tickcast.connected, null, 15_000);
    check(
      socketUrls.length > 0 && socketUrls.every((u) => !u.includes('token')),
      `a valid join token plays: offered in the handshake (subprotocol tickcast.token.…), which Chromium accepted with the answer tickcast.v1; the socket URL carries no token (${socketUrls.join(', ')})`,
    );
    await pageT.close();
    await authed.stop();
    const authLog = readFileSync(join(resultsDir, 'server-auth.log'), 'utf8');
    check(
      authLog.length > 0 && !authLog.includes(token) && !authLog.includes(token.split('.')[1]),
      "the join token appears nowhere in the server's log",
    );
  }

  // Session resume (resume.mjs): a page whose connection is cut without a close frame gets its
  // player back; after the grace period (another server, with a 1 s grace) it joins fresh.
  if (mock) {
    log('resume checks skipped: the mock server does not implement resume');
  } else {
    await resumeChecks({
      open,
      server,
      startGraceServer: () =>
        startServer(bin, 0, { label: 'server-grace', env: { TICKCAST_RESUME_GRACE: '1' } }),
      roomPrefix: room,
      cleanups,
      check,
      log,
      waitView,
      waitStill,
      viewOf,
      resultsDir,
    });
  }

  // Ghost players (ghosts.mjs): a page that goes away leaves at once (measured over 10 tab closes
  // and 10 navigations); a lost connection's held seat is marked for everyone.
  if (mock) {
    log('ghost checks skipped: the mock server does not hold seats');
  } else {
    await ghostChecks({
      open,
      server,
      roomPrefix: room,
      cleanups,
      check,
      log,
      waitView,
      viewOf,
      resultsDir,
    });
  }

  // A two-node cluster on a real redis-server (cluster.mjs): page B follows A's invite link
  // through the other node and is redirected to A's room.
  if (mock) {
    log('cluster checks skipped: the mock server is no cluster node');
  } else {
    await clusterChecks({
      open,
      startNode: (label, env) => startServer(bin, 0, { label, env }),
      roomPrefix: room,
      cleanups,
      check,
      log,
      waitView,
      viewOf,
      resultsDir,
    });
  }

  // Friends split by a restart (reunion.mjs): quick play and its invite link meet again.
  if (mock) {
    log('reunion checks skipped: the mock server is not restarted as a second server');
  } else {
    await reunionChecks({
      open,
      start: (label, port = 0) => startServer(bin, port, { label }),
      check,
      log,
      waitView,
      viewOf,
    });
  }

  // Live migration (migration.mjs): the node of a page's room is drained, the room moves to the
  // other node, and the page plays on as the same player while an observer page draws it.
  if (mock) {
    log('migration checks skipped: the mock server is no cluster node');
  } else {
    await migrationChecks({
      open,
      startNode: (label, env) => startServer(bin, 0, { label, env }),
      roomPrefix: room,
      cleanups,
      check,
      log,
      waitView,
      waitStill,
      viewOf,
      resultsDir,
    });
  }

  // Restart the server on the same port: both pages notice (1001), back off, and rejoin the room.
  const netBefore = (await viewOf(pageA)).net;
  const port = Number(new URL(server.url).port);
  log('restarting the server on the same port');
  await server.stop();
  await waitView(
    pageA,
    'page A to notice the restart',
    () => !window.tickcast.connected,
    null,
    10_000,
  );
  await waitView(
    pageA,
    'the reconnecting banner',
    () => window.tickcast.status === 'reconnecting',
    null,
    10_000,
  );
  await pageA.screenshot({ path: join(resultsDir, 'e2e-reconnecting.png') });
  const restarted = mock ? await startMock(port) : await startServer(bin, port);
  check(restarted.url === server.url, `server restarted at ${restarted.url}`);
  await waitView(pageA, 'page A to reconnect', bothThere, room, 30_000);
  await waitView(pageB, 'page B to reconnect', bothThere, room, 30_000);
  check(true, 'both pages reconnected with backoff and see each other again');

  // Inputs still count after the reconnect (seq keeps increasing across connections).
  const r0 = await viewOf(pageB);
  const ra = r0.players.find((p) => p.id !== r0.playerId);
  const rRight = ra.x < (r0.arena?.width ?? 1600) - 400;
  const rKey = rRight ? 'ArrowRight' : 'ArrowLeft';
  const aId = (await viewOf(pageA)).playerId;
  await pageA.bringToFront();
  await pageA.keyboard.down(rKey);
  await waitView(
    pageB,
    'page B to see A move after the reconnect',
    movedBy,
    { id: aId, x0: ra.x, right: rRight, margin: 100 },
    10_000,
  );
  await pageA.keyboard.up(rKey);
  check(true, `after the reconnect, page B again sees A move (${rKey})`);
  if (!mock) {
    // The new connection's first delta is a full patch (the page's baselines were reset), and
    // deltas against baselines follow.
    const net = (await viewOf(pageA)).net;
    check(
      net.fullDeltas > netBefore.fullDeltas &&
        net.deltas - netBefore.deltas > net.fullDeltas - netBefore.fullDeltas &&
        net.deltaErrors === 0 &&
        net.snapshots === 0,
      `after the reconnect page A starts again from a full patch and runs on deltas (${net.deltas - netBefore.deltas} more, ${net.fullDeltas - netBefore.fullDeltas} full, ${net.deltaErrors} apply errors)`,
    );
  }

  check(
    pageErrors.length === 0,
    `no uncaught page errors${pageErrors.length ? `: ${pageErrors.join('; ')}` : ''}`,
  );
}

/**
 * The net stats overlay: `N` shows it (button state, remembered, drawn on the canvas), its figures
 * are plausible against the real server on deltas, and the toolbar button hides it again.
 */
async function netStatsChecks(page, mock) {
  // The pixels of the overlay's title band (in the arena's top-left corner, which a 1280×720
  // page shows at (16, 16)), to see that it is drawn and removed.
  const band = () => {
    const c = document.getElementById('game');
    const k = c.width / c.clientWidth;
    const [x, y, w, h] = [26 * k, 26 * k, 286 * k, 20 * k].map(Math.round);
    return new Promise((res) =>
      requestAnimationFrame(() =>
        requestAnimationFrame(() => {
          // Copied into a fresh canvas first: reading the game canvas itself twice makes Chromium
          // warn about repeated readbacks.
          const copy = document.createElement('canvas');
          copy.width = w;
          copy.height = h;
          const ctx = copy.getContext('2d', { willReadFrequently: true });
          ctx.drawImage(c, x, y, w, h, 0, 0, w, h);
          res(Array.from(ctx.getImageData(0, 0, w, h).data));
        }),
      ),
    );
  };
  const shown = () =>
    window.tickcast.netStats.visible &&
    document.getElementById('netstats').getAttribute('aria-pressed') === 'true' &&
    localStorage.getItem('tickcast.netstats') === '1';
  await page.bringToFront();
  check(!(await page.evaluate(shown)), 'the net stats overlay is off by default');
  await page.keyboard.press('n');
  await waitView(page, 'the net stats overlay to show (key N)', shown, null, 5000);
  const on = await page.evaluate(band);

  // Rates over the last second. A condition with a timeout, so one hiccup of a busy machine does
  // not fail the run, but figures that never become plausible do.
  const plausible = (mock) => {
    const s = window.tickcast.netStats;
    const ok =
      s.snapshotRate >= 25 &&
      s.snapshotRate <= 35 &&
      s.tickRate === 30 &&
      s.downBytesPerSec > 0 &&
      s.upBytesPerSec > 0 &&
      s.rttMs !== null &&
      s.interpDelayMs > 20 &&
      s.interpDelayMs < 250 &&
      s.ackLag <= 1;
    if (mock) return ok;
    // On deltas a frame of this room of 2 costs ~35–45 B; a full one ~300 B (24 orbs).
    return (
      ok &&
      s.bytesPerSnapshot < 100 &&
      s.bytesPerSnapshot < s.fullBytes / 4 &&
      s.deltaShare > 0.9 &&
      s.deltaErrors === 0 &&
      s.deltaErrorsTotal === 0 &&
      s.baseAge >= 1 &&
      s.baseAge <= 15
    );
  };
  await waitView(page, 'plausible net stats', plausible, mock, 5000);
  const s = (await viewOf(page)).netStats;
  const f = (v, d = 0) => (v === null ? 'null' : v.toFixed(d));
  log(`page A net stats: ${JSON.stringify(s)}`);
  check(
    true,
    `net stats: ${f(s.snapshotRate, 1)} snapshots/s at ${s.tickRate} Hz, down ${f(s.downBytesPerSec)} B/s, up ${f(s.upBytesPerSec)} B/s, ${f(s.bytesPerSnapshot, 1)} B per snapshot (a full one ${s.fullBytes} B), ${f(s.deltaShare * 100)} % deltas, ${s.droppedTicks} dropped ticks (${s.droppedTotal} in all), ${s.deltaErrors} apply errors, rtt ${f(s.rttMs, 1)} ms, ack lag ${s.ackLag}, base age ${s.baseAge} ticks, interp ${f(s.interpDelayMs)} ms`,
  );
  await page.screenshot({ path: join(resultsDir, 'e2e-netstats.png') });

  await page.click('#netstats');
  await waitView(
    page,
    'the toolbar button to hide the overlay',
    () =>
      !window.tickcast.netStats.visible &&
      document.getElementById('netstats').getAttribute('aria-pressed') === 'false' &&
      localStorage.getItem('tickcast.netstats') === null,
    null,
    5000,
  );
  const off = await page.evaluate(band);
  let changed = 0;
  for (let i = 0; i < on.length; i += 4) {
    const d = Math.max(
      Math.abs(on[i] - off[i]),
      Math.abs(on[i + 1] - off[i + 1]),
      Math.abs(on[i + 2] - off[i + 2]),
    );
    if (d > 6) changed++;
  }
  const share = changed / (on.length / 4);
  check(
    share > 0.5,
    `the overlay is drawn on the canvas and the button hides it (${(share * 100).toFixed(0)} % of its title band's pixels change)`,
  );
}

/**
 * For the README picture: both pages play for a while (an in-page autopilot presses the arrow
 * keys towards the nearest orb) until someone has a few points, then page A is captured.
 */
async function takeReadmeScreenshot(browser, baseUrl) {
  const demoRoom = `demo-${randomBytes(3).toString('hex')}`;
  const pages = [];
  for (const name of ['nova', 'pixel']) {
    const ctx = await browser.newContext({
      viewport: { width: 1280, height: 720 },
      deviceScaleFactor: 1.5,
    });
    const page = await ctx.newPage();
    await page.goto(`${baseUrl}/?room=${demoRoom}&name=${name}`);
    pages.push(page);
  }
  const [pageA, pageB] = pages;
  for (const page of pages) {
    await page.waitForFunction(
      () => window.tickcast.connected && window.tickcast.players.length === 2,
      null,
      {
        timeout: 15_000,
      },
    );
  }
  // Each player hunts the orbs of its own half, so they do not chase the same one.
  const autopilot = (side) => {
    const held = new Set();
    const press = (key, down) => {
      if (down === held.has(key)) return;
      if (down) held.add(key);
      else held.delete(key);
      window.dispatchEvent(new KeyboardEvent(down ? 'keydown' : 'keyup', { key, code: key }));
    };
    window.__autopilot = setInterval(() => {
      const t = window.tickcast;
      const me = t.players.find((p) => p.id === t.playerId);
      if (!me || t.orbs.length === 0) return;
      const half = t.arena.width / 2;
      // Orbs of our half, away from the walls (a picture of players in the open).
      const inner = (o) =>
        o.x > 150 && o.x < t.arena.width - 150 && o.y > 150 && o.y < t.arena.height - 120;
      const mine = t.orbs.filter((o) => inner(o) && (side === 0 ? o.x < half : o.x >= half));
      const orbs = mine.length > 0 ? mine : t.orbs;
      let best = orbs[0];
      for (const o of orbs) {
        if (Math.hypot(o.x - me.x, o.y - me.y) < Math.hypot(best.x - me.x, best.y - me.y)) best = o;
      }
      const dx = best.x - me.x;
      const dy = best.y - me.y;
      press('ArrowRight', dx > 12);
      press('ArrowLeft', dx < -12);
      press('ArrowDown', dy > 12);
      press('ArrowUp', dy < -12);
    }, 50);
    window.__autopilotStop = () => {
      clearInterval(window.__autopilot);
      for (const k of [...held]) press(k, false);
    };
  };
  await pageA.evaluate(autopilot, 0);
  await pageB.evaluate(autopilot, 1);
  await pageA
    .waitForFunction(
      () => {
        const scores = window.tickcast.players.map((p) => p.score);
        return scores.length === 2 && Math.min(...scores) >= 3 && Math.max(...scores) >= 5;
      },
      null,
      { timeout: 30_000, polling: 100 },
    )
    .catch(() => log('README screenshot: scores did not reach the target; shooting anyway'));
  mkdirSync(dirname(readmeScreenshot), { recursive: true });
  await pageA.screenshot({ path: readmeScreenshot });
  for (const page of pages) await page.context().close();
  log(`README screenshot: ${readmeScreenshot}`);
}

let failed = 0;
try {
  await main();
} catch (e) {
  failed = 1;
  console.error(`[e2e] FAILED: ${e instanceof Error ? e.message : e}`);
  const serverLog = join(resultsDir, 'server.log');
  if (existsSync(serverLog)) {
    const tail = readFileSync(serverLog, 'utf8')
      // eslint-disable-next-line no-control-regex
      .replace(/\x1b\[[0-9;]*m/g, '') // colours
      .trimEnd()
      .split('\n')
      .slice(-20);
    console.error(`[e2e] last lines of ${serverLog}:\n${tail.join('\n')}`);
  }
} finally {
  for (const c of cleanups.reverse()) {
    await Promise.resolve()
      .then(c)
      .catch((e) => console.error('[e2e] cleanup:', e.message));
  }
}
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
