import { fileURLToPath } from 'node:url';

/**
 * Workspace packages resolve to their TypeScript sources in tests, so nothing has to be
 * built before `vitest` runs.
 */
export const workspaceAlias = {
  '@tally/schemas': fileURLToPath(new URL('./schemas/src/index.ts', import.meta.url)),
  '@tally/sdk-web': fileURLToPath(new URL('./sdk-web/src/index.ts', import.meta.url)),
  '@tally/collector': fileURLToPath(new URL('./collector/src/index.ts', import.meta.url)),
};
