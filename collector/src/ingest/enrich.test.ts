import { describe, expect, test } from 'vitest';
import { correctTimestamp, enrichEvent, parseUserAgent } from './enrich.js';

const at = (iso: string) => new Date(iso);

describe('correctTimestamp', () => {
  const received = at('2026-01-01T12:00:00.000Z');

  test('leaves a timestamp alone when the clock skew is under the threshold', () => {
    expect(correctTimestamp(at('2026-01-01T11:59:00.000Z'), at('2026-01-01T12:00:30.000Z'), received, 60_000).toISOString()).toBe(
      '2026-01-01T11:59:00.000Z',
    );
  });

  test('shifts by the skew past the threshold', () => {
    // Clock five minutes slow: sent "11:55", so the event at "11:54" happened at 11:59.
    expect(correctTimestamp(at('2026-01-01T11:54:00.000Z'), at('2026-01-01T11:55:00.000Z'), received, 60_000).toISOString()).toBe(
      '2026-01-01T11:59:00.000Z',
    );
  });

  test('never lies in the future', () => {
    expect(correctTimestamp(at('2026-01-01T12:00:30.000Z'), undefined, received, 60_000)).toEqual(received);
    expect(correctTimestamp(at('2027-01-01T00:00:00.000Z'), at('2026-01-01T12:00:10.000Z'), received, 60_000)).toEqual(received);
  });

  test('an event without a timestamp happened when it arrived', () => {
    expect(correctTimestamp(undefined, undefined, received, 60_000)).toEqual(received);
  });
});

describe('parseUserAgent', () => {
  test('names browser, version, OS and device type', () => {
    const chrome = parseUserAgent(
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    );
    expect(chrome).toEqual({ browser: 'Chrome', browser_version: '124.0.0.0', os: 'Windows', os_version: '10', device_type: 'desktop' });
    const ipad = parseUserAgent(
      'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    );
    expect(ipad.device_type).toBe('tablet');
  });

  test('an absent agent gives empty fields', () => {
    expect(parseUserAgent(undefined).browser).toBeNull();
  });
});

describe('enrichEvent', () => {
  const request = { receivedAt: at('2026-01-01T12:00:00.000Z'), ip: '198.51.100.200', userAgent: 'curl/8.0' };
  const options = { sourceId: 'shop', skewThresholdMs: 60_000 };

  test('truncates the address, also the one a server library put in context.ip', () => {
    const fromRequest = enrichEvent({ type: 'track', messageId: 'm1', event: 'E' }, request, options);
    expect(fromRequest.ip).toBe('198.51.100.0');
    const fromContext = enrichEvent({ type: 'track', messageId: 'm2', event: 'E', context: { ip: '203.0.113.9' } }, request, options);
    expect(fromContext.ip).toBe('203.0.113.0');
    expect(fromContext.context.ip).toBe('203.0.113.0');
  });

  test('lifts page fields and UTM parameters from the page URL when there is no campaign', () => {
    const row = enrichEvent(
      { type: 'track', messageId: 'm3', event: 'E', context: { page: { url: 'https://shop.example/a/b?utm_source=x&utm_content=y' } } },
      request,
      options,
    );
    expect(row).toMatchObject({ path: '/a/b', utm_source: 'x', utm_content: 'y', utm_medium: null });
  });

  test('without a timestamp, the event time is the arrival time and no original is recorded', () => {
    const row = enrichEvent({ type: 'track', messageId: 'm4', event: 'E' }, request, options);
    expect(row.timestamp).toBe('2026-01-01T12:00:00.000Z');
    expect(row.original_timestamp).toBeNull();
  });

  test("an app's stated OS and device fill the agent columns when the event carries no user agent of its own", () => {
    const app = (context: Record<string, unknown>) => enrichEvent({ type: 'screen', messageId: 'm5', name: 'Home', context }, { ...request, userAgent: 'okhttp/4.12.0' }, options);
    expect(app({ os: { name: 'iOS', version: '17.4' }, device: { type: 'ios', model: 'iPhone15,2' } })).toMatchObject({
      browser: null, browser_version: null, os: 'iOS', os_version: '17.4', device_type: 'mobile',
    });
    expect(app({ os: { name: 'iOS', version: '17.4' }, device: { type: 'ios', model: 'iPad13,4' } }).device_type).toBe('tablet');
    expect(app({ os: { name: 'Android', version: '14' }, device: { type: 'tablet' } })).toMatchObject({ os: 'Android', os_version: '14', device_type: 'tablet' });
    expect(app({ os: { name: 'Windows' } })).toMatchObject({ os: 'Windows', os_version: null, device_type: null });
    // A user agent in context is the device's own: it wins, as before.
    const android = 'Dalvik/2.1.0 (Linux; U; Android 13; Pixel 7 Build/TQ3A.230901.001)';
    expect(app({ os: { name: 'Android', version: '13' }, userAgent: android })).toMatchObject(parseUserAgent(android));
    // Without a stated OS, the request's agent is read as before.
    expect(app({ device: { type: 'ios' } })).toMatchObject(parseUserAgent('okhttp/4.12.0'));
  });
});
