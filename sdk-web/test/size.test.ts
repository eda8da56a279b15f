// @vitest-environment node
// Builds with rollup and holds the script tag to its budget: every feature in at most 4,096 bytes min+gzip.
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
import { BUDGET, measure } from '../scripts/size.mjs';
import { buildInMemory, type Built } from './build.js';

let built: Built;

beforeAll(async () => {
  built = await buildInMemory();
}, 180_000);

describe('bundle size', () => {
  it('the script-tag build is at most 4,096 bytes min+gzip, by zlib and by gzip -9 -n', () => {
    const s = measure(built.files['tally.js']);
    console.log(`tally.js: ${s.min} B min, ${s.zlib} B zlib -9, ${s.gzipProgram} B gzip -9 -n, ${s.brotli} B brotli`);
    expect(s.zlib).toBeLessThanOrEqual(BUDGET['dist/tally.js']);
    expect(s.gzipProgram).toBeLessThanOrEqual(BUDGET['dist/tally.js']);
  });

  it('the build is minified as written: no rewriting of the minifier’s output', async () => {
    // @ts-expect-error the rollup config is plain ESM without types
    const configs = (await import('../rollup.config.mjs')).default as { plugins: { name: string; renderChunk?: unknown }[] }[];
    for (const c of configs) expect(c.plugins.filter((p) => p.renderChunk && p.name != 'terser').map((p) => p.name)).toEqual([]);
  });

  it('the loader snippet is under 1 KB, and defines the queueing stub when run', () => {
    const code = built.files['snippet.js']!;
    expect(Buffer.byteLength(code)).toBeLessThan(1024);
    const appended: { src?: string }[] = [];
    const window: { tally?: unknown[] & Record<string, (...a: unknown[]) => void> } = {};
    const document = { createElement: () => ({}), head: { appendChild: (s: { src?: string }) => appended.push(s) } };
    runInNewContext(code, { window, document });
    window.tally!.track!('A');
    window.tally!.init!({ writeKey: 'wk', host: 'https://c.test' });
    expect(window.tally!.slice()).toEqual([['track', 'A'], ['init', { writeKey: 'wk', host: 'https://c.test' }]]);
    expect(appended[0]!.src).toBe('https://c.test/t.js');
  });

  it('the ESM build ships its type declarations and no zod', () => {
    expect(built.files['index.js']).not.toMatch(/zod/i);
    expect(built.files['index.d.ts']).toContain('createTally');
  });

  it('the experiment helper is in the ESM build only, not in the script tag', () => {
    expect(built.files['index.js']).toContain('Experiment Viewed');
    expect(built.files['index.d.ts']).toContain('experimentViewed');
    expect(built.files['tally.js']).not.toContain('Experiment Viewed');
  });
});
