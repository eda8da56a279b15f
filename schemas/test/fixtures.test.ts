import { describe, expect, test } from 'vitest';
import { type Message, parseBatch, parseMessage } from '@tally/schemas';
import { invalidFixtures, type ValidFixture, validFixtures } from './fixtures.js';

/** The fields where `null` reads as absent; everything else must come back exactly as sent. */
const NULL_AS_ABSENT = ['anonymousId', 'userId', 'context', 'integrations', 'properties', 'traits', 'name', 'category'];

function expectedMessage(payload: unknown, normalized: Record<string, unknown> = {}): unknown {
  const copy = { ...(payload as Record<string, unknown>) };
  for (const key of NULL_AS_ABSENT) if (copy[key] === null) delete copy[key];
  return { ...copy, ...normalized };
}

function normalizedItem(fixture: ValidFixture, index: number): Record<string, unknown> | undefined {
  return Array.isArray(fixture.normalized) ? fixture.normalized[index] : undefined;
}

/** JSON round trip: drops keys whose value is undefined, as the wire would. */
function onTheWire(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

function parseItems(fixture: ValidFixture): Message[] {
  const envelope = parseBatch(fixture.payload);
  expect(envelope, 'envelope').toMatchObject({ success: true });
  if (!envelope.success) return [];
  return envelope.data.batch.map((item, i) => {
    const result = parseMessage(item, `batch[${i}]`);
    if (!result.success) throw new Error(result.errors.join('\n'));
    expect(onTheWire(result.data)).toEqual(expectedMessage(item, normalizedItem(fixture, i)));
    return result.data;
  });
}

describe('valid fixtures: payloads as Segment, RudderStack and Tally senders put them on the wire', () => {
  test.each(validFixtures)('$file', (fixture) => {
    if (fixture.kind === 'batch') {
      expect(parseItems(fixture).length).toBeGreaterThan(0);
      return;
    }
    const result = parseMessage(fixture.payload);
    if (!result.success) throw new Error(result.errors.join('\n'));
    // Unknown fields (writeKey, _metadata, channel, …) are kept as sent.
    expect(onTheWire(result.data)).toEqual(expectedMessage(fixture.payload, Array.isArray(fixture.normalized) ? {} : fixture.normalized));
  });

  test('cover every message type and every spec event', () => {
    const messages = validFixtures.flatMap((fixture) => {
      if (fixture.kind === 'batch') return parseItems(fixture);
      const result = parseMessage(fixture.payload);
      return result.success ? [result.data] : [];
    });
    expect(new Set(messages.map((m) => m.type))).toEqual(new Set(['track', 'page', 'screen', 'identify', 'group', 'alias']));
    const events = new Set(messages.flatMap((m) => (m.type === 'track' ? [m.event] : [])));
    for (const name of [
      'Product Viewed', 'Product Added', 'Product Removed', 'Cart Viewed', 'Checkout Started', 'Order Completed',
      'Survey Responded', 'Feedback Submitted', 'Experiment Viewed',
    ]) {
      expect(events, name).toContain(name);
    }
  });
});

describe('invalid fixtures: refused with the exact errors a person reads', () => {
  test.each(invalidFixtures)('$file', (fixture) => {
    const result = fixture.kind === 'batch' ? parseBatch(fixture.payload) : parseMessage(fixture.payload, fixture.path);
    expect(result).toEqual({ success: false, reason: fixture.reason, errors: fixture.errors });
  });
});
