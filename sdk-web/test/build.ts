/** Builds the package in memory with its own rollup config: fresh from src/, without touching dist/. */
import { rollup, type OutputAsset, type OutputChunk, type OutputOptions, type RollupOptions } from 'rollup';

export interface Built {
  /** file name under dist/ → code */
  files: Record<string, string>;
}

export async function buildInMemory(): Promise<Built> {
  // @ts-expect-error the rollup config is plain ESM without types
  const configs = (await import('../rollup.config.mjs')).default as RollupOptions[];
  const files: Record<string, string> = {};
  for (const c of configs) {
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
