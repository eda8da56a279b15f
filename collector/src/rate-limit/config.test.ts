import { describe, expect, it } from 'vitest';
import { rateLimitConfigFromEnv } from './config.js';

describe('rateLimitConfigFromEnv', () => {
  it('has defaults that let a browser and a busy server SDK through', () => {
    expect(rateLimitConfigFromEnv({})).toEqual({
      perWriteKey: { ratePerSecond: 2000, burst: 4000 },
      perIp: { ratePerSecond: 100, burst: 200 },
    });
  });

  it('reads rates and bursts, and turns a limit off with 0', () => {
    expect(
      rateLimitConfigFromEnv({
        TALLY_RATE_LIMIT_WRITE_KEY_RPS: '0',
        TALLY_RATE_LIMIT_IP_RPS: '5',
        TALLY_RATE_LIMIT_IP_BURST: '7',
      }),
    ).toEqual({ perWriteKey: false, perIp: { ratePerSecond: 5, burst: 7 } });
  });

  it('stops with a message naming the variable that is wrong', () => {
    expect(() => rateLimitConfigFromEnv({ TALLY_RATE_LIMIT_IP_RPS: 'fast' })).toThrow(/TALLY_RATE_LIMIT_IP_RPS/);
    expect(() => rateLimitConfigFromEnv({ TALLY_RATE_LIMIT_WRITE_KEY_BURST: '-1' })).toThrow(
      /TALLY_RATE_LIMIT_WRITE_KEY_BURST/,
    );
  });
});
