/** Test doubles: a fake collector network and an env over real (happy-dom) storage. */
import { afterAll, beforeAll, vi } from 'vitest';
import type { Env, KeyValueStorage, SendResult } from '../src/env.js';

export interface SentRequest {
  url: string;
  body: { batch: Record<string, any>[]; sentAt: string; writeKey: string };
  bytes: number;
  keepalive: boolean;
  answer: Answer;
}

/**
 * What the double answers: a status, a network error, or nothing at all (`'page gone'`: the page
 * was left before any answer came, so the tracker never hears how the request ended).
 */
export type Answer = SendResult | 'network error' | 'page gone';

/** A collector double: answers 200 unless told otherwise, and records every request and what was accepted. */
export function fakeNetwork() {
  const requests: SentRequest[] = [];
  let answer: (r: SentRequest) => Answer = () => ({ status: 200 });
  let latency = 0;
  const send = vi.fn((url: string, body: string, keepalive: boolean): Promise<SendResult> => {
    const r: SentRequest = { url, body: JSON.parse(body), bytes: new TextEncoder().encode(body).length, keepalive, answer: { status: 0 } };
    r.answer = answer(r);
    requests.push(r);
    const a = r.answer;
    const reply = (): Promise<SendResult> =>
      a == 'page gone'
        ? new Promise(() => {})
        : a == 'network error'
          ? Promise.reject(new TypeError('Failed to fetch'))
          : Promise.resolve(a);
    return latency ? new Promise((res) => setTimeout(res, latency)).then(reply) : reply();
  });
  return {
    send,
    requests,
    respond(fn: (r: SentRequest) => Answer) {
      answer = fn;
    },
    /** Answers arrive this many milliseconds after the request. */
    delay(ms: number) {
      latency = ms;
    },
    /** Events in requests that were answered 2xx, in order of arrival. */
    accepted(): Record<string, any>[] {
      return requests
        .filter((r) => typeof r.answer == 'object' && r.answer.status >= 200 && r.answer.status < 300)
        .flatMap((r) => r.body.batch);
    },
    /** A `navigator.sendBeacon` that routes through the same double (true: queued). */
    sendBeacon: vi.fn((url: string, body: string) => {
      void send(url, body, true).catch(() => {});
      return true;
    }),
    /** A `fetch` that routes through the same double. */
    fetch: vi.fn(async (url: string, init: RequestInit) => {
      const r = await send(url, init.body as string, !!init.keepalive);
      return new Response(null, {
        status: r.status,
        headers: r.retryAfter ? { 'Retry-After': String(r.retryAfter) } : {},
      });
    }),
  };
}

export type FakeNetwork = ReturnType<typeof fakeNetwork>;

/** An env for the core over the page's real localStorage and cookies, with the fake network. */
export function testEnv(net: FakeNetwork, extra: Partial<Env> = {}): () => Env {
  return () => ({
    storage: localStorage,
    cookies: cookieJar,
    send: net.send,
    context: () => ({ page: { path: location.pathname, url: location.href } }),
    ...extra,
  });
}

/** document.cookie through the cookie adapter's interface, for asserting on what was written. */
export const cookieJar: KeyValueStorage = {
  getItem: (k) => document.cookie.match(`(?:^|; )${k}=([^;]*)`)?.[1] ?? null,
  setItem: (k, v) => void (document.cookie = `${k}=${v};path=/`),
  removeItem: (k) => void (document.cookie = `${k}=;path=/;expires=Thu, 01 Jan 1970 00:00:00 GMT`),
};

/** Wipes storage and cookies between tests. */
export function clearBrowserState(): void {
  localStorage.clear();
  for (const c of document.cookie.split('; ')) if (c) document.cookie = `${c.split('=')[0]}=;path=/;expires=Thu, 01 Jan 1970 00:00:00 GMT`;
}

/** Lets pending promise callbacks run (delivery answers are asynchronous). */
export const settle = () => vi.advanceTimersByTimeAsync(0);

/** For a test file that runs the script tag: fake timers, and the page's `fetch` and `sendBeacon` routed to `net`. */
export function routePageTo(net: FakeNetwork): void {
  beforeAll(() => {
    vi.useFakeTimers();
    localStorage.clear();
    vi.stubGlobal('fetch', net.fetch);
    navigator.sendBeacon = net.sendBeacon;
  });
  afterAll(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });
}
