import { describe, expect, test } from 'vitest';
import { findUnstorable, mayBeUnstorable, storableText } from './storable.js';

describe('findUnstorable', () => {
  test('finds NUL and lone surrogates in values and keys', () => {
    expect(findUnstorable({ a: 'x\u0000' }, 'batch[1]')).toMatch(/^batch\[1\]: holds the NUL character/);
    expect(findUnstorable({ ['\udc00']: 1 })).toMatch(/lone UTF-16 surrogate \(\\udc00\)/);
    expect(findUnstorable(['\ud83d'])).toMatch(/surrogate/);
  });

  test('accepts paired surrogates and escaped-looking text', () => {
    expect(findUnstorable({ emoji: '😀', text: '\\u0000 and \\ud800', nested: [{ deep: 'ok' }] })).toBeUndefined();
    expect(findUnstorable({ text: '\\\\u0000' })).toBeUndefined();
  });
});

describe('mayBeUnstorable', () => {
  test('says whether the JSON text of a value holds what findUnstorable refuses', () => {
    for (const value of [{ a: 'x\u0000' }, { ['\udc00']: 1 }, ['\ud83d'], { emoji: '😀', text: '\\u0000' }, { text: '\\\\u0000' }]) {
      expect(mayBeUnstorable(JSON.stringify(value))).toBe(findUnstorable(value) !== undefined);
    }
  });
});

describe('storableText', () => {
  test('replaces what a text column refuses', () => {
    expect(storableText('a\u0000b\ud800c😀')).toBe('a\ufffdb\ufffdc😀');
  });
});
