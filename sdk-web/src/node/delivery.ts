/**
 * Delivery for servers: batches by count, size and time; retries a batch that met a network
 * error, a 429 or a 5xx with backoff, resending the same messages (same messageIds, so the
 * collector keeps each once); and tells when everything handed to it is done with.
 */
import { RETRY_BASE_MS, RETRY_MAX_MS } from '../delivery.js';
import { fetchSend } from '../fetch-send.js';
import { bytes, chunk, ENVELOPE_BYTES, MAX_BATCH_BYTES } from '../queue.js';

/** What went wrong with a batch, or with some of its events (`rejected`: the collector refused them and kept the reason). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    /** The HTTP status (0: the collector could not be reached). */
    readonly status: number,
    /** The messageIds of the events not delivered, or of those refused. */
    readonly messageIds: string[],
    /** For a 2xx, the events the collector refused: `{ index, messageId, reason }`. */
    readonly rejected: unknown[] = [],
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export interface ServerDeliveryOptions {
  url: string;
  /** Sent as HTTP Basic (`writeKey:`). */
  writeKey: string;
  flushAt: number;
  flushInterval: number;
  /** Retries of a batch after its first attempt. */
  maxRetries: number;
  /** Milliseconds a request may take before it counts as failed (and is retried). */
  timeout: number;
  onError(error: DeliveryError): void;
}

export interface ServerDelivery {
  add(serialized: string): void;
  /** Sends what waits and resolves when every batch sent so far is delivered or given up. */
  flush(): Promise<void>;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

const count = (n: number) => `${n} event${n == 1 ? '' : 's'}`;

const ids = (events: string[]) => events.map((e) => (JSON.parse(e) as { messageId: string }).messageId);

export function createServerDelivery(o: ServerDeliveryOptions): ServerDelivery {
  const authorization = `Basic ${btoa(`${o.writeKey}:`)}`;
  const max = MAX_BATCH_BYTES - ENVELOPE_BYTES;
  let q: string[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const inflight = new Set<Promise<void>>();
  // A throwing handler must not turn into a flush() that rejects.
  const report = (e: DeliveryError) => {
    try {
      o.onError(e);
    } catch {}
  };

  const post = async (events: string[]) => {
    for (let attempt = 0; ; attempt++) {
      // A new sentAt for each attempt: the collector corrects clocks from it.
      const body = `{"batch":[${events.join()}],"sentAt":"${new Date().toISOString()}"}`;
      let status = 0;
      let retryAfter: number | null | undefined;
      let answer: { error?: { message?: string }; rejected?: unknown[] } | undefined;
      let problem = 'the collector could not be reached';
      try {
        const r = await fetchSend(o.url, body, { authorization }, AbortSignal.timeout(o.timeout));
        ({ status, retryAfter } = r);
        answer = JSON.parse(r.text || '{}');
      } catch (e) {
        if (status == 0) problem += `: ${(e as Error).message}`;
      }
      if (status > 199 && status < 300) {
        const rejected = answer?.rejected;
        if (rejected?.length)
          report(
            new DeliveryError(`the collector refused ${rejected.length} of ${count(events.length)}`, status, rejected.map((r) => (r as { messageId: string }).messageId), rejected),
          );
        return;
      }
      if (status) problem = `HTTP ${status}${answer?.error?.message ? `: ${answer.error.message}` : ''}`;
      const retriable = !status || status == 429 || status > 499;
      if (!retriable || attempt >= o.maxRetries) {
        report(new DeliveryError(`${count(events.length)} not delivered after ${attempt + 1} attempt${attempt ? 's' : ''}: ${problem}`, status, ids(events)));
        return;
      }
      await wait(
        retryAfter != null && retryAfter >= 0
          ? Math.min(retryAfter * 1000, RETRY_MAX_MS)
          : Math.min(RETRY_BASE_MS * 2 ** attempt, RETRY_MAX_MS) * (0.5 + Math.random() / 2),
      );
    }
  };

  const send = () => {
    clearTimeout(timer);
    timer = undefined;
    const events = q;
    q = [];
    size = 0;
    for (const group of chunk(events, max)) {
      const p: Promise<void> = post(group).finally(() => inflight.delete(p));
      inflight.add(p);
    }
  };

  return {
    add(e) {
      const n = bytes(e) + 1;
      if (size + n > max) send();
      q.push(e);
      size += n;
      if (q.length >= o.flushAt) send();
      else timer ??= setTimeout(send, o.flushInterval);
    },
    async flush() {
      send();
      while (inflight.size) await Promise.all(inflight);
    },
  };
}
