type Labels = Record<string, string>;

export class Counter {
  readonly #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    this.#values.set(key, (this.#values.get(key) ?? 0) + by);
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.#values.size === 0) lines.push(`${this.name} 0`);
    for (const [labels, value] of this.#values) lines.push(`${this.name}${labels} ${value}`);
    return lines.join('\n');
  }
}

export class Histogram {
  readonly #counts: number[];
  #sum = 0;
  #count = 0;
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {
    this.#counts = buckets.map(() => 0);
  }

  observe(value: number): void {
    this.#sum += value;
    this.#count++;
    this.buckets.forEach((bound, i) => {
      if (value <= bound) this.#counts[i]!++;
    });
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.buckets.forEach((bound, i) => lines.push(`${this.name}_bucket{le="${bound}"} ${this.#counts[i]}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.#count}`, `${this.name}_sum ${this.#sum}`, `${this.name}_count ${this.#count}`);
    return lines.join('\n');
  }
}

/**
 * The collector's Prometheus metrics: events accepted, rejected (by reason) and duplicate,
 * the size and latency of each write transaction, failed transactions and the writer's
 * queue depth (read when scraped).
 *
 * @example
 * const metrics = createMetrics(() => writer.queueDepth);
 * metrics.accepted.inc({ source: 'shop' }, 20);
 * const text = metrics.render();
 */
export function createMetrics(queueDepth: () => number = () => 0) {
  const metrics = {
    accepted: new Counter('tally_events_accepted_total', 'Events stored in the events table.'),
    rejected: new Counter('tally_events_rejected_total', 'Events refused into rejected_events, by reason.'),
    duplicates: new Counter('tally_events_duplicate_total', 'Events whose messageId was already stored for their source.'),
    consentRefused: new Counter('tally_consent_refused_total', 'Events refused for consent, kept only as this count (and in consent_refusals), by source and category.'),
    requests: new Counter('tally_requests_total', 'Ingestion requests answered, by status code.'),
    writeFailures: new Counter('tally_write_failures_total', 'Write transactions that failed (their requests got 503).'),
    writeBatchSize: new Histogram('tally_write_batch_size', 'Rows (events and rejected events) per write transaction.', [
      1, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000,
    ]),
    writeSeconds: new Histogram('tally_write_duration_seconds', 'Duration of each write transaction, to commit.', [
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
    ]),
    /** Records one write transaction (the group-commit writer's `onFlush`). */
    recordFlush(stats: { events: number; seconds: number; ok: boolean; error?: unknown }): void {
      metrics.writeBatchSize.observe(stats.events);
      metrics.writeSeconds.observe(stats.seconds);
      if (!stats.ok) {
        metrics.writeFailures.inc();
        logWriteFailure(stats.error);
      }
    },
    render(): string {
      const gauge = [
        '# HELP tally_write_queue_depth Rows waiting for, or inside, a write transaction not yet committed.',
        '# TYPE tally_write_queue_depth gauge',
        `tally_write_queue_depth ${queueDepth()}`,
      ].join('\n');
      const parts = [metrics.accepted, metrics.rejected, metrics.duplicates, metrics.consentRefused, metrics.requests, metrics.writeFailures];
      return [...parts.map((c) => c.render()), metrics.writeBatchSize.render(), metrics.writeSeconds.render(), gauge].join('\n\n') + '\n';
    },
  };
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

let lastFailureLog = 0;

/** Logs a failed write, at most one line every five seconds (an outage fails every transaction). */
export function logWriteFailure(error: unknown): void {
  const now = Date.now();
  if (now - lastFailureLog < 5_000) return;
  lastFailureLog = now;
  console.error(`tally-collector: write failed, answering 503: ${error instanceof Error ? error.message : String(error)}`);
}
