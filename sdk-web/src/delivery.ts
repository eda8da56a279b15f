/**
 * Delivery: batches in memory, posts them, and keeps what failed in storage (bounded) to be
 * retried with backoff by the one tab that holds the lease on the stored queue.
 */
import { parse, read, remove, write, type Env, type KeyValueStorage, type SendResult } from './env.js';
import { bytes, chunk, envelope, ENVELOPE_BYTES, KEEPALIVE_BYTES, MAX_BATCH_BYTES, MAX_EVENT_BYTES } from './queue.js';

export const QUEUE = 'tally_queue';
export const LOCK = 'tally_lock';
/** A tab that has not touched the lock for this long is gone or idle: another tab may take over. */
export const LEASE_MS = 20_000;
/** Backoff of retries without Retry-After: 1 s doubling up to 60 s, with jitter (× 0.5–1). */
export const RETRY_BASE_MS = 1000;
export const RETRY_MAX_MS = 60_000;

export interface DeliveryOptions {
  url: string;
  writeKey: string;
  env: Env;
  /** Where failed batches wait: `localStorage` when storing is allowed, memory otherwise. */
  store(): KeyValueStorage | undefined;
  flushAt: number;
  flushInterval: number;
  maxQueue: number;
  maxQueueBytes: number;
  tab: string;
  log(reason: string, detail?: unknown): void;
}

export interface Delivery {
  add(message: object): void;
  /**
   * Sends what waits in memory now. `unloading` stores it all first, then sends what fits the
   * keepalive budget; the stored copy goes when that request is answered 2xx, else the next page sends it.
   */
  flush(unloading?: boolean): void;
  /** Sends the stored queue if this tab holds (or can take) the lease. */
  drain(): void;
  /** Moves the stored queue from one storage to another (consent granted or withdrawn). */
  move(from: KeyValueStorage | undefined, to: KeyValueStorage | undefined): void;
}

export function createDelivery(o: DeliveryOptions): Delivery {
  let q: string[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  let backoffUntil = 0;
  let inflight = false;
  let dropped = 0;

  const load = (st: KeyValueStorage | undefined): string[] => {
    const l = parse<unknown[]>(read(st, QUEUE));
    return Array.isArray(l) ? l.map((e) => JSON.stringify(e)) : [];
  };

  const save = (st: KeyValueStorage | undefined, list: string[]) => {
    let total = list.reduce((n, e) => n + e.length + 1, 2);
    let n = 0;
    while (list.length > o.maxQueue || total > o.maxQueueBytes) {
      total -= list.shift()!.length + 1;
      n++;
    }
    // A full quota: give up the oldest half until the rest fits.
    while (list.length && !write(st, QUEUE, `[${list.join()}]`)) {
      const k = (list.length + 1) >> 1;
      list = list.slice(k);
      n += k;
    }
    if (!list.length) remove(st, QUEUE);
    if (n) o.log('queue full, dropped', (dropped += n));
  };

  const persist = (events: string[]) => {
    const st = o.store();
    if (events.length) save(st, load(st).concat(events));
  };

  const unstore = (events: string[]) => {
    const st = o.store();
    const sent = new Set(events);
    save(st, load(st).filter((e) => !sent.has(e)));
  };

  const schedule = (after?: number | null) => {
    const d =
      after != null && after >= 0
        ? after * 1000
        : Math.min(RETRY_BASE_MS * 2 ** attempt, RETRY_MAX_MS) * (0.5 + Math.random() / 2);
    attempt++;
    backoffUntil = Date.now() + d;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(drain, d);
  };

  /** Resolves true when the events are done with (delivered or refused for good). */
  const post = (events: string[], keepalive: boolean, stored?: boolean): Promise<boolean> => {
    const body = envelope(events, o.writeKey, new Date());
    return new Promise<SendResult>((res) => res(o.env.send(o.url, body, keepalive && bytes(body) <= KEEPALIVE_BYTES)))
      .catch((): SendResult => ({ status: 0 }))
      .then((r) => {
        const s = r.status;
        if (s > 199 && s < 300) {
          attempt = backoffUntil = 0;
        } else if (!s || s == 429 || s > 499) {
          if (!stored) persist(events);
          schedule(r.retryAfter);
          return false;
        } else {
          o.log(`HTTP ${s}`, events.length);
        }
        if (stored) unstore(events);
        return true;
      });
  };

  const lease = (st: KeyValueStorage | undefined) => {
    const [who, at] = (read(st, LOCK) || '').split(' ');
    if (who && who != o.tab && Date.now() - Number(at) < LEASE_MS) return false;
    const mine = `${o.tab} ${Date.now()}`;
    return !write(st, LOCK, mine) || read(st, LOCK) == mine;
  };

  const unlock = (st: KeyValueStorage | undefined) => {
    if (read(st, LOCK)?.startsWith(o.tab)) remove(st, LOCK);
  };

  const drain = () => {
    clearTimeout(retryTimer);
    if (inflight) return;
    const st = o.store();
    const list = load(st);
    if (!list.length) return unlock(st);
    // Another live tab sends the stored queue; look again when its lease would have run out.
    if (!lease(st)) return void (retryTimer = setTimeout(drain, LEASE_MS));
    inflight = true;
    void post(chunk(list, MAX_BATCH_BYTES - ENVELOPE_BYTES)[0]!, false, true).then((done) => {
      inflight = false;
      if (done) drain();
    });
  };

  const flush = (unloading?: boolean) => {
    clearTimeout(timer);
    timer = undefined;
    const events = q;
    q = [];
    // While the collector is failing, new events join the stored queue instead of hammering it.
    if (Date.now() < backoffUntil) return persist(events);
    const groups = chunk(events, (unloading ? KEEPALIVE_BYTES : MAX_BATCH_BYTES) - ENVELOPE_BYTES);
    if (unloading) {
      // The page is going: one request within the keepalive budget, the rest for the next page.
      // All of it is stored first, since a keepalive request that fails after the page is gone
      // has no one left to retry it; an answer that still arrives (a tab switch) unstores it.
      persist(events);
      if (groups[0]) void post(groups[0], true, true);
      unlock(o.store());
    } else for (const g of groups) void post(g, true);
  };

  return {
    add(m) {
      const s = JSON.stringify(m);
      if (bytes(s) > MAX_EVENT_BYTES) return o.log('over 32 KB', m);
      q.push(s);
      if (q.length >= o.flushAt) flush();
      else timer ??= setTimeout(flush, o.flushInterval);
    },
    flush,
    drain,
    move(from, to) {
      const l = load(from);
      if (l.length && from != to) {
        remove(from, QUEUE);
        save(to, load(to).concat(l));
      }
    },
  };
}
