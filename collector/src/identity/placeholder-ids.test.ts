import { describe, expect, test } from 'vitest';
import { isPlaceholderId, usableId } from './placeholder-ids.js';

describe('isPlaceholderId', () => {
  test.each([
    'anonymous',
    'ANONYMOUS',
    'null',
    'undefined',
    'Undefined',
    '0',
    '-1',
    'guest',
    '',
    '   ',
    '\t\n',
    '[object Object]',
    'NaN',
    'none',
    'unknown',
    ' null ',
    '00000000-0000-0000-0000-000000000000',
  ])('%j is a placeholder', (value) => {
    expect(isPlaceholderId(value)).toBe(true);
  });

  test.each(['user_42', '42', 'a1b2c3', 'guest-1234', 'anonymous-7f3e', 'ann@example.com', '8c1f2f2e-5a4b-4c1e-9d5e-1b1c2d3e4f50'])(
    '%j is a real identifier',
    (value) => {
      expect(isPlaceholderId(value)).toBe(false);
    },
  );

  test('absent values count as placeholders', () => {
    expect(isPlaceholderId(null)).toBe(true);
    expect(isPlaceholderId(undefined)).toBe(true);
  });

  test('usableId keeps real ids unchanged and drops placeholders', () => {
    expect(usableId(' User-1 ')).toBe(' User-1 ');
    expect(usableId('Guest')).toBeNull();
    expect(usableId(null)).toBeNull();
  });
});
