import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  test('with nothing configured, uses the development source and the embedded engine', () => {
    const config = loadConfig({});
    expect(config.usingDevelopmentSource).toBe(true);
    expect(config.sources).toEqual([{ id: 'dev', writeKey: 'dev-write-key', allowedOrigins: ['*'], consentMode: 'opt-out', kind: 'client' }]);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.port).toBe(3000);
  });

  test('reads sources from TALLY_SOURCES with defaults filled in', () => {
    const config = loadConfig({
      TALLY_SOURCES: JSON.stringify([{ id: 'shop', writeKey: 'shop-write-key', allowedOrigins: ['https://shop.example'] }]),
      DATABASE_URL: 'postgres://tally@db:5432/tally',
      PORT: '8080',
      TALLY_TRUST_PROXY: 'true',
    });
    expect(config.sources).toEqual([{ id: 'shop', writeKey: 'shop-write-key', allowedOrigins: ['https://shop.example'], consentMode: 'opt-out', kind: 'client' }]);
    expect(config).toMatchObject({ databaseUrl: 'postgres://tally@db:5432/tally', port: 8080, trustProxy: 1, usingDevelopmentSource: false });
  });

  test('reads sources from the file named by TALLY_CONFIG', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-config-'));
    const file = join(dir, 'tally.json');
    writeFileSync(file, JSON.stringify({ sources: [{ id: 'app', writeKey: 'app-write-key', consentMode: 'opt-in' }] }));
    expect(loadConfig({ TALLY_CONFIG: file }).sources[0]).toMatchObject({ id: 'app', consentMode: 'opt-in' });
  });

  test.each([
    [{ TALLY_SOURCES: '[{"id":"shop"}]' }, /TALLY_SOURCES: sources\[0\]\.writeKey/],
    [{ TALLY_SOURCES: '[{"id":"shop","writeKey":"k"}]' }, /sources\[0\]\.writeKey: expected at least 8 characters/],
    [{ TALLY_SOURCES: '[{"id":"shop","writeKey":"shop-write-key","consentMode":"maybe"}]' }, /sources\[0\]\.consentMode/],
    [{ TALLY_SOURCES: '[{"id":"shop","writeKey":"shop-write-key","allowedOrigins":["shop.example/x"]}]' }, /allowedOrigins\[0\]/],
    [{ TALLY_SOURCES: '[{"id":"a","writeKey":"same-key-1"},{"id":"b","writeKey":"same-key-1"}]' }, /sources\[1\]\.writeKey: another source/],
    [{ TALLY_SOURCES: '{not json' }, /TALLY_SOURCES: not valid JSON/],
    [{ TALLY_CONFIG: '/nonexistent/tally.json' }, /TALLY_CONFIG: cannot read/],
    [{ PORT: 'eighty' }, /^PORT:/],
    [{ DATABASE_URL: 'mysql://x' }, /^DATABASE_URL:/],
  ])('a bad value stops with a message naming it: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
