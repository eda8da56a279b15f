import type { FailedEvent } from './group-commit-writer.js';
import type { PreparedItems, RejectedItem } from './prepare.js';

/**
 * What a failed write means for the sender (docs/design.md §2): either the database could not
 * be reached or could not take the write just now, and the same request will succeed later
 * (`unavailable`: answer 503 with Retry-After), or a statement failed on what this request
 * holds, and sending it again will fail again (`statement`: isolate it, never 503).
 */
export type WriteFailureKind = 'unavailable' | 'statement';

// SQLSTATE classes and codes (PostgreSQL, Appendix A) after which the same write can succeed.
const UNAVAILABLE_CLASSES = new Set([
  '08', // connection exception
  '53', // insufficient resources: disk full, out of memory, too many connections
  '58', // system error: I/O error
]);
const UNAVAILABLE_CODES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, in recovery)
  '57P05', // idle_session_timeout
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '25006', // read_only_sql_transaction (a standby, during a fail-over)
]);
// Errors of the client libraries and the network, which carry no SQLSTATE.
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const UNAVAILABLE_MESSAGES = [
  /connection terminated/i, // pg: the server or the network went away
  /connection error/i, // pg: "Client has encountered a connection error and is not queryable"
  /timeout exceeded when trying to connect/i, // pg pool
  /cannot use a pool after calling end/i, // pg pool closed
  /driver has already been destroyed/i, // kysely
  /pglite is closed/i,
];

/**
 * Classifies a write's error: by SQLSTATE when the database answered, else by the client
 * library's or the network's error. Anything not known as a passing condition is a
 * `statement` failure: the request it came with is isolated, so one bad request never makes
 * its senders, or the senders written with it, retry forever.
 *
 * @example
 * classifyWriteFailure({ code: '57P01' }); // 'unavailable'
 * classifyWriteFailure({ code: '22P02' }); // 'statement'
 */
export function classifyWriteFailure(error: unknown): WriteFailureKind {
  for (const e of causeChain(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (UNAVAILABLE_NODE_CODES.has(code)) return 'unavailable';
      if (/^[0-9A-Z]{5}$/.test(code)) return UNAVAILABLE_CLASSES.has(code.slice(0, 2)) || UNAVAILABLE_CODES.has(code) ? 'unavailable' : 'statement';
    }
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message))) return 'unavailable';
    if (e instanceof AggregateError) return e.errors.some((inner) => classifyWriteFailure(inner) === 'unavailable') ? 'unavailable' : 'statement';
  }
  return 'statement';
}

// SQLSTATEs with which the database rolls back a transaction because it collided with another
// one (PostgreSQL, "Serialization Failure Handling"): running the same transaction again is
// the documented remedy, and it usually succeeds at once.
const CONFLICT_CODES = new Set([
  '40P01', // deadlock_detected: two transactions took the same locks in opposite orders
  '40001', // serialization_failure
]);

/**
 * Whether the database rolled the transaction back only because it collided with another
 * one. Several statements of one transaction (a group's write after a failed try split it, a
 * request's events under savepoints) cannot take every lock in one global order, so this is
 * expected now and then under load; the writer runs such a transaction again before it
 * answers anyone (see {@link retryingConflicts}).
 *
 * @example
 * isTransactionConflict({ code: '40P01' }); // true
 */
export function isTransactionConflict(error: unknown): boolean {
  for (const e of causeChain(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return CONFLICT_CODES.has(code);
  }
  return false;
}

/** Attempts of a transaction the database keeps rolling back for conflicts, before its requests are answered 503. */
export const CONFLICT_ATTEMPTS = 4;

/**
 * Runs `transaction` (a whole transaction, which must not have written anything outside the
 * database) and runs it again, after a short random pause, each time the database rolled it
 * back for a conflict, up to {@link CONFLICT_ATTEMPTS} attempts; `onRetry` is told of each.
 * Any other failure, or the last conflict, is thrown as it came.
 *
 * @example
 * const stored = await retryingConflicts(() => db.transaction().execute(write), () => conflicts++);
 */
export async function retryingConflicts<T>(transaction: () => Promise<T>, onRetry?: (error: unknown) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (error) {
      if (attempt >= CONFLICT_ATTEMPTS || !isTransactionConflict(error)) throw error;
      onRetry?.(error);
      // Apart in time, the two transactions that collided rarely collide again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}

// The error and the errors it was caused by, outermost first, each once.
function* causeChain(error: unknown): Generator<object> {
  const seen = new Set<unknown>();
  for (let e: unknown = error; e && typeof e === 'object' && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    yield e;
  }
}

/** The database could not take the write now; nothing of the request was stored. The sender should retry. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
  constructor(cause: unknown) {
    super('the database is unavailable', { cause });
  }
}

/**
 * Writing this request failed on its own, with no other request in the transaction, and its
 * failing events could not be told apart and set aside: nothing of it was stored, and sending
 * it again as it is will fail again.
 */
export class RequestWriteError extends Error {
  override name = 'RequestWriteError';
  constructor(cause: unknown) {
    super('the request could not be written', { cause });
  }
}

/**
 * A short description of a failed statement for logs and `rejected_events.errors`: its
 * SQLSTATE and message, never its `detail` (which quotes the row's values).
 *
 * @example
 * describeWriteFailure({ code: 'P0001', message: 'poisoned' }); // 'P0001: poisoned'
 */
export function describeWriteFailure(error: unknown): string {
  if (error && typeof error === 'object') {
    const { code, message } = error as { code?: unknown; message?: unknown };
    const text = typeof message === 'string' ? message.slice(0, 500) : String(error);
    return typeof code === 'string' ? `${code}: ${text}` : text;
  }
  return String(error);
}

/**
 * The refusals a request is answered with: those found before writing and the events the
 * database refused even alone, in item order.
 *
 * @example
 * const rejected = withWriteFailures(prepared, result.failed);
 */
export function withWriteFailures(prepared: PreparedItems, failed: readonly FailedEvent[]): RejectedItem[] {
  if (failed.length === 0) return prepared.rejectedItems;
  const refused = failed.map((event): RejectedItem => ({
    index: prepared.eventIndexes[event.position]!,
    messageId: event.messageId,
    reason: 'write_failed',
    message: 'the database refused to store this event; it is kept in rejected_events, sending it again will fail again',
  }));
  return [...prepared.rejectedItems, ...refused].sort((a, b) => a.index - b.index);
}
