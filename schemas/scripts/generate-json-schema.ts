/**
 * Writes the JSON Schema of every message into schemas/json/, from the zod schemas.
 * Run after changing a schema: `npx tsx scripts/generate-json-schema.ts` (or `pnpm generate`).
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonSchemas, serializeJsonSchema } from '../src/json-schema.js';

const outDir = fileURLToPath(new URL('../json/', import.meta.url));

// Start from an empty folder so that a schema removed from the code leaves no file behind.
for (const entry of readdirSync(outDir, { withFileTypes: true })) {
  rmSync(join(outDir, entry.name), { recursive: true, force: true });
}
const files = jsonSchemas();
for (const [name, schema] of Object.entries(files)) {
  const file = join(outDir, name);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, serializeJsonSchema(schema));
}
console.log(`wrote ${Object.keys(files).length} JSON Schema files to ${outDir}`);
