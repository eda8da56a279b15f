// @vitest-environment node
// The React Native and Node entries build on their own: one self-contained file each, with types, each printing its size.
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
import { measure } from '../scripts/size.mjs';
import { buildInMemory, type Built } from './build.js';

let built: Built;

beforeAll(async () => {
  built = await buildInMemory(['react-native.js', 'node.js']);
}, 180_000);

describe('the app and server entries', () => {
  it.each(['react-native', 'node'])('%s.js imports nothing (no react-native, no zod), ships its declarations and prints its size', (name) => {
    const code = built.files[`${name}.js`]!;
    const s = measure(code);
    console.log(`${name}.js: ${s.min} B min, ${s.zlib} B zlib -9, ${s.gzipProgram} B gzip -9 -n, ${s.brotli} B brotli`);
    expect(code).not.toMatch(/\bimport\s*[\w{*("']/);
    expect(code).not.toMatch(/zod/i);
    expect(built.files[`${name}/index.d.ts`]).toMatch(/export declare function (createReactNativeTally|createServerTally)/);
  });
});
