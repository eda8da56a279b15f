import { sleep } from './collector-process.js';

export interface LoadOptions {
  /** Base URL of the collector (read before every request, so a restart on a new port works). */
  url: string | (() => string);
  writeKey: string;
  /** messageIds are `${prefix}-${n}` for n in 0 … totalEvents-1. */
  prefix: string;
  totalEvents: number;
  /** Events per request: a fixed number, or [min, max] drawn per batch. */
  batchSize: number | readonly [number, number];
  /** Concurrent senders, each with one request in flight at a time, like one SDK instance. */
  senders: number;
  /** Overall pace in events per second; as fast as the collector answers when absent. */
  eventsPerSecond?: number;
  /** Abandon a request that has not been answered by then, and retry it (default 15 s). */
  requestTimeoutMs?: number;
  /** Give up retrying after this long overall; what is left unacknowledged is reported. */
  deadlineMs?: number;
  /** Width of a latency window in milliseconds (default 10 s). */
  windowMs?: number;
}

export interface LatencyWindow {
  /** Seconds since the start of the run at which the window begins. */
  readonly fromSeconds: number;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface LoadReport {
  readonly generated: number;
  /** Events whose request was answered 2xx and not listed as rejected. */
  readonly acknowledged: number;
  /** `ackedAt(n)` is true when event n was acknowledged. */
  ackedAt(n: number): boolean;
  /** Responses by status (`network` for a connection error or timeout). */
  readonly statuses: Readonly<Record<string, number>>;
  /** 429 and 503 answers that carried a Retry-After header. */
  readonly retryAfterAnswers: number;
  readonly retries: number;
  /** Events a 2xx answer listed as rejected (none expected: the generator sends valid events). */
  readonly rejectedInResponse: number;
  /** Batches dropped after a 4xx other than 429, as an SDK would; with their answers. */
  readonly refused: readonly { status: number; body: string }[];
  readonly latencyWindows: readonly LatencyWindow[];
  readonly durationMs: number;
}

export interface LoadRun {
  /** Resolves when every generated event was acknowledged, refused, or the deadline passed. */
  readonly done: Promise<LoadReport>;
  /** Events acknowledged so far. */
  acknowledged(): number;
  /** Events generated (handed to a sender) so far. */
  generated(): number;
  /** Answers seen so far by status. */
  statuses(): Readonly<Record<string, number>>;
  /** Whether event n has been acknowledged so far. */
  ackedAt(n: number): boolean;
}

const CONSENT = { categoryPreferences: { necessary: true, analytics: true, marketing: true } };
const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

/**
 * Sends `totalEvents` valid track events the way an SDK does: batches kept until
 * acknowledged, retried unchanged (same messageIds) after a network error, a timeout, a
 * 5xx or a 429, with exponential backoff, full jitter, and at least the server's
 * `Retry-After`. Records which events were acknowledged and how long answers took.
 *
 * @example
 * const run = sendLoad({ url, writeKey, prefix: 'kill', totalEvents: 50_000, batchSize: 50, senders: 8 });
 * const report = await run.done;
 */
export function sendLoad(options: LoadOptions): LoadRun {
  const started = performance.now();
  const acked = new Uint8Array(options.totalEvents);
  const statuses: Record<string, number> = {};
  const latencies = new Map<number, number[]>();
  const refused: { status: number; body: string }[] = [];
  const windowMs = options.windowMs ?? 10_000;
  const timeoutMs = options.requestTimeoutMs ?? 15_000;
  const deadline = started + (options.deadlineMs ?? 600_000);
  const baseUrl = typeof options.url === 'function' ? options.url : () => options.url as string;
  const authorization = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  let next = 0;
  let acknowledged = 0;
  let retries = 0;
  let retryAfterAnswers = 0;
  let rejectedInResponse = 0;

  const count = (status: string) => (statuses[status] = (statuses[status] ?? 0) + 1);

  function nextBatch(): { first: number; size: number } | undefined {
    if (next >= options.totalEvents) return undefined;
    const [min, max] = typeof options.batchSize === 'number' ? [options.batchSize, options.batchSize] : options.batchSize;
    const size = Math.min(options.totalEvents - next, min + Math.floor(Math.random() * (max - min + 1)));
    const first = next;
    next += size;
    return { first, size };
  }

  function body(first: number, size: number, sender: number): string {
    const now = new Date().toISOString();
    const batch = [];
    for (let n = first; n < first + size; n += 1) {
      batch.push({
        type: 'track',
        event: 'Fault Drill',
        messageId: `${options.prefix}-${n}`,
        anonymousId: `${options.prefix}-anon-${n % 2_000}`,
        timestamp: now,
        properties: { n, sender, plan: 'pro', amount: n % 100 },
        context: {
          consent: CONSENT,
          userAgent: USER_AGENT,
          locale: 'en-GB',
          page: { url: `https://shop.example/p/${n % 50}?utm_source=drill`, path: `/p/${n % 50}` },
        },
      });
    }
    return JSON.stringify({ batch, sentAt: now });
  }

  async function sendUntilAnswered(first: number, size: number, sender: number): Promise<void> {
    const payload = body(first, size, sender);
    for (let attempt = 0; ; attempt += 1) {
      if (performance.now() > deadline) return;
      const sentAt = performance.now();
      let wait = 0;
      try {
        const response = await fetch(`${baseUrl()}/v1/batch`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain', authorization },
          body: payload,
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await response.text();
        count(String(response.status));
        if (response.ok) {
          const window = Math.floor((sentAt - started) / windowMs);
          let list = latencies.get(window);
          if (!list) latencies.set(window, (list = []));
          list.push(performance.now() - sentAt);
          const rejected = rejectedIndexes(text);
          rejectedInResponse += rejected.size;
          for (let i = 0; i < size; i += 1) {
            if (!rejected.has(i) && acked[first + i] === 0) {
              acked[first + i] = 1;
              acknowledged += 1;
            }
          }
          return;
        }
        if (response.status !== 429 && response.status < 500) {
          refused.push({ status: response.status, body: text.slice(0, 500) });
          return;
        }
        const retryAfter = Number(response.headers.get('retry-after'));
        if (response.headers.has('retry-after') && Number.isFinite(retryAfter)) {
          retryAfterAnswers += 1;
          wait = Math.min(retryAfter, 10) * 1000;
        }
      } catch {
        count('network');
      }
      retries += 1;
      const backoff = Math.random() * Math.min(5_000, 100 * 2 ** Math.min(attempt, 10));
      await sleep(Math.max(wait, backoff));
    }
  }

  async function sender(index: number): Promise<void> {
    for (;;) {
      const batch = nextBatch();
      if (!batch) return;
      if (options.eventsPerSecond) {
        const due = started + (batch.first / options.eventsPerSecond) * 1000;
        const delay = due - performance.now();
        if (delay > 0) await sleep(delay);
      }
      await sendUntilAnswered(batch.first, batch.size, index);
      if (performance.now() > deadline) return;
    }
  }

  const done = Promise.all(Array.from({ length: options.senders }, (_, i) => sender(i))).then(
    (): LoadReport => ({
      generated: next,
      acknowledged,
      ackedAt: (n) => acked[n] === 1,
      statuses: { ...statuses },
      retryAfterAnswers,
      retries,
      rejectedInResponse,
      refused,
      latencyWindows: [...latencies.entries()]
        .sort(([a], [b]) => a - b)
        .map(([window, list]) => {
          const sorted = Float64Array.from(list).sort();
          return {
            fromSeconds: (window * windowMs) / 1000,
            requests: sorted.length,
            p50Ms: round(percentile(sorted, 0.5)),
            p99Ms: round(percentile(sorted, 0.99)),
          };
        }),
      durationMs: performance.now() - started,
    }),
  );

  return {
    done,
    acknowledged: () => acknowledged,
    generated: () => next,
    statuses: () => ({ ...statuses }),
    ackedAt: (n) => acked[n] === 1,
  };
}

/** Indexes of the events a 2xx answer lists as rejected (`rejected: [{ index, … }]`). */
function rejectedIndexes(text: string): Set<number> {
  try {
    const parsed = JSON.parse(text) as { rejected?: { index?: unknown }[] };
    return new Set((parsed.rejected ?? []).map((item) => Number(item.index)).filter(Number.isInteger));
  } catch {
    return new Set();
  }
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

const round = (ms: number) => Math.round(ms * 10) / 10;
