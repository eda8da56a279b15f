// Prints the min, gzip and brotli sizes of each build; `--check` fails when a build is over budget.
// gzip is measured twice, by Node's zlib and by the `gzip` program (both at level 9): the budget
// holds for both, since a server may compress with either.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export const BUDGET = { 'dist/tally.js': 4096, 'dist/snippet.js': 1024 };
/** The separate entries, each printed on its own (no budget: they never load in a page). */
const APP_AND_SERVER = ['dist/react-native.js', 'dist/node.js'];
const dir = new URL('../', import.meta.url);

/** Minified, gzip (zlib and `gzip -9 -n`) and brotli (quality 11) sizes in bytes; `gzip` is the larger of the two. */
export function measure(text) {
  const code = Buffer.from(text);
  const zlib = gzipSync(code, { level: 9 }).length;
  const gzipProgram = execFileSync('gzip', ['-9', '-n', '-c'], { input: code }).length;
  return {
    min: code.length,
    zlib,
    gzipProgram,
    gzip: Math.max(zlib, gzipProgram),
    brotli: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let over = false;
  for (const file of ['dist/index.js', 'dist/tally.js', 'dist/snippet.js', ...APP_AND_SERVER]) {
    const s = measure(readFileSync(new URL(file, dir)));
    const budget = BUDGET[file];
    const note = budget ? ` (budget ${budget} gzip${s.gzip > budget ? ', OVER' : ''})` : '';
    if (budget && s.gzip > budget) over = true;
    console.log(
      `${file.padEnd(21)} ${String(s.min).padStart(6)} B min  ${String(s.zlib).padStart(5)} B zlib -9  ${String(s.gzipProgram).padStart(5)} B gzip -9 -n  ${String(s.brotli).padStart(5)} B brotli${note}`,
    );
  }
  if (over && process.argv.includes('--check')) process.exit(1);
}
