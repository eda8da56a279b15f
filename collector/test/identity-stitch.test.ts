import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { customerOfIdentity, customersOf, writeBatch } from './support/identity-events.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

describe(`identity stitching on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  const db = () => database.db;
  const customerRow = (id: string) => db().selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirst();
  const mergesOf = (id: string) =>
    db()
      .selectFrom('identity_merges')
      .selectAll()
      .where((eb) => eb.or([eb('from_customer_id', '=', id), eb('into_customer_id', '=', id)]))
      .orderBy('id')
      .execute();

  describe('rule 1: anonymous-only events', () => {
    test('create one anonymous customer per anonymousId and reuse it', async () => {
      const a1 = unique('anon');
      const a2 = unique('anon');
      const first = await writeBatch(db(), [{ type: 'page', anonymousId: a1, at: 0 }]);
      const later = await writeBatch(db(), [
        { type: 'track', anonymousId: a1, at: 1 },
        { type: 'page', anonymousId: a2, at: 1 },
      ]);
      const [c1, c1Again, c2] = await customersOf(db(), [...first, ...later]);
      expect(c1).toBeTruthy();
      expect(c1Again).toBe(c1);
      expect(c2).not.toBe(c1);
      expect(await customerOfIdentity(db(), 'anonymous', a1)).toBe(c1);
      const customer = await customerRow(c1!);
      expect(customer?.identified_at).toBeNull();
      expect(customer?.first_seen_at.toISOString()).toBe('2026-11-01T12:00:00.000Z');
      expect(customer?.last_seen_at.toISOString()).toBe('2026-11-01T12:01:00.000Z');
    });

    test('an event whose only id is a placeholder gets no customer and creates nothing', async () => {
      const before = await db().selectFrom('customers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      const ids = await writeBatch(db(), [
        { type: 'page', anonymousId: 'undefined', at: 0 },
        { type: 'page', anonymousId: '  ', userId: 'null', at: 0 },
      ]);
      expect(await customersOf(db(), ids)).toEqual([null, null]);
      const after = await db().selectFrom('customers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      expect(after.n).toBe(before.n);
      expect(await customerOfIdentity(db(), 'anonymous', 'undefined')).toBeUndefined();
    });
  });

  describe('rule 2: any call carrying both ids links them', () => {
    test('a track with anonymousId and userId links them, not only identify', async () => {
      const a = unique('anon');
      const u = unique('user');
      const ids = await writeBatch(db(), [{ type: 'track', anonymousId: a, userId: u, at: 0 }]);
      const later = await writeBatch(db(), [
        { type: 'page', anonymousId: a, at: 1 },
        { type: 'track', userId: u, at: 2 },
      ]);
      const [linked, anonymousLater, userLater] = await customersOf(db(), [...ids, ...later]);
      expect(anonymousLater).toBe(linked);
      expect(userLater).toBe(linked);
      expect(await customerOfIdentity(db(), 'user', u)).toBe(linked);
      expect((await customerRow(linked!))?.identified_at?.toISOString()).toBe('2026-11-01T12:00:00.000Z');
    });

    test('a placeholder userId does not link: two visitors with userId "guest" stay apart', async () => {
      const ids = await writeBatch(db(), [
        { type: 'identify', anonymousId: unique('anon'), userId: 'guest', at: 0 },
        { type: 'identify', anonymousId: unique('anon'), userId: 'GUEST', at: 0 },
        { type: 'identify', anonymousId: unique('anon'), userId: '[object Object]', at: 0 },
      ]);
      const customers = await customersOf(db(), ids);
      expect(new Set(customers).size).toBe(3);
      expect(await customerOfIdentity(db(), 'user', 'guest')).toBeUndefined();
    });
  });

  describe('rule 3: identify merges a never-identified anonymous customer', () => {
    test("the anonymous browsing before the first login becomes the user's, in place", async () => {
      const a = unique('anon');
      const u = unique('user');
      const browsing = await writeBatch(db(), [
        { type: 'page', anonymousId: a, at: 0 },
        { type: 'track', anonymousId: a, at: 1 },
      ]);
      const login = await writeBatch(db(), [{ type: 'identify', anonymousId: a, userId: u, at: 2 }]);
      const customers = await customersOf(db(), [...browsing, ...login]);
      expect(new Set(customers).size).toBe(1);
      expect(await customerOfIdentity(db(), 'user', u)).toBe(customers[0]);
    });

    test('a second device is merged into the known customer: its events re-pointed, the merge recorded', async () => {
      const laptop = unique('anon');
      const phone = unique('anon');
      const u = unique('user');
      const onLaptop = await writeBatch(db(), [
        { type: 'page', anonymousId: laptop, at: 0 },
        { type: 'identify', anonymousId: laptop, userId: u, at: 1 },
      ]);
      const onPhone = await writeBatch(db(), [
        { type: 'page', anonymousId: phone, at: 2 },
        { type: 'track', anonymousId: phone, at: 3 },
      ]);
      const [phoneCustomerBefore] = await customersOf(db(), onPhone);
      const [login] = await writeBatch(db(), [{ type: 'identify', anonymousId: phone, userId: u, messageId: unique('msg'), at: 4 }]);
      const customers = await customersOf(db(), [...onLaptop, ...onPhone, login!]);
      const person = await customerOfIdentity(db(), 'user', u);
      expect(customers.every((c) => c === person)).toBe(true);
      expect(await customerOfIdentity(db(), 'anonymous', phone)).toBe(person);
      expect(await customerRow(phoneCustomerBefore!)).toBeUndefined();
      const merges = await mergesOf(phoneCustomerBefore!);
      expect(merges).toMatchObject([{ from_customer_id: phoneCustomerBefore, into_customer_id: person, reason: 'identify', message_id: login }]);
      expect((await customerRow(person!))?.first_seen_at.toISOString()).toBe('2026-11-01T12:00:00.000Z');
    });

    test('an anonymous page then an identify in the same batch both end on the known customer', async () => {
      const a = unique('anon');
      const u = unique('user');
      const [known] = await writeBatch(db(), [{ type: 'identify', userId: u, at: 0 }]);
      const batch = await writeBatch(db(), [
        { type: 'track', anonymousId: unique('anon'), at: 5 },
        { type: 'page', anonymousId: a, at: 5 },
        { type: 'identify', anonymousId: a, userId: u, at: 6 },
      ]);
      const [knownCustomer, , page, identify] = await customersOf(db(), [known!, ...batch]);
      expect(page).toBe(knownCustomer);
      expect(identify).toBe(knownCustomer);
    });
  });

  describe('rule 4: a shared browser never merges two known customers', () => {
    const sharedBrowser = (a: string, userA: string, userB: string) => [
      { type: 'page', anonymousId: a, at: 0 },
      { type: 'identify', anonymousId: a, userId: userA, at: 1 },
      { type: 'track', anonymousId: a, userId: userA, at: 2 },
      { type: 'identify', anonymousId: a, userId: userB, at: 3 },
      { type: 'track', anonymousId: a, userId: userB, at: 4 },
      { type: 'page', anonymousId: a, at: 5 },
    ];

    const check = async (ids: string[], a: string, userA: string, userB: string) => {
      const [beforeA, loginA, trackA, loginB, trackB, afterB] = await customersOf(db(), ids);
      const customerA = await customerOfIdentity(db(), 'user', userA);
      const customerB = await customerOfIdentity(db(), 'user', userB);
      expect(customerA).toBeTruthy();
      expect(customerB).toBeTruthy();
      expect(customerA).not.toBe(customerB);
      expect([beforeA, loginA, trackA]).toEqual([customerA, customerA, customerA]);
      expect([loginB, trackB, afterB]).toEqual([customerB, customerB, customerB]);
      expect(await customerOfIdentity(db(), 'anonymous', a)).toBe(customerB);
      expect(await customerRow(customerA!)).toBeDefined();
      const merges = await mergesOf(customerA!);
      expect(merges.map((m) => m.reason)).toEqual(['anonymous_id_relinked']);
      expect(merges[0]).toMatchObject({ from_customer_id: customerA, into_customer_id: customerB });
    };

    test('across batches: B gets a customer of their own and the browser from now on; A keeps what came before', async () => {
      const a = unique('anon');
      const userA = unique('userA');
      const userB = unique('userB');
      const ids: string[] = [];
      for (const event of sharedBrowser(a, userA, userB)) ids.push(...(await writeBatch(db(), [event])));
      await check(ids, a, userA, userB);
    });

    test('within one batch, in the order of the timestamps', async () => {
      const a = unique('anon');
      const userA = unique('userA');
      const userB = unique('userB');
      const events = sharedBrowser(a, userA, userB);
      const shuffled = [events[3]!, events[5]!, events[0]!, events[2]!, events[4]!, events[1]!];
      const written = await writeBatch(db(), shuffled);
      const ids = [written[2]!, written[5]!, written[3]!, written[0]!, written[4]!, written[1]!];
      await check(ids, a, userA, userB);
    });

    test('when B already has a customer, the browser is re-linked to it and A is not merged', async () => {
      const a = unique('anon');
      const userA = unique('userA');
      const userB = unique('userB');
      await writeBatch(db(), [{ type: 'identify', anonymousId: unique('anon'), userId: userB, at: 0 }]);
      const ids = await writeBatch(db(), [
        { type: 'identify', anonymousId: a, userId: userA, at: 1 },
        { type: 'page', anonymousId: a, at: 2 },
      ]);
      const [loginB] = await writeBatch(db(), [{ type: 'identify', anonymousId: a, userId: userB, at: 3 }]);
      const [laterPage] = await writeBatch(db(), [{ type: 'page', anonymousId: a, at: 4 }]);
      const customerA = await customerOfIdentity(db(), 'user', userA);
      const customerB = await customerOfIdentity(db(), 'user', userB);
      expect(customerA).not.toBe(customerB);
      expect(await customersOf(db(), [...ids, loginB!, laterPage!])).toEqual([customerA, customerA, customerB, customerB]);
      expect(await customerRow(customerA!)).toBeDefined();
    });
  });

  describe('rule 5: alias merges two known customers', () => {
    test("alias(userId, previousId) moves the previous customer's events and identities to the survivor and records it", async () => {
      const oldUser = unique('old');
      const newUser = unique('new');
      const oldDevice = unique('anon');
      const oldEvents = await writeBatch(db(), [
        { type: 'identify', anonymousId: oldDevice, userId: oldUser, at: 0, traits: { plan: 'free', email: 'old@example.com' } },
        { type: 'track', userId: oldUser, at: 1 },
      ]);
      const newEvents = await writeBatch(db(), [{ type: 'identify', anonymousId: unique('anon'), userId: newUser, at: 2, traits: { plan: 'pro' } }]);
      const [oldCustomer] = await customersOf(db(), oldEvents);
      const [survivor] = await customersOf(db(), newEvents);
      expect(oldCustomer).not.toBe(survivor);

      const [alias] = await writeBatch(db(), [{ type: 'alias', userId: newUser, previousId: oldUser, at: 3 }], 'server');
      const all = await customersOf(db(), [...oldEvents, ...newEvents, alias!]);
      expect(all.every((c) => c === survivor)).toBe(true);
      expect(await customerOfIdentity(db(), 'user', oldUser)).toBe(survivor);
      expect(await customerOfIdentity(db(), 'anonymous', oldDevice)).toBe(survivor);
      expect(await customerRow(oldCustomer!)).toBeUndefined();
      expect(await mergesOf(oldCustomer!)).toMatchObject([{ from_customer_id: oldCustomer, into_customer_id: survivor, reason: 'alias', message_id: alias }]);
      expect((await customerRow(survivor!))?.traits).toEqual({ plan: 'pro', email: 'old@example.com' });
    });

    test('alias to a userId never seen before gives the previous customer that userId', async () => {
      const oldUser = unique('old');
      const newUser = unique('new');
      const [first] = await writeBatch(db(), [{ type: 'track', userId: oldUser, at: 0 }]);
      const [alias] = await writeBatch(db(), [{ type: 'alias', userId: newUser, previousId: oldUser, at: 1 }], 'server');
      const [customer, aliasCustomer] = await customersOf(db(), [first!, alias!]);
      expect(aliasCustomer).toBe(customer);
      expect(await customerOfIdentity(db(), 'user', newUser)).toBe(customer);
    });
  });

  describe('rule 6: out of order arrival', () => {
    test('an anonymous event arriving after the identify that linked it is attributed straight away', async () => {
      const a = unique('anon');
      const u = unique('user');
      const [known] = await writeBatch(db(), [{ type: 'identify', anonymousId: unique('anon'), userId: u, at: 0 }]);
      const [login] = await writeBatch(db(), [{ type: 'identify', anonymousId: a, userId: u, at: 10 }]);
      // Sent earlier (its batch was delayed), timestamped before the login, processed after it.
      const [late] = await writeBatch(db(), [{ type: 'page', anonymousId: a, at: 5 }]);
      const [customer, loginCustomer, lateCustomer] = await customersOf(db(), [known!, login!, late!]);
      expect(loginCustomer).toBe(customer);
      expect(lateCustomer).toBe(customer);
      expect((await customerRow(customer!))?.first_seen_at.toISOString()).toBe('2026-11-01T12:00:00.000Z');
    });

    test('the same events in either order of batches end on the same customers', async () => {
      const run = async (order: 'forward' | 'backward') => {
        const a = unique('anon');
        const u = unique('user');
        const batches = [
          [{ type: 'page', anonymousId: a, at: 0 }],
          [{ type: 'identify', anonymousId: a, userId: u, at: 1 }],
          [{ type: 'track', userId: u, at: 2 }],
        ];
        const ids: string[][] = [[], [], []];
        const indexes = order === 'forward' ? [0, 1, 2] : [2, 1, 0];
        for (const i of indexes) ids[i] = await writeBatch(db(), batches[i]!);
        const customers = await customersOf(db(), ids.flat());
        return { distinct: new Set(customers).size, user: await customerOfIdentity(db(), 'user', u), first: customers[0] };
      };
      const forward = await run('forward');
      const backward = await run('backward');
      expect(forward.distinct).toBe(1);
      expect(backward.distinct).toBe(1);
      expect(forward.first).toBe(forward.user);
      expect(backward.first).toBe(backward.user);
    });
  });

  describe('traits', () => {
    test('identify traits merge per key, the newest timestamp winning even when it arrives first', async () => {
      const u = unique('user');
      const a = unique('anon');
      await writeBatch(db(), [{ type: 'identify', userId: u, at: 10, traits: { plan: 'pro', name: 'Ann' } }]);
      await writeBatch(db(), [{ type: 'identify', userId: u, anonymousId: a, at: 5, traits: { plan: 'free', email: 'ann@example.com' } }]);
      await writeBatch(db(), [
        { type: 'identify', userId: u, at: 20, traits: { name: 'Ann B.' } },
        { type: 'identify', userId: u, at: 15, traits: { name: 'Ann A.' } },
        { type: 'track', userId: u, at: 30, traits: { name: 'not a trait: only identify sets traits' } },
      ]);
      const customer = await customerRow((await customerOfIdentity(db(), 'user', u))!);
      expect(customer?.traits).toEqual({ plan: 'pro', name: 'Ann B.', email: 'ann@example.com' });
      expect(customer?.last_seen_at.toISOString()).toBe('2026-11-01T12:30:00.000Z');
    });

    test('a merge keeps the newer value of each trait from either customer', async () => {
      const u = unique('user');
      const a = unique('anon');
      await writeBatch(db(), [{ type: 'identify', anonymousId: a, at: 0, traits: { colour: 'red', size: 'M' } }]);
      await writeBatch(db(), [{ type: 'identify', userId: u, at: 1, traits: { colour: 'blue' } }]);
      await writeBatch(db(), [{ type: 'track', anonymousId: a, userId: u, at: 2 }]);
      const customer = await customerRow((await customerOfIdentity(db(), 'user', u))!);
      expect(customer?.traits).toEqual({ colour: 'blue', size: 'M' });
    });
  });

  describe('batches as the writer sends them', () => {
    test('a retried batch (same message ids) is stitched again to the same customers and records no new merge', async () => {
      const a = unique('anon');
      const u = unique('user');
      await writeBatch(db(), [{ type: 'identify', userId: u, anonymousId: unique('anon'), at: 0 }]);
      const page = { type: 'page', anonymousId: a, messageId: unique('m'), at: 1 };
      await writeBatch(db(), [page]);
      const batch = [page, { type: 'identify', anonymousId: a, userId: u, messageId: unique('m'), at: 2 }];
      const first = await writeBatch(db(), batch);
      const customer = await customerOfIdentity(db(), 'user', u);
      const mergesBefore = await mergesOf(customer!);
      await writeBatch(db(), [...batch, ...batch]);
      expect(await customersOf(db(), first)).toEqual([customer, customer]);
      expect(await mergesOf(customer!)).toEqual(mergesBefore);
      expect(mergesBefore).toHaveLength(1);
    });


  });
});
