import { createHash } from 'node:crypto';
import type { Source } from '../config.js';
import { isPlaceholderId } from '../identity/placeholder-ids.js';
import type { Metrics } from '../metrics.js';
import { excerptOf, truncateAddressesIn } from '../privacy/excerpt.js';
import type { ConsentRefusal, EventRecord, KeptRejection, RefusedIdentifier, RejectedRecord, RejectionReason } from './records.js';

/**
 * What a source may make us store of its refused events per UTC day when its configuration
 * says nothing (`rejectedBudget`): beyond it a refused event is only counted
 * (`rejected_event_usage.rows_over_budget`).
 */
export const DEFAULT_REJECTED_BUDGET = { rowsPerDay: 10_000, bytesPerDay: 16 * 1024 * 1024 } as const;

// The errors kept with a refused event: enough to see what was wrong, never a copy of it.
const MAX_ERRORS = 20;
const MAX_ERROR_CHARS = 300;
// A refused item's messageId can be anything a sender wrote, megabytes included; kept capped
// so that the row stays small and its unique-index entry within what a btree takes (an
// oversized entry would fail the whole shared transaction).
const MAX_MESSAGE_ID_CHARS = 200;

/**
 * The `rejected_events` record of an item refused for any reason but consent: an excerpt of
 * its JSON text (about 2 KB, IPs truncated), the sha-256 and size of the whole text, its
 * messageId and errors (capped), and its userId, anonymousId and e-mail (hashed when written) so that the
 * row can be found and forgotten with its person.
 *
 * @example
 * const record = keptRejection(item, 'schema', ['batch[3].event: required'], shop, new Date());
 */
export function keptRejection(
  item: unknown,
  messageId: string | null,
  reason: Exclude<RejectionReason, 'consent'>,
  errors: string[],
  source: Source,
  receivedAt: Date,
): KeptRejection {
  return keptRecord(JSON.stringify(item) ?? 'null', identifiersIn(item), {
    sourceId: source.id,
    messageId,
    reason,
    errors,
    receivedAt: receivedAt.toISOString(),
    budget: rejectedBudgetOf(source),
  });
}

/** How much of its refused events a source may make us store per UTC day. */
export type RejectedBudget = { rowsPerDay: number; bytesPerDay: number };

/**
 * A source's budget for refused events: its `rejectedBudget`, over the default.
 *
 * @example
 * rejectedBudgetOf({ ...shop, rejectedBudget: { rowsPerDay: 100 } }); // { rowsPerDay: 100, bytesPerDay: 16777216 }
 */
export function rejectedBudgetOf(source: Pick<Source, 'rejectedBudget'>): RejectedBudget {
  return { ...DEFAULT_REJECTED_BUDGET, ...source.rejectedBudget };
}

/**
 * The `rejected_events` record of a valid event that the database refused to store even
 * alone (`write_failed`, docs/design.md §2): kept like any refused event, as a capped excerpt
 * of the row it would have been (its IP already truncated), its hash and size, its error.
 *
 * @example
 * const record = writeFailedRejection(event, 'P0001: refused by a trigger', rejectedBudgetOf(shop));
 */
export function writeFailedRejection(event: EventRecord, error: string, budget: RejectedBudget): KeptRejection {
  const identifiers = identifiersIn({ userId: event.user_id, anonymousId: event.anonymous_id, traits: event.traits, context: event.context });
  return keptRecord(JSON.stringify(event), identifiers, {
    sourceId: event.source_id,
    messageId: event.message_id,
    reason: 'write_failed',
    errors: [error],
    receivedAt: event.received_at,
    budget,
  });
}

function keptRecord(
  json: string,
  identifiers: RefusedIdentifier[],
  what: { sourceId: string; messageId: string | null; reason: KeptRejection['reason']; errors: string[]; receivedAt: string; budget: RejectedBudget },
): KeptRejection {
  return {
    kind: 'kept',
    source_id: what.sourceId,
    message_id: what.messageId === null ? null : what.messageId.slice(0, MAX_MESSAGE_ID_CHARS),
    reason: what.reason,
    errors: what.errors
      .slice(0, MAX_ERRORS)
      .map((error) => truncateAddressesIn(error.length > MAX_ERROR_CHARS ? `${error.slice(0, MAX_ERROR_CHARS)}…` : error)),
    payload: excerptOf(json),
    payload_sha256: createHash('sha256').update(json).digest('hex'),
    payload_bytes: Buffer.byteLength(json),
    identifiers,
    received_at: what.receivedAt,
    budget: what.budget,
  };
}

/**
 * An event refused for consent: a count for its source, category and UTC day, nothing more.
 *
 * @example
 * consentRefusal(shop, 'analytics', new Date('2026-12-01T10:00:00Z')); // { kind: 'consent', source_id: 'shop', category: 'analytics', day: '2026-12-01' }
 */
export function consentRefusal(source: Source, category: string, receivedAt: Date): ConsentRefusal {
  return { kind: 'consent', source_id: source.id, category: countedCategory(category), day: receivedAt.toISOString().slice(0, 10) };
}

// A category is the sender's text: counted under its lower-case name when it looks like one,
// else as 'other', so that a sender cannot put arbitrary text (or personal data) in the counts.
function countedCategory(category: string): string {
  const name = category.trim().toLowerCase();
  return /^[a-z][a-z0-9_-]{0,31}$/.test(name) ? name : 'other';
}

/**
 * Counts a request's consent refusals in `/metrics` (`tally_consent_refused_total`), once
 * they are committed.
 *
 * @example
 * recordConsentRefusals(metrics, prepared.rejected);
 */
export function recordConsentRefusals(metrics: Metrics, records: readonly RejectedRecord[]): void {
  for (const record of records) {
    if (record.kind === 'consent') metrics.consentRefused.inc({ source: record.source_id, category: record.category });
  }
}

function identifiersIn(item: unknown): RefusedIdentifier[] {
  if (!isRecord(item)) return [];
  const found: RefusedIdentifier[] = [];
  const add = (kind: RefusedIdentifier['kind'], value: unknown) => {
    if (typeof value === 'string' && !isPlaceholderId(value)) found.push({ kind, value });
  };
  add('user', item.userId);
  add('anonymous', item.anonymousId);
  add('email', isRecord(item.traits) ? item.traits.email : undefined);
  add('email', isRecord(item.context) && isRecord(item.context.traits) ? item.context.traits.email : undefined);
  return found;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
