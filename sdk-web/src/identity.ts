/** anonymousId, userId and traits: cookie first, mirrored in storage, persisted only when allowed. */
import { parse, read, remove, write, type Env } from './env.js';

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
  save(): void;
  purge(): void;
}

export function createIdentity(env: Env, uuid: () => string): Identity {
  const { cookies: c, storage: s } = env;
  // The cookie wins: it is shared by sub-domains and survives a storage wipe of one of them.
  const load = (k: string) => read(c, k) || read(s, k) || undefined;
  let aid = load(ANONYMOUS_ID) || uuid();
  let uid = load(USER_ID);
  let traits = parse<Record<string, unknown>>(read(s, TRAITS)) || {};
  const both = (k: string, v: string | undefined) => {
    for (const kv of [c, s]) v ? write(kv, k, v) : remove(kv, k);
  };
  return {
    user: () => ({ anonymousId: aid, userId: uid, traits }),
    identify(u, t) {
      if (u != null && u !== uid) {
        if (uid) traits = {};
        uid = u;
      }
      traits = { ...traits, ...t };
    },
    reset() {
      aid = uuid();
      uid = undefined;
      traits = {};
    },
    save() {
      both(ANONYMOUS_ID, aid);
      both(USER_ID, uid);
      write(s, TRAITS, JSON.stringify(traits));
    },
    purge() {
      for (const k of [ANONYMOUS_ID, USER_ID, TRAITS]) both(k, undefined);
    },
  };
}
