import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { daysAgo, insertEvents, type AnalyticsEvent, rowsOf } from './support/analytics-events.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

const [p1, p2, p3, p4, p5, p6] = Array.from({ length: 6 }, () => randomUUID()) as [string, string, string, string, string, string];
const answer = (customer: string, day: string, scale: string, score: number | undefined, event = 'Survey Responded'): AnalyticsEvent => ({
  customer, at: `${day}T12:00:00Z`, event,
  properties: { survey_id: `${scale}-survey`, scale, ...(score === undefined ? {} : { score }), comment: 'Lovely shop, ann@example.com' },
});
const order = (customer: string, days: number, revenue: number): AnalyticsEvent => ({
  customer, at: daysAgo(days), event: 'Order Completed', properties: { order_id: randomUUID(), revenue, currency: 'EUR' },
});

const events: AnalyticsEvent[] = [
  // June: p1 answers 10 then 3 (the 3 counts), p2 9, p3 7, p4 5, p5 9.
  answer(p1, '2026-06-02', 'nps', 10), answer(p1, '2026-06-20', 'nps', 3), answer(p2, '2026-06-03', 'nps', 9),
  answer(p3, '2026-06-04', 'nps', 7), answer(p4, '2026-06-05', 'nps', 5), answer(p5, '2026-06-06', 'nps', 9),
  // July: p1 10, p2 0, p3 9.
  answer(p1, '2026-07-02', 'nps', 10), answer(p2, '2026-07-03', 'nps', 0), answer(p3, '2026-07-04', 'nps', 9),
  // Out of range for its scale (stored before the schema checked it): left out.
  answer(p6, '2026-06-07', 'nps', 11),
  // CSAT 5, 4, 2 and CES 3, 6 in June; a comment without a score is no score.
  answer(p1, '2026-06-08', 'csat', 5, 'Feedback Submitted'), answer(p2, '2026-06-09', 'csat', 4, 'Feedback Submitted'),
  answer(p3, '2026-06-10', 'csat', 2, 'Feedback Submitted'), answer(p1, '2026-06-11', 'ces', 3), answer(p4, '2026-06-12', 'ces', 6),
  { customer: p5, at: '2026-06-13T12:00:00Z', event: 'Feedback Submitted', properties: { comment: 'Where is my parcel?' } },
  // Orders make p1 hibernating (30 days ago), p3 "needs attention" (20), p4 new (10).
  order(p1, 30, 10), order(p3, 20, 20), order(p4, 10, 30),
];

const query = (database: TestDatabase, text: string) => rowsOf(database.db, text);

describe(`surveys, NPS, CSAT and CES on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await insertEvents(database.db, events);
    await query(database, `insert into segments (name, definition) values ('buyers', 'select customer_id from orders')`);
  });
  afterAll(() => database.close());

  test('nps counts each customer’s latest answer in a period: promoters minus detractors over answers', async () => {
    const rows = await query(database, `
      select to_char(period_start, 'YYYY-MM-DD') as period, responses::int, promoters::int, passives::int, detractors::int, nps::float8 as nps
        from nps('2026-06-01', '2026-08-01')`);
    expect(rows).toEqual([
      { period: '2026-06-01', responses: 5, promoters: 2, passives: 1, detractors: 2, nps: 0 },
      { period: '2026-07-01', responses: 3, promoters: 2, passives: 0, detractors: 1, nps: 33.3 },
    ]);
    const year = await query(database, `select responses::int, nps::float8 as nps from nps('2026-06-01', '2026-08-01', 'year')`);
    // p1 10, p2 0, p3 9, p4 5, p5 9 over the year: 3 promoters, 2 detractors of 5.
    expect(year).toEqual([{ responses: 5, nps: 20 }]);
  });

  test('nps_by_segment gives the NPS of each RFM group and saved segment', async () => {
    const rows = await query(database, `
      select segment_kind, segment, responses::int, promoters::int, detractors::int, nps::float8 as nps from nps_by_segment('2026-06-01', '2026-08-01')`);
    expect(rows).toEqual([
      { segment_kind: 'rfm', segment: 'hibernating', responses: 1, promoters: 1, detractors: 0, nps: 100 },
      { segment_kind: 'rfm', segment: 'needs attention', responses: 1, promoters: 1, detractors: 0, nps: 100 },
      { segment_kind: 'rfm', segment: 'new', responses: 1, promoters: 0, detractors: 1, nps: -100 },
      { segment_kind: 'saved', segment: 'buyers', responses: 3, promoters: 2, detractors: 1, nps: 33.3 },
    ]);
  });

  test('satisfaction_scores averages CSAT and CES, with the share of satisfied CSAT answers', async () => {
    const rows = await query(database, `
      select to_char(period_start, 'YYYY-MM-DD') as period, scale, responses::int, average::float8 as average, satisfied_share::float8 as satisfied
        from satisfaction_scores('2026-06-01', '2026-08-01')`);
    expect(rows).toEqual([
      { period: '2026-06-01', scale: 'ces', responses: 2, average: 4.5, satisfied: null },
      { period: '2026-06-01', scale: 'csat', responses: 3, average: 3.67, satisfied: 0.6667 },
    ]);
  });

  test('customer_latest_scores holds each customer’s latest NPS, CSAT and CES', async () => {
    const rows = await query(database, `
      select customer_id::text as customer, nps_score::int as nps, csat_score::int as csat, ces_score::int as ces
        from customer_latest_scores where customer_id in ('${p1}', '${p4}', '${p6}') order by customer_id = '${p1}' desc`);
    expect(rows).toEqual([
      { customer: p1, nps: 10, csat: 5, ces: 3 },
      { customer: p4, nps: 5, csat: null, ces: 6 },
    ]);
  });

  test('a bad period or range is refused with a clear error', async () => {
    await expect(query(database, `select * from nps('2026-06-01', '2026-08-01', 'fortnight')`)).rejects.toThrow(/period must be day, week, month, quarter or year/);
    await expect(query(database, `select * from satisfaction_scores('2026-08-01', '2026-06-01')`)).rejects.toThrow(/since .* must be before until/);
  });
});
