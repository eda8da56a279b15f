import cluster from 'node:cluster';
import * as prom from 'prom-client';

// With several worker processes (workers.ts) a scrape of /metrics reaches one of them; it
// answers with every worker's metrics added up (counters and histograms summed, gauges as
// prom-client aggregates each), which the primary gathers over the cluster's IPC channel.

interface MetricsRequest {
  tally: 'metrics-request';
  id: number;
}
interface MetricsAnswer {
  tally: 'metrics-answer';
  id: number;
  text?: string;
  error?: string;
}

const ANSWER_TIMEOUT_MS = 5_000;
let lastRequest = 0;

/**
 * In a worker: makes `registry` the one whose metrics this process contributes when the
 * primary gathers them.
 */
export function contributeToClusterMetrics(registry: prom.Registry): void {
  if (!cluster.isWorker) return;
  prom.AggregatorRegistry.setRegistries([registry]);
  // Constructing one is what makes prom-client answer the primary's requests in this process.
  new prom.AggregatorRegistry();
}

/**
 * In a worker: the metrics of every worker added up, asked of the primary (`answerMetricsRequests`).
 *
 * @example
 * const text = cluster.isWorker ? await clusterMetricsText() : await registry.metrics();
 */
export function clusterMetricsText(): Promise<string> {
  const id = ++lastRequest;
  return new Promise<string>((resolve, reject) => {
    const onMessage = (message: unknown) => {
      const answer = message as Partial<MetricsAnswer> | null;
      if (answer?.tally !== 'metrics-answer' || answer.id !== id) return;
      done();
      if (answer.text !== undefined) resolve(answer.text);
      else reject(new Error(`the primary could not gather the workers' metrics: ${answer.error ?? 'no reason given'}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error("the primary did not answer with the workers' metrics"));
    }, ANSWER_TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      process.off('message', onMessage);
    };
    process.on('message', onMessage);
    process.send!({ tally: 'metrics-request', id } satisfies MetricsRequest);
  });
}

/** In the primary: answers the workers' `clusterMetricsText()` with every worker's metrics added up. */
export function answerMetricsRequests(): void {
  const aggregator = new prom.AggregatorRegistry();
  cluster.on('message', (worker, message: unknown) => {
    const request = message as Partial<MetricsRequest> | null;
    if (request?.tally !== 'metrics-request' || typeof request.id !== 'number') return;
    const id = request.id;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ tally: 'metrics-answer', id, text } satisfies MetricsAnswer),
      (error: unknown) => worker.send({ tally: 'metrics-answer', id, error: error instanceof Error ? error.message : String(error) } satisfies MetricsAnswer),
    );
  });
}
