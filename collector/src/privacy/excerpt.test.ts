import { describe, expect, test } from 'vitest';
import { truncateIp } from '../ingest/client-ip.js';
import { excerptOf, truncateAddressesIn } from './excerpt.js';

describe('truncateAddressesIn', () => {
  test('truncates every IPv4 and IPv6 address with the rule events are stored by', () => {
    const text = 'a 203.0.113.77 b ::ffff:198.51.100.9 c 2001:db8:85a3:8d3:1319:8a2e:370:7334 d fe80::1';
    expect(truncateAddressesIn(text)).toBe(
      `a ${truncateIp('203.0.113.77')} b ${truncateIp('::ffff:198.51.100.9')} c ${truncateIp('2001:db8:85a3:8d3:1319:8a2e:370:7334')} d ${truncateIp('fe80::1')}`,
    );
  });

  test('leaves times, version numbers and other colon or dot runs alone', () => {
    const text = '{"timestamp":"2026-12-01T10:00:00.000Z","at":"10:00:00","v":"1.2.3","n":"999.1.1.1","mac":"aa:bb:cc"}';
    expect(truncateAddressesIn(text)).toBe(text);
  });
});

describe('excerptOf', () => {
  test('keeps at most the cap in UTF-8 bytes and never cuts a character in half', () => {
    const text = JSON.stringify({ s: '€'.repeat(1_000) });
    const excerpt = excerptOf(text, 100);
    expect(Buffer.byteLength(excerpt)).toBeLessThanOrEqual(100);
    expect(Buffer.byteLength(excerpt)).toBeGreaterThan(96);
    expect(text.startsWith(excerpt)).toBe(true);
  });

  test('truncates an address that the cap would cut before cutting', () => {
    const text = `${'x'.repeat(90)}203.0.113.77`;
    expect(excerptOf(text, 100)).toBe(`${'x'.repeat(90)}203.0.113.`);
  });
});
