/** The {@link Env} of a web page: cookies, localStorage, fetch with keepalive (sendBeacon where fetch cannot). */
import type { Options } from './core.js';
import type { Env, SendResult } from './env.js';
import { browserContext } from './context.js';
import { cookieStorage, localStorageOrNothing } from './storage.js';

export function send(url: string, body: string, keepalive: boolean): Promise<SendResult> {
  const n = navigator;
  // A string body goes out as text/plain;charset=UTF-8: a "simple" request, no CORS pre-flight.
  // A beacon tells only whether the browser queued it, never how it ended: a queued one stays
  // unanswered, so that a batch stored as the page goes is kept for the next page to resend.
  if (keepalive && n.sendBeacon && !('keepalive' in Request.prototype))
    return n.sendBeacon(url, body) ? new Promise(() => {}) : Promise.resolve({ status: 0 });
  return fetch(url, { method: 'POST', body, keepalive }).then((r) => ({
    status: r.status,
    retryAfter: Number(r.headers.get('Retry-After')) || null,
  }));
}

export function browserEnv(o: Options): Env {
  return {
    storage: localStorageOrNothing(),
    cookies: cookieStorage(o.cookieDomain),
    send,
    context: browserContext,
    gpc: (navigator as { globalPrivacyControl?: boolean }).globalPrivacyControl === true,
    onHide(listener) {
      addEventListener('pagehide', listener);
      document.addEventListener('visibilitychange', () => document.visibilityState == 'hidden' && listener());
    },
  };
}
