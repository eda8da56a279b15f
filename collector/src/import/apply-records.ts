import type { CountryCode } from 'libphonenumber-js';
import type { Source } from '../config.js';
import type { CandidateCustomer, ImportedIdentity, ImportRecordWrite, ImportWrite } from '../db/import-store.js';
import type { ImportStatus } from '../db/schema/import.js';
import type { CustomerPatch, TraitSource } from '../identity/stitch-plan.js';
import type { CustomerRecord, MatchKeys } from './customer-record.js';
import type { MatchDecision } from './match.js';
import { normaliseBirthDate, normaliseEmail, normaliseName, normalisePhone, normalisePostcode } from './normalise.js';

/** Where a record goes: its customer (null while queued), and the match that put it there. */
export interface Placement {
  record: CustomerRecord;
  status: ImportStatus;
  customerId: string | null;
  isNew: boolean;
  match?: Exclude<MatchDecision, { outcome: 'new' }> | undefined;
}

export interface WriteContext {
  importId: string;
  source: Source;
  importedAt: Date;
  /** Who decided a reviewed record (null while importing). */
  decidedBy: string | null;
}

/**
 * The anonymousId an imported order without a userId is attributed by: one per customer, so
 * that the customer's events and identities stay together through later merges and forgetting.
 *
 * @example
 * importAnonymousId('6f1c…') // 'import:6f1c…'
 */
export function importAnonymousId(customerId: string): string {
  return `import:${customerId}`;
}

/**
 * What placing records writes: one customer patch per customer (records of one customer
 * folded in line order, the later value of a trait winning), its traits stamped with the
 * import's time and its server source (docs/design.md §3: a server source's traits win over a
 * client's, the newer within a kind), the identities (the record's userId; the import's
 * anonymousId of customers given orders without one), the orders' events and the
 * `import_records` rows. A queued record writes its row only.
 */
export function buildWrite(placements: readonly Placement[], context: WriteContext): ImportWrite {
  const at = context.importedAt.toISOString();
  const traitSource: TraitSource = { source_id: context.source.id, kind: 'server' };
  const customers = new Map<string, CustomerPatch>();
  const identities = new Map<string, ImportedIdentity>();
  const write: ImportWrite = { customers: [], identities: [], events: [], records: [] };

  for (const placement of placements) {
    const { record, customerId } = placement;
    write.records.push(recordRow(placement, context));
    if (customerId === null) continue;

    const seenAt = record.order?.event.timestamp ?? at;
    let patch = customers.get(customerId);
    if (patch === undefined) {
      patch = { id: customerId, traits: {}, trait_timestamps: {}, trait_sources: {}, first_seen_at: seenAt, last_seen_at: seenAt, identified_at: null };
      customers.set(customerId, patch);
    }
    for (const [key, value] of Object.entries(record.traits)) {
      setOwn(patch.traits, key, value);
      setOwn(patch.trait_timestamps, key, at);
      setOwn(patch.trait_sources, key, traitSource);
    }
    if (seenAt < patch.first_seen_at) patch.first_seen_at = seenAt;
    if (seenAt > patch.last_seen_at) patch.last_seen_at = seenAt;
    if (record.keys.userId !== null) {
      if (patch.identified_at === null || seenAt < patch.identified_at) patch.identified_at = seenAt;
      identities.set(`user\0${record.keys.userId}`, { kind: 'user', value: record.keys.userId, customer_id: customerId, source_id: context.source.id, seen_at: seenAt });
    }
    if (record.order !== null) {
      const event = { ...record.order.event, customer_id: customerId };
      if (record.keys.userId === null) {
        event.anonymous_id = importAnonymousId(customerId);
        identities.set(`anonymous\0${event.anonymous_id}`, { kind: 'anonymous', value: event.anonymous_id, customer_id: customerId, source_id: context.source.id, seen_at: seenAt });
      }
      write.events.push(event);
    }
  }
  write.customers = [...customers.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  write.identities = [...identities.values()];
  return write;
}

function recordRow(placement: Placement, context: WriteContext): ImportRecordWrite {
  const { record, match } = placement;
  return {
    fingerprint: record.fingerprint,
    import_id: context.importId,
    line: record.line,
    status: placement.status,
    customer_id: placement.customerId,
    candidate_customer_id: match?.candidate ?? null,
    rule: match?.rule ?? null,
    confidence: match?.confidence ?? null,
    evidence: match?.evidence ?? null,
    record: placement.status === 'queued' ? record : null,
    decided_by: context.decidedBy,
  };
}

/**
 * The match keys of a stored customer, from the traits the rules compare (as `findCandidateCustomers`
 * returns them), normalised as a record's are: what makes a candidate the database found a match or not.
 */
export function storedKeys(traits: CandidateCustomer['traits'], defaultCountry: CountryCode | undefined): MatchKeys {
  const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value : typeof value === 'number' ? String(value) : null);
  const email = text(traits.email);
  const phone = text(traits.phone);
  const postcode = text(traits.postalCode);
  const birthday = text(traits.birthday);
  const fullName = text(traits.name) ?? ([text(traits.firstName), text(traits.lastName)].filter((part) => part !== null).join(' ') || null);
  return {
    userId: null,
    email: email === null ? null : normaliseEmail(email),
    // Phones the import stored are E.164 already: no need to parse them again.
    phone: phone === null ? null : /^\+[1-9]\d{6,14}$/.test(phone) ? phone : normalisePhone(phone, defaultCountry),
    name: fullName === null ? null : normaliseName(fullName),
    postcode: postcode === null ? null : normalisePostcode(postcode),
    birthDate: birthday === null ? null : normaliseBirthDate(birthday),
  };
}

// A trait named `__proto__` is an ordinary key to a CRM; plain assignment would not store it.
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
