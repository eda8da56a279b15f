import * as fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { importCommand } from '../src/import/command.js';
import type { ImportReport } from '../src/import/import-customers.js';
import { normaliseName } from '../src/import/normalise.js';
import { backend, basic, postJson, testApp } from './support/collector-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

// The admin API of customer imports (JSON lines in, the report out), the review queue decided
// through the API and the command line, and the cases a match is held for review although
// strong enough to merge.

let database: TestDatabase;
let app: ReturnType<typeof testApp>;
const admin = { authorization: 'Bearer admin-key-for-tests' };

function ndjson(records: Record<string, unknown>[]): string {
  return records.map((record) => JSON.stringify(record)).join('\n');
}

async function importLines(records: Record<string, unknown>[], query = ''): Promise<ImportReport> {
  const response = await app.request(`/v1/admin/import${query}`, { method: 'POST', headers: admin, body: ndjson(records) });
  expect(response.status).toBe(200);
  return (await response.json()) as ImportReport;
}

async function queued(): Promise<{ id: string; candidate_customer_id: string; rule: string; evidence: { held?: string } }[]> {
  const response = await app.request('/v1/admin/import/review', { headers: admin });
  expect(response.status).toBe(200);
  return ((await response.json()) as { records: never[] }).records;
}

async function customerOfEmail(email: string) {
  const { rows } = await sql<{ id: string; traits: Record<string, unknown> }>`
    select id, traits from customers where traits ->> 'email' = ${email}`.execute(database.db);
  return rows;
}

beforeAll(async () => {
  database = await createTestDatabase();
  app = testApp(database);
  const response = await postJson(
    app,
    '/v1/batch',
    {
      batch: [
        { type: 'identify', messageId: 'seed-1', userId: 'ann-1', traits: { email: 'ann@example.com', firstName: 'Ann', lastName: 'Lee', address: { postalCode: 'YO1 7HH' } }, timestamp: '2026-11-01T12:00:00Z' },
        { type: 'identify', messageId: 'seed-2', userId: 'cy-1', traits: { name: 'Cy Ng', birthday: '1980-02-03' }, timestamp: '2026-11-01T12:00:00Z' },
        { type: 'identify', messageId: 'seed-3', userId: 'twin-a', traits: { email: 'twins@example.com' }, timestamp: '2026-11-01T12:00:00Z' },
        { type: 'identify', messageId: 'seed-4', userId: 'twin-b', traits: { email: 'twins@example.com' }, timestamp: '2026-11-01T12:00:00Z' },
      ],
    },
    { authorization: basic(backend.writeKey) },
  );
  expect(response.status).toBe(200);
});

afterAll(() => database?.close());

describe('POST /v1/admin/import', () => {
  test('needs the admin key', async () => {
    const response = await app.request('/v1/admin/import', { method: 'POST', body: ndjson([{ email: 'x@example.com' }]) });
    expect(response.status).toBe(401);
    expect(await customerOfEmail('x@example.com')).toEqual([]);
  });

  test('imports JSON lines and answers the report, bad lines listed with their line numbers', async () => {
    const report = await importLines([
      { email: ' ANN@example.com ', phone: '+44 7700 900123', orderId: 'api-1', total: 12.5, currency: 'GBP', items: [{ sku: 'MUG', price: 12.5, quantity: 1 }] },
      { email: 'new.person@example.com', lifetime_value: 120 },
      { email: 'broken' },
    ]);
    expect(report).toMatchObject({ rowsRead: 3, newCustomers: 1, matched: { email: 1 }, orders: { stored: 1, duplicates: 0 } });
    expect(report.rejected).toEqual([{ line: 3, reason: 'email: "broken" is not an e-mail address' }]);
    const [ann] = await customerOfEmail('ann@example.com');
    expect(ann!.traits.phone).toBe('+447700900123');
    const [created] = await customerOfEmail('new.person@example.com');
    expect(created!.traits.lifetime_value).toBe(120);
  });

  test('an out-of-range threshold is a 400 and imports nothing', async () => {
    const response = await app.request('/v1/admin/import?threshold=2', { method: 'POST', headers: admin, body: ndjson([{ email: 'range@example.com' }]) });
    expect(response.status).toBe(400);
    expect(await customerOfEmail('range@example.com')).toEqual([]);
  });
});

describe('matches held for review although strong enough', () => {
  test('an e-mail two customers share queues the record instead of picking one', async () => {
    const report = await importLines([{ email: 'twins@example.com', city: 'Ely' }]);
    expect(report.queued).toMatchObject({ email: 1, total: 1 });
    const held = (await queued()).find((record) => record.rule === 'email')!;
    expect(held.evidence.held).toMatch(/2 customers have the same e-mail/);
  });

  test('a userId other than the one the matched customer has queues the record: two known people are never merged on a guess', async () => {
    const report = await importLines([{ userId: 'someone-else', email: 'ann@example.com' }]);
    expect(report.queued.email).toBe(1);
    const held = (await queued()).find((record) => record.evidence.held?.includes('someone-else'))!;
    expect(held.evidence.held).toBe('the record\'s userId "someone-else" is not the customer\'s ("ann-1")');
    const { rows } = await sql`select 1 from identities where value = 'someone-else'`.execute(database.db);
    expect(rows).toEqual([]);
  });

  test('a lower threshold merges what the default would queue', async () => {
    const report = await importLines([{ name: 'CY  ng', birthDate: '1980-02-03', vip: 'yes' }], '?threshold=0.7');
    expect(report.matched.name_birth_date).toBe(1);
    const { rows } = await sql<{ vip: string }>`
      select c.traits ->> 'vip' as vip from identities i join customers c on c.id = i.customer_id where i.value = 'cy-1'`.execute(database.db);
    expect(rows).toEqual([{ vip: 'yes' }]);
  });
});

describe('the review queue', () => {
  let listed: Awaited<ReturnType<typeof queued>>;

  beforeAll(async () => {
    const report = await importLines([
      { firstName: 'ann', lastName: 'LEE', postcode: 'yo17hh', orderId: 'rev-1', total: 3, currency: 'GBP' },
      { firstName: 'Ánn', lastName: 'Lee', postcode: 'YO1 7HH', email: 'other.ann@example.com' },
    ]);
    expect(report.queued.name_postcode).toBe(2);
    listed = (await queued()).filter((record) => record.rule === 'name_postcode');
  });

  test('accepting a record through the API merges it into its candidate, with its order', async () => {
    const record = listed[0]!;
    const response = await app.request(`/v1/admin/import/review/${record.id}/accept`, { method: 'POST', headers: admin });
    expect(response.status).toBe(200);
    const decided = (await response.json()) as { status: string; customerId: string; ordersStored: number };
    expect(decided).toMatchObject({ status: 'accepted', customerId: record.candidate_customer_id, ordersStored: 1 });
    const { rows } = await sql<{ customer_id: string }>`select customer_id from events where message_id = 'import-order-rev-1'`.execute(database.db);
    expect(rows).toEqual([{ customer_id: record.candidate_customer_id }]);
    const stored = await sql<{ status: string; rule: string; confidence: string; decided_by: string; record: unknown }>`
      select status, rule, confidence::text, decided_by, record from import_records where id = ${record.id}::bigint`.execute(database.db);
    expect(stored.rows).toEqual([{ status: 'accepted', rule: 'name_postcode', confidence: '0.70', decided_by: 'admin_api', record: null }]);
  });

  test('rejecting a record with the command keeps it apart: a customer of its own, the candidate unchanged', async () => {
    const record = listed[1]!;
    let out = '';
    const status = await importCommand(['review', 'reject', record.id], {
      db: database.db,
      env: {},
      cwd: process.cwd(),
      stdout: (text) => (out += text),
      stderr: (text) => (out += text),
      actor: 'ops',
    });
    expect(status).toBe(0);
    expect(out).toMatch(/rejected: kept apart as customer/);
    const [apart] = await customerOfEmail('other.ann@example.com');
    expect(apart!.id).not.toBe(record.candidate_customer_id);
    const { rows } = await sql<{ email: string }>`select traits ->> 'email' as email from customers where id = ${record.candidate_customer_id}`.execute(database.db);
    expect(rows).toEqual([{ email: 'ann@example.com' }]);
  });

  test('a record decided already cannot be decided again (404), and the queue no longer lists it', async () => {
    const response = await app.request(`/v1/admin/import/review/${listed[0]!.id}/reject`, { method: 'POST', headers: admin });
    expect(response.status).toBe(404);
    expect((await queued()).map((record) => record.id)).not.toContain(listed[0]!.id);
  });
});

describe('forgetting a person', () => {
  test('deletes what was imported of them from import_records, with their customer', async () => {
    const [ann] = await customerOfEmail('ann@example.com');
    const before = await sql<{ n: number }>`
      select count(*)::integer as n from import_records where customer_id = ${ann!.id} or candidate_customer_id = ${ann!.id}`.execute(database.db);
    expect(before.rows[0]!.n).toBeGreaterThan(0);
    const response = await postJson(app, '/v1/admin/people/forget', { email: 'ann@example.com' }, admin);
    expect(response.status).toBe(200);
    const after = await sql<{ n: number }>`
      select count(*)::integer as n from import_records where customer_id = ${ann!.id} or candidate_customer_id = ${ann!.id}`.execute(database.db);
    expect(after.rows[0]!.n).toBe(0);
  });
});

describe('tally_match_name, the database\'s narrowing of names', () => {
  test('gives the same key to every two names the import calls equal, so that no match is missed', async () => {
    const letters = fc.constantFrom('a', 'A', 'á', 'Á', 'e', 'ë', 'Ø', 'ø', 'ß', 'n', 'ñ', 'z', '李', ' ', '-', "'", '.', '  ', 'K', 'İ');
    const names = fc.sample(fc.array(letters, { minLength: 1, maxLength: 8 }).map((parts) => parts.join('')), { numRuns: 400, seed: 12 });
    const pairs = names.flatMap((a, i) => names.slice(i + 1, i + 40).filter((b) => normaliseName(a) !== null && normaliseName(a) === normaliseName(b)).map((b) => [a, b]));
    expect(pairs.length).toBeGreaterThan(20);
    const { rows } = await sql<{ a: string; b: string }>`
      select p ->> 0 as a, p ->> 1 as b from jsonb_array_elements(${JSON.stringify(pairs)}::jsonb) p
      where tally_match_name(jsonb_build_object('name', p ->> 0)) is distinct from tally_match_name(jsonb_build_object('name', p ->> 1))`.execute(database.db);
    expect(rows).toEqual([]);
  });
});
