import { describe, expect, test } from 'vitest';
import type { Source } from '../config.js';
import { prepareItems } from './prepare.js';

const source = (consentMode: Source['consentMode']): Source => ({ id: 'shop', writeKey: 'wk', allowedOrigins: ['*'], consentMode, kind: 'client' });
const event = (consent: unknown) => ({ type: 'track', event: 'Viewed', messageId: 'm1', anonymousId: 'a1', context: { consent } });
const prepare = (mode: Source['consentMode'], consent: unknown) =>
  prepareItems([event(consent)], {
    source: source(mode),
    request: { receivedAt: new Date('2026-03-01T12:00:00Z'), ip: undefined, userAgent: undefined },
    skewThresholdMs: 60_000,
    pathPrefix: 'batch',
  });

describe('the collector applies the consent decision of @tally/schemas', () => {
  test('category names match case-insensitively, as consentGranted always did', () => {
    expect(prepare('opt-in', { categoryPreferences: { Analytics: true } }).events).toHaveLength(1);
    expect(prepare('opt-in', { categoryPreferences: { analytics: true }, category: 'Analytics' }).events).toHaveLength(1);
    expect(prepare('opt-out', { categoryPreferences: { Marketing: false }, category: 'marketing' }).events).toHaveLength(0);
  });

  test('opt-in stores nothing without a grant; opt-out everything not denied', () => {
    expect(prepare('opt-in', { categoryPreferences: { marketing: true } }).events).toHaveLength(0);
    expect(prepare('opt-in', undefined).events).toHaveLength(0);
    expect(prepare('opt-out', undefined).events).toHaveLength(1);
  });
});
