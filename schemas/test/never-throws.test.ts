import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { MESSAGE_TYPES, parseBatch, parseMessage, SPEC_EVENTS, type ValidationResult } from '@tally/schemas';

/** A result is either data, or a non-empty list of non-empty error strings and a reason. */
function expectResult(result: ValidationResult<unknown>): void {
  if (result.success) {
    expect(result).toHaveProperty('data');
    return;
  }
  expect(['schema', 'too_large']).toContain(result.reason);
  expect(result.errors.length).toBeGreaterThan(0);
  for (const error of result.errors) {
    expect(typeof error).toBe('string');
    expect(error.length).toBeGreaterThan(0);
  }
}

const anyValue = fc.oneof(fc.jsonValue(), fc.anything());

/** Objects shaped like messages, every field holding an arbitrary value (or a plausible one). */
const messageShaped = fc.record(
  {
    type: fc.oneof(fc.constantFrom(...MESSAGE_TYPES), anyValue),
    messageId: fc.oneof(fc.string(), anyValue),
    anonymousId: fc.oneof(fc.string(), fc.constant(null), anyValue),
    userId: fc.oneof(fc.string(), fc.constant(null), anyValue),
    event: fc.oneof(fc.constantFrom(...Object.keys(SPEC_EVENTS)), fc.string(), anyValue),
    name: anyValue,
    groupId: anyValue,
    previousId: anyValue,
    timestamp: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string(), anyValue),
    sentAt: anyValue,
    context: fc.oneof(
      fc.record({ page: anyValue, consent: fc.oneof(fc.record({ categoryPreferences: anyValue }), anyValue), screen: anyValue }, { requiredKeys: [] }),
      anyValue,
    ),
    integrations: anyValue,
    properties: fc.oneof(
      fc.record(
        {
          product_id: anyValue,
          sku: anyValue,
          price: fc.oneof(fc.double(), anyValue),
          quantity: fc.oneof(fc.integer(), anyValue),
          currency: fc.oneof(fc.string({ minLength: 3, maxLength: 3 }), anyValue),
          order_id: anyValue,
          products: fc.oneof(fc.array(fc.dictionary(fc.constantFrom('product_id', 'sku', 'price', 'quantity'), anyValue)), anyValue),
          score: fc.oneof(fc.integer({ min: -2, max: 12 }), anyValue),
          scale: fc.oneof(fc.constantFrom('nps', 'csat', 'ces'), anyValue),
          comment: anyValue,
          survey_id: anyValue,
        },
        { requiredKeys: [] },
      ),
      anyValue,
    ),
    traits: anyValue,
  },
  { requiredKeys: [] },
);

describe('parsing never throws, it only returns a validation result', () => {
  test('parseMessage on arbitrary JSON and values', () => {
    fc.assert(fc.property(anyValue, (input) => expectResult(parseMessage(input, 'batch[0]'))), { numRuns: 1000 });
  });

  test('parseMessage on message-shaped objects with arbitrary field values', () => {
    fc.assert(fc.property(messageShaped, (input) => expectResult(parseMessage(input))), { numRuns: 2000 });
  });

  test('parseBatch on arbitrary JSON and on batches of message-shaped items', () => {
    fc.assert(fc.property(anyValue, (input) => expectResult(parseBatch(input))), { numRuns: 1000 });
    fc.assert(
      fc.property(fc.record({ batch: fc.oneof(fc.array(messageShaped), anyValue), sentAt: anyValue, context: anyValue }, { requiredKeys: [] }), (input) => {
        const envelope = parseBatch(input);
        expectResult(envelope);
        if (envelope.success) envelope.data.batch.forEach((item, i) => expectResult(parseMessage(item, `batch[${i}]`)));
      }),
      { numRuns: 500 },
    );
  });

  test('values JSON cannot encode are refused, not thrown', () => {
    const cyclic: Record<string, unknown> = { type: 'track' };
    cyclic['self'] = cyclic;
    expect(parseMessage(cyclic)).toMatchObject({ success: false, reason: 'schema' });
    expect(parseMessage({ type: 'track', big: 10n })).toMatchObject({ success: false, reason: 'schema' });
    expect(parseBatch({ batch: [1n] })).toMatchObject({ success: false, reason: 'schema' });
  });
});
