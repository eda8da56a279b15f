import { describe, expect, it } from 'vitest';
import { createTokenBucketLimiter } from './token-bucket.js';

function clock() {
  let at = 0;
  return { now: () => at, advance: (ms: number) => (at += ms) };
}

describe('createTokenBucketLimiter', () => {
  it('lets a burst through, then refuses until tokens refill at the given rate', () => {
    const time = clock();
    const limiter = createTokenBucketLimiter({ ratePerSecond: 2, burst: 3, now: time.now });
    expect([1, 2, 3].map(() => limiter.take('k').allowed)).toEqual([true, true, true]);
    expect(limiter.take('k')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    time.advance(499);
    expect(limiter.take('k').allowed).toBe(false);
    time.advance(1);
    expect(limiter.take('k').allowed).toBe(true);
    expect(limiter.take('k').allowed).toBe(false);
  });

  it('wait says how long until a take would pass, and takes nothing', () => {
    const time = clock();
    const limiter = createTokenBucketLimiter({ ratePerSecond: 0.5, burst: 2, now: time.now });
    expect(limiter.wait('k')).toBe(0);
    expect(limiter.size).toBe(0);
    limiter.take('k');
    expect(limiter.wait('k')).toBe(0);
    expect(limiter.wait('k')).toBe(0);
    limiter.take('k');
    expect(limiter.wait('k')).toBe(2);
    time.advance(1_000);
    expect(limiter.wait('k')).toBe(1);
    time.advance(1_000);
    expect(limiter.wait('k')).toBe(0);
    expect(limiter.take('k').allowed).toBe(true);
  });

  it('says how many whole seconds to wait, rounded up', () => {
    const time = clock();
    const limiter = createTokenBucketLimiter({ ratePerSecond: 0.25, burst: 1, now: time.now });
    expect(limiter.take('k').allowed).toBe(true);
    expect(limiter.take('k')).toEqual({ allowed: false, retryAfterSeconds: 4 });
    time.advance(2_500);
    expect(limiter.take('k')).toEqual({ allowed: false, retryAfterSeconds: 2 });
  });

  it('never refills past the burst after a long quiet spell', () => {
    const time = clock();
    const limiter = createTokenBucketLimiter({ ratePerSecond: 10, burst: 5, now: time.now });
    time.advance(3_600_000);
    const allowed = Array.from({ length: 8 }, () => limiter.take('k').allowed);
    expect(allowed.filter(Boolean)).toHaveLength(5);
  });

  it('keeps a separate bucket per key', () => {
    const time = clock();
    const limiter = createTokenBucketLimiter({ ratePerSecond: 1, burst: 1, now: time.now });
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    expect(limiter.take('b').allowed).toBe(true);
  });

  it('charges a cost of several tokens and refuses a cost larger than the burst', () => {
    const time = clock();
    const limiter = createTokenBucketLimiter({ ratePerSecond: 10, burst: 20, now: time.now });
    expect(limiter.take('k', 15)).toEqual({ allowed: true, remaining: 5 });
    expect(limiter.take('k', 10)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(limiter.take('other', 21)).toEqual({ allowed: false, retryAfterSeconds: 2 });
  });

  it('stays within maxKeys however many distinct keys arrive, forgetting the least recently used', () => {
    const time = clock();
    const limiter = createTokenBucketLimiter({ ratePerSecond: 1, burst: 1, maxKeys: 100, now: time.now });
    limiter.take('hot');
    for (let i = 0; i < 10_000; i += 1) {
      if (i % 50 === 0) expect(limiter.take('hot').allowed).toBe(false);
      limiter.take(`forged-${i}`);
      expect(limiter.size).toBeLessThanOrEqual(100);
    }
    // 'hot' was used recently throughout, so its spent bucket was kept.
    expect(limiter.take('hot').allowed).toBe(false);
  });

  it('drops keys idle long enough to have refilled, since they would start full anyway', () => {
    const time = clock();
    const limiter = createTokenBucketLimiter({ ratePerSecond: 1, burst: 2, now: time.now });
    for (let i = 0; i < 1_000; i += 1) limiter.take(`k${i}`);
    expect(limiter.size).toBe(1_000);
    time.advance(2_000);
    limiter.take('fresh');
    expect(limiter.size).toBe(1);
  });

  it('refuses settings that could never let anything through', () => {
    expect(() => createTokenBucketLimiter({ ratePerSecond: 0, burst: 1 })).toThrow(/ratePerSecond/);
    expect(() => createTokenBucketLimiter({ ratePerSecond: 1, burst: 0 })).toThrow(/burst/);
    expect(() => createTokenBucketLimiter({ ratePerSecond: 1, burst: 1, maxKeys: 0 })).toThrow(/maxKeys/);
  });
});
