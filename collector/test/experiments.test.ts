import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { insertEvents, type AnalyticsEvent } from './support/analytics-events.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

/** Φ(z) by Simpson's rule over the normal density: a reference independent of the SQL's approximation. */
function normalCdf(z: number): number {
  const steps = 20_000;
  const from = 0;
  const to = Math.abs(z);
  const h = (to - from) / steps;
  const density = (x: number) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
  let sum = density(from) + density(to);
  for (let i = 1; i < steps; i++) sum += density(from + i * h) * (i % 2 === 1 ? 4 : 2);
  const half = (sum * h) / 3;
  return z >= 0 ? 0.5 + half : 0.5 - half;
}

const at = (minute: number) => new Date(Date.UTC(2026, 5, 1, 10, minute));
const viewed = (customer: string, minute: number, variant: string, name: string, experiment = 'checkout-button'): AnalyticsEvent => ({
  customer, at: at(minute), event: 'Experiment Viewed',
  properties: { experiment_id: experiment, experiment_name: 'Checkout button', variant_id: variant, variant_name: name },
});
const ordered = (customer: string, minute: number): AnalyticsEvent => ({ customer, at: at(minute), event: 'Order Completed', properties: { order_id: randomUUID(), revenue: 10 } });

// Control: 10 customers, 2 order after their exposure (a third ordered only before it).
// Green: 10 customers, 6 order after. One more customer saw both and ordered: reported
// apart. Exposures to another experiment, or outside the range, do not count.
const control = Array.from({ length: 10 }, () => randomUUID());
const green = Array.from({ length: 10 }, () => randomUUID());
const both = randomUUID();
const events: AnalyticsEvent[] = [
  ...control.flatMap((c, i) => [viewed(c, 10, 'control', 'Control'), ...(i < 2 ? [ordered(c, 20)] : [])]),
  ordered(control[2]!, 5),
  viewed(control[3]!, 30, 'control', 'Control'),
  ...green.flatMap((c, i) => [viewed(c, 10, 'green', 'Green button'), ...(i < 6 ? [ordered(c, 20)] : [])]),
  viewed(both, 10, 'control', 'Control'), viewed(both, 12, 'green', 'Green button'), ordered(both, 20),
  viewed(randomUUID(), 10, 'green', 'Green button', 'other-experiment'),
  { ...viewed(randomUUID(), 0, 'green', 'Green button'), at: new Date(Date.UTC(2026, 4, 31, 23)) },
];

describe(`experiment_results on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await insertEvents(database.db, events);
  });
  afterAll(() => database.close());
  const results = async (control = 'null') =>
    (await sql.raw<Record<string, unknown>>(`
      select variant_id, variant_name, is_control, customers::int, converted::int, conversion_rate::float8 as rate, difference::float8 as difference,
             uplift::float8 as uplift, ci_low::float8 as ci_low, ci_high::float8 as ci_high, z_score::float8 as z, p_value::float8 as p
        from experiment_results('checkout-button', 'Order Completed', '2026-06-01', '2026-06-02', ${control})`).execute(database.db)).rows;

  test('per variant: exposed, converted after the first exposure, rate, uplift, 95 % interval and p-value against the control', async () => {
    // By hand: p0 = 2/10, p1 = 6/10, difference 0.4, uplift 0.4 / 0.2 = 2. Unpooled standard
    // error √(0.6·0.4/10 + 0.2·0.8/10) = 0.2, so the interval is 0.4 ± 1.96 × 0.2. Pooled
    // p = 0.4: z = 0.4 / √(0.4·0.6·(1/10 + 1/10)) = 1.8257.
    const z = 0.4 / Math.sqrt(0.4 * 0.6 * 0.2);
    const p = 2 * (1 - normalCdf(z));
    const rows = await results();
    expect(rows).toEqual([
      { variant_id: 'control', variant_name: 'Control', is_control: true, customers: 10, converted: 2, rate: 0.2,
        difference: null, uplift: null, ci_low: null, ci_high: null, z: null, p: null },
      { variant_id: 'green', variant_name: 'Green button', is_control: false, customers: 10, converted: 6, rate: 0.6,
        difference: 0.4, uplift: 2, ci_low: 0.008, ci_high: 0.792, z: 1.8257, p: expect.closeTo(p, 5) },
      { variant_id: null, variant_name: '(several variants)', is_control: false, customers: 1, converted: 1, rate: 1,
        difference: null, uplift: null, ci_low: null, ci_high: null, z: null, p: null },
    ]);
    expect(p).toBeCloseTo(0.067889, 5);
  });

  test('the control can be named; then the other variant is compared with it', async () => {
    const rows = await results(`'green'`);
    expect(rows.map((r) => [r.variant_id, r.is_control, r.difference, r.uplift])).toEqual([
      ['green', true, null, null],
      ['control', false, -0.4, -0.6667],
      [null, false, null, null],
    ]);
  });

  test('funnel breaks down by the variant a customer had seen when they entered', async () => {
    const funnel = async (steps: string) =>
      (await sql.raw<{ breakdown_value: string | null; step: number; customers: number }>(`
        select breakdown_value, step, customers::int from funnel(${steps}, '2026-06-01', '2026-06-02', '1 day', 'experiment:checkout-button')`)
        .execute(database.db)).rows.map((r) => [r.breakdown_value, r.step, r.customers]);
    // Entering at their first exposure: the customer who later saw green too entered under the
    // control (and ordered); the exposure to another experiment enters under no variant.
    expect(await funnel(`array['Experiment Viewed', 'Order Completed']`)).toEqual([
      ['control', 1, 11], ['control', 2, 3],
      ['green', 1, 10], ['green', 2, 6],
      [null, 1, 1], [null, 2, 0],
    ]);
    // Entering at the order: by then that customer had seen both variants; one control
    // customer had ordered before any exposure.
    expect(await funnel(`array['Order Completed']`)).toEqual([
      ['(several variants)', 1, 1], ['control', 1, 2], ['green', 1, 6], [null, 1, 1],
    ]);
    await expect(sql`select * from funnel(array['Order Completed'], '2026-06-01', '2026-06-02', '1 day', 'experiment')`.execute(database.db))
      .rejects.toThrow(/breakdown must name a column of events \(such as utm_source\) or an experiment/);
  });

  test('by variant over a range that starts mid-day: a customer enters at their first step inside it, and is counted under what they had seen by then', async () => {
    const [amy, bo, cy, dee] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const on = (customer: string, time: string, event: string, variant?: string): AnalyticsEvent => ({
      customer, at: new Date(time), event,
      properties: variant === undefined ? {} : { experiment_id: 'hero-banner', variant_id: variant, variant_name: variant },
    });
    await insertEvents(database.db, [
      // Their day's first view (08:00) falls before the range: amy enters at 12:00, after seeing a.
      on(amy, '2026-06-03T08:00:00Z', 'Product Viewed'), on(amy, '2026-06-03T10:00:00Z', 'Experiment Viewed', 'a'),
      on(amy, '2026-06-03T12:00:00Z', 'Product Viewed'), on(amy, '2026-06-03T13:00:00Z', 'Order Completed'),
      // bo enters at 11:00 and sees b only afterwards.
      on(bo, '2026-06-03T08:00:00Z', 'Product Viewed'), on(bo, '2026-06-03T11:00:00Z', 'Product Viewed'),
      on(bo, '2026-06-03T11:30:00Z', 'Experiment Viewed', 'b'), on(bo, '2026-06-03T12:00:00Z', 'Order Completed'),
      // cy had seen a at 07:00 and b at 08:30, so both by entering at 09:30 (at 08:00, only a).
      on(cy, '2026-06-03T07:00:00Z', 'Experiment Viewed', 'a'), on(cy, '2026-06-03T08:00:00Z', 'Product Viewed'),
      on(cy, '2026-06-03T08:30:00Z', 'Experiment Viewed', 'b'), on(cy, '2026-06-03T09:30:00Z', 'Product Viewed'),
      // dee's day begins inside the range.
      on(dee, '2026-06-04T09:00:00Z', 'Experiment Viewed', 'b'), on(dee, '2026-06-04T10:00:00Z', 'Product Viewed'),
    ]);
    const { rows } = await sql<{ breakdown_value: string | null; step: number; customers: number }>`
      select breakdown_value, step, customers::int
        from funnel(array['Product Viewed', 'Order Completed'], '2026-06-03T09:00:00Z', '2026-06-05', '1 day', 'experiment:hero-banner')`.execute(database.db);
    expect(rows.map((r) => [r.breakdown_value, r.step, r.customers])).toEqual([
      ['(several variants)', 1, 1], ['(several variants)', 2, 0],
      ['a', 1, 1], ['a', 2, 1],
      ['b', 1, 1], ['b', 2, 0],
      [null, 1, 1], [null, 2, 1],
    ]);
  });

  test('a missing argument or an empty range is refused with a clear error', async () => {
    await expect(sql`select * from experiment_results('checkout-button', 'Order Completed', '2026-06-02', '2026-06-01')`.execute(database.db))
      .rejects.toThrow(/since .* must be before until/);
    await expect(sql`select * from experiment_results(null, 'Order Completed', '2026-06-01', '2026-06-02')`.execute(database.db))
      .rejects.toThrow(/experiment and goal_event are required/);
  });
});
