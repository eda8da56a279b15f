import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source', 'import', 'module', 'browser', 'default'] },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'happy-dom',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
