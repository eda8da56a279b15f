import cluster from 'node:cluster';
import * as prom from 'prom-client';
import { clusterMetricsText, contributeToClusterMetrics } from './cluster-metrics.js';
import type { RejectedUsage } from './db/rejected-usage.js';
import type { FlushStats } from './ingest/group-commit-writer.js';

type Labels = Record<string, string>;

/**
 * A Prometheus counter (prom-client underneath). Label names may be given; otherwise they are
 * those of the first `inc`, so a counter is added to `createMetrics` with a name and a help
 * text alone.
 *
 * @example
 * const accepted = new Counter('tally_events_accepted_total', 'Events stored.', ['source']);
 * accepted.inc({ source: 'shop' }, 20);
 */
export class Counter {
  #metric: prom.Counter | undefined;
  #registry: prom.Registry | undefined;
  constructor(readonly name: string, readonly help: string, readonly labelNames?: readonly string[]) {}

  inc(labels: Labels = {}, by = 1): void {
    this.#ensure(Object.keys(labels)).inc(labels, by);
  }

  /** Registers the counter; `createMetrics` calls it. */
  attach(registry: prom.Registry): void {
    this.#registry = registry;
    if (this.labelNames) this.#ensure(this.labelNames);
  }

  #ensure(labelNames: readonly string[]): prom.Counter {
    this.#metric ??= new prom.Counter({
      name: this.name,
      help: this.help,
      labelNames: [...(this.labelNames ?? labelNames)],
      registers: this.#registry ? [this.#registry] : [],
    });
    return this.#metric;
  }
}

/**
 * A Prometheus histogram with fixed buckets (prom-client underneath).
 *
 * @example
 * const seconds = new Histogram('tally_write_duration_seconds', 'Write time.', [0.01, 0.1, 1]);
 * seconds.observe(0.02);
 */
export class Histogram {
  readonly #metric: prom.Histogram;
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {
    this.#metric = new prom.Histogram({ name, help, buckets: [...buckets], registers: [] });
  }

  observe(value: number): void {
    this.#metric.observe(value);
  }

  /** Registers the histogram; `createMetrics` calls it. */
  attach(registry: prom.Registry): void {
    registry.registerMetric(this.#metric);
  }
}

/**
 * The collector's Prometheus metrics: events accepted, rejected (by reason) and duplicate,
 * requests by status, the size and latency of each write transaction, failed transactions,
 * the writer's queue depth (read when scraped), and prom-client's process and Node metrics
 * (CPU, memory, event-loop lag, handles, GC). Each call has a registry of its own; with
 * several worker processes, `render()` adds up every worker's (cluster-metrics.ts).
 *
 * With `rejectedUsage`, every scrape also reads today's refused-event usage per source
 * (`tally_rejected_kept_rows`, `tally_rejected_kept_bytes`, `tally_rejected_over_budget_rows`):
 * the budget is shared by every collector process, so its count lives in the database.
 *
 * @example
 * const metrics = createMetrics(() => writer.queueDepth);
 * metrics.accepted.inc({ source: 'shop' }, 20);
 * const text = await metrics.render();
 */
export function createMetrics(
  queueDepth: () => number = () => 0,
  options: { onWriteFailure?: (stats: FlushStats) => void; rejectedUsage?: () => Promise<readonly RejectedUsage[]> } = {},
) {
  const registry = new prom.Registry();
  const metrics = {
    accepted: new Counter('tally_events_accepted_total', 'Events stored in the events table.', ['source']),
    rejected: new Counter('tally_events_rejected_total', 'Events refused into rejected_events, by reason.', ['reason']),
    duplicates: new Counter('tally_events_duplicate_total', 'Events whose messageId was already stored for their source.', ['source']),
    consentRefused: new Counter(
      'tally_consent_refused_total',
      'Events refused for consent, kept only as this count (and in consent_refusals), by source and category.',
      ['source', 'category'],
    ),
    requests: new Counter('tally_requests_total', 'Ingestion requests answered, by status code.', ['status']),
    identityRefused: new Counter(
      'tally_identity_refused_total',
      'Identity claims refused (alias from a client source, unverified userId), by source and reason; the events were rejected or stored anonymous-only.',
      ['source', 'reason'],
    ),
    writeFailures: new Counter(
      'tally_write_failures_total',
      'Group write transactions that failed, by kind: unavailable (their requests got 503) or statement.',
      ['kind'],
    ),
    writeIsolated: new Counter(
      'tally_write_isolated_total',
      'After a statement failure: requests that failed again alone (outcome="request_failed") and events set aside as write_failed (outcome="event_failed").',
      ['outcome'],
    ),
    writeConflictRetries: new Counter(
      'tally_write_conflict_retries_total',
      'Write transactions the database rolled back for colliding with another (deadlock, serialization failure) and the collector ran again; a retry answers nobody 503.',
      [],
    ),
    writeBatchSize: new Histogram('tally_write_batch_size', 'Rows (events and rejected events) per write transaction.', [
      1, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000,
    ]),
    writeSeconds: new Histogram('tally_write_duration_seconds', 'Duration of each write transaction, to commit.', [
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
    ]),
    /** Records one write transaction (the group-commit writer's `onFlush`). */
    recordFlush(stats: FlushStats): void {
      metrics.writeBatchSize.observe(stats.events);
      metrics.writeSeconds.observe(stats.seconds);
      if (stats.conflictRetries) metrics.writeConflictRetries.inc({}, stats.conflictRetries);
      if (!stats.ok) {
        metrics.writeFailures.inc({ kind: stats.failure ?? 'statement' });
        metrics.writeIsolated.inc({ outcome: 'request_failed' }, stats.failedRequests ?? 0);
        metrics.writeIsolated.inc({ outcome: 'event_failed' }, stats.failedEvents ?? 0);
        options.onWriteFailure?.(stats);
      }
    },
    /** The Prometheus text exposition of every metric; in a worker process, of every worker's added up. */
    render(): Promise<string> {
      return cluster.isWorker ? clusterMetricsText() : registry.metrics();
    },
    contentType: registry.contentType,
  };
  for (const metric of Object.values(metrics)) {
    if (metric instanceof Counter || metric instanceof Histogram) metric.attach(registry);
  }
  new prom.Gauge({
    name: 'tally_write_queue_depth',
    help: 'Rows waiting for, or inside, a write transaction not yet committed.',
    registers: [registry],
    collect() {
      this.set(queueDepth());
    },
  });
  if (options.rejectedUsage) usageGauges(registry, options.rejectedUsage);
  prom.collectDefaultMetrics({ register: registry });
  contributeToClusterMetrics(registry);
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;

// The three gauges of today's refused-event usage, filled by one read per scrape. A source
// absent today is absent from the gauges (reset first), so yesterday's figures do not linger.
function usageGauges(registry: prom.Registry, read: () => Promise<readonly RejectedUsage[]>): void {
  // prom-client calls each gauge's collect in turn during one scrape: the first starts the
  // read, the others wait for the same one.
  let pending: Promise<void> | undefined;
  const collect = () => (pending ??= refresh().finally(() => (pending = undefined)));
  const gauge = (name: string, help: string) => new prom.Gauge({ name, help, labelNames: ['source'], registers: [registry], collect });
  const keptRows = gauge('tally_rejected_kept_rows', 'Refused events kept in rejected_events today (UTC), by source.');
  const keptBytes = gauge('tally_rejected_kept_bytes', 'Bytes of refused events kept in rejected_events today (UTC), by source.');
  const overBudget = gauge(
    'tally_rejected_over_budget_rows',
    "Refused events not kept today (UTC) because the source's rejected-events budget was spent (only counted), by source.",
  );
  // A failed read (the database is down) leaves the gauges empty rather than failing the
  // scrape: the write-failure metrics already tell that story.
  async function refresh(): Promise<void> {
    for (const metric of [keptRows, keptBytes, overBudget]) metric.reset();
    const usage = await read().catch(() => []);
    for (const { sourceId, rowsStored, bytesStored, rowsOverBudget } of usage) {
      keptRows.set({ source: sourceId }, rowsStored);
      keptBytes.set({ source: sourceId }, bytesStored);
      overBudget.set({ source: sourceId }, rowsOverBudget);
    }
  }
}
