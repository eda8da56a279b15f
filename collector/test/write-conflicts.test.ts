import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CONFLICT_ATTEMPTS } from '../src/ingest/write-failure.js';
import { basic, postJson, shop, testApp, trackEvent } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

// A test-installed trigger makes the database roll a write back as it does a deadlock's victim
// (SQLSTATE 40P01): the event "Collides Once" on the first insert only (a sequence counts
// tries, and a sequence is not rolled back), "Collides Always" on every insert. Real
// deadlocks between concurrent writers are what the hostile-input fault suite meets.
describe(`a write transaction rolled back for a deadlock on ${testEngine}`, () => {
  let database: TestDatabase;
  let app: ReturnType<typeof testApp>;
  beforeAll(async () => {
    database = await createTestDatabase();
    await sql
      .raw(
        `create sequence test_collisions;
         create function test_collide() returns trigger language plpgsql as $$
         begin
           if new.event = 'Collides Always' or (new.event = 'Collides Once' and nextval('test_collisions') = 1) then
             raise exception 'deadlock detected' using errcode = '40P01';
           end if;
           return new;
         end $$;
         create trigger test_collide before insert on events for each row execute function test_collide();`,
      )
      .execute(database.db);
    app = testApp(database);
  });
  afterAll(() => database.close());

  const stored = async (ids: string[]) =>
    (await database.db.selectFrom('events').select('message_id').where('message_id', 'in', ids).execute()).map((r) => r.message_id).sort();
  const retriesCounted = async () => {
    const metrics = await (await app.request('/metrics')).text();
    return Number(/^tally_write_conflict_retries_total (\d+)$/m.exec(metrics)?.[1]);
  };
  const send = (batch: unknown[]) => postJson(app, '/v1/batch', { batch }, { authorization: basic(shop.writeKey) });

  test('is run again: the request is answered 200, its events and its refused item are each stored once, and the retry is counted in /metrics', async () => {
    const before = await retriesCounted();
    const events = [trackEvent({ event: 'Collides Once' }), trackEvent()];
    const refused = { type: 'track', messageId: `refused-${Date.now()}`, anonymousId: 'a-1' }; // no event name

    const answer = await send([...events, refused]);

    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { accepted: number; rejected: unknown[] };
    expect(body.accepted).toBe(2);
    expect(body.rejected).toHaveLength(1);
    const ids = events.map((event) => event.messageId as string);
    expect(await stored(ids)).toEqual([...ids].sort());
    const kept = await database.db.selectFrom('rejected_events').select('message_id').where('message_id', '=', refused.messageId).execute();
    expect(kept).toHaveLength(1);
    expect(await retriesCounted()).toBe(before + 1);
  });

  test(`rolled back on each of its ${CONFLICT_ATTEMPTS} tries, it is answered 503 with Retry-After and stores nothing`, async () => {
    const before = await retriesCounted();
    const events = [trackEvent({ event: 'Collides Always' }), trackEvent()];

    const answer = await send(events);

    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await stored(events.map((event) => event.messageId as string))).toEqual([]);
    expect(await retriesCounted()).toBe(before + CONFLICT_ATTEMPTS - 1);
  });
});
