import { describe, expect, test } from 'vitest';
import {
  Batch,
  encodedSize,
  formatIssues,
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
  MAX_EVENT_BYTES,
  parseBatch,
  parseMessage,
} from '@tally/schemas';

function trackWithNote(note: string) {
  return { type: 'track', messageId: 'm-1', anonymousId: 'a-1', event: 'Note Taken', properties: { note } };
}

/** A track event whose JSON encoding is exactly `bytes` long, padded with `fill` (1 or 2 bytes a character). */
function trackOfSize(bytes: number, fill: 'x' | 'é') {
  const base = encodedSize(trackWithNote(''));
  const room = bytes - base;
  const perChar = fill === 'x' ? 1 : 2;
  const note = fill.repeat(Math.floor(room / perChar)) + 'x'.repeat(room % perChar);
  const event = trackWithNote(note);
  expect(encodedSize(event)).toBe(bytes);
  return event;
}

function minimalTrack(i: number) {
  return { type: 'track', messageId: `m-${i}`, anonymousId: 'a-1', event: 'Clicked' };
}

describe('32 KB per event', () => {
  test('an event of exactly 32,768 bytes is accepted', () => {
    expect(parseMessage(trackOfSize(MAX_EVENT_BYTES, 'x')).success).toBe(true);
  });

  test('an event one byte over is refused as too large, with its size and the limit', () => {
    expect(parseMessage(trackOfSize(MAX_EVENT_BYTES + 1, 'x'), 'batch[3]')).toEqual({
      success: false,
      reason: 'too_large',
      errors: ['batch[3]: event is 32,769 bytes; the limit is 32,768'],
    });
  });

  test('the limit counts UTF-8 bytes, so multi-byte characters count double', () => {
    const atLimit = trackOfSize(MAX_EVENT_BYTES, 'é');
    expect(JSON.stringify(atLimit).length).toBeLessThan(MAX_EVENT_BYTES);
    expect(parseMessage(atLimit).success).toBe(true);
    const over = trackOfSize(MAX_EVENT_BYTES + 2, 'é');
    expect(JSON.stringify(over).length).toBeLessThan(MAX_EVENT_BYTES);
    expect(parseMessage(over)).toMatchObject({ success: false, reason: 'too_large' });
  });

  test('size is checked before the schema: an oversized invalid event reports its size only', () => {
    const huge = { type: 'nonsense', blob: 'x'.repeat(40_000) };
    expect(parseMessage(huge)).toEqual({
      success: false,
      reason: 'too_large',
      errors: ['event is 40,029 bytes; the limit is 32,768'],
    });
  });
});

describe('2,500 events and 500 KB per batch', () => {
  test('a batch of 2,500 events is accepted', () => {
    const batch = Array.from({ length: MAX_BATCH_EVENTS }, (_, i) => minimalTrack(i));
    const result = parseBatch({ batch });
    expect(result.success).toBe(true);
    if (result.success) expect(result.data.batch).toHaveLength(2_500);
  });

  test('a batch of 2,501 events is refused as too large', () => {
    const batch = Array.from({ length: MAX_BATCH_EVENTS + 1 }, (_, i) => minimalTrack(i));
    expect(parseBatch({ batch })).toEqual({
      success: false,
      reason: 'too_large',
      errors: ['batch: holds 2,501 events; the limit is 2,500'],
    });
  });

  test('the Batch schema itself caps the item count', () => {
    const result = Batch.safeParse({ batch: new Array(MAX_BATCH_EVENTS + 1).fill({}) }, { reportInput: true });
    expect(result.success).toBe(false);
    if (!result.success) expect(formatIssues(result.error)).toEqual(['batch: expected at most 2,500 items, got 2,501']);
  });

  test('a batch body of exactly 500 KB is accepted and one byte more is refused', () => {
    const envelope = (pad: string) => ({ batch: [minimalTrack(0)], padding: pad });
    const base = encodedSize(envelope(''));
    const atLimit = envelope('x'.repeat(MAX_BATCH_BYTES - base));
    expect(encodedSize(atLimit)).toBe(512_000);
    expect(parseBatch(atLimit).success).toBe(true);
    const over = envelope('x'.repeat(MAX_BATCH_BYTES - base + 1));
    expect(parseBatch(over)).toEqual({
      success: false,
      reason: 'too_large',
      errors: ['the batch is 512,001 bytes; the limit is 512,000'],
    });
  });
});
