import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createGroupCommitWriter, type FlushStats } from '../src/ingest/group-commit-writer.js';
import { basic, postJson, shop, testApp, trackEvent } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

// Test-installed triggers make otherwise valid rows fail at insert, as a bug in a statement or
// a constraint the event breaks would: an event named "Poison Pill", and a refused item whose
// payload holds "poisoned-refusal".
const POISON = 'Poison Pill';

describe(`a statement failing in a group write on ${testEngine}`, () => {
  let database: TestDatabase;
  let app: ReturnType<typeof testApp>;
  const flushes: FlushStats[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
    await sql
      .raw(
        `create function test_poison_event() returns trigger language plpgsql as $$
         begin
           if new.event = '${POISON}' then raise exception 'poisoned event %', new.message_id; end if;
           return new;
         end $$;
         create trigger test_poison_event before insert on events for each row execute function test_poison_event();
         create function test_poison_refusal() returns trigger language plpgsql as $$
         begin
           if new.payload like '%poisoned-refusal%' then raise exception 'poisoned refusal'; end if;
           return new;
         end $$;
         create trigger test_poison_refusal before insert on rejected_events for each row execute function test_poison_refusal();`,
      )
      .execute(database.db);
    // One connection: requests that arrive while a transaction runs all wait for the next one.
    const writer = createGroupCommitWriter({
      db: database.db,
      connections: 1,
      onFlush: (stats) => {
        flushes.push(stats);
        app.metrics.recordFlush(stats);
      },
    });
    app = testApp(database, { writer });
  });
  afterAll(() => database.close());

  const stored = async (ids: string[]) =>
    (await database.db.selectFrom('events').select('message_id').where('message_id', 'in', ids).execute()).map((r) => r.message_id).sort();
  const send = (batch: unknown[]) => postJson(app, '/v1/batch', { batch }, { authorization: basic(shop.writeKey) });

  test('isolates the poison event: the good requests sent with it are stored and answered 200, the poison is set aside in rejected_events', async () => {
    flushes.length = 0;
    const good = Array.from({ length: 6 }, () => [trackEvent(), trackEvent()]);
    const poison = trackEvent({ event: POISON });
    const beside = [trackEvent(), trackEvent()];
    const poisoned = [beside[0]!, poison, beside[1]!];

    const answers = await Promise.all([...good.slice(0, 3).map(send), send(poisoned), ...good.slice(3).map(send)]);

    // The poison request was written in one transaction with good ones, and that transaction failed.
    const failed = flushes.filter((f) => !f.ok);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.requests).toBeGreaterThan(1);
    expect(failed[0]).toMatchObject({ failure: 'statement', failedRequests: 1, failedEvents: 1 });

    const poisonAnswer = answers[3]!;
    expect(poisonAnswer.status).toBe(200);
    expect(await poisonAnswer.json()).toEqual({
      accepted: 2,
      duplicates: 0,
      rejected: [
        {
          index: 1,
          messageId: poison.messageId,
          reason: 'write_failed',
          message: 'the database refused to store this event; it is kept in rejected_events, sending it again will fail again',
        },
      ],
    });
    for (const answer of [...answers.slice(0, 3), ...answers.slice(4)]) {
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    }

    const goodIds = [...good.flat(), ...beside].map((e) => e.messageId as string);
    expect(await stored(goodIds)).toEqual([...goodIds].sort());
    expect(await stored([poison.messageId as string])).toEqual([]);
    const setAside = await database.db
      .selectFrom('rejected_events')
      .select(['source_id', 'reason', 'errors', 'payload'])
      .where('message_id', '=', poison.messageId as string)
      .execute();
    expect(setAside).toHaveLength(1);
    expect(setAside[0]).toMatchObject({ source_id: 'shop', reason: 'write_failed' });
    expect(setAside[0]!.errors).toEqual([`P0001: poisoned event ${poison.messageId}`]);
    expect(JSON.parse(setAside[0]!.payload)).toMatchObject({ message_id: poison.messageId, event: POISON });

    const metrics = await (await app.request('/metrics')).text();
    expect(metrics).toContain('tally_write_failures_total{kind="statement"} 1');
    expect(metrics).toContain('tally_write_isolated_total{outcome="event_failed"} 1');
    expect(metrics).toContain('tally_events_rejected_total{reason="write_failed"} 1');
  });

  test('the poison event sent again is answered the same, never 503, and kept once in rejected_events', async () => {
    const poison = trackEvent({ event: POISON });
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await postJson(app, '/v1/track', poison, { authorization: basic(shop.writeKey) });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ accepted: 0, rejected: [{ index: 0, reason: 'write_failed' }] });
    }
    const rows = await database.db.selectFrom('rejected_events').select('reason').where('message_id', '=', poison.messageId as string).execute();
    // A refused (source, messageId) is kept once (docs/design.md §6).
    expect(rows).toEqual([{ reason: 'write_failed' }]);
  });

  test('a request that fails with nothing to set aside is answered 500 and stores nothing; the requests written with it commit', async () => {
    flushes.length = 0;
    const good = Array.from({ length: 4 }, () => [trackEvent()]);
    const valid = trackEvent();
    const bad = [valid, { type: 'track', messageId: 'poisoned-refusal', note: 'poisoned-refusal' }];

    const answers = await Promise.all([send(good[0]!), send(good[1]!), send(bad), send(good[2]!), send(good[3]!)]);

    expect(flushes.filter((f) => !f.ok)[0]).toMatchObject({ failure: 'statement', failedRequests: 1 });
    expect(answers[2]!.status).toBe(500);
    expect(answers[2]!.headers.get('retry-after')).toBeNull();
    expect(await answers[2]!.json()).toMatchObject({ error: { code: 'write_failed' } });
    for (const answer of [answers[0]!, answers[1]!, answers[3]!, answers[4]!]) {
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    }
    const goodIds = good.flat().map((e) => e.messageId as string);
    expect(await stored(goodIds)).toEqual([...goodIds].sort());
    // All or nothing for the failed request: its valid event was not stored either.
    expect(await stored([valid.messageId as string])).toEqual([]);
    const metrics = await (await app.request('/metrics')).text();
    expect(metrics).toContain('tally_write_isolated_total{outcome="request_failed"} 4');
  });
});
