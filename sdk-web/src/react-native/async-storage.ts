/**
 * React Native's storage is asynchronous (AsyncStorage), the core's is synchronous (Web Storage's
 * shape). The bridge: read what Tally stored once at start, then keep a copy in memory that
 * answers at once and writes through to the async store, in the order the writes were made.
 */
import { parse, type KeyValueStorage } from '../env.js';

/** AsyncStorage's shape (`@react-native-async-storage/async-storage` fits as is). */
export interface AsyncKeyValueStorage {
  getItem(key: string): Promise<string | null | undefined>;
  setItem(key: string, value: string): Promise<void>;
  removeItem(key: string): Promise<void>;
}

/** A synchronous view of an {@link AsyncKeyValueStorage} that lists its keys. */
export interface MirroredStorage extends KeyValueStorage {
  readonly length: number;
  key(index: number): string | null;
  /** Resolves once every write made so far has reached the async store (or failed). */
  written(): Promise<void>;
}

/**
 * The key listing every key Tally holds in the async store, so that the next start finds the
 * queues an earlier run left without `getAllKeys` (which would read the whole app's storage).
 */
export const KEYS = 'tally_keys';

/**
 * Loads what Tally stored in `store` and answers a synchronous mirror of it.
 * A read that fails counts as nothing stored; a write that fails goes to `onError`.
 * @example
 * const storage = await mirrorAsyncStorage(AsyncStorage);
 * storage.setItem('tally_aid', id); // in memory now, in AsyncStorage soon after
 */
export async function mirrorAsyncStorage(store: AsyncKeyValueStorage, onError: (e: unknown) => void = () => {}): Promise<MirroredStorage> {
  const get = async (k: string) => {
    try {
      return await store.getItem(k);
    } catch (e) {
      onError(e);
      return null;
    }
  };
  const m = new Map<string, string>();
  const listed = parse<unknown>(await get(KEYS));
  const keys = Array.isArray(listed) ? listed.filter((k): k is string => typeof k == 'string') : [];
  const values = await Promise.all(keys.map(get));
  keys.forEach((k, i) => typeof values[i] == 'string' && m.set(k, values[i]!));

  // One chain: the async store sees the writes in the order they were made.
  let chain = Promise.resolve();
  const later = (write: () => Promise<void>) => {
    chain = chain.then(write).catch(onError);
  };
  const index = () => {
    const list = JSON.stringify([...m.keys()]);
    later(() => store.setItem(KEYS, list));
  };
  return {
    getItem: (k) => m.get(k) ?? null,
    setItem(k, v) {
      if (m.get(k) === v) return;
      const added = !m.has(k);
      m.set(k, v);
      later(() => store.setItem(k, v));
      if (added) index();
    },
    removeItem(k) {
      if (!m.delete(k)) return;
      later(() => store.removeItem(k));
      index();
    },
    get length() {
      return m.size;
    },
    key: (i) => [...m.keys()][i] ?? null,
    written: () => chain,
  };
}
