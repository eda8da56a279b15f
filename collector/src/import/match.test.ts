import * as fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { MatchKeys } from './customer-record.js';
import { CustomerIndex, matchRecord } from './match.js';

const none: MatchKeys = { userId: null, email: null, phone: null, name: null, postcode: null, birthDate: null };

describe('matchRecord', () => {
  test('the strongest rule that finds a customer decides; at the threshold it merges', () => {
    const index = new CustomerIndex();
    index.add('c-email', { ...none, email: 'ann@example.com' });
    index.add('c-phone', { ...none, phone: '+442079460958' });
    const decision = matchRecord({ ...none, email: 'ann@example.com', phone: '+442079460958' }, index, 0.9);
    expect(decision).toMatchObject({ outcome: 'merge', candidate: 'c-email', rule: 'email', confidence: 0.95 });
    expect(decision.outcome !== 'new' && decision.evidence.candidates).toEqual({ email: ['c-email'], phone: ['c-phone'] });
    expect(matchRecord({ ...none, phone: '+442079460958' }, index, 0.9)).toMatchObject({ outcome: 'merge', rule: 'phone' });
  });

  test('below the threshold the record waits for review; matching nobody makes a new customer', () => {
    const index = new CustomerIndex();
    index.add('c-1', { ...none, name: 'ann lee', postcode: 'YO17HH' });
    expect(matchRecord({ ...none, name: 'ann lee', postcode: 'YO17HH' }, index, 0.9)).toMatchObject({ outcome: 'review', candidate: 'c-1', rule: 'name_postcode', confidence: 0.7 });
    expect(matchRecord({ ...none, name: 'ann lee', postcode: 'YO17HX' }, index, 0.9)).toEqual({ outcome: 'new' });
  });

  test('undo removes what was added since the mark', () => {
    const index = new CustomerIndex();
    index.add('c-1', { ...none, email: 'a@example.com' });
    const mark = index.mark();
    index.add('c-2', { ...none, email: 'b@example.com', userId: 'u-2' });
    index.undo(mark);
    expect(index.customersWith('email\u0000b@example.com')).toEqual([]);
    expect(index.userIdsOf('c-2')).toEqual([]);
    expect(index.customersWith('email\u0000a@example.com')).toEqual(['c-1']);
  });

  test('never merges below the threshold, into one of several customers, or across two different userIds', () => {
    const key = fc.constantFrom('a', 'b', null);
    const keys = fc.record({ userId: key, email: key, phone: key, name: key, postcode: key, birthDate: key });
    const customers = fc.array(fc.record({ id: fc.constantFrom('c1', 'c2', 'c3'), keys }), { maxLength: 6 });
    fc.assert(
      fc.property(customers, keys, fc.double({ min: 0, max: 1, noNaN: true }), (known, record, threshold) => {
        const index = new CustomerIndex();
        for (const customer of known) index.add(customer.id, customer.keys);
        const decision = matchRecord(record, index, threshold);
        if (decision.outcome !== 'merge') return;
        expect(decision.confidence).toBeGreaterThanOrEqual(threshold);
        const rule = decision.evidence.candidates[decision.rule]!;
        expect(rule).toEqual([decision.candidate]);
        const theirs = index.userIdsOf(decision.candidate);
        if (record.userId !== null && theirs.length > 0) expect(theirs).toContain(record.userId);
      }),
    );
  });
});
