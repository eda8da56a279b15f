import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { clientAddress, ipRateLimitKey } from './client-ip.js';

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

describe('clientAddress', () => {
  const app = new Hono().get('/', (c) => c.text(clientAddress(c, Number(c.req.query('hops'))) ?? 'none'));

  it('ignores X-Forwarded-For unless proxies are trusted: any client can write it', async () => {
    const response = await app.request('/?hops=0', { headers: { 'x-forwarded-for': '198.51.100.1' } });
    expect(await response.text()).toBe('none');
  });

  it('reads the entry the outermost trusted proxy appended, not what the client put before it', async () => {
    const headers = { 'x-forwarded-for': '6.6.6.6, 198.51.100.1, 10.0.0.2' };
    expect(await (await app.request('/?hops=1', { headers })).text()).toBe('10.0.0.2');
    expect(await (await app.request('/?hops=2', { headers })).text()).toBe('198.51.100.1');
  });
});
