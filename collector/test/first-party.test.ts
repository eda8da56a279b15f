/**
 * The collector reached under the site's own domain (issue 15): the tracker under a file name of
 * the site's choosing, and the anonymousId cookie set by the server — only for a source that asks
 * for it, only for the site's own pages, only while the event's consent allows analytics.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AppConfig } from '../src/app-context.js';
import { ANONYMOUS_ID_COOKIE_MAX_AGE } from '../src/anonymous-id-cookie.js';
import { loadConfig, type Source } from '../src/config.js';
import { newsletter, postJson, shop, testApp, testConfig, trackEvent } from './support/collector-app.js';
import { createTestDatabase, testEngine, type TestDatabase } from './support/test-database.js';

const GRANTED = { necessary: true, analytics: true, marketing: false };
const DENIED = { necessary: true, analytics: false, marketing: false };
const SITE = { origin: 'https://shop.example', 'sec-fetch-site': 'same-origin' };

describe(`first-party set-up on ${testEngine}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.close());

  const app = (config: Partial<AppConfig>, sources: Source[] = [{ ...shop, anonymousIdCookie: true }, newsletter]) =>
    testApp(database, { config: { ...testConfig, sources, ...config }, trackerScript: '(()=>{window.tally=1})();' });
  const stored = (messageId: string) => database.db.selectFrom('events').select(['anonymous_id', 'event']).where('message_id', '=', messageId).execute();
  const send = (a: ReturnType<typeof app>, events: Record<string, unknown>[], writeKey: string, headers: Record<string, string> = SITE) =>
    postJson(a, '/v1/batch', { batch: events, writeKey, sentAt: new Date().toISOString() }, headers);
  const consented = (anonymousId: string, categoryPreferences: Record<string, boolean>, category = 'analytics') =>
    trackEvent({ anonymousId, context: { consent: { categoryPreferences, category } } });

  describe('the tracker’s file name', () => {
    test('TALLY_TRACKER_SCRIPT_NAME serves the tracker at that name alone; t.js and tally.js answer 404', async () => {
      const named = app({ trackerScriptName: 'p.js' });
      const res = await named.request('/p.js');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('javascript');
      expect(await res.text()).toBe('(()=>{window.tally=1})();');
      expect((await named.request('/t.js')).status).toBe(404);
      expect((await named.request('/tally.js')).status).toBe(404);
    });

    test('the name is read from the environment and checked: a bad one stops with a message naming it', () => {
      expect(loadConfig({ TALLY_TRACKER_SCRIPT_NAME: 'pixel.js' }).trackerScriptName).toBe('pixel.js');
      expect(loadConfig({}).trackerScriptName).toBeUndefined();
      for (const bad of ['../etc/passwd.js', 'a/b.js', 'tracker', '.js'])
        expect(() => loadConfig({ TALLY_TRACKER_SCRIPT_NAME: bad })).toThrow(/^TALLY_TRACKER_SCRIPT_NAME: expected a file name ending in \.js/);
      expect(loadConfig({ TALLY_ANONYMOUS_ID_COOKIE: 'true' }).anonymousIdCookie).toBe(true);
      expect(loadConfig({}).anonymousIdCookie).toBe(false);
      expect(() => loadConfig({ TALLY_ANONYMOUS_ID_COOKIE: 'yes' })).toThrow(/^TALLY_ANONYMOUS_ID_COOKIE: expected true or false/);
    });
  });

  describe('the anonymousId cookie set by the server', () => {
    test('a page’s batch whose consent allows analytics gets a long-lived first-party cookie with its anonymousId, and the event is stored', async () => {
      const event = consented('aid-first-party', GRANTED);
      const res = await send(app({}), [event], shop.writeKey);
      expect(res.status).toBe(200);
      expect(res.headers.get('set-cookie')).toBe(`tally_aid=aid-first-party; Path=/; Max-Age=${ANONYMOUS_ID_COOKIE_MAX_AGE}; SameSite=Lax; Secure`);
      expect(ANONYMOUS_ID_COOKIE_MAX_AGE).toBe(400 * 86_400);
      expect(await stored(event.messageId as string)).toEqual([{ anonymous_id: 'aid-first-party', event: 'Signed Up' }]);
    });

    test('the cookie follows the batch’s last event: a later anonymousId (after a reset) replaces the earlier', async () => {
      const res = await send(app({}), [consented('aid-before-reset', GRANTED), consented('aid-after-reset', GRANTED)], shop.writeKey);
      expect(res.headers.get('set-cookie')).toMatch(/^tally_aid=aid-after-reset;/);
    });

    test('a deny (the Consent Updated event that names no one) clears the cookie; it is stored all the same', async () => {
      const deny = trackEvent({ event: 'Consent Updated', anonymousId: undefined, properties: DENIED, context: { consent: { categoryPreferences: DENIED, category: 'necessary' } } });
      const res = await send(app({}), [consented('aid-then-deny', GRANTED), deny], shop.writeKey);
      expect(res.headers.get('set-cookie')).toBe('tally_aid=; Path=/; Max-Age=0; SameSite=Lax; Secure');
      expect(await stored(deny.messageId as string)).toEqual([{ anonymous_id: null, event: 'Consent Updated' }]);
    });

    test('an event stored under marketing alone, analytics denied, sets no cookie but clears it', async () => {
      const res = await send(app({}), [consented('aid-marketing-only', { necessary: true, analytics: false, marketing: true }, 'marketing')], shop.writeKey);
      expect(res.headers.get('set-cookie')).toMatch(/^tally_aid=; .*Max-Age=0/);
    });

    test('an opt-in source without a decision: the event is refused and no cookie is set', async () => {
      const optIn = { ...newsletter, anonymousIdCookie: true };
      const event = trackEvent({ anonymousId: 'aid-undecided' });
      const res = await send(app({}, [optIn]), [event], optIn.writeKey, { ...SITE, origin: 'https://news.example' });
      expect(((await res.json()) as { rejected: unknown[] }).rejected).toHaveLength(1);
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(await stored(event.messageId as string)).toEqual([]);
    });

    test('no cookie for a cross-site page, a sender without Origin (a server, an app), or a source that did not ask', async () => {
      const a = app({});
      expect((await send(a, [consented('aid-x', GRANTED)], shop.writeKey, { ...SITE, 'sec-fetch-site': 'cross-site' })).headers.get('set-cookie')).toBeNull();
      expect((await send(a, [consented('aid-x', GRANTED)], shop.writeKey, {})).headers.get('set-cookie')).toBeNull();
      const off = app({}, [shop]);
      expect((await send(off, [consented('aid-x', GRANTED)], shop.writeKey)).headers.get('set-cookie')).toBeNull();
    });

    test('TALLY_ANONYMOUS_ID_COOKIE turns it on for every source that does not say; a source’s false wins; http pages get no Secure', async () => {
      const on = app({ anonymousIdCookie: true }, [{ ...shop, allowedOrigins: ['*'] }, { ...newsletter, allowedOrigins: ['*'], consentMode: 'opt-out', anonymousIdCookie: false }]);
      const res = await send(on, [consented('aid-config', GRANTED)], shop.writeKey, { origin: 'http://localhost:8080', 'sec-fetch-site': 'same-origin' });
      expect(res.headers.get('set-cookie')).toBe(`tally_aid=aid-config; Path=/; Max-Age=${ANONYMOUS_ID_COOKIE_MAX_AGE}; SameSite=Lax`);
      expect((await send(on, [consented('aid-config', GRANTED)], newsletter.writeKey)).headers.get('set-cookie')).toBeNull();
    });
  });
});
