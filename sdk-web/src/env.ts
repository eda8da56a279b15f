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
    getItem: (k) => m.get(k) ?? null,
    setItem: (k, v) => void m.set(k, v),
    removeItem: (k) => void m.delete(k),
  };
}

/** JSON.parse that answers undefined for anything unreadable. */
export const parse = <T>(s: string | null | undefined): T | undefined => {
  try {
    return s ? JSON.parse(s) : undefined;
  } catch {
    return undefined;
  }
};

// Every storage access is guarded: a full quota or a blocked storage never breaks the host page.
export const read = (s: KeyValueStorage | undefined, k: string): string | null | undefined => {
  try {
    return s?.getItem(k);
  } catch {
    return null;
  }
};

export const write = (s: KeyValueStorage | undefined, k: string, v: string): boolean => {
  try {
    s!.setItem(k, v);
    return true;
  } catch {
    return false;
  }
};

export const remove = (s: KeyValueStorage | undefined, k: string): void => {
  try {
    s?.removeItem(k);
  } catch {
    // nothing to undo
  }
};
