import { defineConfig } from 'vitest/config';
import { workspaceAlias } from '../vitest.workspace-alias.js';

// The fault, load and hostile-input suites (`pnpm test:faults`): real Postgres, real
// collector processes, minutes long. One file at a time, since each loads both cores.
export default defineConfig({
  resolve: { alias: workspaceAlias },
  test: {
    include: ['test/faults/**/*.faults.ts'],
    globalSetup: ['test/faults/support/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 120_000,
  },
});
