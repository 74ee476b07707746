// Makes sure web-client/dist is built and current, so that one command brings the demo up:
//
//   node web-client/scripts/ensure-built.mjs && cargo run --release -p tickcast-server
//
// Installs the dependencies (npm ci) when node_modules is missing or older than
// package-lock.json, and runs `npm run build` when dist/ is missing or older than any source.
// Quiet and fast (a few stat calls) when everything is up to date.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const webDir = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = resolve(webDir, '..');

/** Newest modification time (ms) under `path` (0 when it does not exist). */
export function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((f) => newestMtime(join(path, f))));
}

function run(args, what) {
  console.log(`[web-client] ${what} (npm ${args.join(' ')})…`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, args, { cwd: webDir, stdio: 'inherit', timeout: 600_000 });
  if (r.error) throw new Error(`cannot run npm: ${r.error.message} (install Node.js ≥ 20.19)`);
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} failed (exit ${r.status})`);
}

/** Installs and builds as needed; returns true when it built. */
export function ensureBuilt({ log = true } = {}) {
  const lock = newestMtime(join(webDir, 'package-lock.json'));
  const installed = newestMtime(join(webDir, 'node_modules', '.package-lock.json'));
  if (installed < lock) run(['ci', '--no-audit', '--no-fund'], 'installing dependencies');
  const built = newestMtime(join(webDir, 'dist', 'index.html'));
  const sources = Math.max(
    newestMtime(join(webDir, 'src')),
    newestMtime(join(webDir, 'sdk', 'src')),
    newestMtime(join(webDir, 'index.html')),
    newestMtime(join(webDir, 'vite.config.ts')),
    lock,
    newestMtime(join(repoRoot, 'assets', 'web')),
  );
  if (built > sources) {
    if (log) console.log('[web-client] dist/ is up to date');
    return false;
  }
  run(['run', 'build'], 'building the web client');
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    ensureBuilt();
  } catch (e) {
    console.error(`[web-client] ${e.message}`);
    process.exit(1);
  }
}
