import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { onError } from '../errors.js';
import { writeKeyFromHeader } from '../request-identity.js';
import { rateLimit } from './index.js';

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

function setup(options: Parameters<typeof rateLimit>[0]) {
  let at = 0;
  const limit = rateLimit({ ...options, now: () => at });
  const stored: string[] = [];
  const app = new Hono();
  app.onError(onError);
  app.use('/v1/*', limit);
  app.post('/v1/batch', async (c) => {
    // Stands for the route once it has authenticated the request: header key first, else the body's.
    const body = (await c.req.json()) as { writeKey?: string };
    const key = writeKeyFromHeader(c.req.header('authorization')) ?? body.writeKey;
    if (key) limit.limitWriteKey(c, key);
    stored.push(body.writeKey ?? 'header');
    return c.json({ success: true });
  });
  return { app, stored, advance: (ms: number) => (at += ms) };
}

const post = (headers: Record<string, string>, body: object = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'text/plain', ...headers },
  body: JSON.stringify(body),
});

describe('rateLimit', () => {
  it('answers 429 with Retry-After and a clear error once a write key spends its burst, and lets it go on later', async () => {
    const { app, stored, advance } = setup({ perWriteKey: { ratePerSecond: 1, burst: 2 }, perIp: false });
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await app.request('/v1/batch', post({ authorization: basic('wk') }))).status);
    expect(statuses).toEqual([200, 200, 429]);
    const refused = await app.request('/v1/batch', post({ authorization: basic('wk') }));
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toEqual({
      error: { code: 'rate_limited', message: expect.stringMatching(/write key.*retry after 1 s/) },
    });
    expect(stored).toHaveLength(2);
    advance(1_000);
    expect((await app.request('/v1/batch', post({ authorization: basic('wk') }))).status).toBe(200);
  });

  it('limits each write key on its own', async () => {
    const { app } = setup({ perWriteKey: { ratePerSecond: 1, burst: 1 }, perIp: false });
    expect((await app.request('/v1/batch', post({ authorization: basic('a') }))).status).toBe(200);
    expect((await app.request('/v1/batch', post({ authorization: basic('a') }))).status).toBe(429);
    expect((await app.request('/v1/batch', post({ authorization: basic('b') }))).status).toBe(200);
  });

  it('limits a write key carried in the body (sendBeacon) through the route, charging a request once', async () => {
    const { app, stored } = setup({ perWriteKey: { ratePerSecond: 1, burst: 2 }, perIp: false });
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await app.request('/v1/batch', post({}, { writeKey: 'beacon' }))).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect(stored).toEqual(['beacon', 'beacon']);
    // Header and body naming a key is still one request, not two.
    const { app: both } = setup({ perWriteKey: { ratePerSecond: 1, burst: 2 }, perIp: false });
    const twice = [];
    for (let i = 0; i < 2; i += 1) twice.push((await both.request('/v1/batch', post({ authorization: basic('k') }, { writeKey: 'k' }))).status);
    expect(twice).toEqual([200, 200]);
  });

  it('limits per client address whatever write keys it cycles through', async () => {
    const { app } = setup({
      perWriteKey: { ratePerSecond: 100, burst: 100 },
      perIp: { ratePerSecond: 1, burst: 3 },
      trustedProxyHops: 1,
    });
    const from = (ip: string, key: string) => app.request('/v1/batch', post({ authorization: basic(key), 'x-forwarded-for': ip }));
    const statuses = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await from('198.51.100.7', `forged-${i}`)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const refused = await from('198.51.100.7', 'another');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/address/);
    expect((await from('198.51.100.8', 'forged-x')).status).toBe(200);
    // Addresses in one IPv6 /64 share a budget.
    const v6 = [];
    for (let i = 1; i <= 4; i += 1) v6.push((await from(`2001:db8:0:1::${i}`, 'k')).status);
    expect(v6).toEqual([200, 200, 200, 429]);
  });

  it('passes everything through when both limits are off', async () => {
    const { app } = setup({ perWriteKey: false, perIp: false });
    for (let i = 0; i < 50; i += 1) expect((await app.request('/v1/batch', post({ authorization: basic('k') }))).status).toBe(200);
  });
});
