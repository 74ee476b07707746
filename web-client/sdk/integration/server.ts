/**
 * The real `tickcast-server` for the SDK's Node integration test: the cargo-built binary
 * (`TICKCAST_SERVER_BIN`, else `cargo build -p tickcast-server` into the repo's target dir), on
 * port 0, its log in web-client/test-results. Resolves once it prints where it listens.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const webDir = fileURLToPath(new URL('../..', import.meta.url));
const repoRoot = resolve(webDir, '..');
const LISTEN_RE = /^tickcast listening on http:\/\/127\.0\.0\.1:(\d+)\s*$/;

export interface RunningServer {
  port: number;
  /** `ws://127.0.0.1:PORT/ws` */
  wsUrl: string;
  logPath: string;
  stop(): Promise<void>;
}

export function serverBinary(): string {
  if (process.env.TICKCAST_SERVER_BIN) return resolve(process.env.TICKCAST_SERVER_BIN);
  const r = spawnSync('cargo', ['build', '-q', '-p', 'tickcast-server'], {
    cwd: repoRoot,
    stdio: 'inherit',
    timeout: 20 * 60_000,
  });
  if (r.status !== 0) throw new Error(`cargo build -p tickcast-server failed (exit ${r.status})`);
  const target = process.env.CARGO_TARGET_DIR
    ? resolve(repoRoot, process.env.CARGO_TARGET_DIR)
    : join(repoRoot, 'target');
  return join(target, 'debug', 'tickcast-server');
}

export async function startServer(label: string, env: Record<string, string> = {}) {
  const bin = serverBinary();
  if (!existsSync(bin)) throw new Error(`server binary not found: ${bin}`);
  const dir = join(webDir, 'test-results');
  mkdirSync(dir, { recursive: true });
  const logPath = join(dir, `${label}.log`);
  const log = createWriteStream(logPath);
  const child: ChildProcess = spawn(
    bin,
    ['--port', '0', '--static-dir', '/nonexistent', '--arena-config', '/nonexistent'],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  child.stderr!.pipe(log);
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => rej(new Error('the server did not start within 30 s')), 30_000);
    child.once('exit', (code) => rej(new Error(`the server exited (${code}); log: ${logPath}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log.write(`[stdout] ${line}\n`);
      const m = LISTEN_RE.exec(line);
      if (m) {
        clearTimeout(timer);
        res(Number(m[1]));
      }
    });
  });
  return {
    port,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    logPath,
    async stop() {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  } satisfies RunningServer;
}

/** Waits until `check()` returns a value other than `undefined`/`false`, or fails after `ms`. */
export async function until<T>(what: string, check: () => T | undefined | false, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
