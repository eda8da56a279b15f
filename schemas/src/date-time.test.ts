import { describe, expect, test } from 'vitest';
import { IsoDateTime, normalizeDateTime, parseBatch } from '@tally/schemas';

describe('RFC 3339 date-times', () => {
  test.each([
    ['2024-05-01T12:00:00Z', '2024-05-01T12:00:00Z'],
    ['2024-05-01t12:00:00z', '2024-05-01T12:00:00Z'],
    ['2024-05-01 12:00:00Z', '2024-05-01T12:00:00Z'],
    ['2024-05-01T12:00:00.1Z', '2024-05-01T12:00:00.1Z'],
    ['2024-05-01T12:00:00.123456789123Z', '2024-05-01T12:00:00.123456789123Z'],
    ['2024-05-01T14:00:00.5+02:00', '2024-05-01T12:00:00.5Z'],
    ['2024-05-01T07:00:00-05:00', '2024-05-01T12:00:00Z'],
    ['2024-05-01T12:00:00-00:00', '2024-05-01T12:00:00Z'],
    ['2024-05-02T00:30:00+12:30', '2024-05-01T12:00:00Z'],
    ['2024-05-01T14:00:00+0200', '2024-05-01T12:00:00Z'],
    ['2024-05-01T14:00:00+02', '2024-05-01T12:00:00Z'],
    ['2016-12-31T23:59:60Z', '2017-01-01T00:00:00Z'],
    ['0050-03-01T00:00:00Z', '0050-03-01T00:00:00Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
  ])('%s reads as %s', (sent, stored) => {
    expect(normalizeDateTime(sent)).toEqual({ value: stored });
    expect(IsoDateTime.parse(sent)).toBe(stored);
    expect(Date.parse(stored)).toBe(Date.parse(stored.replace(/(\.\d{3})\d+Z$/, '$1Z')));
  });

  test.each([
    ['2024-05-01T12:00:00', 'expected an ISO-8601 date-time such as "2024-05-01T12:00:00.000Z"'],
    ['2024-05-01T12:00Z', 'expected an ISO-8601 date-time such as "2024-05-01T12:00:00.000Z"'],
    ['2024-05-01T24:00:00Z', 'expected an ISO-8601 date-time such as "2024-05-01T12:00:00.000Z"'],
    ['2024-05-01T12:00:00.Z', 'expected an ISO-8601 date-time such as "2024-05-01T12:00:00.000Z"'],
    ['2100-02-29T00:00:00Z', 'is not a real date: February 2100 has 28 days'],
    ['2024-06-31T00:00:00Z', 'is not a real date: June 2024 has 30 days'],
    ['0000-12-31T23:59:59Z', 'lies outside the years 0001–9999'],
    ['9999-12-31T23:00:00-01:00', 'lies outside the years 0001–9999'],
  ])('%s is refused: %s', (sent, problem) => {
    expect(normalizeDateTime(sent)).toEqual({ problem });
  });
});

describe('the envelope sentAt', () => {
  test('a sentAt that is no date-time is dropped with a warning; the batch is not refused', () => {
    const result = parseBatch({ batch: [{}], sentAt: 'yesterday' });
    expect(result).toEqual({
      success: true,
      data: { batch: [{}] },
      warnings: [
        'sentAt: expected an ISO-8601 date-time such as "2024-05-01T12:00:00.000Z", got "yesterday"; ignored, so this batch\'s timestamps are not corrected for clock skew',
      ],
    });
  });

  test('a valid sentAt is kept, normalised, without warning; null reads as absent', () => {
    expect(parseBatch({ batch: [{}], sentAt: '2024-05-01t14:00:00+02:00' })).toEqual({ success: true, data: { batch: [{}], sentAt: '2024-05-01T12:00:00Z' } });
    expect(parseBatch({ batch: [{}], sentAt: null })).toEqual({ success: true, data: { batch: [{}] } });
  });
});
