import { describe, expect, it } from 'vitest';
import { TokenBucketLimiter } from './rate-limit.js';

function limiterWithClock(perSecond: number, burst: number) {
  let nowMs = 0;
  const limiter = new TokenBucketLimiter({ perSecond, burst, now: () => nowMs });
  return {
    limiter,
    advance: (ms: number) => {
      nowMs += ms;
    },
  };
}

describe('TokenBucketLimiter', () => {
  it('lets a full burst through at once, then refuses until tokens come back', () => {
    const { limiter, advance } = limiterWithClock(100, 1_000);
    expect(limiter.take('cad', 1_000)).toEqual({ allowed: true });
    // 250 events need 250 tokens: 2.5 s at 100 a second, rounded up to 3 s.
    expect(limiter.take('cad', 250)).toEqual({ allowed: false, retryAfterSeconds: 3 });
    advance(2_500);
    expect(limiter.take('cad', 250)).toEqual({ allowed: true });
    expect(limiter.take('cad', 1)).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it('takes no tokens for a refused request', () => {
    const { limiter, advance } = limiterWithClock(10, 100);
    expect(limiter.take('cad', 95)).toEqual({ allowed: true });
    expect(limiter.take('cad', 50)).toEqual({ allowed: false, retryAfterSeconds: 5 });
    expect(limiter.take('cad', 5)).toEqual({ allowed: true });
    advance(1_000);
    expect(limiter.take('cad', 10)).toEqual({ allowed: true });
  });

  it('never holds more than the burst, however long a key was idle', () => {
    const { limiter, advance } = limiterWithClock(100, 500);
    advance(3_600_000);
    expect(limiter.take('cad', 501)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(limiter.take('cad', 500)).toEqual({ allowed: true });
  });

  it('costs one token a take unless told otherwise (the query API counts requests)', () => {
    const { limiter, advance } = limiterWithClock(2, 3);
    expect([1, 2, 3, 4].map(() => limiter.take('analyst'))).toEqual([
      { allowed: true },
      { allowed: true },
      { allowed: true },
      { allowed: false, retryAfterSeconds: 1 },
    ]);
    advance(500);
    expect(limiter.take('analyst')).toEqual({ allowed: true });
  });

  it('keeps one bucket per key', () => {
    const { limiter } = limiterWithClock(1, 10);
    expect(limiter.take('cad', 10)).toEqual({ allowed: true });
    expect(limiter.take('telephony', 10)).toEqual({ allowed: true });
    expect(limiter.take('cad', 1)).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });
});
