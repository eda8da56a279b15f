import { randomUUID } from 'node:crypto';
import { usableId } from './placeholder-ids.js';

/** What stitching needs to know of one event about to be written. */
export interface StitchInput {
  source_id: string;
  /** The kind of the sending source: only a `server` source may merge known customers or overwrite its traits. */
  source_kind: SourceKind;
  message_id: string;
  type: string;
  anonymous_id: string | null;
  user_id: string | null;
  previous_id: string | null;
  timestamp: Date;
  traits: Record<string, unknown>;
}

export type IdentityKind = 'anonymous' | 'user';
export type SourceKind = 'client' | 'server';

/** An identity of the workspace: the same value sent by any source is the same identity. */
export interface IdentityRef {
  kind: IdentityKind;
  value: string;
}

/** Which source, of which kind, set a trait's current value. */
export interface TraitSource {
  source_id: string;
  kind: SourceKind;
}

/** An identity already stored, with what stitching needs of its customer. */
export interface StoredIdentity extends IdentityRef {
  customer_id: string;
  identified: boolean;
}

/** What one batch does to a customer row: created, or updated with newer traits and times. */
export interface CustomerPatch {
  id: string;
  traits: Record<string, unknown>;
  /** ISO timestamp per trait key of `traits`. */
  trait_timestamps: Record<string, string>;
  /** The source of each trait key of `traits`. */
  trait_sources: Record<string, TraitSource>;
  first_seen_at: string;
  last_seen_at: string;
  identified_at: string | null;
}

export interface IdentityWrite extends IdentityRef {
  /** The source that sent it first in this batch (kept only when the identity is new). */
  source_id: string;
  customer_id: string;
  first_seen_at: string;
  last_seen_at: string;
}

export interface MergeRecord {
  from_customer_id: string;
  into_customer_id: string;
  reason: 'identify' | 'alias' | 'anonymous_id_relinked' | 'workspace_identity';
  source_id: string;
  message_id: string;
}

/** Everything one batch changes in the identity graph, computed before any write. */
export interface StitchPlan {
  /** The customer of each input event, in input order (null: no usable id). */
  customerIds: (string | null)[];
  /** Stored customers merged away in this batch, each with the customer it ends in. */
  mergedAway: { from_customer_id: string; into_customer_id: string }[];
  /** Rows to upsert into `customers`, sorted by id; patches of merged-away customers already moved to their survivor. */
  customers: Map<string, CustomerPatch>;
  /** Which customers of `customers` are new. */
  newCustomers: Set<string>;
  /** Every identity the batch used, pointing at its customer after the batch. */
  identities: IdentityWrite[];
  /** Rows for `identity_merges`, each into the customer it ends in after the batch. */
  merges: MergeRecord[];
}

const SEPARATOR = '\u0000';

export function identityKey(ref: IdentityRef): string {
  return `${ref.kind}${SEPARATOR}${ref.value}`;
}

function parseKey(key: string): IdentityRef {
  const [kind, value] = key.split(SEPARATOR) as [IdentityKind, string];
  return { kind, value };
}

/**
 * True when the event is an alias that names two different usable ids and comes from a
 * server source: a client source's key is public, so its alias merges nothing (rule 8).
 */
export function isEffectiveAlias(event: StitchInput): boolean {
  if (event.type !== 'alias' || event.source_kind !== 'server') return false;
  const user = usableId(event.user_id);
  const previous = usableId(event.previous_id);
  return user !== null && previous !== null && user !== previous;
}

/**
 * The distinct identities a batch may read or write: its anonymousIds and userIds, and an
 * alias's previousId under both kinds (it may be either), sorted by key.
 */
export function identitiesOfBatch(events: readonly StitchInput[]): IdentityRef[] {
  const keys = new Set<string>();
  for (const event of events) {
    const anonymous = usableId(event.anonymous_id);
    const user = usableId(event.user_id);
    if (anonymous !== null) keys.add(identityKey({ kind: 'anonymous', value: anonymous }));
    if (user !== null) keys.add(identityKey({ kind: 'user', value: user }));
    if (isEffectiveAlias(event)) {
      const previous = usableId(event.previous_id) as string;
      keys.add(identityKey({ kind: 'user', value: previous }));
      keys.add(identityKey({ kind: 'anonymous', value: previous }));
    }
  }
  return [...keys].sort().map(parseKey);
}

interface Span {
  first: number;
  last: number;
}

interface Seen extends Span {
  /** The source of the earliest event that used the identity. */
  source_id: string;
}

interface TraitValue {
  value: unknown;
  at: number;
  source: TraitSource;
}

const KIND_RANK: Record<SourceKind, number> = { client: 0, server: 1 };

/** What decides between two values of one trait: who set it, and when. */
export interface TraitStamp {
  at: number;
  kind: SourceKind;
}

/**
 * Orders two values of a trait (positive: `a` wins): a server source's value beats a
 * client's, so a client never overwrites what a server set; within a kind the newer one wins.
 * Traits stored before sources had kinds count as set by a client.
 */
export function compareTraits(a: TraitStamp, b: TraitStamp): number {
  return KIND_RANK[a.kind] - KIND_RANK[b.kind] || a.at - b.at;
}

interface Patch {
  seen: Span;
  identifiedAt: number | null;
  traits: Map<string, TraitValue>;
}

/**
 * Works out, in memory, what a batch does to the identity graph (docs/design.md §3): events are
 * taken in timestamp order, each resolved against the graph as it stands after the events
 * before it, so an anonymous page view followed by an identify in the same batch ends on the
 * user's customer, while on a shared browser the views before the second user's login stay
 * with the first user.
 */
export function planStitch(
  events: readonly StitchInput[],
  stored: readonly StoredIdentity[],
  newCustomerId: () => string = randomUUID,
): StitchPlan {
  const owner = new Map<string, string>();
  const identified = new Map<string, boolean>();
  const storedCustomers = new Set<string>();
  for (const identity of stored) {
    owner.set(identityKey(identity), identity.customer_id);
    identified.set(identity.customer_id, identity.identified);
    storedCustomers.add(identity.customer_id);
  }
  const redirect = new Map<string, string>();
  const patches = new Map<string, Patch>();
  const seen = new Map<string, Seen>();
  const merges: MergeRecord[] = [];
  const mergedAway: string[] = [];
  const resolved: (string | null)[] = events.map(() => null);

  const finalOf = (id: string): string => {
    let current = id;
    for (let next = redirect.get(current); next !== undefined; next = redirect.get(current)) current = next;
    return current;
  };
  const patchOf = (id: string, at: number): Patch => {
    let patch = patches.get(id);
    if (!patch) {
      patch = { seen: { first: at, last: at }, identifiedAt: null, traits: new Map() };
      patches.set(id, patch);
    }
    return patch;
  };
  const create = (isIdentified: boolean, at: number): string => {
    const id = newCustomerId();
    identified.set(id, isIdentified);
    if (isIdentified) patchOf(id, at).identifiedAt = at;
    return id;
  };
  const markIdentified = (id: string, at: number) => {
    identified.set(id, true);
    const patch = patchOf(id, at);
    patch.identifiedAt = patch.identifiedAt === null ? at : Math.min(patch.identifiedAt, at);
  };
  const record = (from: string, into: string, reason: MergeRecord['reason'], event: StitchInput) => {
    merges.push({ from_customer_id: from, into_customer_id: into, reason, source_id: event.source_id, message_id: event.message_id });
  };
  const merge = (from: string, into: string, reason: 'identify' | 'alias', event: StitchInput) => {
    for (const [key, customer] of owner) if (customer === from) owner.set(key, into);
    redirect.set(from, into);
    // A customer created earlier in this batch and merged in it never reaches the table, so
    // there is nothing to re-point and no merge to record: its identities simply point at `into`.
    if (storedCustomers.has(from)) {
      mergedAway.push(from);
      record(from, into, reason, event);
    }
  };

  const order = events.map((_, index) => index).sort((a, b) => events[a]!.timestamp.getTime() - events[b]!.timestamp.getTime() || a - b);
  for (const index of order) {
    const event = events[index]!;
    const at = event.timestamp.getTime();
    const anonymous = usableId(event.anonymous_id);
    const user = usableId(event.user_id);
    const source = event.source_id;
    const anonymousKey = anonymous === null ? null : identityKey({ kind: 'anonymous', value: anonymous });
    const userKey = user === null ? null : identityKey({ kind: 'user', value: user });

    if (userKey !== null && isEffectiveAlias(event)) {
      const previous = usableId(event.previous_id) as string;
      const previousUser = identityKey({ kind: 'user', value: previous });
      const previousAnonymous = identityKey({ kind: 'anonymous', value: previous });
      const previousKey = owner.has(previousUser) || !owner.has(previousAnonymous) ? previousUser : previousAnonymous;
      const fromCustomer = owner.get(previousKey);
      const intoCustomer = owner.get(userKey);
      if (fromCustomer === undefined && intoCustomer === undefined) {
        const id = create(true, at);
        owner.set(userKey, id);
        owner.set(previousKey, id);
      } else if (intoCustomer === undefined) {
        owner.set(userKey, fromCustomer!);
        markIdentified(fromCustomer!, at);
      } else if (fromCustomer === undefined) {
        owner.set(previousKey, intoCustomer);
      } else if (fromCustomer !== intoCustomer) {
        merge(fromCustomer, intoCustomer, 'alias', event);
      }
      touch(seen, previousKey, at, source);
    }

    let customer: string | null = null;
    if (anonymousKey !== null && userKey !== null) {
      const ofAnonymous = owner.get(anonymousKey);
      const ofUser = owner.get(userKey);
      if (ofAnonymous === undefined && ofUser === undefined) {
        customer = create(true, at);
        owner.set(anonymousKey, customer);
        owner.set(userKey, customer);
      } else if (ofUser === undefined) {
        if (!identified.get(ofAnonymous!)) {
          // First login on this browser: the anonymous customer becomes the user's customer.
          customer = ofAnonymous!;
          markIdentified(customer, at);
        } else {
          // Shared browser, a user never seen before: a customer of their own, and the
          // browser's anonymousId follows them from now on.
          customer = create(true, at);
          owner.set(anonymousKey, customer);
          record(ofAnonymous!, customer, 'anonymous_id_relinked', event);
        }
        owner.set(userKey, customer);
      } else if (ofAnonymous === undefined) {
        customer = ofUser;
        owner.set(anonymousKey, customer);
      } else {
        customer = ofUser;
        if (ofAnonymous !== ofUser) {
          if (!identified.get(ofAnonymous)) merge(ofAnonymous, ofUser, 'identify', event);
          else {
            // Shared browser: two known people are never merged by an identify; the
            // anonymousId is re-linked to the user now logged in, earlier events stay put.
            owner.set(anonymousKey, ofUser);
            record(ofAnonymous, ofUser, 'anonymous_id_relinked', event);
          }
        }
      }
    } else if (userKey !== null) {
      customer = owner.get(userKey) ?? create(true, at);
      owner.set(userKey, customer);
    } else if (anonymousKey !== null) {
      customer = owner.get(anonymousKey) ?? create(false, at);
      owner.set(anonymousKey, customer);
    }
    if (anonymousKey !== null) touch(seen, anonymousKey, at, source);
    if (userKey !== null) touch(seen, userKey, at, source);
    resolved[index] = customer;
    if (customer === null) continue;

    const patch = patchOf(customer, at);
    patch.seen.first = Math.min(patch.seen.first, at);
    patch.seen.last = Math.max(patch.seen.last, at);
    if (event.type === 'identify') {
      const traitSource: TraitSource = { source_id: source, kind: event.source_kind };
      for (const [key, value] of Object.entries(event.traits ?? {})) {
        const current = patch.traits.get(key);
        // Ties go to the later event of the batch.
        if (current === undefined || compareTraits({ at, kind: event.source_kind }, { at: current.at, kind: current.source.kind }) >= 0) {
          patch.traits.set(key, { value, at, source: traitSource });
        }
      }
    }
  }

  // Patches of customers merged in this batch go to their survivor, newest trait winning.
  const finalPatches = new Map<string, Patch>();
  for (const [id, patch] of patches) {
    const target = finalOf(id);
    const existing = finalPatches.get(target);
    if (existing === undefined) finalPatches.set(target, patch);
    else foldPatch(existing, patch);
  }
  const customers = new Map<string, CustomerPatch>();
  for (const id of [...finalPatches.keys()].sort()) customers.set(id, toCustomerPatch(id, finalPatches.get(id)!));
  const newCustomers = new Set([...customers.keys()].filter((id) => !storedCustomers.has(id)));

  const identities: IdentityWrite[] = [...seen.keys()].sort().map((key) => ({
    ...parseKey(key),
    source_id: seen.get(key)!.source_id,
    customer_id: owner.get(key)!,
    first_seen_at: new Date(seen.get(key)!.first).toISOString(),
    last_seen_at: new Date(seen.get(key)!.last).toISOString(),
  }));

  return {
    customerIds: resolved.map((id) => (id === null ? null : finalOf(id))),
    mergedAway: mergedAway.map((from) => ({ from_customer_id: from, into_customer_id: finalOf(from) })),
    customers,
    newCustomers,
    identities,
    // A merge or re-link into a customer that is itself merged later in the batch is recorded
    // into the customer it ends in: the one whose rows hold what moved.
    merges: merges.map((merge) => ({ ...merge, into_customer_id: finalOf(merge.into_customer_id) })),
  };
}

/**
 * Folds a stored customer's traits (with their per-key timestamps) into a plan's patch of
 * its survivor, so that merging never loses the newer value of a trait.
 */
export function foldStoredCustomer(
  patch: CustomerPatch,
  stored: {
    traits: Record<string, unknown>;
    trait_timestamps: Record<string, unknown>;
    trait_sources: Record<string, unknown>;
    first_seen_at: Date;
    last_seen_at: Date;
    identified_at: Date | null;
  },
): void {
  for (const [key, value] of Object.entries(stored.traits)) {
    const storedAt = typeof stored.trait_timestamps[key] === 'string' ? Date.parse(stored.trait_timestamps[key]) : 0;
    const storedSource = traitSourceOf(stored.trait_sources[key]);
    const ours = patch.trait_timestamps[key];
    const current = ours === undefined ? undefined : { at: Date.parse(ours), kind: patch.trait_sources[key]?.kind ?? 'client' };
    // Stored loses ties: the batch's value is the later write.
    if (current === undefined || compareTraits({ at: storedAt, kind: storedSource.kind }, current) > 0) {
      setOwn(patch.traits, key, value);
      setOwn(patch.trait_timestamps, key, new Date(storedAt).toISOString());
      setOwn(patch.trait_sources, key, storedSource);
    }
  }
  if (stored.first_seen_at.getTime() < Date.parse(patch.first_seen_at)) patch.first_seen_at = stored.first_seen_at.toISOString();
  if (stored.last_seen_at.getTime() > Date.parse(patch.last_seen_at)) patch.last_seen_at = stored.last_seen_at.toISOString();
  if (stored.identified_at !== null && (patch.identified_at === null || stored.identified_at.getTime() < Date.parse(patch.identified_at))) {
    patch.identified_at = stored.identified_at.toISOString();
  }
}

/** A stored `trait_sources` entry; anything unreadable (traits stored before it existed) counts as client. */
function traitSourceOf(value: unknown): TraitSource {
  if (typeof value === 'object' && value !== null) {
    const { source_id, kind } = value as Record<string, unknown>;
    if (typeof source_id === 'string' && (kind === 'client' || kind === 'server')) return { source_id, kind };
  }
  return { source_id: '', kind: 'client' };
}

function touch(seen: Map<string, Seen>, key: string, at: number, source_id: string): void {
  const current = seen.get(key);
  if (current === undefined) seen.set(key, { first: at, last: at, source_id });
  else {
    if (at < current.first) current.source_id = source_id;
    current.first = Math.min(current.first, at);
    current.last = Math.max(current.last, at);
  }
}

function foldPatch(into: Patch, from: Patch): void {
  into.seen.first = Math.min(into.seen.first, from.seen.first);
  into.seen.last = Math.max(into.seen.last, from.seen.last);
  if (from.identifiedAt !== null) into.identifiedAt = into.identifiedAt === null ? from.identifiedAt : Math.min(into.identifiedAt, from.identifiedAt);
  for (const [key, trait] of from.traits) {
    const current = into.traits.get(key);
    if (current === undefined || compareTraits({ at: trait.at, kind: trait.source.kind }, { at: current.at, kind: current.source.kind }) > 0) {
      into.traits.set(key, trait);
    }
  }
}

function toCustomerPatch(id: string, patch: Patch): CustomerPatch {
  const traits: Record<string, unknown> = {};
  const timestamps: Record<string, string> = {};
  const sources: Record<string, TraitSource> = {};
  for (const [key, trait] of patch.traits) {
    setOwn(traits, key, trait.value);
    setOwn(timestamps, key, new Date(trait.at).toISOString());
    setOwn(sources, key, trait.source);
  }
  return {
    id,
    traits,
    trait_timestamps: timestamps,
    trait_sources: sources,
    first_seen_at: new Date(patch.seen.first).toISOString(),
    last_seen_at: new Date(patch.seen.last).toISOString(),
    identified_at: patch.identifiedAt === null ? null : new Date(patch.identifiedAt).toISOString(),
  };
}

/** Sets `key` as an own property: a trait named `__proto__` is an ordinary key to a sender, which plain assignment would not store. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
