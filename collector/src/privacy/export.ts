import type { Kysely } from 'kysely';
import { customersData, customerSummaries, rejectedRowsOf } from '../db/people-store.js';
import type { Database } from '../db/schema/database.js';
import { locatePerson, type PersonQuery } from './person.js';

/**
 * Everything Tally holds about one person, as one JSON document (the right of access and
 * to data portability). Version 1.
 */
export interface PersonExport {
  format: 'tally-person-export/1';
  exportedAt: string;
  query: PersonQuery;
  /** The customer rows: traits, first and last seen, when identified. */
  profile: Record<string, unknown>[];
  identities: Record<string, unknown>[];
  consent: {
    /** The consent state the person's latest event was collected under. */
    current: Record<string, boolean> | null;
    /** Every consent change they made (`Consent Updated` events), oldest first. */
    history: Record<string, unknown>[];
  };
  /** Merges of the person's customers, and anonymousIds re-linked to or from them. */
  merges: Record<string, unknown>[];
  events: Record<string, unknown>[];
  /** Rows of `rejected_events` that carry one of the person's identifiers (their excerpts). */
  rejectedEvents: Record<string, unknown>[];
}

/**
 * Gathers a person's profile, identities, consent state and history, events and rejected
 * rows into one document, read in one repeatable-read transaction so that its parts agree;
 * null when Tally holds nothing about them.
 *
 * @example
 * const document = await exportPerson(database.db, { userId: 'user-42' });
 * writeFileSync('user-42.json', JSON.stringify(document, null, 2));
 */
export async function exportPerson(db: Kysely<Database>, query: PersonQuery, now = new Date()): Promise<PersonExport | null> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const { customerIds, identityHashes } = await locatePerson(trx, query);
      const rejectedEvents = await rejectedRowsOf(trx, identityHashes);
      if (customerIds.length === 0 && rejectedEvents.length === 0) return null;
      const held = customerIds.length === 0 ? { profile: [], identities: [], merges: [], events: [], consentChanges: [] } : await customersData(trx, customerIds);
      const summaries = await customerSummaries(trx, customerIds);
      return {
        format: 'tally-person-export/1',
        exportedAt: now.toISOString(),
        query,
        profile: held.profile,
        identities: held.identities,
        consent: { current: summaries.find((summary) => summary.consent !== null)?.consent ?? null, history: held.consentChanges },
        merges: held.merges,
        events: held.events,
        rejectedEvents,
      };
    });
}
