import { defineConfig } from 'vitest/config';
import { workspaceAlias } from '../vitest.workspace-alias.js';

export default defineConfig({
  resolve: { alias: workspaceAlias },
  test: {
    name: '@tally/sdk-web',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'happy-dom',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
