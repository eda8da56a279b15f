import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { basic, shop, testApp, trackEvent } from './support/collector-app.js';
import { serveOnFreePort } from './support/served-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

interface Answer {
  status: number;
  body: { accepted: number; duplicates: number; rejected: unknown[] };
}

function post(url: string, agent: Agent, body: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/v1/batch`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: basic(shop.writeKey) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe(`concurrent requests on ${testEngine}`, () => {
  let database: TestDatabase;
  let served: Awaited<ReturnType<typeof serveOnFreePort>>;
  const agent = new Agent({ keepAlive: true, maxSockets: 200 });
  beforeAll(async () => {
    database = await createTestDatabase();
    served = await serveOnFreePort(testApp(database));
  });
  afterAll(async () => {
    agent.destroy();
    await served.close();
    await database.close();
  });

  test('200 concurrent requests, half of them retries of the others: every event stored exactly once', async () => {
    const batches = Array.from({ length: 100 }, (_, b) => Array.from({ length: 10 }, () => trackEvent({ properties: { batch: b } })));
    // Every batch is sent twice at the same time, as a client retrying after a timeout would.
    const answers = await Promise.all([...batches, ...batches].map((batch) => post(served.url, agent, { batch })));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const accepted = answers.reduce((n, a) => n + a.body.accepted, 0);
    const duplicates = answers.reduce((n, a) => n + a.body.duplicates, 0);
    expect(accepted).toBe(1_000);
    expect(duplicates).toBe(1_000);

    const ids = batches.flat().map((e) => e.messageId as string);
    const rows = await database.db
      .selectFrom('events')
      .select((eb) => [eb.fn.countAll<number>().as('rows'), eb.fn.count<number>('message_id').distinct().as('distinct_ids')])
      .where('message_id', 'in', ids)
      .executeTakeFirstOrThrow();
    expect({ rows: Number(rows.rows), distinct: Number(rows.distinct_ids) }).toEqual({ rows: 1_000, distinct: 1_000 });
  });
});
