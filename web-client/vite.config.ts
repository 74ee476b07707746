import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
// The demo imports the SDK by its package name, from source (web-client/sdk; nothing copied).
const sdkEntry = fileURLToPath(new URL('./sdk/src/index.ts', import.meta.url));
// `npm run dev` proxies the server's endpoints to a locally running tickcast-server.
const server = process.env.TICKCAST_DEV_SERVER ?? 'http://127.0.0.1:8080';

export default defineConfig({
  // Relative asset URLs: the built client works wherever the server mounts it.
  base: './',
  resolve: { alias: { 'tickcast-client': sdkEntry } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
  server: {
    // The client imports its palette from ../assets/web.
    fs: { allow: [repoRoot] },
    proxy: {
      '/ws': { target: server.replace(/^http/, 'ws'), ws: true },
      '/rooms': server,
    },
  },
  test: {
    include: ['test/**/*.test.ts', 'sdk/test/**/*.test.ts'],
    environment: 'node',
  },
});
