import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { locateJsonError, parseJson } from './parse-json.js';

describe('parseJson', () => {
  test.each([
    ['{"a":}', 5],
    ['{"a":1', 6],
    ['[1,2] x', 6],
    ['{"a":tru}', 8],
    ['', 0],
    ['{"a":"\\q"}', 7],
    ['[01]', 2],
  ])('%j fails at position %i', (text, position) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(locateJsonError(text)).toBe(position);
    expect(() => parseJson(text)).toThrow(`(position ${position})`);
  });

  test('the scanner accepts whatever JSON.stringify writes', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value, null, 1);
        expect(locateJsonError(text)).toBe(text.length);
      }),
    );
  });

  test('reports line and column', () => {
    expect(() => parseJson('{\n  "a": 1,\n  "b": ]\n}')).toThrow('line 3, column 8');
  });
});
