// `npm pack` makes an installable tarball of tickcast-client, and a tiny project installs it and
// type-checks against it: the package's files, exports and declarations work for a user who
// has nothing but the tarball. Also imports the installed package in Node (its ESM loads).
//
//   node sdk/scripts/pack-check.mjs      (from web-client; CI: scripts/test.sh)
//
// Works offline: the tarball's one dependency (@msgpack/msgpack) comes from the npm cache that
// `npm ci` in web-client filled, and the TypeScript compiler is web-client's.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const sdkDir = fileURLToPath(new URL('..', import.meta.url));
const webDir = join(sdkDir, '..');
const tsc = join(webDir, 'node_modules', '.bin', 'tsc');

function run(cmd, args, cwd) {
  console.log(`[pack-check] ${cmd} ${args.join(' ')}  (in ${cwd})`);
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
}

const work = mkdtempSync(join(tmpdir(), 'tickcast-client-pack-'));
try {
  run('npm', ['pack', '--pack-destination', work], sdkDir);
  const tarballs = readdirSync(work).filter((f) => /^tickcast-client-.*\.tgz$/.test(f));
  if (tarballs.length !== 1) throw new Error(`expected one tarball, got ${tarballs.join(', ')}`);
  console.log(`[pack-check] packed ${tarballs[0]}`);
  renameSync(join(work, tarballs[0]), join(work, 'tickcast-client.tgz'));
  const example = join(work, 'example');
  cpSync(join(sdkDir, 'example'), example, {
    recursive: true,
    filter: (src) => !/node_modules|package-lock\.json/.test(src),
  });
  run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock'],
    example,
  );
  run(tsc, ['--noEmit', '-p', 'tsconfig.json'], example);
  run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "const m = await import('tickcast-client'); if (typeof m.connect !== 'function' || m.PROTOCOL_VERSION !== 1) throw new Error('bad exports'); console.log('[pack-check] the installed package loads in Node');",
    ],
    example,
  );
  console.log('[pack-check] ok: the tarball installs and type-checks');
} finally {
  rmSync(work, { recursive: true, force: true });
}
