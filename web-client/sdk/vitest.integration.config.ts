// The SDK's Node integration test (`npm run test:sdk`): the real server, so not part of the
// unit test run. Same resolution as the demo (the SDK by its package name, from source).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: { 'tickcast-client': fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  },
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['sdk/integration/**/*.it.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 20 * 60_000,
  },
});
