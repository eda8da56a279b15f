import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** A payload as a sender puts it on the wire, with where its shape comes from. */
export interface ValidFixture {
  file: string;
  description: string;
  kind: 'message' | 'batch';
  /**
   * The fields that parse to another value than was sent (numeric ids as strings, date-times
   * in UTC): an object for a message, one per item for a batch.
   */
  normalized?: Record<string, unknown> | Record<string, unknown>[];
  payload: unknown;
}

/** A payload that must be refused, with the exact errors a person reads. */
export interface InvalidFixture extends ValidFixture {
  path?: string;
  reason: 'schema' | 'too_large';
  errors: string[];
}

function load<T>(folder: string): T[] {
  const dir = join(root, folder);
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((file) => ({ file, ...(JSON.parse(readFileSync(join(dir, file), 'utf8')) as object) }) as T);
}

export const validFixtures = load<ValidFixture>('valid');
export const invalidFixtures = load<InvalidFixture>('invalid');
