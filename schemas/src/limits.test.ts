import { describe, expect, test } from 'vitest';
import { encodedSize, encodeJson, formatCount, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_EVENT_BYTES } from './limits.js';

describe('limits', () => {
  test('are the Segment HTTP API limits', () => {
    expect(MAX_EVENT_BYTES).toBe(32_768);
    expect(MAX_BATCH_BYTES).toBe(512_000);
    expect(MAX_BATCH_EVENTS).toBe(2_500);
  });
});

describe('encodeJson', () => {
  test('gives the JSON text and the byte count encodedSize gives', () => {
    const value = { name: 'Zoë 🛒 東京', n: 1 };
    expect(encodeJson(value)).toEqual({ json: JSON.stringify(value), bytes: encodedSize(value) });
    expect(encodeJson(undefined)).toBeUndefined();
  });
});

describe('encodedSize', () => {
  test('counts the bytes of the JSON encoding', () => {
    expect(encodedSize({ a: 1 })).toBe('{"a":1}'.length);
    expect(encodedSize('abc')).toBe(5);
    expect(encodedSize(null)).toBe(4);
  });

  test('counts UTF-8 bytes, not characters', () => {
    expect(encodedSize('é')).toBe(4); // 2 quotes + 2 bytes
    expect(encodedSize('€')).toBe(5); // 2 quotes + 3 bytes
    expect(encodedSize('😀')).toBe(6); // 2 quotes + 4 bytes (one surrogate pair)
    expect(encodedSize({ name: 'Zoë 🛒 東京' })).toBe(new TextEncoder().encode(JSON.stringify({ name: 'Zoë 🛒 東京' })).length);
  });

  test('counts an escaped lone surrogate as the 6 ASCII bytes JSON writes', () => {
    expect(encodedSize('\ud800')).toBe(8);
  });

  test('measures values JSON cannot represent as 0', () => {
    expect(encodedSize(undefined)).toBe(0);
  });
});

describe('formatCount', () => {
  test('groups thousands', () => {
    expect(formatCount(7)).toBe('7');
    expect(formatCount(32_768)).toBe('32,768');
    expect(formatCount(1_234_567)).toBe('1,234,567');
  });
});
