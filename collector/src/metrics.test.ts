import { describe, expect, test } from 'vitest';
import { Counter, createMetrics } from './metrics.js';

describe('createMetrics', () => {
  test('renders counters, histograms, the queue depth and the process and event-loop metrics in Prometheus text', async () => {
    const metrics = createMetrics(() => 7);
    metrics.accepted.inc({ source: 'shop' }, 20);
    metrics.rejected.inc({ reason: 'schema' });
    metrics.recordFlush({ events: 21, seconds: 0.004, ok: true, requests: 2 });
    const text = await metrics.render();
    expect(text).toContain('tally_events_accepted_total{source="shop"} 20');
    expect(text).toContain('tally_events_rejected_total{reason="schema"} 1');
    expect(text).toContain('tally_write_batch_size_bucket{le="50"} 1');
    expect(text).toContain('tally_write_queue_depth 7');
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
  });

  test('a failed write counts and is reported once per transaction', async () => {
    const failures: unknown[] = [];
    const metrics = createMetrics(() => 0, { onWriteFailure: (stats) => failures.push(stats.error) });
    metrics.recordFlush({ events: 3, seconds: 0.1, ok: false, requests: 1, error: new Error('down'), failure: 'unavailable' });
    metrics.recordFlush({ events: 5, seconds: 0.1, ok: false, requests: 2, error: new Error('bad'), failure: 'statement', failedRequests: 1, failedEvents: 2 });
    const text = await metrics.render();
    expect(text).toContain('tally_write_failures_total{kind="unavailable"} 1');
    expect(text).toContain('tally_write_failures_total{kind="statement"} 1');
    expect(text).toContain('tally_write_isolated_total{outcome="request_failed"} 1');
    expect(text).toContain('tally_write_isolated_total{outcome="event_failed"} 2');
    expect(failures).toHaveLength(2);
  });

  test("today's refused-event usage is read once per scrape; a failed read leaves the gauges empty and the scrape whole", async () => {
    let reads = 0;
    let fail = false;
    const metrics = createMetrics(() => 0, {
      rejectedUsage: async () => {
        reads++;
        if (fail) throw new Error('database down');
        return [{ sourceId: 'shop', rowsStored: 10, bytesStored: 2048, rowsOverBudget: 4 }];
      },
    });
    const text = await metrics.render();
    expect(reads).toBe(1);
    expect(text).toContain('tally_rejected_kept_rows{source="shop"} 10');
    expect(text).toContain('tally_rejected_kept_bytes{source="shop"} 2048');
    expect(text).toContain('tally_rejected_over_budget_rows{source="shop"} 4');
    fail = true;
    const after = await metrics.render();
    expect(after).not.toContain('source="shop"');
    expect(after).toContain('tally_write_queue_depth 0');
  });

  test('each registry is its own: two collectors in one process do not collide', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.accepted.inc({ source: 'a' }, 1);
    expect(await b.render()).not.toContain('source="a"');
  });
});

describe('Counter', () => {
  test('without label names, takes those of its first inc', async () => {
    const counter = new Counter('tally_test_total', 'A counter for the test.');
    const { Registry } = await import('prom-client');
    const registry = new Registry();
    counter.attach(registry);
    counter.inc({ reason: 'x' }, 2);
    counter.inc({ reason: 'y' });
    const text = await registry.metrics();
    expect(text).toContain('tally_test_total{reason="x"} 2');
    expect(text).toContain('tally_test_total{reason="y"} 1');
  });
});
