import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database as Tables } from '../db/schema/database.js';
import { resolveIdentities, type StitchInput } from '../identity/stitch.js';
import type { EventRecord, RejectedRecord } from './records.js';
import { refusalClauses } from './rejections.js';

/** What one request asks to have stored. */
export interface WriteRequest {
  events: readonly EventRecord[];
  rejected: readonly RejectedRecord[];
}

/** How a request's events fared, known once their transaction committed. */
export interface WriteResult {
  accepted: number;
  duplicates: number;
}

/** Something that stores requests durably; the collector's only path to the `events` table. */
export interface EventWriter {
  /** Resolves after the transaction holding the request's rows commits; rejects when it fails. */
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
  ok: boolean;
  /** Why the transaction failed, when it did. */
  error?: unknown;
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

const EVENT_COLUMNS = [
  'message_id text', 'source_id text', 'type text', 'event text', 'name text', 'anonymous_id text', 'user_id text',
  'group_id text', 'previous_id text', 'customer_id uuid', '"timestamp" timestamptz', 'original_timestamp timestamptz',
  'sent_at timestamptz', 'received_at timestamptz', 'properties jsonb', 'traits jsonb', 'context jsonb', 'url text',
  'path text', 'referrer text', 'utm_source text', 'utm_medium text', 'utm_campaign text', 'utm_term text',
  'utm_content text', 'browser text', 'browser_version text', 'os text', 'os_version text', 'device_type text', 'ip inet',
];
const COLUMN_NAMES = EVENT_COLUMNS.map((column) => column.split(' ')[0]).join(', ');

const insertEvents = (rowsJson: string) => sql<{ source_id: string; message_id: string }>`
  insert into events (${sql.raw(COLUMN_NAMES)})
  select ${sql.raw(COLUMN_NAMES)} from jsonb_to_recordset(${rowsJson}::jsonb) as r(${sql.raw(EVENT_COLUMNS.join(', '))})
  on conflict (source_id, message_id) do nothing
  returning source_id, message_id`;

/**
 * Group commit: requests in flight are written together, one transaction for all of them,
 * whenever a connection is free (so a busy collector writes big transactions and an idle one
 * writes at once). Each request's promise settles only after that transaction commits; if it
 * fails, every request in it is rejected and nothing of them is acknowledged.
 *
 * In the transaction: identities are stitched, events inserted with their customer
 * (a `(source_id, message_id)` already stored, or repeated within the transaction, counts as a
 * duplicate of its request), and refused events go to `rejected_events` or, refused for
 * consent, to their counts in `consent_refusals` (`ingest/rejections.ts`) — in the common case
 * two statements between BEGIN and COMMIT.
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
    let ok = false;
    let failure: unknown;
    try {
      const results = await writeTransaction(options.db, batch.map((p) => p.request));
      ok = true;
      batch.forEach((pending, i) => pending.resolve(results[i]!));
    } catch (error) {
      failure = error;
      for (const pending of batch) pending.reject(error);
    } finally {
      active--;
      inFlightEvents -= size;
      options.onFlush?.({ events: size, requests: batch.length, seconds: (performance.now() - started) / 1000, ok, error: failure });
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

async function writeTransaction(db: Kysely<Tables>, requests: readonly WriteRequest[]): Promise<WriteResult[]> {
  // Within one transaction the first copy of a (source, messageId) is written; later copies
  // are duplicates of their own requests.
  const firstSeen = new Map<string, number>();
  const unique: EventRecord[] = [];
  const owner: number[] = [];
  const results = requests.map(() => ({ accepted: 0, duplicates: 0 }));
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

  await db.transaction().execute(async (trx) => {
    // Two statements per transaction: the identity read (with its locks), then one statement
    // holding the identity writes, the events and the refused events as `with` clauses.
    const { customerIds, pendingWrites } =
      unique.length > 0 ? await resolveIdentities(trx, unique.map(toStitchInput)) : { customerIds: [], pendingWrites: [] };
    const clauses: RawBuilder<unknown>[] = pendingWrites.map((write, i) => sql`${sql.ref(`identity_write_${i}`)} as (${write})`);
    clauses.push(...refusalClauses(rejected));
    const withClauses = clauses.length > 0 ? sql`with ${sql.join(clauses)} ` : sql``;
    let inserted = new Set<string>();
    if (unique.length > 0) {
      const rows = unique.map((event, i) => ({ ...event, customer_id: customerIds[i] ?? null }));
      const { rows: stored } = await sql<{ source_id: string; message_id: string }>`${withClauses}${insertEvents(JSON.stringify(rows))}`.execute(trx);
      inserted = new Set(stored.map((row) => `${row.source_id}\n${row.message_id}`));
    } else if (clauses.length > 0) {
      await sql`${withClauses}select 1`.execute(trx);
    }
    unique.forEach((event, i) => {
      const result = results[owner[i]!]!;
      if (inserted.has(`${event.source_id}\n${event.message_id}`)) result.accepted++;
      else result.duplicates++;
    });
  });
  return results;
}

function toStitchInput(event: EventRecord): StitchInput {
  return {
    source_id: event.source_id,
    message_id: event.message_id,
    type: event.type,
    anonymous_id: event.anonymous_id,
    user_id: event.user_id,
    previous_id: event.previous_id,
    timestamp: new Date(event.timestamp),
    traits: event.traits,
  };
}
