import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig, loadDatabaseLocation } from './config.js';

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

describe('loadConfig: surface settings', () => {
  test('listens on 127.0.0.1 unless HOST says otherwise, with server limits and rate limits by default', () => {
    const config = loadConfig({});
    expect(config.host).toBe('127.0.0.1');
    expect(config.server).toEqual({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, maxConnections: 1_024 });
    expect(config.rateLimit).toEqual({ perWriteKey: { ratePerSecond: 2000, burst: 4000 }, perIp: { ratePerSecond: 100, burst: 200 } });
    expect(config).toMatchObject({ publicUrl: undefined, metricsToken: undefined, adminKey: undefined });
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
  });

  test('reads rates and bursts, and turns a limit off with 0', () => {
    const config = loadConfig({ TALLY_RATE_LIMIT_WRITE_KEY_RPS: '0', TALLY_RATE_LIMIT_IP_RPS: '5', TALLY_RATE_LIMIT_IP_BURST: '7' });
    expect(config.rateLimit).toEqual({ perWriteKey: false, perIp: { ratePerSecond: 5, burst: 7 } });
  });

  test('reads the public URL, the metrics token, an admin key of 32 characters and the server limits', () => {
    const config = loadConfig({
      TALLY_PUBLIC_URL: 'https://collect.shop.example/',
      TALLY_METRICS_TOKEN: 'metrics-token-0123456789',
      TALLY_ADMIN_KEY: 'a'.repeat(32),
      TALLY_HEADERS_TIMEOUT_MS: '2000',
      TALLY_REQUEST_TIMEOUT_MS: '4000',
      TALLY_MAX_CONNECTIONS: '10',
      TALLY_TRACKER_SCRIPT: '/srv/tally.js',
    });
    expect(config).toMatchObject({
      publicUrl: 'https://collect.shop.example',
      metricsToken: 'metrics-token-0123456789',
      adminKey: 'a'.repeat(32),
      server: { headersTimeoutMs: 2000, requestTimeoutMs: 4000, maxConnections: 10 },
      trackerScriptPath: '/srv/tally.js',
    });
  });

  test('the database settings alone, for command-line tools', () => {
    expect(loadDatabaseLocation({})).toEqual({ databaseUrl: undefined, dataDir: '.tally-data' });
    expect(loadDatabaseLocation({ DATABASE_URL: 'postgres://db/x', TALLY_DATA_DIR: '/d', TALLY_SOURCES: 'not looked at' })).toEqual({ databaseUrl: 'postgres://db/x', dataDir: '/d' });
    expect(() => loadDatabaseLocation({ DATABASE_URL: 'mysql://x' })).toThrow(/^DATABASE_URL:/);
  });

  test.each([
    [{ TALLY_ADMIN_KEY: 'short-admin-key' }, /^TALLY_ADMIN_KEY: expected at least 32 characters$/],
    [{ TALLY_METRICS_TOKEN: 'short' }, /^TALLY_METRICS_TOKEN:/],
    [{ TALLY_PUBLIC_URL: 'collect.example' }, /^TALLY_PUBLIC_URL:/],
    [{ TALLY_PUBLIC_URL: 'https://collect.example/path' }, /^TALLY_PUBLIC_URL:/],
    [{ TALLY_RATE_LIMIT_IP_RPS: 'fast' }, /^TALLY_RATE_LIMIT_IP_RPS:/],
    [{ TALLY_RATE_LIMIT_WRITE_KEY_BURST: '-1' }, /^TALLY_RATE_LIMIT_WRITE_KEY_BURST:/],
    [{ TALLY_HEADERS_TIMEOUT_MS: '20000', TALLY_REQUEST_TIMEOUT_MS: '10000' }, /^TALLY_HEADERS_TIMEOUT_MS: must not be longer/],
    [{ TALLY_MAX_CONNECTIONS: '0' }, /^TALLY_MAX_CONNECTIONS:/],
    [{ TALLY_LOG_LEVEL: 'loud' }, /^TALLY_LOG_LEVEL:/],
  ])('a bad value stops with a message naming it: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('loadConfig: the dashboard', () => {
  const admin = 'a'.repeat(32);
  test('is off unless TALLY_DASHBOARD is on', () => {
    expect(loadConfig({}).dashboard).toBeUndefined();
    expect(loadConfig({ TALLY_DASHBOARD: 'off', TALLY_DASHBOARD_PASSWORD: 'long-enough-password' }).dashboard).toBeUndefined();
  });

  test('on, with a password or the admin key to log in with', () => {
    expect(loadConfig({ TALLY_DASHBOARD: 'on', TALLY_DASHBOARD_PASSWORD: 'long-enough-password' }).dashboard).toEqual({ password: 'long-enough-password', databaseUrl: undefined });
    expect(loadConfig({ TALLY_DASHBOARD: 'on', TALLY_ADMIN_KEY: admin }).dashboard).toEqual({ password: undefined, databaseUrl: undefined });
    expect(
      loadConfig({ TALLY_DASHBOARD: 'on', TALLY_ADMIN_KEY: admin, DATABASE_URL: 'postgres://tally@db/tally', TALLY_DASHBOARD_DATABASE_URL: 'postgres://dashboard@db/tally' }).dashboard,
    ).toEqual({ password: undefined, databaseUrl: 'postgres://dashboard@db/tally' });
  });

  test.each([
    [{ TALLY_DASHBOARD: 'yes' }, /^TALLY_DASHBOARD: expected "on" or "off"/],
    [{ TALLY_DASHBOARD: 'on' }, /^TALLY_DASHBOARD: "on" needs TALLY_DASHBOARD_PASSWORD or TALLY_ADMIN_KEY/],
    [{ TALLY_DASHBOARD: 'on', TALLY_DASHBOARD_PASSWORD: 'short' }, /^TALLY_DASHBOARD_PASSWORD: expected at least 12 characters$/],
    [{ TALLY_DASHBOARD: 'on', TALLY_ADMIN_KEY: admin, DATABASE_URL: 'postgres://tally@db/tally' }, /^TALLY_DASHBOARD_DATABASE_URL: required with DATABASE_URL/],
    [{ TALLY_DASHBOARD: 'on', TALLY_ADMIN_KEY: admin, TALLY_DASHBOARD_DATABASE_URL: 'mysql://db' }, /^TALLY_DASHBOARD_DATABASE_URL: expected a postgres:\/\//],
  ])('refuses %o with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
