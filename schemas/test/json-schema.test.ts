import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { jsonSchemas, serializeJsonSchema } from '@tally/schemas';

const jsonDir = fileURLToPath(new URL('../json/', import.meta.url));
const REGENERATE = 'cd schemas && npx tsx scripts/generate-json-schema.ts (or: pnpm --filter @tally/schemas generate)';

function committedFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? committedFiles(path) : [relative(jsonDir, path)];
  });
}

describe('generated JSON Schema files in schemas/json/', () => {
  const expected = jsonSchemas();

  test('exist for every message and spec event, and no others', () => {
    expect(committedFiles(jsonDir).sort(), `schemas/json/ is stale; regenerate it with: ${REGENERATE}`).toEqual(
      Object.keys(expected).sort(),
    );
  });

  test.each(Object.keys(expected))('%s matches the zod schemas', (name) => {
    const file = join(jsonDir, name);
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    expect(text === serializeJsonSchema(expected[name]!), `schemas/json/${name} is stale; regenerate it with: ${REGENERATE}`).toBe(true);
  });

  test('restate the rules zod checks in refinements', () => {
    const track = expected['track.json']!;
    expect(track['anyOf']).toEqual([
      { required: ['anonymousId'], properties: { anonymousId: { type: 'string', minLength: 1 } } },
      { required: ['userId'], properties: { userId: { type: 'string', minLength: 1 } } },
      { required: ['event'], properties: { event: { const: 'Consent Updated' } } },
    ]);
    expect(expected['page.json']!['anyOf']).toHaveLength(2);
    const orderCompleted = (track['allOf'] as Array<{ if: { properties: { event: { const: string } } }; then: { required?: string[] } }>).find(
      (rule) => rule.if.properties.event.const === 'Order Completed',
    );
    expect(orderCompleted?.then.required).toEqual(['properties']);
    expect(expected['properties/order-completed.json']!['required']).toEqual(['order_id']);
    expect(expected['properties/survey-responded.json']!['dependentRequired']).toEqual({ score: ['scale'] });
  });
});
