import type { Kysely, Transaction } from 'kysely';
import { writeFlush } from '../db/flush-writer.js';
import { releaseSavepoint, rollbackToSavepoint, savepoint } from '../db/savepoints.js';
import type { Database as Tables } from '../db/schema/database.js';
import { noStitchWrites, stitchBatch, type SourceKind, type StitchInput } from '../identity/stitch.js';
import type { EventRecord, RejectedRecord } from './records.js';
import { DEFAULT_REJECTED_BUDGET, writeFailedRejection, type RejectedBudget } from './rejections.js';
import {
  classifyWriteFailure,
  DatabaseUnavailableError,
  describeWriteFailure,
  RequestWriteError,
  retryingConflicts,
  type WriteFailureKind,
} from './write-failure.js';

/** What one request asks to have stored. */
export interface WriteRequest {
  events: readonly EventRecord[];
  rejected: readonly RejectedRecord[];
  /** The kind of the source that sent the events (default `client`: the least trusted). */
  sourceKind?: SourceKind | undefined;
  /** The sending source's budget for refused events, for events set aside as `write_failed` (default: the default budget). */
  rejectedBudget?: RejectedBudget | undefined;
}

/** How a request's events fared, known once their transaction committed. */
export interface WriteResult {
  accepted: number;
  duplicates: number;
  /** Events that failed to be written even alone, now in `rejected_events` as `write_failed` (docs/design.md §2). */
  failed: FailedEvent[];
}

/** An event of a request that no statement would take, set aside into `rejected_events`. */
export interface FailedEvent {
  /** Its position in the request's `events`. */
  position: number;
  messageId: string;
}

/** Something that stores requests durably; the collector's only path to the `events` table. */
export interface EventWriter {
  /**
   * Resolves after the transaction holding the request's rows commits. Rejects with
   * `DatabaseUnavailableError` when the database could not take it now, `RequestWriteError`
   * when the request fails on its own, `WriterClosedError` after `drain()`.
   */
  write(request: WriteRequest): Promise<WriteResult>;
  /** Events waiting for a transaction or inside one not yet committed. */
  readonly queueDepth: number;
  /** Stops taking new requests and resolves once everything already taken is committed or failed. */
  drain(): Promise<void>;
}

/** The writer was closed by `drain()`; the request was not taken. */
export class WriterClosedError extends Error {
  override name = 'WriterClosedError';
}

export interface FlushStats {
  events: number;
  requests: number;
  seconds: number;
  /** Whether the group's transaction committed. */
  ok: boolean;
  /** Why the group's transaction failed, when it did. */
  error?: unknown;
  /** What the failure meant: every request answered 503, or the requests written again one at a time. */
  failure?: WriteFailureKind;
  /** After a statement failure: requests that failed again alone, and their events set aside as `write_failed`. */
  failedRequests?: number;
  failedEvents?: number;
  /** Times a transaction of this flush was rolled back for colliding with another (a deadlock) and run again. */
  conflictRetries?: number;
}

export interface GroupCommitWriterOptions {
  db: Kysely<Tables>;
  /** Transactions in flight at once (each holds one connection). PGlite has one session: use 1. */
  connections?: number;
  /** A transaction takes whole requests until it holds at least this many events. */
  maxEventsPerFlush?: number;
  /** Called after each transaction, for metrics. */
  onFlush?: (stats: FlushStats) => void;
}

interface Pending {
  request: WriteRequest;
  resolve: (result: WriteResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: requests in flight are written together, one transaction for all of them,
 * whenever a connection is free (so a busy collector writes big transactions and an idle one
 * writes at once). Each request's promise settles only after that transaction commits
 * (docs/design.md §2). When the database is unreachable every request in it is rejected as
 * unavailable and nothing of them is acknowledged; when a statement fails, the requests are
 * written again one at a time, so that only the one that caused it is refused.
 *
 * In the transaction: identities are stitched, events inserted with their customer
 * (a `(source_id, message_id)` already stored, or repeated within the transaction, counts as a
 * duplicate of its request), and refused events go to `rejected_events` or, refused for
 * consent, to their counts in `consent_refusals` — in the common case two statements between
 * BEGIN and COMMIT: stitching's read (identity/stitch.ts), then the one writer (db/flush-writer.ts).
 *
 * @example
 * const writer = createGroupCommitWriter({ db: database.db, connections: 2 });
 * const { accepted, duplicates } = await writer.write({ events, rejected });
 */
export function createGroupCommitWriter(options: GroupCommitWriterOptions): EventWriter {
  const connections = options.connections ?? 2;
  const maxEvents = options.maxEventsPerFlush ?? 2_000;
  const queue: Pending[] = [];
  let queuedEvents = 0;
  let inFlightEvents = 0;
  let active = 0;
  let scheduled = false;
  let closed = false;
  const idleWaiters: (() => void)[] = [];

  const schedule = () => {
    if (scheduled || active >= connections || queue.length === 0) return;
    scheduled = true;
    // Let the requests parsed in this turn of the event loop join the same transaction.
    setImmediate(() => {
      scheduled = false;
      while (active < connections && queue.length > 0) void flush(takeBatch());
    });
  };

  const takeBatch = (): Pending[] => {
    const batch: Pending[] = [];
    let events = 0;
    while (queue.length > 0 && (batch.length === 0 || events < maxEvents)) {
      const next = queue.shift()!;
      events += next.request.events.length + next.request.rejected.length;
      batch.push(next);
    }
    queuedEvents -= events;
    return batch;
  };

  const flush = async (batch: Pending[]) => {
    active++;
    const size = batch.reduce((n, p) => n + p.request.events.length + p.request.rejected.length, 0);
    inFlightEvents += size;
    const started = performance.now();
    const stats: FlushStats = { events: size, requests: batch.length, seconds: 0, ok: false, conflictRetries: 0 };
    const onConflict = () => stats.conflictRetries!++;
    try {
      const results = await writeTransaction(options.db, batch.map((p) => p.request), onConflict);
      stats.ok = true;
      batch.forEach((pending, i) => pending.resolve(results[i]!));
    } catch (error) {
      stats.error = error;
      stats.failure = classifyWriteFailure(error);
      if (stats.failure === 'unavailable') {
        for (const pending of batch) pending.reject(new DatabaseUnavailableError(error));
      } else {
        Object.assign(stats, await writeOneAtATime(options.db, batch, error, onConflict));
      }
    } finally {
      active--;
      inFlightEvents -= size;
      stats.seconds = (performance.now() - started) / 1000;
      options.onFlush?.(stats);
      schedule();
      if (active === 0 && queue.length === 0) idleWaiters.splice(0).forEach((wake) => wake());
    }
  };

  return {
    write(request) {
      if (closed) return Promise.reject(new WriterClosedError('the collector is shutting down'));
      return new Promise<WriteResult>((resolve, reject) => {
        queue.push({ request, resolve, reject });
        queuedEvents += request.events.length + request.rejected.length;
        schedule();
      });
    },
    get queueDepth() {
      return queuedEvents + inFlightEvents;
    },
    drain() {
      closed = true;
      if (active === 0 && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}

/**
 * After a statement failed in a group's transaction (docs/design.md §2): each request is
 * written again in a transaction of its own, so that the requests that did not cause the
 * failure commit. A request that fails alone has its events written one at a time; those
 * that fail alone go to `rejected_events` as `write_failed` and the request is answered with
 * them listed, so its sender does not send them again and again. Once the database proves
 * unreachable, the requests not yet written are refused as unavailable.
 */
async function writeOneAtATime(
  db: Kysely<Tables>,
  batch: readonly Pending[],
  groupError: unknown,
  onConflict: () => void,
): Promise<Pick<FlushStats, 'failedRequests' | 'failedEvents'>> {
  let failedRequests = 0;
  let failedEvents = 0;
  let unavailable: unknown;
  for (const pending of batch) {
    if (unavailable !== undefined) {
      pending.reject(new DatabaseUnavailableError(unavailable));
      continue;
    }
    try {
      // A request alone in the group already failed alone.
      const knownFailure = batch.length === 1 ? groupError : undefined;
      const result = await writeAlone(db, pending.request, knownFailure, onConflict);
      if (result.failed.length > 0) failedRequests++;
      failedEvents += result.failed.length;
      pending.resolve(result);
    } catch (error) {
      if (error instanceof DatabaseUnavailableError) unavailable = error.cause;
      else failedRequests++;
      pending.reject(error);
    }
  }
  return { failedRequests, failedEvents };
}

async function writeAlone(db: Kysely<Tables>, request: WriteRequest, knownFailure: unknown, onConflict: () => void): Promise<WriteResult> {
  const unavailable = (error: unknown) => classifyWriteFailure(error) === 'unavailable';
  let failure = knownFailure;
  if (failure === undefined) {
    try {
      return (await writeTransaction(db, [request], onConflict))[0]!;
    } catch (error) {
      if (unavailable(error)) throw new DatabaseUnavailableError(error);
      failure = error;
    }
  }
  // Without events, what failed was the request's refused rows: nothing to set aside.
  if (request.events.length === 0) throw new RequestWriteError(failure);
  // One transaction for the request, each event under a savepoint: the events that fail alone
  // are set aside, and either all the rest commits with them or nothing of the request does.
  try {
    return await retryingConflicts(() => db.transaction().execute(async (trx) => {
      const result: WriteResult = { accepted: 0, duplicates: 0, failed: [] };
      const setAside: RejectedRecord[] = [];
      for (const [position, event] of request.events.entries()) {
        let error: unknown = request.events.length === 1 && request.rejected.length === 0 ? failure : undefined;
        if (error === undefined) {
          await savepoint(trx, 'tally_event');
          try {
            const [one] = await writeRequests(trx, [{ events: [event], rejected: [] }]);
            await releaseSavepoint(trx, 'tally_event');
            result.accepted += one!.accepted;
            result.duplicates += one!.duplicates;
            continue;
          } catch (caught) {
            if (unavailable(caught)) throw caught;
            await rollbackToSavepoint(trx, 'tally_event');
            error = caught;
          }
        }
        result.failed.push({ position, messageId: event.message_id });
        setAside.push(writeFailedRejection(event, describeWriteFailure(error), request.rejectedBudget ?? DEFAULT_REJECTED_BUDGET));
      }
      await writeRequests(trx, [{ events: [], rejected: [...request.rejected, ...setAside] }]);
      return result;
    }), onConflict);
  } catch (error) {
    throw unavailable(error) ? new DatabaseUnavailableError(error) : new RequestWriteError(error);
  }
}

/**
 * Writes requests in a transaction of their own, run again (`onConflict` told) when the
 * database rolls it back for colliding with another.
 */
function writeTransaction(db: Kysely<Tables>, requests: readonly WriteRequest[], onConflict: () => void): Promise<WriteResult[]> {
  return retryingConflicts(() => db.transaction().execute((trx) => writeRequests(trx, requests)), onConflict);
}

/** Writes requests inside `trx`, whose owner commits it. */
async function writeRequests(trx: Transaction<Tables>, requests: readonly WriteRequest[]): Promise<WriteResult[]> {
  // Within one transaction the first copy of a (source, messageId) is written; later copies
  // are duplicates of their own requests.
  const firstSeen = new Map<string, number>();
  const unique: EventRecord[] = [];
  const owner: number[] = [];
  const results = requests.map((): WriteResult => ({ accepted: 0, duplicates: 0, failed: [] }));
  requests.forEach((request, r) => {
    for (const event of request.events) {
      const key = `${event.source_id}\n${event.message_id}`;
      if (firstSeen.has(key)) {
        results[r]!.duplicates++;
        continue;
      }
      firstSeen.set(key, unique.length);
      unique.push(event);
      owner.push(r);
    }
  });
  const rejected = requests.flatMap((request) => request.rejected);

  // Two statements per transaction: the identity read (with its locks), then the one
  // writer's statement holding the identity writes, the events and the refused events.
  const stitch =
    unique.length > 0 ? await stitchBatch(trx, unique.map((event, i) => toStitchInput(event, requests[owner[i]!]!.sourceKind ?? 'client'))) : noStitchWrites([]);
  const rows = unique.map((event, i) => ({ ...event, customer_id: stitch.customerIds[i] ?? null }));
  const stored = await writeFlush(trx, { stitch, events: rows, rejected });
  const inserted = new Set(stored.map((row) => `${row.source_id}\n${row.message_id}`));
  unique.forEach((event, i) => {
    const result = results[owner[i]!]!;
    if (inserted.has(`${event.source_id}\n${event.message_id}`)) result.accepted++;
    else result.duplicates++;
  });
  return results;
}

function toStitchInput(event: EventRecord, sourceKind: SourceKind): StitchInput {
  return {
    source_id: event.source_id,
    source_kind: sourceKind,
    message_id: event.message_id,
    type: event.type,
    anonymous_id: event.anonymous_id,
    user_id: event.user_id,
    previous_id: event.previous_id,
    timestamp: new Date(event.timestamp),
    traits: event.traits,
  };
}
