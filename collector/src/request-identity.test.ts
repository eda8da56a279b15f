import { Hono } from 'hono';
import { describe, expect, test } from 'vitest';
import type { Source } from './config.js';
import { onError } from './errors.js';
import { authorizeOrigin, clientAddress, forwardedClientAddress, identifyRequest, writeKeyFromHeader } from './request-identity.js';

const shop: Source = { id: 'shop', writeKey: 'shop-write-key', allowedOrigins: ['https://shop.example'], consentMode: 'opt-out', kind: 'client' };
const basic = (user: string) => `Basic ${Buffer.from(`${user}:`).toString('base64')}`;

describe('forwardedClientAddress', () => {
  test('ignores X-Forwarded-For unless proxies are trusted: any client can write it', () => {
    expect(forwardedClientAddress('198.51.100.1', '10.0.0.3', 0)).toBe('10.0.0.3');
  });

  test('takes the address the outermost trusted proxy saw, not what the client wrote to its left', () => {
    expect(forwardedClientAddress('1.1.1.1, 198.51.100.1', '10.0.0.3', 1)).toBe('198.51.100.1');
    expect(forwardedClientAddress('6.6.6.6, 198.51.100.1, 10.0.0.2', '10.0.0.3', 2)).toBe('198.51.100.1');
  });

  test('falls back to the peer when the header has fewer entries than trusted proxies, or no address', () => {
    expect(forwardedClientAddress('6.6.6.6', '10.0.0.3', 2)).toBe('10.0.0.3');
    expect(forwardedClientAddress('garbage', '10.0.0.3', 1)).toBe('10.0.0.3');
    expect(forwardedClientAddress(undefined, 'fe80::1%eth0', 0)).toBe('fe80::1');
  });

  test('in-process requests have no peer: clientAddress is undefined without a trusted header', async () => {
    const app = new Hono().get('/', (c) => c.text(clientAddress(c, Number(c.req.query('hops'))) ?? 'none'));
    expect(await (await app.request('/?hops=0', { headers: { 'x-forwarded-for': '198.51.100.1' } })).text()).toBe('none');
    expect(await (await app.request('/?hops=1', { headers: { 'x-forwarded-for': '198.51.100.1' } })).text()).toBe('198.51.100.1');
  });
});

describe('writeKeyFromHeader', () => {
  test('reads the user name of HTTP Basic, with or without a password', () => {
    expect(writeKeyFromHeader(basic('shop-write-key'))).toBe('shop-write-key');
    expect(writeKeyFromHeader(`Basic ${Buffer.from('k:secret').toString('base64')}`)).toBe('k');
    expect(writeKeyFromHeader(`Basic ${Buffer.from(':secret').toString('base64')}`)).toBeUndefined();
    expect(writeKeyFromHeader('Bearer shop-write-key')).toBeUndefined();
    expect(writeKeyFromHeader(undefined)).toBeUndefined();
  });
});

describe('authorizeOrigin', () => {
  test('lets through requests without an Origin and from allowed origins; refuses others with 403', () => {
    expect(() => authorizeOrigin(shop, undefined)).not.toThrow();
    expect(() => authorizeOrigin(shop, 'https://shop.example')).not.toThrow();
    expect(() => authorizeOrigin(shop, 'https://evil.example')).toThrow(expect.objectContaining({ status: 403, code: 'origin_not_allowed' }));
    expect(() => authorizeOrigin({ ...shop, allowedOrigins: ['*'] }, 'null')).not.toThrow();
  });
});

describe('identifyRequest', () => {
  function app(limited: string[]) {
    return new Hono().onError(onError).post('/', async (c) => {
      let read = false;
      const { source } = await identifyRequest(c, { sources: [shop], limitWriteKey: (_c, key) => void limited.push(key) }, async () => {
        read = true;
        return JSON.parse(await c.req.text()) as unknown;
      });
      return c.json({ source: source.id, read });
    });
  }

  test('a wrong key in the header is refused before the body is read; a wrong key in the body after', async () => {
    const limited: string[] = [];
    const wrongHeader = await app(limited).request('/', { method: 'POST', headers: { authorization: basic('nope-nope') }, body: '{}' });
    expect(wrongHeader.status).toBe(401);
    const wrongBody = await app(limited).request('/', { method: 'POST', body: JSON.stringify({ writeKey: 'nope-nope' }) });
    expect(wrongBody.status).toBe(401);
    expect(limited).toEqual([]);
  });

  test('charges the rate limit of a valid key, from the header or the body, once per request', async () => {
    const limited: string[] = [];
    expect(await (await app(limited).request('/', { method: 'POST', headers: { authorization: basic(shop.writeKey) }, body: '{}' })).json()).toEqual({ source: 'shop', read: true });
    expect(await (await app(limited).request('/', { method: 'POST', body: JSON.stringify({ writeKey: shop.writeKey }) })).json()).toEqual({ source: 'shop', read: true });
    expect(limited).toEqual([shop.writeKey, shop.writeKey]);
  });
});
