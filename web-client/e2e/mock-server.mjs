// A small stand-in for tickcast-server, for developing the web client without the Rust server
// (`node e2e/mock-server.mjs [port]`, or `TICKCAST_E2E_MOCK=1 npm run test:e2e`). It speaks the
// same wire protocol (shared/PROTOCOL.md) and serves web-client/dist, but it is NOT what CI tests
// against: the e2e test uses the real server binary unless told otherwise.
import { Decoder, Encoder } from '@msgpack/msgpack';
import { randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';

const ARENA = {
  width: 1600,
  height: 900,
  player_radius: 20,
  orb_radius: 8,
  accel: 1800,
  max_speed: 320,
  drag: 0.02,
  boost: 1.6,
};
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
  '.json': 'application/json',
};

export function startMockServer({ port = 0, staticDir, tickRate = 30, maxPlayers = 8 } = {}) {
  const dist = staticDir ?? fileURLToPath(new URL('../dist', import.meta.url));
  const enc = new Encoder();
  const dec = new Decoder();
  const rooms = new Map();

  const http = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/rooms') {
      const list = [...rooms.values()].map((r) => ({
        id: r.id,
        players: r.players.size,
        capacity: maxPlayers,
        tick: r.tick,
      }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(list));
      return;
    }
    let file = normalize(join(dist, url.pathname === '/' ? 'index.html' : url.pathname));
    if (!file.startsWith(dist) || !existsSync(file) || statSync(file).isDirectory()) {
      file = join(dist, 'index.html');
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });

  const wss = new WebSocketServer({ server: http, path: '/ws' });
  const uuidBytes = (id) => Buffer.from(id.replaceAll('-', ''), 'hex');

  function room(id) {
    let r = rooms.get(id);
    if (!r) {
      const orbs = Array.from({ length: 24 }, (_, i) => ({
        id: i,
        x: 40 + Math.random() * (ARENA.width - 80),
        y: 40 + Math.random() * (ARENA.height - 80),
      }));
      r = { id, tick: 0, players: new Map(), orbs, timer: null };
      const dt = 1 / tickRate;
      r.timer = setInterval(() => {
        r.tick++;
        for (const p of r.players.values()) step(p, dt);
        for (const p of r.players.values()) {
          for (const o of r.orbs) {
            if (Math.hypot(p.x - o.x, p.y - o.y) <= ARENA.player_radius + ARENA.orb_radius) {
              p.score++;
              o.x = 40 + Math.random() * (ARENA.width - 80);
              o.y = 40 + Math.random() * (ARENA.height - 80);
            }
          }
        }
        const players = [...r.players.values()].map((p) => [
          uuidBytes(p.id),
          p.name,
          p.x,
          p.y,
          p.vx,
          p.vy,
          p.score,
          p.last_input,
        ]);
        const orbs = r.orbs.map((o) => [o.id, o.x, o.y]);
        const bytes = enc.encode({ snap: [r.tick, Date.now(), [players, orbs]] });
        for (const p of r.players.values()) p.ws.send(bytes);
      }, 1000 / tickRate);
      rooms.set(id, r);
    }
    return r;
  }

  function step(p, dt) {
    const c = p.controls;
    const k = c.buttons & 1 ? ARENA.boost : 1;
    p.vx += c.x * ARENA.accel * k * dt;
    p.vy += c.y * ARENA.accel * k * dt;
    const keep = Math.pow(ARENA.drag, dt);
    p.vx *= keep;
    p.vy *= keep;
    const speed = Math.hypot(p.vx, p.vy);
    const max = ARENA.max_speed * k;
    if (speed > max) {
      p.vx = (p.vx / speed) * max;
      p.vy = (p.vy / speed) * max;
    }
    p.x += p.vx * dt;
    p.y += p.vy * dt;
    const r = ARENA.player_radius;
    if (p.x < r || p.x > ARENA.width - r) {
      p.x = Math.min(ARENA.width - r, Math.max(r, p.x));
      p.vx = 0;
    }
    if (p.y < r || p.y > ARENA.height - r) {
      p.y = Math.min(ARENA.height - r, Math.max(r, p.y));
      p.vy = 0;
    }
  }

  wss.on('connection', (ws) => {
    let player = null;
    let r = null;
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return ws.close(1003, 'text frames are not supported');
      let msg;
      try {
        msg = dec.decode(data);
      } catch {
        return ws.close(1007, 'not a valid tickcast message');
      }
      if (msg.join) {
        const [version, roomId, name] = msg.join;
        if (version !== 1) return ws.close(4000, `protocol version ${version}, server speaks 1`);
        if (typeof name !== 'string' || !name.trim() || name.trim().length > 20) {
          return ws.close(4003, 'invalid name');
        }
        const id =
          roomId ??
          [...rooms.values()].find((x) => x.players.size < maxPlayers)?.id ??
          `r${randomBytes(3).toString('hex')}`;
        r = room(id);
        if (r.players.size >= maxPlayers) return ws.close(4001, `room ${id} is full`);
        player = {
          id: randomUUID(),
          name: name.trim(),
          ws,
          x: 100 + Math.random() * 600,
          y: 100 + Math.random() * 600,
          vx: 0,
          vy: 0,
          score: 0,
          last_input: 0,
          controls: { x: 0, y: 0, buttons: 0 },
        };
        r.players.set(player.id, player);
        ws.send(
          enc.encode({
            welcome: [
              uuidBytes(player.id),
              id,
              tickRate,
              r.tick,
              maxPlayers,
              Object.values(ARENA),
              null,
            ],
          }),
        );
      } else if (msg.input && player) {
        const [seq, , [x, y, buttons]] = msg.input;
        if (seq > player.last_input) {
          player.last_input = seq;
          player.controls = { x, y, buttons };
        }
      } else if (msg.ping) {
        ws.send(enc.encode({ pong: [msg.ping[0], Date.now()] }));
      }
    });
    ws.on('close', () => {
      if (player && r) {
        r.players.delete(player.id);
        if (r.players.size === 0) {
          clearInterval(r.timer);
          rooms.delete(r.id);
        }
      }
    });
  });

  return new Promise((resolve) => {
    http.listen(port, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${http.address().port}`;
      resolve({
        url,
        stop: () =>
          new Promise((done) => {
            for (const r of rooms.values()) clearInterval(r.timer);
            for (const c of wss.clients) c.terminate();
            wss.close();
            http.close(() => done());
          }),
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { url } = await startMockServer({ port: Number(process.argv[2] ?? 8080) });
  console.log(`mock tickcast listening on ${url}`);
}
