import * as schemas from '@tally/schemas';
import { describe, expect, test } from 'vitest';
import { bytes, chunk, envelope, ENVELOPE_BYTES, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_EVENT_BYTES } from './queue.js';

// The SDK keeps its own copy of the size limits (zod stays out of the bundle); the limits
// are those of @tally/schemas, which the collector enforces (docs/design.md §1).
describe('the SDK size limits are those of @tally/schemas', () => {
  test('the same numbers', () => {
    expect({ MAX_EVENT_BYTES, MAX_BATCH_BYTES, MAX_BATCH_EVENTS }).toEqual({
      MAX_EVENT_BYTES: schemas.MAX_EVENT_BYTES,
      MAX_BATCH_BYTES: schemas.MAX_BATCH_BYTES,
      MAX_BATCH_EVENTS: schemas.MAX_BATCH_EVENTS,
    });
  });

  test('bytes are counted as the collector counts them', () => {
    for (const value of [{ a: 1 }, { name: 'Zoë 🛒 東京' }, 'é€😀', '\ud800']) {
      expect(bytes(JSON.stringify(value))).toBe(schemas.encodedSize(value));
    }
  });

  test('every request the SDK builds from full-size events passes the collector’s batch check', () => {
    const event = (i: number) => JSON.stringify({ type: 'track', event: 'E', messageId: `m${i}`, anonymousId: 'a', properties: { pad: 'é'.repeat(15_000) } });
    const events = Array.from({ length: 40 }, (_, i) => event(i));
    const groups = chunk(events, MAX_BATCH_BYTES - ENVELOPE_BYTES);
    expect(groups.length).toBeGreaterThan(1);
    for (const group of groups) {
      const body = JSON.parse(envelope(group, 'wk_'.padEnd(64, 'x'), new Date())) as unknown;
      expect(schemas.encodedSize(body)).toBeLessThanOrEqual(schemas.MAX_BATCH_BYTES);
      expect(schemas.parseBatch(body).success).toBe(true);
    }
  });
});
