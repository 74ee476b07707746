// Browser e2e of issue 13's "ghost players", run by e2e.mjs against the real server.
//
// 1. Leave on page-away: a player whose page goes away (the tab is closed, or it navigates to
//    another page) must leave the room at once, not stay frozen for the resume grace. Page W
//    watches a room; page L joins it and then goes away, ROUNDS times each way. A round counts
//    when W sees L's player gone within GONE_WITHIN_MS of the page-away. At least MIN_GONE of
//    ROUNDS each way, on whatever load the machine has (the counts are logged).
// 2. Held seat: page H plays through a TCP proxy (tcp-proxy.mjs); the proxy cuts H's connection
//    without a close frame and refuses new ones. W must see H marked held (dimmed,
//    "reconnecting…") while the seat is held, and unmarked once H has resumed.
import { join } from 'node:path';
import { startTcpProxy } from './tcp-proxy.mjs';

const ROUNDS = 10;
const MIN_GONE = 9;
const GONE_WITHIN_MS = 1000;

/** In page W: resolves with ms until player `id` is no longer drawn (or `null` after `limit`). */
const goneWithin = ({ id, limit }) =>
  new Promise((res) => {
    const t0 = performance.now();
    const poll = () => {
      const dt = performance.now() - t0;
      if (!window.tickcast.players.some((p) => p.id === id)) return res(dt);
      if (dt > limit) return res(null);
      setTimeout(poll, 10);
    };
    poll();
  });

/**
 * @param {object} env  the helpers of e2e.mjs
 * @param {(label: string) => Promise<import('playwright-core').Page>} env.open  a new page
 * @param {{url: string}} env.server  the main server (default resume grace)
 */
export async function ghostChecks({
  open,
  server,
  roomPrefix,
  cleanups,
  check,
  log,
  waitView,
  viewOf,
  resultsDir,
}) {
  const room = `${roomPrefix}-ghosts`;
  const link = (name) => `${server.url}/?room=${room}&name=${name}`;
  const twoIn = (room) => {
    const t = window.tickcast;
    return !!t && t.connected && t.roomId === room && t.players.length === 2;
  };
  const pageW = await open('W');
  await pageW.goto(link('W'));
  await waitView(pageW, 'page W to join', () => window.tickcast?.connected, null, 15_000);

  // --- 1. Leave on page-away. ---------------------------------------------------------------
  const ways = {
    'closing the tab': (page) => page.close({ runBeforeUnload: true }),
    'navigating away': (page) => page.goto('about:blank', { waitUntil: 'commit' }),
  };
  for (const [way, goAway] of Object.entries(ways)) {
    let gone = 0;
    const times = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const pageL = await open(`L${round}`);
      await pageL.goto(link(`L${round}`));
      await waitView(pageL, `page L${round} to join`, twoIn, room);
      await waitView(pageW, `W to see L${round}`, twoIn, room);
      const id = (await viewOf(pageL)).playerId;
      const watching = pageW.evaluate(goneWithin, { id, limit: GONE_WITHIN_MS });
      await goAway(pageL);
      const ms = await watching;
      times.push(ms === null ? 'held' : `${Math.round(ms)}`);
      if (ms !== null) gone++;
      await pageL.context().close();
      // A ghost is removed after the resume grace; wait for it so the next round starts clean.
      await waitView(
        pageW,
        `L${round} to be gone before the next round`,
        (id) => !window.tickcast.players.some((p) => p.id === id),
        id,
        30_000,
      );
    }
    log(`${way}: gone within ${GONE_WITHIN_MS} ms in ${gone}/${ROUNDS} (ms: ${times.join(', ')})`);
    check(
      gone >= MIN_GONE,
      `${way}: the player left at once in ${gone}/${ROUNDS} rounds (at least ${MIN_GONE})`,
    );
  }

  // --- 2. A held seat is marked. ------------------------------------------------------------
  const proxy = await startTcpProxy(Number(new URL(server.url).port));
  cleanups.push(proxy.close);
  const pageH = await open('H');
  await pageH.goto(`${proxy.url}/?room=${room}&name=H`);
  await waitView(pageH, 'page H (through the proxy) to join', twoIn, room);
  await waitView(pageW, 'W to see H', twoIn, room);
  const id = (await viewOf(pageH)).playerId;
  const heldIn = ({ id, held }) =>
    window.tickcast.players.some((p) => p.id === id && p.held === held);
  check(
    (await pageW.evaluate(heldIn, { id, held: false })) &&
      (await pageH.evaluate(heldIn, { id, held: false })),
    'a connected player is not marked held',
  );
  proxy.refuse(true);
  const cut = proxy.drop();
  log(`cut ${cut} proxied connection(s) of page H without a close frame; new ones refused`);
  await waitView(pageW, 'W to see H marked held', heldIn, { id, held: true }, 10_000);
  const shown = await pageW.evaluate(
    (id) => window.tickcast.players.filter((p) => p.id === id).length,
    id,
  );
  await pageW.screenshot({ path: join(resultsDir, 'e2e-held-seat.png') });
  check(
    shown === 1,
    'W still draws H, marked held ("reconnecting…", dimmed), while its seat is held',
  );
  proxy.refuse(false);
  await waitView(pageH, 'page H to resume', twoIn, room, 20_000);
  await waitView(pageW, 'W to see H unmarked', heldIn, { id, held: false }, 10_000);
  check(true, 'after the resume, W sees H as connected again (not held)');
  await pageH.close();
  await pageW.close();
}
