import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clearBrowserState, fakeNetwork, settle, testEnv, type FakeNetwork } from '../test/helpers.js';
import { createTally } from './core.js';
import { cookieStorage } from './storage.js';

let net: FakeNetwork;
const start = () => {
  const t = createTally(testEnv(net));
  t.init({ writeKey: 'wk', flushAt: 1 });
  return t;
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

beforeEach(() => {
  vi.useFakeTimers();
  clearBrowserState();
  net = fakeNetwork();
});
afterEach(() => vi.useRealTimers());

describe('identity', () => {
  it('makes a random UUID anonymousId kept in a cookie and mirrored in localStorage', () => {
    const t = start();
    const aid = t.user()!.anonymousId;
    expect(aid).toMatch(UUID);
    expect(localStorage.getItem('tally_aid')).toBe(aid);
    expect(document.cookie).toContain(`tally_aid=${aid}`);
    expect(start().user()!.anonymousId).toBe(aid);
  });

  it('the cookie wins when cookie and storage disagree, and storage is corrected', () => {
    document.cookie = 'tally_aid=from-cookie;path=/';
    localStorage.setItem('tally_aid', 'from-storage');
    expect(start().user()!.anonymousId).toBe('from-cookie');
    expect(localStorage.getItem('tally_aid')).toBe('from-cookie');
  });

  it('falls back to storage when the cookie is gone', () => {
    localStorage.setItem('tally_aid', 'from-storage');
    expect(start().user()!.anonymousId).toBe('from-storage');
    expect(document.cookie).toContain('tally_aid=from-storage');
  });

  it('persists userId and traits; every message carries both ids', async () => {
    const t = start();
    t.identify('user-7', { email: 'a@example.com' });
    t.track('After Login');
    const t2 = start();
    expect(t2.user()).toEqual({ anonymousId: t.user()!.anonymousId, userId: 'user-7', traits: { email: 'a@example.com' } });
    t2.identify(undefined, { plan: 'pro' });
    expect(t2.user()!.traits).toEqual({ email: 'a@example.com', plan: 'pro' });
    await settle();
    for (const m of net.accepted()) {
      expect(m.anonymousId).toBe(t.user()!.anonymousId);
      expect(m.userId).toBe('user-7');
    }
    expect(net.accepted()[0]!.traits).toEqual({ email: 'a@example.com' });
  });

  it('reset() forgets userId and traits and rotates the anonymousId', () => {
    const t = start();
    const before = t.user()!.anonymousId;
    t.identify('user-7', { email: 'a@example.com' });
    t.reset();
    const after = t.user()!;
    expect(after.anonymousId).not.toBe(before);
    expect(after.anonymousId).toMatch(UUID);
    expect(after.userId).toBeUndefined();
    expect(after.traits).toEqual({});
    expect(start().user()).toEqual(after);
    expect(localStorage.getItem('tally_uid')).toBeNull();
  });

  it('alias sends the new userId with the current id as previousId', async () => {
    const t = start();
    t.alias('user-9');
    t.group('acme', { seats: 3 });
    await settle();
    const [alias, group] = net.accepted();
    expect(alias).toMatchObject({ type: 'alias', userId: 'user-9', previousId: t.user()!.anonymousId });
    expect(group).toMatchObject({ type: 'group', groupId: 'acme', traits: { seats: 3 } });
  });
});

describe('cookie adapter', () => {
  it('writes SameSite=Lax, a year, the configured domain, and Secure on https', () => {
    const written: string[] = [];
    const desc = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(document), 'cookie')!;
    Object.defineProperty(document, 'cookie', { configurable: true, get: () => desc.get!.call(document), set: (v: string) => written.push(v) });
    try {
      cookieStorage('example.com').setItem('tally_aid', 'x');
      expect(written[0]).toBe('tally_aid=x;path=/;max-age=31536000;SameSite=Lax;domain=example.com' + (location.protocol == 'https:' ? ';Secure' : ''));
      cookieStorage().removeItem('tally_aid');
      expect(written[1]).toMatch(/^tally_aid=;path=\/;max-age=0;SameSite=Lax/);
    } finally {
      delete (document as { cookie?: string }).cookie;
    }
  });
});
