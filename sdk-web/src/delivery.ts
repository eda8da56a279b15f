/**
 * Delivery: batches in memory, posts them, and keeps what failed in storage (bounded) to be
 * retried with backoff. Each tab stores under a key of its own (`tally_queue.<tab>`) that no
 * other live tab writes: a read-append-write of one shared key by two tabs at once can lose
 * one tab's batch, since a browser shows one tab's storage writes to the others late. A tab
 * that closed or went quiet leaves its key behind; the next tab to look takes it over.
 */
import { parse, read, remove, write, type Env, type KeyValueStorage, type SendResult } from './env.js';
import { bytes, chunk, envelope, ENVELOPE_BYTES, KEEPALIVE_BYTES, MAX_BATCH_BYTES, MAX_EVENT_BYTES } from './queue.js';

/** Prefix of the stored queues' keys: `tally_queue.<tab>`, holding `[written at, ...events]`. */
export const QUEUE = 'tally_queue.';
/** A queue its tab has not written for this long is taken over by another tab (at once after its tab was hidden). */
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
  /** Moves the stored queues from one storage to another (storage allowed by consent). */
  move(from: KeyValueStorage | undefined, to: KeyValueStorage | undefined): void;
  /** Removes every queue stored in `st` (consent denied: nothing waits in storage). */
  forget(st: KeyValueStorage | undefined): void;
  /** Forgets the batch waiting in memory and the queues stored in `st`; a request already out that fails is not retried. */
  discard(st: KeyValueStorage | undefined): void;
}

export function createDelivery(o: DeliveryOptions): Delivery {
  let q: string[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  let backoffUntil = 0;
  let inflight = false;
  let dropped = 0;
  let discarded = 0;

  const mine = QUEUE + o.tab;

  /** A stored queue: when it was written, and its events. */
  const stored = (st: KeyValueStorage | undefined, k = mine): [number, string[]] => {
    const l = parse<unknown[]>(read(st, k));
    return Array.isArray(l) ? [l[0] as number, l.slice(1).map((e) => JSON.stringify(e))] : [0, []];
  };

  /** Writes this tab's queue; `at` 0 lets another tab take it over at once. */
  const save = (st: KeyValueStorage | undefined, list: string[], at = Date.now()) => {
    const n = list.length;
    let total = list.reduce((t, e) => t + e.length + 1, 20);
    while (list.length > o.maxQueue || total > o.maxQueueBytes) total -= list.shift()!.length + 1;
    // A full quota: give up the oldest half until the rest fits.
    while (list.length && !write(st, mine, `[${[at, ...list].join()}]`)) list = list.slice((list.length + 1) >> 1);
    if (!list.length) remove(st, mine);
    if (n > list.length) o.log('queue full, dropped', (dropped += n - list.length));
  };

  /** Rewrites this tab's stored queue. */
  const update = (change: (list: string[]) => string[], at?: number) => {
    const st = o.store();
    save(st, change(stored(st)[1]), at);
  };

  const persist = (events: string[], at?: number) => update((l) => l.concat(events), at);

  const unstore = (events: string[]) => update((l) => l.filter((e) => !events.includes(e)));

  /** The keys of the queues stored in `st`: this tab's (found without listing, in a storage that cannot list), then the others'. */
  const queues = (st: KeyValueStorage | undefined) => {
    const ks = [mine];
    try {
      for (let i = st!.length!; i--; ) ks.push(st!.key!(i)!);
    } catch {}
    return ks.filter((k) => k.startsWith(QUEUE));
  };

  const forget = (st: KeyValueStorage | undefined) => {
    for (const k of queues(st)) remove(st, k);
  };

  /** Moves other tabs' queues from `from` into this tab's queue in `to`: all of them, or those left alone long enough. */
  const adopt = (from: KeyValueStorage | undefined, to: KeyValueStorage | undefined, all?: boolean) => {
    let waiting = false;
    for (const k of queues(from)) {
      const [at, l] = stored(from, k);
      if (l.length && (all || k != mine)) {
        if (all || Date.now() - at >= LEASE_MS) {
          remove(from, k);
          save(to, stored(to)[1].concat(l));
        } else waiting = true;
      }
    }
    return waiting;
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
    const d = discarded;
    return new Promise<SendResult>((res) => res(o.env.send(o.url, body, keepalive && bytes(body) <= KEEPALIVE_BYTES)))
      .catch((): SendResult => ({ status: 0 }))
      .then((r) => {
        const s = r.status;
        if (s > 199 && s < 300) {
          attempt = backoffUntil = 0;
        } else if (!s || s == 429 || s > 499) {
          if (!stored && d == discarded) persist(events);
          schedule(r.retryAfter);
          return false;
        } else {
          o.log(`HTTP ${s}`, events.length);
        }
        if (stored) unstore(events);
        return true;
      });
  };

  const drain = () => {
    clearTimeout(retryTimer);
    if (inflight) return;
    const st = o.store();
    // Another live tab sends its own queue; look again when it would have been left long enough.
    if (adopt(st, st)) retryTimer = setTimeout(drain, LEASE_MS);
    const list = stored(st)[1];
    if (!list.length) return;
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
    const failing = Date.now() < backoffUntil;
    if (unloading) {
      // The page is going: one request within the keepalive budget, the rest for the next page.
      // All of it is stored first, since a keepalive request that fails after the page is gone
      // has no one left to retry it; an answer that still arrives (a tab switch) unstores it.
      // Stored as left alone, so that the next tab or page takes it over at once.
      persist(events, 0);
      const first = chunk(events, KEEPALIVE_BYTES - ENVELOPE_BYTES)[0];
      if (first && !failing) void post(first, true, true);
    } else if (failing) {
      // While the collector is failing, new events join the stored queue instead of hammering it.
      persist(events);
    } else for (const g of chunk(events, MAX_BATCH_BYTES - ENVELOPE_BYTES)) void post(g, true);
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
    move: (from, to) => adopt(from, to, true),
    forget,
    discard(st) {
      q = [];
      discarded++;
      forget(st);
    },
  };
}
