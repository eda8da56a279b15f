import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { importCommand } from '../src/import/command.js';
import type { ImportReport } from '../src/import/import-customers.js';
import { normalisePhone } from '../src/import/normalise.js';
import { backend, basic, postJson, testApp } from './support/collector-app.js';
import { COLUMNS, csvField, customerFile, type CustomerFile } from './support/customer-file.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

// A 10,000-row CRM export with known answers (test/support/customer-file.ts), imported with
// the `import` command into a workspace that already knows some of its people through
// identify calls of a server source.

let database: TestDatabase;
let file: CustomerFile;
let dir: string;
let csvPath: string;
let first: ImportReport;
let customersBefore: number;

async function runImport(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await importCommand(args, {
    db: database.db,
    env: {},
    cwd: dir,
    stdout: (text) => (stdout += `${text}\n`),
    stderr: (text) => (stderr += `${text}\n`),
    actor: 'test-operator',
  });
  return { status, stdout, stderr };
}

async function count(query: ReturnType<typeof sql<{ n: number }>>): Promise<number> {
  return (await query.execute(database.db)).rows[0]!.n;
}

async function customerOfUser(userId: string) {
  const { rows } = await sql<{ id: string; traits: Record<string, unknown>; trait_sources: Record<string, unknown> }>`
    select c.id, c.traits, c.trait_sources from identities i join customers c on c.id = i.customer_id
    where i.kind = 'user' and i.value = ${userId}`.execute(database.db);
  return rows[0];
}

beforeAll(async () => {
  database = await createTestDatabase();
  file = customerFile(1);
  dir = await mkdtemp(join(tmpdir(), 'tally-import-'));
  csvPath = join(dir, 'customers.csv');
  await writeFile(csvPath, file.csv);

  // The workspace's people, told by the shop's back end (a server source) through identify.
  const app = testApp(database);
  for (let i = 0; i < file.existing.length; i += 500) {
    const batch = file.existing.slice(i, i + 500).map((person, j) => ({
      type: 'identify',
      messageId: `seed-${i + j}`,
      userId: person.userId,
      traits: person.traits,
      timestamp: '2026-11-01T12:00:00Z',
    }));
    const response = await postJson(app, '/v1/batch', { batch }, { authorization: basic(backend.writeKey) });
    expect(response.status).toBe(200);
  }
  customersBefore = await count(sql<{ n: number }>`select count(*)::integer as n from customers`);
  expect(customersBefore).toBe(file.existing.length);

  const run = await runImport(['customers.csv', '--country', 'GB', '--json']);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  first = JSON.parse(run.stdout) as ImportReport;
}, 300_000);

afterAll(async () => {
  await database?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('importing a 10,000-row CRM export', () => {
  test('reports the rows read, matches per rule, new customers, the queue and the rejected lines the file was built with', () => {
    const { expected } = file;
    expect(first.rowsRead).toBe(10_000);
    expect(first.rowsRead).toBe(expected.rowsRead);
    expect(first.matched).toEqual(expected.matched);
    expect(first.newCustomers).toBe(expected.newCustomers);
    expect(first.queued).toEqual({ ...expected.queued, total: expected.queued.name_postcode + expected.queued.name_birth_date });
    expect(first.alreadyImported).toBe(expected.alreadyImported);
    expect(first.orders).toEqual({ stored: expected.ordersStored, duplicates: 0 });
    expect(first.rejected.map((row) => row.line)).toEqual(expected.rejectedLines);
  });

  test('says why each bad row was rejected', () => {
    const reasons = first.rejected.map((row) => row.reason);
    expect(reasons[0]).toMatch(/email: "not-an-email" is not an e-mail address/);
    expect(reasons[1]).toMatch(/phone: "12" is not a phone number/);
    expect(reasons[2]).toMatch(/birthDate: "31\/12\/1990"/);
    expect(reasons[3]).toMatch(/revenue/);
    expect(reasons[4]).toMatch(/currency/);
    expect(reasons[5]).toMatch(/items: expected a JSON array/);
    expect(reasons[6]).toMatch(/nothing to recognise the customer by/);
    expect(reasons[7]).toMatch(/placeholder/);
    expect(reasons[8]).toMatch(/order_id: required/);
    expect(reasons[9]).toMatch(/product_id/);
  });

  test('stores nothing of a rejected row', async () => {
    for (const email of ['bad.total@example.com', 'bad.currency@example.com', 'bad.items@example.com', 'placeholder@example.com', 'no.order.id@example.com']) {
      expect(await count(sql<{ n: number }>`select count(*)::integer as n from customers where traits ->> 'email' = ${email}`)).toBe(0);
    }
    expect(await count(sql<{ n: number }>`select count(*)::integer as n from events where properties ->> 'order_id' like 'BAD-%'`)).toBe(0);
  });

  test('creates exactly the new customers and merges the rest into the customers they matched', async () => {
    expect(await count(sql<{ n: number }>`select count(*)::integer as n from customers`)).toBe(customersBefore + file.expected.newCustomers);
    const { rows } = await sql<{ status: string; rule: string | null; n: number }>`
      select status, rule, count(*)::integer as n from import_records group by status, rule order by status, rule`.execute(database.db);
    const byStatus = Object.fromEntries(rows.map((row) => [`${row.status}:${row.rule ?? '-'}`, row.n]));
    expect(byStatus).toEqual({
      'merged:email': file.expected.matched.email,
      'merged:phone': file.expected.matched.phone,
      'merged:user_id': file.expected.matched.user_id,
      'new:-': file.expected.newCustomers,
      'queued:name_birth_date': file.expected.queued.name_birth_date,
      'queued:name_postcode': file.expected.queued.name_postcode,
    });
  });

  test('a row matched by userId sets its traits on that customer, recorded as set by the import (a server source)', async () => {
    const row = file.rows[file.samples.byUserId[0]!]!;
    const customer = await customerOfUser(row.user_id!);
    expect(customer!.traits.email).toBe(row.email);
    expect(customer!.traits.loyalty_tier).toBe('gold');
    expect(customer!.trait_sources.email).toEqual({ source_id: 'import', kind: 'server' });
  });

  test('a messy e-mail matches the customer with that e-mail, and the row\'s phone is stored in E.164', async () => {
    for (const index of file.samples.byEmail.slice(0, 20)) {
      const row = file.rows[index]!;
      const person = file.existing.find((p) => p.traits.email === row.email!.trim().toLowerCase())!;
      const customer = await customerOfUser(person.userId);
      expect(customer!.traits.phone).toBe(normalisePhone(row.phone!));
      expect(customer!.traits.phone).toMatch(/^\+447\d{9}$/);
    }
  });

  test('a phone written the national way matches the customer whose phone was stored in international form', async () => {
    const row = file.rows[file.samples.byPhone[0]!]!;
    const person = file.existing.find((p) => p.traits.phone !== undefined && normalisePhone(String(p.traits.phone)) === normalisePhone(row.phone!, 'GB'))!;
    const customer = await customerOfUser(person.userId);
    expect(customer!.traits.address).toEqual({ city: 'Leeds' });
    expect(customer!.traits.lastName).toBe(row.last_name);
    const { rows } = await sql<{ rule: string; confidence: string }>`
      select rule, confidence::text from import_records where customer_id = ${customer!.id} and status = 'merged'`.execute(database.db);
    expect(rows).toEqual([{ rule: 'phone', confidence: '0.90' }]);
  });

  test('a person twice in the file is one customer, with the second row\'s order', async () => {
    const row = file.rows[file.samples.duplicateByEmail[0]!]!;
    const { rows } = await sql<{ id: string; city: string; orders: number }>`
      select c.id, c.traits -> 'address' ->> 'city' as city, (select count(*)::integer from events e where e.customer_id = c.id and e.event = 'Order Completed') as orders
      from customers c where c.traits ->> 'email' = ${row.email!.trim().toLowerCase()}`.execute(database.db);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.city).toBe('Bath');
    expect(rows[0]!.orders).toBe(1);
  });

  test('orders are Order Completed events of their customer, with a messageId derived from the order id, in the orders view', async () => {
    const { rows } = await sql<{ message_id: string; source_id: string; customer_id: string | null; revenue: string; currency: string; products: unknown[] }>`
      select e.message_id, e.source_id, e.customer_id, o.revenue::text, o.currency, o.products
      from events e join orders o on o.event_id = e.id where e.properties ->> 'order_id' like 'D-%' limit 1`.execute(database.db);
    expect(rows[0]!.message_id).toMatch(/^import-order-D-\d+$/);
    expect(rows[0]!.source_id).toBe('import');
    expect(rows[0]!.customer_id).not.toBeNull();
    expect(Number(rows[0]!.revenue)).toBeGreaterThan(0);
    expect(rows[0]!.products).toHaveLength(1);
    expect(await count(sql<{ n: number }>`select count(*)::integer as n from events where event = 'Order Completed' and customer_id is null`)).toBe(0);
  });

  test('a quoted field with a comma, quotes and a line break is one trait, and the rows after it keep their own line numbers', async () => {
    const { rows } = await sql<{ notes: string }>`select traits ->> 'notes' as notes from customers where traits ? 'notes'`.execute(database.db);
    expect(rows).toEqual([{ notes: 'likes "tea", and\ncake' }]);
  });

  test('records below the threshold wait for review with their candidate, rule, confidence and evidence', async () => {
    const run = await runImport(['review', 'list', '--limit', '1000']);
    expect(run.status).toBe(0);
    const listed = JSON.parse(run.stdout) as { total: number; records: { candidate_customer_id: string; rule: string; confidence: number; evidence: { matched: string } }[] };
    expect(listed.total).toBe(file.expected.queued.name_postcode + file.expected.queued.name_birth_date);
    expect(listed.records).toHaveLength(listed.total);
    for (const record of listed.records) {
      expect(record.confidence).toBe(0.7);
      expect(['name_postcode', 'name_birth_date']).toContain(record.rule);
      expect(record.candidate_customer_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(record.evidence.matched).not.toBe('');
    }
  });
});

describe('importing again', () => {
  test('the same file changes nothing: every row is already imported', async () => {
    const customers = await count(sql<{ n: number }>`select count(*)::integer as n from customers`);
    const events = await count(sql<{ n: number }>`select count(*)::integer as n from events`);
    const queued = await count(sql<{ n: number }>`select count(*)::integer as n from import_records where status = 'queued'`);
    const run = await runImport([csvPath, '--country', 'GB', '--json']);
    const again = JSON.parse(run.stdout) as ImportReport;
    expect(again.alreadyImported).toBe(file.expected.rowsRead - file.expected.rejectedLines.length);
    expect(again.newCustomers).toBe(0);
    expect(again.queued.total).toBe(0);
    expect(again.rejected.map((row) => row.line)).toEqual(file.expected.rejectedLines);
    expect(await count(sql<{ n: number }>`select count(*)::integer as n from customers`)).toBe(customers);
    expect(await count(sql<{ n: number }>`select count(*)::integer as n from events`)).toBe(events);
    expect(await count(sql<{ n: number }>`select count(*)::integer as n from import_records where status = 'queued'`)).toBe(queued);
  });

  test('a changed row with an order already stored updates the customer and stores the order once', async () => {
    const index = file.samples.byUserId.find((i) => file.rows[i]!.order_id !== undefined)!;
    const row = { ...file.rows[index]!, loyalty_tier: 'platinum' };
    const changed = `${COLUMNS.join(',')}\n${COLUMNS.map((c) => csvField(row[c] ?? '')).join(',')}\n`;
    await writeFile(join(dir, 'changed.csv'), changed);
    const run = await runImport(['changed.csv', '--json']);
    const report = JSON.parse(run.stdout) as ImportReport;
    expect(report.matched.user_id).toBe(1);
    expect(report.orders).toEqual({ stored: 0, duplicates: 1 });
    const customer = await customerOfUser(row.user_id!);
    expect(customer!.traits.loyalty_tier).toBe('platinum');
    expect(await count(sql<{ n: number }>`select count(*)::integer as n from events where message_id = ${`import-order-${row.order_id}`}`)).toBe(1);
  });

  test('a dry run reports what would happen and writes nothing', async () => {
    const customers = await count(sql<{ n: number }>`select count(*)::integer as n from customers`);
    await writeFile(join(dir, 'dry.ndjson'), '{"email":"dry.one@example.com"}\n{"email":" DRY.one@example.com","city":"Ely"}\n');
    const run = await runImport(['dry.ndjson', '--dry-run', '--json']);
    const report = JSON.parse(run.stdout) as ImportReport;
    expect(report).toMatchObject({ dryRun: true, rowsRead: 2, newCustomers: 1, matched: { email: 1 } });
    expect(await count(sql<{ n: number }>`select count(*)::integer as n from customers`)).toBe(customers);
    expect(await count(sql<{ n: number }>`select count(*)::integer as n from import_records where line = 1 and status = 'new' and customer_id not in (select id from customers)`)).toBe(0);
  });
});
