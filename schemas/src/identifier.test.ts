import { describe, expect, test } from 'vitest';
import { decimalString, Identifier, parseMessage } from '@tally/schemas';

describe('identifiers sent as numbers', () => {
  test.each([
    [42, '42'],
    [-1, '-1'],
    [0, '0'],
    [1.5, '1.5'],
    [1e-7, '0.0000001'],
    [-2.5e-8, '-0.000000025'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
  ])('%d reads as "%s"', (sent, stored) => {
    expect(decimalString(sent)).toBe(stored);
    expect(Identifier.parse(sent)).toBe(stored);
  });

  test('decimalString writes large numbers without an exponent', () => {
    expect(decimalString(1.5e21)).toBe('1500000000000000000000');
    expect(decimalString(1.2345e22)).toBe('12345000000000000000000');
  });

  test('an integer past 2^53 is refused: JSON parsing has already rounded it', () => {
    const body = JSON.parse('{"type":"identify","messageId":"m-1","userId":9007199254740993}');
    expect(body.userId).toBe(9007199254740992);
    expect(parseMessage(body)).toEqual({
      success: false,
      reason: 'schema',
      errors: ['userId: 9007199254740992 is past 2^53, where a JSON number has already lost digits; send this id as a string'],
    });
  });

  test('an empty string id is still refused where an id is required', () => {
    expect(parseMessage({ type: 'alias', messageId: 'm-1', userId: 42, previousId: '' })).toEqual({
      success: false,
      reason: 'schema',
      errors: ['previousId: must not be empty'],
    });
  });
});
