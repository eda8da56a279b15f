import { defineConfig } from 'vitest/config';
import { workspaceAlias } from '../vitest.workspace-alias.js';

export default defineConfig({
  resolve: { alias: workspaceAlias },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'sql/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
