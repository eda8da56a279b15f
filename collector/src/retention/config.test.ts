import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';

describe('retention settings', () => {
  test('default to an hourly run, 30 days of rejected events and roll-ups refreshed every 5 minutes', () => {
    expect(loadConfig({}).retention).toEqual({ intervalMs: 3_600_000, rejectedRetentionDays: 30, rollupIntervalMs: 300_000 });
  });

  test('are read from the environment', () => {
    expect(loadConfig({ TALLY_RETENTION_INTERVAL_MS: '60000', TALLY_REJECTED_RETENTION_DAYS: '7', TALLY_ROLLUP_INTERVAL_MS: '30000' }).retention).toEqual({
      intervalMs: 60_000,
      rejectedRetentionDays: 7,
      rollupIntervalMs: 30_000,
    });
  });

  test('a bad value stops the collector with a message naming the variable', () => {
    expect(() => loadConfig({ TALLY_REJECTED_RETENTION_DAYS: 'a month' })).toThrow(ConfigError);
    expect(() => loadConfig({ TALLY_REJECTED_RETENTION_DAYS: 'a month' })).toThrow(/TALLY_REJECTED_RETENTION_DAYS/);
    expect(() => loadConfig({ TALLY_RETENTION_INTERVAL_MS: '0' })).toThrow(/TALLY_RETENTION_INTERVAL_MS: expected at least 1000/);
    expect(() => loadConfig({ TALLY_ROLLUP_INTERVAL_MS: 'often' })).toThrow(/TALLY_ROLLUP_INTERVAL_MS/);
  });

  test("a source's retentionDays is a whole number of days, 1 or more", () => {
    const sources = (retentionDays: unknown) => JSON.stringify([{ id: 'shop', writeKey: 'shop-key-1234', retentionDays }]);
    expect(loadConfig({ TALLY_SOURCES: sources(395) }).sources[0]?.retentionDays).toBe(395);
    expect(() => loadConfig({ TALLY_SOURCES: sources(0) })).toThrow('TALLY_SOURCES: sources[0].retentionDays: expected 1 day or more');
    expect(() => loadConfig({ TALLY_SOURCES: sources(1.5) })).toThrow('TALLY_SOURCES: sources[0].retentionDays: expected a whole number of days');
  });
});
