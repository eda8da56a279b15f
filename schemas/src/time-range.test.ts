import { describe, expect, test } from 'vitest';
import { clampInstant, EARLIEST_INSTANT_MS, isAcceptedInstant, LATEST_INSTANT_MS } from './time-range.js';

describe('accepted time range', () => {
  test('runs from year 0001 to year 9999', () => {
    expect(new Date(EARLIEST_INSTANT_MS).toISOString()).toBe('0001-01-01T00:00:00.000Z');
    expect(new Date(LATEST_INSTANT_MS).toISOString()).toBe('9999-12-31T23:59:59.999Z');
  });

  test.each(['0001-01-01T00:00:00Z', '0099-12-31T23:59:59Z', '1066-10-14T09:00:00Z', '1899-07-14T00:00:00Z', '1900-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z'])(
    'accepts %s',
    (iso) => expect(isAcceptedInstant(Date.parse(iso))).toBe(true),
  );

  test.each(['0000-12-31T23:59:59.999Z', '0001-01-01T00:00:00+01:00', '-000001-01-01T00:00:00Z', '+010000-01-01T00:00:00Z'])('refuses %s', (iso) =>
    expect(isAcceptedInstant(Date.parse(iso))).toBe(false),
  );

  test('clamps into the range', () => {
    expect(clampInstant(EARLIEST_INSTANT_MS - 1)).toBe(EARLIEST_INSTANT_MS);
    expect(clampInstant(LATEST_INSTANT_MS + 1)).toBe(LATEST_INSTANT_MS);
    expect(clampInstant(0)).toBe(0);
  });
});
