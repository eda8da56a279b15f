import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { customerOfIdentity, customersOf, writeBatch, type TestEvent } from './support/identity-events.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

// On Postgres these transactions really race over a pool of 8 connections; on the embedded
// engine (one session) they queue, and must give the same graph.
describe(`identity stitching under concurrency on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ poolSize: 8 });
  });
  afterAll(() => database.close());
  const db = () => database.db;

  /** Customers holding any identity of `source`, each with its identities and event count. */
  const graphOf = async (source: string) => {
    const { rows } = await sql<{ customer_id: string; identities: string[]; events: number }>`
      select i.customer_id, array_agg(i.kind || ':' || i.value order by i.kind, i.value) as identities,
        (select count(*) from events e where e.customer_id = i.customer_id) as events
      from identities i where i.source_id = ${source}
      group by i.customer_id`.execute(db());
    return rows;
  };

  const customerCount = async () =>
    (await db().selectFrom('customers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;

  test.each([
    ['after anonymous browsing', true],
    ['of an anonymousId never seen before', false],
  ])('50 concurrent identifies of one anonymousId with one userId, %s: one customer, every event on it', async (_, browse) => {
    const runOnce = async (source: string, concurrent: boolean) => {
      const a = unique('anon');
      const u = unique('user');
      const browsing = browse
        ? await writeBatch(db(), [
            { type: 'page', sourceId: source, anonymousId: a, at: 0 },
            { type: 'track', sourceId: source, anonymousId: a, at: 1 },
          ])
        : [];
      const requests: TestEvent[][] = Array.from({ length: 50 }, (_, i) => [
        { type: 'identify', sourceId: source, anonymousId: a, userId: u, at: 2 + i / 100, traits: { n: i } },
        { type: 'track', sourceId: source, anonymousId: a, at: 2 + i / 100 },
      ]);
      const written = concurrent
        ? await Promise.all(requests.map((events) => writeBatch(db(), events)))
        : await sequential(requests.map((events) => () => writeBatch(db(), events)));
      const customers = await customersOf(db(), [...browsing, ...written.flat()]);
      const customer = await customerOfIdentity(db(), 'user', u);
      expect(customers.every((c) => c === customer)).toBe(true);
      expect(await customerOfIdentity(db(), 'anonymous', a)).toBe(customer);
      const row = await db().selectFrom('customers').select('traits').where('id', '=', customer!).executeTakeFirstOrThrow();
      expect(row.traits).toEqual({ n: 49 });
      return (await graphOf(source)).map((c) => ({ identities: c.identities.map((i) => i.replace(/-.*/, '')), events: c.events }));
    };
    const before = await customerCount();
    const concurrent = await runOnce(unique('src'), true);
    expect(await customerCount()).toBe(before + 1);
    const oneByOne = await runOnce(unique('src'), false);
    expect(concurrent).toEqual(oneByOne);
    expect(concurrent).toEqual([{ identities: ['anonymous:anon', 'user:user'], events: browse ? 102 : 100 }]);
  });

  test('50 concurrent identifies of one anonymousId by two users: two customers, never merged, no link lost', async () => {
    const source = unique('src');
    const a = unique('anon');
    const users = [unique('userA'), unique('userB')];
    const browsing = await writeBatch(db(), [{ type: 'page', sourceId: source, anonymousId: a, at: 0 }]);
    const before = await customerCount();
    const requests = Array.from({ length: 50 }, (_, i) =>
      writeBatch(db(), [{ type: 'identify', sourceId: source, anonymousId: a, userId: users[i % 2]!, at: 1 + i / 100 }]),
    );
    const written = (await Promise.all(requests)).map((ids) => ids[0]!);
    const [customerA, customerB] = [await customerOfIdentity(db(), 'user', users[0]!), await customerOfIdentity(db(), 'user', users[1]!)];
    expect(customerA).toBeTruthy();
    expect(customerB).toBeTruthy();
    expect(customerA).not.toBe(customerB);
    // The anonymous customer became one of the two; exactly one more was created.
    expect(await customerCount()).toBe(before + 1);
    const identifies = await customersOf(db(), written);
    identifies.forEach((customer, i) => expect(customer).toBe(i % 2 === 0 ? customerA : customerB));
    const [browsingCustomer] = await customersOf(db(), browsing);
    expect([customerA, customerB]).toContain(browsingCustomer);
    expect([customerA, customerB]).toContain(await customerOfIdentity(db(), 'anonymous', a));
    const graph = await graphOf(source);
    expect(graph).toHaveLength(2);
    const merges = await db()
      .selectFrom('identity_merges')
      .select('reason')
      .where('source_id', '=', source)
      .execute();
    expect(merges.every((m) => m.reason === 'anonymous_id_relinked')).toBe(true);
  });

  test('50 devices of one person identifying at once end as one customer with every device linked', async () => {
    const source = unique('src');
    const u = unique('user');
    const devices = Array.from({ length: 50 }, () => unique('anon'));
    const browsing = await Promise.all(devices.map((a) => writeBatch(db(), [{ type: 'page', sourceId: source, anonymousId: a, at: 0 }])));
    const logins = await Promise.all(
      devices.map((a, i) => writeBatch(db(), [{ type: 'identify', sourceId: source, anonymousId: a, userId: u, at: 1 + i / 100 }])),
    );
    const customer = await customerOfIdentity(db(), 'user', u);
    const customers = await customersOf(db(), [...browsing.flat(), ...logins.flat()]);
    expect(customers.every((c) => c === customer)).toBe(true);
    const graph = await graphOf(source);
    expect(graph).toHaveLength(1);
    expect(graph[0]!.identities).toHaveLength(51);
    const { n } = await db()
      .selectFrom('customers')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('id', 'in', db().selectFrom('identity_merges').select('from_customer_id').where('source_id', '=', source))
      .executeTakeFirstOrThrow();
    expect(n).toBe(0);
  });

  test('concurrent batches sharing identities in opposite orders do not deadlock', async () => {
    const source = unique('src');
    const ids = Array.from({ length: 20 }, () => unique('anon'));
    const forward: TestEvent[] = ids.map((a) => ({ type: 'page', sourceId: source, anonymousId: a, at: 0 }));
    const batches = Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? forward : [...forward].reverse()));
    await Promise.all(batches.map((events) => writeBatch(db(), events)));
    expect(await graphOf(source)).toHaveLength(20);
  });
});

async function sequential<T>(tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = [];
  for (const task of tasks) results.push(await task());
  return results;
}
