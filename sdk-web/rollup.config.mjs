// ESM with .d.ts for npm, and two IIFEs for the page: the tracker (dist/tally.js) and the loader snippet.
import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';
import { fileURLToPath } from 'node:url';

// Paths from this file, so that the config also works when loaded from elsewhere (the browser suite).
const here = (p) => fileURLToPath(new URL(p, import.meta.url));

const minify = (module) =>
  terser({
    ecma: 2020,
    module,
    compress: { passes: 3, unsafe: true, unsafe_arrows: true, pure_getters: true },
    format: { comments: false },
  });

const ts = (declarations) =>
  typescript({
    tsconfig: here('./tsconfig.build.json'),
    ...(declarations ? {} : { declaration: false, declarationDir: undefined }),
  });

// The app and server entries (@tally/sdk-web/react-native, @tally/sdk-web/node): ESM with declarations, one file each.
const appAndServerEntries = ['react-native', 'node'].map((name) => ({
  input: here(`src/${name}/index.ts`),
  output: { file: here(`dist/${name}.js`), format: 'es' },
  plugins: [ts(true), minify(true)],
}));

export default [
  {
    input: here('src/index.ts'),
    output: { file: here('dist/index.js'), format: 'es' },
    plugins: [ts(true), minify(true)],
  },
  {
    input: here('src/browser.ts'),
    output: { file: here('dist/tally.js'), format: 'iife', strict: false },
    plugins: [ts(false), minify(false)],
  },
  {
    input: here('src/snippet-entry.ts'),
    output: { file: here('dist/snippet.js'), format: 'iife', strict: false },
    plugins: [ts(false), minify(false)],
  },
  ...appAndServerEntries,
];
