/**
 * The adapters through which the core reaches its surroundings. The browser supplies
 * `localStorage`, `document.cookie` and `fetch`; a WebView or React Native app supplies
 * its own, and tests run the core under plain Node with {@link memoryStorage}.
 */

/** Synchronous key/value storage with the Web Storage method names (`localStorage` fits as is). */
export interface KeyValueStorage {
  getItem(key: string): string | null | undefined;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
  /** With `key`, lists what is stored, so that a tab finds the queues other tabs left behind. */
  readonly length?: number;
  key?(index: number): string | null;
}

/** What the collector answered: the HTTP status (0 for a network error) and `Retry-After` in seconds. */
export interface SendResult {
  status: number;
  retryAfter?: number | null | undefined;
}

export interface Env {
  /** Persistent storage (`localStorage`); absent or failing storage keeps everything in memory. */
  storage?: KeyValueStorage | undefined;
  /** First-party cookie jar; the anonymousId kept here wins over the one in `storage`. */
  cookies?: KeyValueStorage | undefined;
  /**
   * POST `body` (JSON text) to `url`; `keepalive` asks for delivery that outlives the page.
   * When how the request ended cannot be known (`sendBeacon`), leave the promise pending:
   * a batch stored as the page went then stays stored for the next page.
   */
  send(url: string, body: string, keepalive: boolean): Promise<SendResult>;
  /** Context of the call site: page, userAgent, locale, timezone, screen, campaign. */
  context?(): Record<string, unknown>;
  /** `navigator.globalPrivacyControl` */
  gpc?: boolean | undefined;
  /** Called when the page is being hidden or left: the last moment to send. */
  onHide?(listener: () => void): void;
  /** A random UUID (defaults to `crypto.randomUUID()`). */
  uuid?(): string;
}

/**
 * A storage adapter that keeps values in memory only.
 * @example createTally(() => ({ storage: memoryStorage(), send })).init({ writeKey })
 */
export function memoryStorage(): KeyValueStorage {
  const m = new Map<string, string>();
  return {
    getItem: (k) => m.get(k),
    setItem: (k, v) => m.set(k, v),
    removeItem: (k) => m.delete(k),
  };
}

/** What `f` answers, or undefined where it throws. */
export const attempt = <T>(f: () => T): T | undefined => {
  try {
    return f();
  } catch {
    return undefined;
  }
};

/** JSON.parse that answers undefined (or null, for null) for anything unreadable. */
export const parse = <T>(s: string | null | undefined): T | undefined => attempt(() => JSON.parse(s!));

// Every storage access is guarded: a full quota or a blocked storage never breaks the host page.
export const read = (s: KeyValueStorage | undefined, k: string): string | null | undefined => attempt(() => s?.getItem(k));

/** True when written. */
export const write = (s: KeyValueStorage | undefined, k: string, v: string): true | undefined =>
  attempt(() => (s!.setItem(k, v), true));

export const remove = (s: KeyValueStorage | undefined, k: string): void => attempt(() => s?.removeItem(k));
