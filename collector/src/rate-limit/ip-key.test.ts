import { describe, expect, it } from 'vitest';
import { ipRateLimitKey } from './ip-key.js';

describe('ipRateLimitKey', () => {
  it('keeps an IPv4 address whole, including one written as IPv4-mapped IPv6', () => {
    expect(ipRateLimitKey('203.0.113.9')).toBe('203.0.113.9');
    expect(ipRateLimitKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(ipRateLimitKey('::FFFF:203.0.113.9')).toBe('203.0.113.9');
  });

  it('cuts IPv6 to its /64 so that one subscriber cannot rotate addresses past the limit', () => {
    expect(ipRateLimitKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(ipRateLimitKey('2001:0db8:0001:0002:ffff::1')).toBe('2001:db8:1:2::/64');
    expect(ipRateLimitKey('2001:db8::1')).toBe('2001:db8::/64');
    expect(ipRateLimitKey('::1')).toBe('::/64');
    expect(ipRateLimitKey('fe80::1%eth0')).toBe('fe80::/64');
    expect(ipRateLimitKey('2001:db8:1:2:3:4:5:6', 48)).toBe('2001:db8:1::/48');
    expect(ipRateLimitKey('2001:db8:1:2:3:4:5:6', 128)).toBe('2001:db8:1:2:3:4:5:6/128');
  });

  it('gives nothing for what is not an address', () => {
    expect(ipRateLimitKey(undefined)).toBeUndefined();
    expect(ipRateLimitKey('')).toBeUndefined();
    expect(ipRateLimitKey('not-an-ip')).toBeUndefined();
    expect(ipRateLimitKey("1.2.3.4'; drop table events;--")).toBeUndefined();
  });
});
