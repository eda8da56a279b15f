import * as z from 'zod';
import { describe, expect, test } from 'vitest';
import { describeValue, formatIssues, formatPath } from './errors.js';
import { Message } from './message.js';

describe('formatPath', () => {
  test('writes indices in brackets and quotes keys that are not identifiers', () => {
    expect(formatPath('batch[3]', ['properties', 'products', 0, 'price'])).toBe('batch[3].properties.products[0].price');
    expect(formatPath('', ['properties', 'Order Total'])).toBe('properties["Order Total"]');
    expect(formatPath('', [])).toBe('');
  });
});

describe('describeValue', () => {
  test('quotes strings and shows other JSON as JSON', () => {
    expect(describeValue('12,99')).toBe('"12,99"');
    expect(describeValue(12.5)).toBe('12.5');
    expect(describeValue(null)).toBe('null');
    expect(describeValue({ a: [1, 2] })).toBe('{"a":[1,2]}');
  });

  test('shortens long values', () => {
    expect(describeValue('y'.repeat(500))).toBe(`"${'y'.repeat(39)}…" (500 characters)`);
    expect(describeValue({ text: 'z'.repeat(100) })).toBe(`{"text":"${'z'.repeat(30)}…`);
  });

  test('never throws, even for values JSON cannot encode', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(describeValue(cyclic)).toBe('an object');
    expect(describeValue(10n)).toBe('10n');
    expect(describeValue(undefined)).toBe('nothing');
  });
});

describe('formatIssues', () => {
  const Order = z.object({ price: z.number(), tags: z.array(z.string()).max(2), kind: z.enum(['a', 'b']) });

  test('uses the received values the schema reported', () => {
    const result = Order.safeParse({ price: '12,99', tags: ['x', 'y', 'z'], kind: 'c' }, { reportInput: true });
    expect(result.success).toBe(false);
    if (!result.success) {
      expect(formatIssues(result.error, 'batch[3]')).toEqual([
        'batch[3].price: expected a number, got "12,99"',
        'batch[3].tags: expected at most 2 items, got 3',
        'batch[3].kind: expected one of "a", "b", got "c"',
      ]);
    }
  });

  test('takes received values from the input when the schema did not report them', () => {
    const input = { tags: [], kind: 'a', price: true };
    const result = Order.safeParse(input);
    expect(result.success).toBe(false);
    if (!result.success) expect(formatIssues(result.error, '', input)).toEqual(['price: expected a number, got true']);
  });

  test('tells a missing field from a wrong one without the input', () => {
    const result = Order.safeParse({ tags: [], kind: 'a' });
    expect(result.success).toBe(false);
    if (!result.success) expect(formatIssues(result.error)).toEqual(['price: required, expected a number']);
  });

  test('names the bad discriminator value of a union, not the whole object', () => {
    const wrong = Message.safeParse({ type: 'trak', messageId: 'm-1' }, { reportInput: true });
    const missing = Message.safeParse({ messageId: 'm-1' }, { reportInput: true });
    expect(wrong.success || missing.success).toBe(false);
    const allowed = '"track", "page", "screen", "identify", "group", "alias"';
    if (!wrong.success) expect(formatIssues(wrong.error)).toEqual([`type: expected one of ${allowed}, got "trak"`]);
    if (!missing.success) expect(formatIssues(missing.error)).toEqual([`type: required, expected one of ${allowed}`]);
  });
});
