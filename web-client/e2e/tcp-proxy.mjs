// A tiny TCP proxy for the browser e2e: a page loaded through it talks to the real server over
// connections the test can cut. `drop()` resets every proxied connection (TCP RST both ways, no
// WebSocket close frame: to the browser and to the server it is a lost connection), and
// `refuse(true)` resets new connections as they arrive (the network is down for this page).
//
// It also reads the server-to-client byte stream of each WebSocket connection (frames from a
// server are never masked, and this server does not compress) and records the close frames the
// server sent, so a test can tell which close code a page got.
import { createServer, connect } from 'node:net';

/**
 * Reads a server-to-client stream: calls `onUpgrade()` on an HTTP 101 answer and then
 * `onClose(code, reason)` for each close frame. Returns the chunk consumer. Streams that are not
 * an upgrade (static files) are ignored.
 */
function closeFrameSniffer(onUpgrade, onClose) {
  let buf = Buffer.alloc(0);
  let upgraded = false;
  let ignore = false;
  return (chunk) => {
    if (ignore) return;
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    if (!upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!/^HTTP\/1\.1 101 /.test(buf.subarray(0, 13).toString('latin1'))) {
        ignore = true;
        return;
      }
      upgraded = true;
      onUpgrade();
      buf = buf.subarray(end + 4);
    }
    while (buf.length >= 2) {
      const opcode = buf[0] & 0x0f;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (buf[1] & 0x80) {
        ignore = true; // a masked frame from a server: not a stream we understand
        return;
      }
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      if (buf.length < off + len) return;
      if (opcode === 0x8) {
        const body = buf.subarray(off, off + len);
        onClose(body.length >= 2 ? body.readUInt16BE(0) : 1005, body.subarray(2).toString('utf8'));
      }
      buf = buf.subarray(off + len);
    }
  };
}

/**
 * Starts a proxy on 127.0.0.1 (port 0) to `targetPort` on 127.0.0.1. `connections` lists every
 * connection it passed on, oldest first: `{ acceptedAt, upgradedAt, serverClose, endedAt }`
 * (times from Date.now(); `upgradedAt` once the server answered a WebSocket upgrade,
 * `serverClose` = `{ code, reason, at }` once the server sent a close frame, `endedAt` once
 * either side closed or the proxy dropped it).
 */
export async function startTcpProxy(targetPort) {
  const open = new Set();
  const connections = [];
  let refusing = false;
  const stats = { refused: 0, dropped: 0 };

  const server = createServer((client) => {
    if (refusing) {
      stats.refused++;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    const conn = { acceptedAt: Date.now(), upgradedAt: null, serverClose: null, endedAt: null };
    connections.push(conn);
    const pair = { client, upstream, conn };
    open.add(pair);
    upstream.on(
      'data',
      closeFrameSniffer(
        () => (conn.upgradedAt = Date.now()),
        (code, reason) => (conn.serverClose ??= { code, reason, at: Date.now() }),
      ),
    );
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      if (!open.delete(pair)) return; // already ended or dropped
      conn.endedAt = Date.now();
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  });
  await new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', res);
  });
  const { port } = server.address();

  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    connections,
    /** The WebSocket connections so far (those the server answered with 101). */
    get webSockets() {
      return connections.filter((c) => c.upgradedAt !== null);
    },
    /** Resets every open proxied connection (RST to both ends); returns how many. */
    drop() {
      const n = open.size;
      for (const pair of [...open]) {
        open.delete(pair);
        pair.conn.endedAt = Date.now();
        pair.upstream.resetAndDestroy();
        pair.client.resetAndDestroy();
      }
      stats.dropped += n;
      return n;
    },
    /** While on, new connections are reset at once (the page cannot reach the server). */
    refuse(on) {
      refusing = on;
    },
    async close() {
      refusing = true;
      for (const pair of [...open]) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      await new Promise((res) => server.close(() => res()));
    },
  };
}
