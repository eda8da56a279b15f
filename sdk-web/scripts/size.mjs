// Prints the min, gzip and brotli sizes of each build; `--check` fails when the tracker is over budget.
import { readFileSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export const BUDGET = { 'dist/tally.js': 4096, 'dist/snippet.js': 1024 };
const dir = new URL('../', import.meta.url);

/** Minified, gzip (level 9) and brotli (quality 11) sizes in bytes. */
export function measure(text) {
  const code = Buffer.from(text);
  return {
    min: code.length,
    gzip: gzipSync(code, { level: 9 }).length,
    brotli: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let over = false;
  for (const file of ['dist/index.js', 'dist/tally.js', 'dist/snippet.js']) {
    const s = measure(readFileSync(new URL(file, dir)));
    const budget = BUDGET[file];
    const note = budget ? ` (budget ${budget} gzip${s.gzip > budget ? ', OVER' : ''})` : '';
    if (budget && s.gzip > budget) over = true;
    console.log(`${file.padEnd(16)} ${String(s.min).padStart(6)} B min  ${String(s.gzip).padStart(5)} B gzip  ${String(s.brotli).padStart(5)} B brotli${note}`);
  }
  if (over && process.argv.includes('--check')) process.exit(1);
}
