// @vitest-environment node
// The server entry against the real collector, directly and through a proxy that fails as networks and collectors do.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { backend, shop, testApp } from '../../../collector/test/support/collector-app.js';
import { serveOnFreePort } from '../../../collector/test/support/served-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from '../../../collector/test/support/test-database.js';
import { createServerTally, type DeliveryError } from './index.js';

/** What the proxy does with a request: pass it on, answer for the collector, or pass it on and lose the answer (or never give one). */
type Fate = 'forward' | 'fail' | 'forward, then fail' | 'forward, then hang';

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** How long a wait for the collector may take: PGlite on a busy machine is slow. */
const eventually = { timeout: 15_000 };

describe(`the server entry against the collector on ${testEngine}`, () => {
  let database: TestDatabase;
  let served: Awaited<ReturnType<typeof serveOnFreePort>>;
  let proxy: { server: Server; url: string };
  let fates: Fate[] = [];
  let requests: { authorization?: string; body: string }[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
    served = await serveOnFreePort(testApp(database));
    proxy = await listen(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks).toString();
      requests.push({ authorization: req.headers.authorization, body });
      const fate = fates.shift() ?? 'forward';
      if (fate == 'fail') return res.writeHead(503, { 'retry-after': '1' }).end('{"error":{"code":"unavailable","message":"database unavailable"}}');
      const r = await fetch(served.url + req.url, { method: 'POST', headers: { authorization: req.headers.authorization!, 'content-type': 'application/json' }, body });
      const text = await r.text();
      if (fate == 'forward, then fail') return res.writeHead(502).end('<html>Bad Gateway</html>');
      if (fate == 'forward, then hang') return;
      res.writeHead(r.status, { 'content-type': 'application/json' }).end(text);
    });
  });
  afterAll(async () => {
    proxy.server.closeAllConnections();
    await new Promise((r) => proxy.server.close(r));
    await served.close();
    await database.close();
  });

  const byUser = (userId: string) =>
    database.db.selectFrom('events').selectAll().where('user_id', '=', userId).orderBy('timestamp').orderBy('id').execute();

  it('stores each call under the user it names, as a server source, once flush() resolves', async () => {
    const errors: DeliveryError[] = [];
    const tally = createServerTally({ writeKey: backend.writeKey, host: served.url + '/', flushAt: 100, flushInterval: 60_000, onError: (e) => errors.push(e) });
    const at = new Date('2026-11-30T10:00:00.000Z');
    tally.identify({ userId: 'srv-1', anonymousId: 'srv-anon-1', traits: { plan: 'pro' }, timestamp: at });
    tally.track({ userId: 'srv-1', event: 'Order Completed', properties: { order_id: 'srv-o-1', revenue: 42 }, timestamp: new Date(+at + 1000) });
    tally.page({ anonymousId: 'srv-anon-1', name: 'Pricing', properties: { path: '/pricing' }, timestamp: new Date(+at + 2000) });
    tally.screen({ userId: 'srv-1', name: 'Home', timestamp: new Date(+at + 3000) });
    tally.group({ userId: 'srv-1', groupId: 'acme', traits: { seats: 3 }, timestamp: new Date(+at + 4000) });
    tally.alias({ userId: 'srv-1', previousId: 'legacy-srv-1', timestamp: new Date(+at + 5000) });
    tally.track({ userId: 'srv-2', event: 'Signed Up', timestamp: new Date(+at + 6000) });
    await tally.flush();
    expect(errors).toEqual([]);

    const rows = await byUser('srv-1');
    expect(rows.map((r) => [r.type, r.event ?? r.name ?? r.group_id ?? r.previous_id])).toEqual([
      ['identify', null],
      ['track', 'Order Completed'],
      ['screen', 'Home'],
      ['group', 'acme'],
      ['alias', 'legacy-srv-1'],
    ]);
    for (const r of rows) {
      expect(r.source_id).toBe(backend.id);
      expect(r.context).toMatchObject({ library: { name: '@tally/sdk-web/node', version: '0.1.0' } });
    }
    expect(rows[0]).toMatchObject({ anonymous_id: 'srv-anon-1', traits: { plan: 'pro' } });
    expect(new Date(rows[0]!.timestamp).toISOString()).toBe(at.toISOString());
    // The anonymous page and the identified calls are one customer: identify linked them.
    const [page] = await database.db.selectFrom('events').selectAll().where('anonymous_id', '=', 'srv-anon-1').where('type', '=', 'page').execute();
    expect(page).toMatchObject({ name: 'Pricing', path: '/pricing', customer_id: rows[0]!.customer_id });
    expect((await byUser('srv-2')).map((r) => r.event)).toEqual(['Signed Up']);
    await tally.close();
    expect(() => tally.track({ userId: 'srv-2', event: 'Too Late' })).toThrow('tally.track: called after close()');
  });

  it('sends a batch when flushAt events wait, flushInterval after the first, and in several requests past 500 KB', async () => {
    const timed = createServerTally({ writeKey: backend.writeKey, host: served.url, flushAt: 100, flushInterval: 50 });
    timed.track({ userId: 'srv-timed', event: 'Waited' });
    await vi.waitFor(async () => expect((await byUser('srv-timed')).map((r) => r.event)).toEqual(['Waited']), eventually);

    requests = [];
    const tally = createServerTally({ writeKey: backend.writeKey, host: proxy.url, flushAt: 3, flushInterval: 60_000 });
    for (let i = 0; i < 7; i++) tally.track({ userId: 'srv-count', event: 'Item Seen', properties: { i } });
    await vi.waitFor(async () => expect(await byUser('srv-count')).toHaveLength(6), eventually);
    await tally.flush();
    expect((await byUser('srv-count')).map((r) => (r.properties as { i: number }).i).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(requests.map((r) => JSON.parse(r.body).batch.length)).toEqual([3, 3, 1]);
    // The key goes as HTTP Basic, not in the body.
    expect(requests[0]!.authorization).toBe(`Basic ${Buffer.from(`${backend.writeKey}:`).toString('base64')}`);
    expect(requests[0]!.body).not.toContain(backend.writeKey);

    requests = [];
    const big = createServerTally({ writeKey: backend.writeKey, host: proxy.url, flushAt: 1000 });
    const blob = 'x'.repeat(30_000);
    for (let i = 0; i < 40; i++) big.track({ userId: 'srv-size', event: 'Document Saved', properties: { i, blob } });
    await big.close();
    expect(requests.length).toBeGreaterThan(2);
    for (const r of requests) expect(Buffer.byteLength(r.body)).toBeLessThanOrEqual(500 * 1024);
    expect(await byUser('srv-size')).toHaveLength(40);
  });

  it('retries a batch when the collector fails, then recovers: the retried batch is stored once', async () => {
    requests = [];
    // First refused (database down); then stored, but the answer is lost on the way back; then answered.
    fates = ['fail', 'forward, then fail', 'forward'];
    const errors: DeliveryError[] = [];
    const tally = createServerTally({ writeKey: backend.writeKey, host: proxy.url, flushAt: 100, onError: (e) => errors.push(e) });
    for (let i = 0; i < 5; i++) tally.track({ userId: 'srv-retry', event: 'Invoice Paid', properties: { i } });
    await tally.flush();
    expect(errors).toEqual([]);
    expect(requests).toHaveLength(3);
    const sent = requests.map((r) => JSON.parse(r.body).batch.map((m: { messageId: string }) => m.messageId));
    expect(sent[1]).toEqual(sent[0]);
    expect(sent[2]).toEqual(sent[0]);
    const rows = await byUser('srv-retry');
    expect(rows.map((r) => r.message_id).sort()).toEqual([...sent[0]].sort());
  });

  it('retries a request that gets no answer within the timeout: stored once', async () => {
    requests = [];
    fates = ['forward, then hang', 'forward'];
    const errors: DeliveryError[] = [];
    const tally = createServerTally({ writeKey: backend.writeKey, host: proxy.url, timeout: 300, onError: (e) => errors.push(e) });
    tally.track({ userId: 'srv-hang', messageId: 'srv-hang-1', event: 'Report Exported' });
    await tally.close();
    expect(errors).toEqual([]);
    expect(requests).toHaveLength(2);
    expect((await byUser('srv-hang')).map((r) => r.message_id)).toEqual(['srv-hang-1']);
  });

  it('gives up after maxRetries and reports it; a refused key or event is reported and not retried', async () => {
    requests = [];
    fates = ['fail', 'fail'];
    const errors: DeliveryError[] = [];
    const tally = createServerTally({ writeKey: backend.writeKey, host: proxy.url, maxRetries: 1, onError: (e) => errors.push(e) });
    tally.track({ userId: 'srv-lost', messageId: 'srv-lost-1', event: 'Lost' });
    await tally.close();
    expect(requests).toHaveLength(2);
    expect(errors.map((e) => [e.status, e.message, e.messageIds])).toEqual([
      [503, '1 event not delivered after 2 attempts: HTTP 503: database unavailable', ['srv-lost-1']],
    ]);

    requests = [];
    errors.length = 0;
    const wrongKey = createServerTally({ writeKey: 'not-a-key', host: proxy.url, onError: (e) => errors.push(e) });
    wrongKey.track({ userId: 'srv-wrong', event: 'Nope' });
    await wrongKey.flush();
    expect(requests).toHaveLength(1);
    expect(errors.map((e) => [e.status, e.message])).toEqual([[401, '1 event not delivered after 1 attempt: HTTP 401: unknown write key']]);

    // A client source may not send alias: that one event is refused and reported, the others are stored.
    errors.length = 0;
    const client = createServerTally({ writeKey: shop.writeKey, host: served.url, onError: (e) => errors.push(e) });
    client.track({ userId: 'srv-client', event: 'Kept' });
    client.alias({ userId: 'srv-client', previousId: 'srv-client-old', messageId: 'srv-alias-1' });
    await client.flush();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.rejected).toMatchObject([{ index: 1, messageId: 'srv-alias-1' }]);
    expect([errors[0]!.status, errors[0]!.message, errors[0]!.messageIds]).toEqual([200, 'the collector refused 1 of 2 events', ['srv-alias-1']]);
    expect((await byUser('srv-client')).map((r) => r.event)).toEqual(['Kept']);
  });

  it('refuses a call without an identity or an event name with a TypeError, and loses nothing else', async () => {
    const tally = createServerTally({ writeKey: backend.writeKey, host: served.url });
    tally.track({ userId: 'srv-valid', event: 'First' });
    expect(() => tally.track({ event: 'Nobody' })).toThrow('tally.track: a userId or an anonymousId is required');
    expect(() => tally.track({ userId: 'srv-valid', event: ' ' })).toThrow('tally.track: event is required');
    expect(() => tally.alias({ userId: 'srv-valid', previousId: '' })).toThrow('tally.alias: previousId is required');
    expect(() => tally.track({ userId: 'srv-valid', event: 'Huge', properties: { blob: 'x'.repeat(40_000) } })).toThrow('over 32 KB');
    expect(() => createServerTally({ writeKey: '', host: served.url })).toThrow('writeKey is required');
    tally.track({ userId: 'srv-valid', event: 'Second' });
    await tally.close();
    expect((await byUser('srv-valid')).map((r) => r.event)).toEqual(['First', 'Second']);
  });
});
