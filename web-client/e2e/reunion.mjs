// Browser e2e of issue 13's "friends split by a server restart", run by e2e.mjs against the real
// server: page Q joins by quick play, page R opens Q's invite link (the address bar Q got); the
// server restarts on the same port (1001: the seats are not resumable, both rejoin fresh). Both
// must be in one room again, the room they were in, and Q's address bar still its invite link.
// A fresh server of its own, so quick play creates a room rather than filling another test's.

/**
 * @param {object} env  the helpers of e2e.mjs
 * @param {(label: string, port?: number) => Promise<{url: string, stop(): Promise<void>}>} env.start
 *   starts a server (on `port`, for the restart)
 */
export async function reunionChecks({ open, start, check, log, waitView, viewOf }) {
  const server = await start('server-reunion');
  const pageQ = await open('Q');
  await pageQ.goto(`${server.url}/?name=Q&quick=1`);
  await waitView(pageQ, 'page Q to quick-play', () => window.tickcast?.connected, null, 15_000);
  const q0 = await viewOf(pageQ);
  const invite = new URL(pageQ.url());
  check(
    invite.searchParams.get('room') === q0.roomId,
    `quick play put Q in room ${q0.roomId}, and its address bar is the invite link`,
  );
  invite.searchParams.set('name', 'R');
  const pageR = await open('R');
  await pageR.goto(invite.toString());
  const together = (room) => {
    const t = window.tickcast;
    return !!t && t.connected && t.roomId === room && t.players.length === 2;
  };
  await waitView(pageQ, 'Q to see R', together, q0.roomId, 15_000);
  await waitView(pageR, 'R to join Q', together, q0.roomId, 15_000);

  const port = Number(new URL(server.url).port);
  log(`restarting the reunion server on port ${port}`);
  await server.stop();
  await waitView(pageQ, 'Q to notice the restart', () => !window.tickcast.connected, null, 10_000);
  const restarted = await start('server-reunion-restarted', port);
  await waitView(pageQ, 'Q back in its room with R', together, q0.roomId, 30_000);
  await waitView(pageR, 'R back in the room with Q', together, q0.roomId, 30_000);
  const [q1, r1] = [await viewOf(pageQ), await viewOf(pageR)];
  check(
    q1.playerId !== q0.playerId && r1.roomId === q1.roomId,
    `after the restart Q (quick play) and R (invite link) rejoined fresh, together in ${q1.roomId}`,
  );
  check(
    new URL(pageQ.url()).searchParams.get('room') === q0.roomId &&
      (await pageQ.evaluate(() => document.getElementById('moved')?.hidden ?? true)),
    "Q's address bar is still the room's invite link, and no 'moved' notice shows",
  );
  await pageQ.close();
  await pageR.close();
  await restarted.stop();
}
