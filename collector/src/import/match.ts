import type { MatchRule } from '../db/schema/import.js';
import type { MatchKeys } from './customer-record.js';

/**
 * The matching rules, strongest first, each with its confidence (docs/design.md §3 rule 9):
 * a record is matched by the first rule that finds a customer.
 */
export const MATCH_RULES: readonly { rule: MatchRule; confidence: number; describe: string }[] = [
  { rule: 'user_id', confidence: 1, describe: 'the same userId' },
  { rule: 'email', confidence: 0.95, describe: 'the same e-mail, trimmed and lower-cased' },
  { rule: 'phone', confidence: 0.9, describe: 'the same phone number in E.164' },
  { rule: 'name_postcode', confidence: 0.7, describe: 'the same normalised name and postcode' },
  { rule: 'name_birth_date', confidence: 0.7, describe: 'the same normalised name and birth date' },
];

/** The default workspace threshold: a match at or above it merges. */
export const DEFAULT_MATCH_THRESHOLD = 0.9;

/** The lookup key of each rule the keys allow, e.g. `email\0ann@example.com`. */
export function ruleKeys(keys: MatchKeys): { rule: MatchRule; key: string }[] {
  const found: { rule: MatchRule; key: string }[] = [];
  const add = (rule: MatchRule, ...parts: (string | null)[]) => {
    if (parts.every((part) => part !== null)) found.push({ rule, key: [rule, ...parts].join('\u0000') });
  };
  add('user_id', keys.userId);
  add('email', keys.email);
  add('phone', keys.phone);
  add('name_postcode', keys.name, keys.postcode);
  add('name_birth_date', keys.name, keys.birthDate);
  return found;
}

/**
 * The customers an import knows, by the keys of every rule: those of the workspace found for
 * the records being matched, and those earlier records of the same import created or merged
 * into. Additions since a `mark()` can be undone, for a chunk whose transaction failed.
 */
export class CustomerIndex {
  private readonly byKey = new Map<string, Set<string>>();
  private readonly userIds = new Map<string, Set<string>>();
  private journal: { key: string | null; customerId: string; userId: string | null }[] = [];

  /** Records that the customer has these keys (and this userId, when given). */
  add(customerId: string, keys: MatchKeys): void {
    for (const { key } of ruleKeys(keys)) {
      let customers = this.byKey.get(key);
      if (customers === undefined) this.byKey.set(key, (customers = new Set()));
      if (!customers.has(customerId)) {
        customers.add(customerId);
        this.journal.push({ key, customerId, userId: null });
      }
    }
    if (keys.userId !== null) {
      let ids = this.userIds.get(customerId);
      if (ids === undefined) this.userIds.set(customerId, (ids = new Set()));
      if (!ids.has(keys.userId)) {
        ids.add(keys.userId);
        this.journal.push({ key: null, customerId, userId: keys.userId });
      }
    }
  }

  /** The customers with this rule key, in id order. */
  customersWith(key: string): string[] {
    return [...(this.byKey.get(key) ?? [])].sort();
  }

  /** The userIds known for a customer. */
  userIdsOf(customerId: string): string[] {
    return [...(this.userIds.get(customerId) ?? [])];
  }

  /** A point to undo to. */
  mark(): number {
    return this.journal.length;
  }

  /** Undoes every addition made since `mark`. */
  undo(mark: number): void {
    for (const entry of this.journal.splice(mark).reverse()) {
      if (entry.key !== null) this.byKey.get(entry.key)?.delete(entry.customerId);
      else this.userIds.get(entry.customerId)?.delete(entry.userId!);
    }
  }

  /** Forgets the undo journal (after a chunk committed). */
  commit(): void {
    this.journal = [];
  }
}

/** What the matching rules make of one record. */
export type MatchDecision =
  | { outcome: 'new' }
  | { outcome: 'merge' | 'review'; candidate: string; rule: MatchRule; confidence: number; evidence: MatchEvidence };

/** Why a record matched a customer, shown to whoever reviews it. */
export interface MatchEvidence {
  rule: MatchRule;
  confidence: number;
  /** What the rule compared, normalised. */
  matched: string;
  /** Every rule that found customers, with them (more than one customer, or rules disagreeing, is worth a look). */
  candidates: Partial<Record<MatchRule, string[]>>;
  /** Why a match at or above the threshold still waits for review, if it does. */
  held?: string;
}

/**
 * Matches a record against the customers the index knows: the first rule (strongest first)
 * that finds a customer decides. At or above `threshold` the record merges into that customer,
 * unless the rule found several customers or the record's userId differs from the one the
 * customer already has (two known people are never merged on a guess): then, as below the
 * threshold, it waits for review. No rule finding anyone makes a new customer.
 *
 * @example
 * const decision = matchRecord(record.keys, index, 0.9);
 * if (decision.outcome === 'merge') console.log(decision.rule, decision.confidence);
 */
export function matchRecord(keys: MatchKeys, index: CustomerIndex, threshold: number): MatchDecision {
  const candidates: Partial<Record<MatchRule, string[]>> = {};
  let best: { rule: MatchRule; key: string; customers: string[] } | undefined;
  for (const { rule, key } of ruleKeys(keys)) {
    const customers = index.customersWith(key);
    if (customers.length === 0) continue;
    candidates[rule] = customers;
    best ??= { rule, key, customers };
  }
  if (best === undefined) return { outcome: 'new' };
  const { confidence } = MATCH_RULES.find((r) => r.rule === best.rule)!;
  const candidate = best.customers[0]!;
  const evidence: MatchEvidence = { rule: best.rule, confidence, matched: best.key.split('\u0000').slice(1).join(' + '), candidates };
  const theirUserIds = index.userIdsOf(candidate);
  if (best.customers.length > 1) evidence.held = `${best.customers.length} customers have ${MATCH_RULES.find((r) => r.rule === best.rule)!.describe}`;
  else if (keys.userId !== null && theirUserIds.length > 0 && !theirUserIds.includes(keys.userId)) {
    evidence.held = `the record's userId "${keys.userId}" is not the customer's (${theirUserIds.map((id) => `"${id}"`).join(', ')})`;
  }
  const merges = confidence >= threshold && evidence.held === undefined;
  if (!merges && evidence.held === undefined) delete evidence.held;
  return { outcome: merges ? 'merge' : 'review', candidate, rule: best.rule, confidence, evidence };
}
