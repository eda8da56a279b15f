/** anonymousId, userId and traits: cookie first, mirrored in storage, persisted only when consent allows. */
import { parse, read, remove, write, type Env, type KeyValueStorage } from './env.js';

export const ANONYMOUS_ID = 'tally_aid';
export const USER_ID = 'tally_uid';
export const TRAITS = 'tally_traits';

export interface User {
  anonymousId: string;
  userId?: string | undefined;
  traits: Record<string, unknown>;
}

export interface Identity {
  user(): User;
  identify(userId: string | undefined, traits?: Record<string, unknown>): void;
  reset(): void;
  /** Stores the identity where consent allows it, else wipes it from cookie and storage. */
  save(): void;
}

export function createIdentity(env: Env, uuid: () => string, allowed: () => unknown): Identity {
  const { cookies: c, storage: s } = env;
  // The cookie wins: it is shared by sub-domains and survives a storage wipe of one of them.
  const load = (k: string) => read(c, k) || read(s, k) || undefined;
  let aid = load(ANONYMOUS_ID) || uuid();
  let uid = load(USER_ID);
  let traits = parse<Record<string, unknown>>(read(s, TRAITS)) || {};
  const keep = (kv: KeyValueStorage | undefined, k: string, v: string | undefined) =>
    allowed() && v ? write(kv, k, v) : remove(kv, k);
  const save = () => {
    for (const kv of [c, s]) {
      keep(kv, ANONYMOUS_ID, aid);
      keep(kv, USER_ID, uid);
    }
    keep(s, TRAITS, JSON.stringify(traits));
  };
  return {
    user: () => ({ anonymousId: aid, userId: uid, traits }),
    identify(u, t) {
      if (u != null && u !== uid) {
        if (uid) traits = {};
        uid = u;
      }
      traits = { ...traits, ...t };
      save();
    },
    reset() {
      aid = uuid();
      uid = undefined;
      traits = {};
      save();
    },
    save,
  };
}
