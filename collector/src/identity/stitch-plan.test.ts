import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { usableId } from './placeholder-ids.js';
import { planStitch, type StitchInput, type StitchPlan, type StoredIdentity } from './stitch-plan.js';

// Properties of the identity rules (docs/design.md §3), over random batches applied to a random
// graph. The graph is itself what the planner made of an earlier random batch.

const PLACEHOLDERS = ['undefined', 'null', 'guest', '0', '', ' ', '[object Object]'];
const anonymousIds = fc.constantFrom('a1', 'a2', 'a3', 'a4', ...PLACEHOLDERS);
const userIds = fc.constantFrom('u1', 'u2', 'u3', 'u4', ...PLACEHOLDERS);

const event = fc
  .record({
    source: fc.constantFrom(['web', 'client'] as const, ['app', 'client'] as const, ['crm', 'server'] as const),
    type: fc.constantFrom('track', 'page', 'identify', 'alias'),
    anonymous_id: fc.option(anonymousIds),
    user_id: fc.option(userIds),
    previous_id: fc.option(fc.oneof(userIds, anonymousIds)),
    minute: fc.integer({ min: 0, max: 30 }),
    traits: fc.dictionary(fc.constantFrom('email', 'plan', 'name'), fc.string({ maxLength: 3 }), { maxKeys: 2 }),
  })
  .map(
    (e): Omit<StitchInput, 'message_id'> => ({
      source_id: e.source[0],
      source_kind: e.source[1],
      type: e.type,
      anonymous_id: e.anonymous_id,
      user_id: e.user_id,
      previous_id: e.type === 'alias' ? e.previous_id : null,
      timestamp: new Date(Date.UTC(2026, 10, 1, 12, e.minute)),
      traits: e.type === 'identify' ? e.traits : {},
    }),
  );

const batch = (prefix: string) =>
  fc.array(event, { maxLength: 12 }).map((events) => events.map((e, i): StitchInput => ({ ...e, message_id: `${prefix}${i}` })));

/** A stored graph: what the planner made of an earlier batch, as the table would hold it. */
const graph = batch('earlier-').map((events): StoredIdentity[] => {
  const plan = planStitch(events, [], counter('stored-'));
  return plan.identities.map((identity) => ({
    kind: identity.kind,
    value: identity.value,
    customer_id: identity.customer_id,
    identified: plan.customers.get(identity.customer_id)!.identified_at !== null,
  }));
});

function counter(prefix: string): () => string {
  let n = 0;
  return () => `${prefix}${n++}`;
}

const plan = (events: StitchInput[], stored: StoredIdentity[]): StitchPlan => planStitch(events, stored, counter('new-'));
const property = (check: (events: StitchInput[], stored: StoredIdentity[]) => void) =>
  fc.assert(fc.property(batch('m'), graph, check), { numRuns: 500 });

describe('planStitch, on random batches and graphs', () => {
  test('placeholder ids never become identities, and an event with only placeholders gets no customer', () => {
    property((events, stored) => {
      const result = plan(events, stored);
      for (const identity of result.identities) expect(usableId(identity.value)).not.toBeNull();
      events.forEach((e, i) => {
        const usable = usableId(e.anonymous_id) !== null || usableId(e.user_id) !== null;
        expect(result.customerIds[i] === null).toBe(!usable);
      });
    });
  });

  test('a client source never merges two identified customers', () => {
    property((events, stored) => {
      const result = plan(events, stored);
      const identified = new Set(stored.filter((s) => s.identified).map((s) => s.customer_id));
      const serverAlias = events.some((e) => e.type === 'alias' && e.source_kind === 'server');
      for (const { from_customer_id } of result.mergedAway) {
        if (identified.has(from_customer_id)) expect(serverAlias).toBe(true);
      }
    });
  });

  test('only a server source merges by alias', () => {
    property((events, stored) => {
      const byMessage = new Map(events.map((e) => [e.message_id, e]));
      for (const merge of plan(events, stored).merges) {
        if (merge.reason === 'alias') expect(byMessage.get(merge.message_id)!.source_kind).toBe('server');
      }
    });
  });

  test('a client never overwrites a trait a server set; within a kind the newest value wins', () => {
    property((events, stored) => {
      const result = plan(events, stored);
      const expected = new Map<string, { kind: string; at: number }>();
      events.forEach((e, i) => {
        const customer = result.customerIds[i];
        if (e.type !== 'identify' || customer === null) return;
        for (const key of Object.keys(e.traits)) {
          const id = `${customer}\u0000${key}`;
          const current = expected.get(id);
          const rank = (kind: string) => (kind === 'server' ? 1 : 0);
          const at = e.timestamp.getTime();
          if (current === undefined || rank(e.source_kind) > rank(current.kind) || (rank(e.source_kind) === rank(current.kind) && at > current.at)) {
            expected.set(id, { kind: e.source_kind, at });
          }
        }
      });
      for (const [id, { kind, at }] of expected) {
        const [customer, key] = id.split('\u0000') as [string, string];
        const patch = result.customers.get(customer)!;
        expect(patch.trait_sources[key]?.kind).toBe(kind);
        expect(Date.parse(patch.trait_timestamps[key]!)).toBe(at);
      }
    });
  });

  test('every identity, event and merge record ends on a customer that survives the batch', () => {
    property((events, stored) => {
      const result = plan(events, stored);
      const gone = new Set(result.mergedAway.map((m) => m.from_customer_id));
      const known = new Set([...stored.map((s) => s.customer_id), ...result.customers.keys()]);
      for (const identity of result.identities) {
        expect(gone.has(identity.customer_id)).toBe(false);
        expect(known.has(identity.customer_id)).toBe(true);
      }
      for (const id of result.customerIds) if (id !== null) expect(gone.has(id)).toBe(false);
      for (const merge of result.mergedAway) expect(gone.has(merge.into_customer_id)).toBe(false);
      // What a merge moved lands on its record's into customer, which an undo takes it back from.
      for (const merge of result.merges) {
        expect(gone.has(merge.into_customer_id)).toBe(false);
        expect(known.has(merge.into_customer_id)).toBe(true);
      }
    });
  });

  test('one identity per value across sources: a userId sent by every source is one customer', () => {
    property((events, stored) => {
      const result = plan(events, stored);
      const byUser = new Map<string, Set<string>>();
      events.forEach((e, i) => {
        const user = usableId(e.user_id);
        if (user === null || result.customerIds[i] === null) return;
        byUser.set(user, (byUser.get(user) ?? new Set()).add(result.identities.find((x) => x.kind === 'user' && x.value === user)!.customer_id));
      });
      for (const customers of byUser.values()) expect(customers.size).toBe(1);
      const keys = result.identities.map((i) => `${i.kind}:${i.value}`);
      expect(new Set(keys).size).toBe(keys.length);
    });
  });
});

describe('planStitch, merge records', () => {
  test('a chain of merges in one batch is recorded into the customer it ends in', () => {
    const at = (minute: number) => new Date(Date.UTC(2026, 10, 1, 12, minute));
    const input = (fields: Partial<StitchInput> & { message_id: string; timestamp: Date }): StitchInput => ({
      source_id: 'crm', source_kind: 'server', type: 'track', anonymous_id: null, user_id: null, previous_id: null, traits: {}, ...fields,
    });
    const stored: StoredIdentity[] = [
      { kind: 'anonymous', value: 'a1', customer_id: 'anonymous', identified: false },
      { kind: 'user', value: 'u1', customer_id: 'first', identified: true },
      { kind: 'user', value: 'u2', customer_id: 'second', identified: true },
    ];
    // The visitor logs in as u1 (merged into first), then u1 is aliased to u2 (first merged into second).
    const result = plan(
      [
        input({ message_id: 'login', type: 'identify', anonymous_id: 'a1', user_id: 'u1', timestamp: at(1) }),
        input({ message_id: 'alias', type: 'alias', user_id: 'u2', previous_id: 'u1', timestamp: at(2) }),
      ],
      stored,
    );
    expect(result.merges.map((m) => [m.from_customer_id, m.into_customer_id, m.reason])).toEqual([
      ['anonymous', 'second', 'identify'],
      ['first', 'second', 'alias'],
    ]);
  });
});
