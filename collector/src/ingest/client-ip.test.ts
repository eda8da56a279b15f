import { describe, expect, test } from 'vitest';
import { clientAddress, truncateIp } from './client-ip.js';

describe('truncateIp', () => {
  test.each([
    ['203.0.113.77', '203.0.113.0'],
    ['2001:db8:85a3:8d3:1319:8a2e:370:7348', '2001:db8:85a3::'],
    ['2001:db8::1', '2001:db8:0::'],
    ['::1', '0:0:0::'],
    ['::ffff:198.51.100.9', '198.51.100.0'],
    ['fe80::1%eth0', 'fe80:0:0::'],
    ['not an ip', undefined],
    ['999.1.1.1', undefined],
  ])('%s → %s', (input, expected) => {
    expect(truncateIp(input)).toBe(expected);
  });
});

describe('clientAddress', () => {
  test('ignores X-Forwarded-For unless proxies are trusted', () => {
    expect(clientAddress('198.51.100.1', '10.0.0.3', 0)).toBe('10.0.0.3');
  });

  test('takes the address the trusted proxy saw, not what the client wrote to the left', () => {
    expect(clientAddress('1.1.1.1, 198.51.100.1', '10.0.0.3', 1)).toBe('198.51.100.1');
    expect(clientAddress('1.1.1.1, 198.51.100.1, 10.0.0.2', '10.0.0.3', 2)).toBe('198.51.100.1');
  });

  test('falls back to the peer when the header has fewer entries than trusted proxies', () => {
    expect(clientAddress('6.6.6.6', '10.0.0.3', 2)).toBe('10.0.0.3');
  });

  test('falls back to the peer when the header is not an address', () => {
    expect(clientAddress('garbage', '10.0.0.3', 1)).toBe('10.0.0.3');
  });
});
