/** Browser storage adapters: a first-party cookie jar and a guarded `localStorage`. */
import { attempt, type KeyValueStorage } from './env.js';

/**
 * Cookies for one year, `SameSite=Lax`, `Secure` on https, on `domain` when given
 * (so that sub-domains share the anonymousId).
 */
export function cookieStorage(domain?: string): KeyValueStorage {
  const set = (k: string, v: string, age: number) => {
    document.cookie = `${k}=${encodeURIComponent(v)};path=/;max-age=${age};SameSite=Lax${domain ? `;domain=${domain}` : ''}${
      location.protocol == 'https:' ? ';Secure' : ''
    }`;
  };
  return {
    getItem(k) {
      const m = document.cookie.match(`(?:^|; )${k}=([^;]*)`);
      return m && decodeURIComponent(m[1]!);
    },
    setItem: (k, v) => set(k, v, 31536e3),
    removeItem: (k) => set(k, '', 0),
  };
}

/** `localStorage`, or undefined where reaching it throws (sandboxed frames, some privacy modes). */
export const localStorageOrNothing = (): KeyValueStorage | undefined => attempt(() => localStorage);
