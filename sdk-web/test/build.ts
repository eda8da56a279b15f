/** Builds the package in memory with its own rollup config: fresh from src/, without touching dist/. */
import { rollup, type OutputAsset, type OutputChunk, type OutputOptions, type RollupOptions } from 'rollup';

export interface Built {
  /** file name under dist/ → code */
  files: Record<string, string>;
}

/** Builds every entry, or only those whose output file is named in `only` (e.g. `['tally.js']`). */
export async function buildInMemory(only?: string[]): Promise<Built> {
  // @ts-expect-error the rollup config is plain ESM without types
  const configs = (await import('../rollup.config.mjs')).default as RollupOptions[];
  const files: Record<string, string> = {};
  for (const c of configs) {
    if (only && !only.includes(String((c.output as OutputOptions).file).split('/').pop()!)) continue;
    const bundle = await rollup({ ...c, onwarn: () => {} });
    const out = c.output as OutputOptions;
    const { output } = await bundle.generate(out);
    await bundle.close();
    const main = String(out.file).split('/').pop()!;
    for (const o of output as (OutputChunk | OutputAsset)[]) {
      const name = o.type == 'chunk' && o.isEntry ? main : o.fileName;
      files[name] = o.type == 'chunk' ? o.code : String(o.source);
    }
  }
  return { files };
}
