import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Source } from '../config.js';

/** Why an event's identity claim was refused; stable codes, shown in responses and metrics. */
export type IdentityRefusalReason = 'alias_from_client' | 'unverified_user';

/** What trust makes of one validated message (docs/design.md §3 rule 8). */
export type TrustDecision =
  /** Stored as sent. */
  | { outcome: 'trusted' }
  /** Stored without its userId, attributed by its anonymousId alone; the response says why. */
  | { outcome: 'anonymous_only'; message: Record<string, unknown>; reason: 'unverified_user'; explanation: string }
  /** Refused into `rejected_events` with its reason. */
  | { outcome: 'refused'; reason: IdentityRefusalReason; explanation: string };

/**
 * Decides what an event may claim about identity, given its source:
 *
 * - A `client` source's key is public (it sits in a page or an app), so it may not send
 *   `alias`: an alias merges two known customers, and anyone holding the key could merge a
 *   victim's customer into their own. Such an alias is refused (`alias_from_client`).
 * - A source with an `identitySecret` counts a userId only with a valid `context.userHash`,
 *   the hex HMAC-SHA256 of the userId under the secret, computed by the site's server. An
 *   event with a missing or wrong hash is stored anonymous-only: its userId is removed, so it
 *   links nothing and is attributed by its anonymousId (which a signed identify may already
 *   have linked to the user, so a page's later calls still count for them). Without an
 *   anonymousId nothing would be left to attribute it to, and it is refused (`unverified_user`).
 *
 * @example
 * const decision = decideIdentityTrust(message, source, 'batch[3]');
 * if (decision.outcome === 'refused') reject(decision.reason, [decision.explanation]);
 */
export function decideIdentityTrust(message: Record<string, unknown>, source: Source, path = ''): TrustDecision {
  const where = path ? `${path}: ` : '';
  if (message.type === 'alias' && source.kind !== 'server') {
    return {
      outcome: 'refused',
      reason: 'alias_from_client',
      explanation: `${where}alias merges two customers and is accepted only from a server source (secret key); source "${source.id}" is a client source`,
    };
  }
  const userId = message.userId;
  if (source.identitySecret === undefined || typeof userId !== 'string' || userId === '') return { outcome: 'trusted' };
  const context = message.context;
  const userHash = typeof context === 'object' && context !== null ? (context as Record<string, unknown>).userHash : undefined;
  if (verifyUserHash(userId, userHash, source.identitySecret)) return { outcome: 'trusted' };

  const problem = userHash === undefined ? 'has no context.userHash' : 'has a context.userHash that does not match it';
  const anonymousId = message.anonymousId;
  if (typeof anonymousId !== 'string' || anonymousId === '') {
    return {
      outcome: 'refused',
      reason: 'unverified_user',
      explanation: `${where}userId ${problem} (source "${source.id}" requires verified userIds) and there is no anonymousId to attribute the event to`,
    };
  }
  const { userId: _dropped, ...anonymous } = message;
  return {
    outcome: 'anonymous_only',
    message: anonymous,
    reason: 'unverified_user',
    explanation: `${where}userId ${problem} (source "${source.id}" requires verified userIds): stored for its anonymousId only, linking nothing`,
  };
}

/**
 * Every identity claim a request had refused: events rejected for it, and events stored
 * anonymous-only, for counting.
 */
export function identityRefusals<T extends { reason: string }>(prepared: { rejectedItems: readonly T[]; identityRefused: readonly T[] }): T[] {
  const identityReasons: readonly string[] = ['alias_from_client', 'unverified_user'] satisfies IdentityRefusalReason[];
  return [...prepared.rejectedItems.filter((item) => identityReasons.includes(item.reason)), ...prepared.identityRefused];
}

/**
 * True when `userHash` is the hex HMAC-SHA256 of `userId` under `secret` (compared in
 * constant time; upper- or lower-case hex).
 *
 * @example
 * verifyUserHash('user-42', createHmac('sha256', secret).update('user-42').digest('hex'), secret); // true
 */
export function verifyUserHash(userId: string, userHash: unknown, secret: string): boolean {
  if (typeof userHash !== 'string' || !/^[0-9a-fA-F]{64}$/.test(userHash)) return false;
  const expected = createHmac('sha256', secret).update(userId, 'utf8').digest();
  return timingSafeEqual(Buffer.from(userHash, 'hex'), expected);
}
