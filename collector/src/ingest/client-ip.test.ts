import { describe, expect, test } from 'vitest';
import { truncateIp } from './client-ip.js';

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
