// @vitest-environment node
// Builds with rollup and holds the script tag to its budget: every feature in at most 4,096 bytes min+gzip.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
import { BUDGET, sizes } from '../scripts/size.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

beforeAll(() => {
  execFileSync(process.execPath, ['node_modules/rollup/dist/bin/rollup', '-c', '--silent'], { cwd: root, stdio: 'inherit' });
}, 120_000);

describe('bundle size', () => {
  it('the script-tag build is at most 4,096 bytes min+gzip', () => {
    const s = sizes('dist/tally.js');
    console.log(`dist/tally.js: ${s.min} B min, ${s.gzip} B gzip, ${s.brotli} B brotli`);
    expect(s.gzip).toBeLessThanOrEqual(BUDGET['dist/tally.js']);
  });

  it('the loader snippet is under 1 KB, and defines the queueing stub when run', () => {
    const code = readFileSync(new URL('../dist/snippet.js', import.meta.url), 'utf8');
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
    const esm = readFileSync(new URL('../dist/index.js', import.meta.url), 'utf8');
    expect(esm).not.toMatch(/zod/i);
    expect(readFileSync(new URL('../dist/index.d.ts', import.meta.url), 'utf8')).toContain('createTally');
  });
});
