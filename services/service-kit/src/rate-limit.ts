export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  refilledAt: number;
}

/**
 * One token bucket per API key: a key may spend `burst` tokens at once and `perSecond` on
 * average; what a token is, the service says — the ingest gateway counts events, the query API
 * requests. A refused request takes no tokens, and says how long until it would pass.
 */
export class TokenBucketLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #now: () => number;

  constructor(options: { perSecond: number; burst: number; now?: () => number }) {
    this.#perSecond = options.perSecond;
    this.#burst = options.burst;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Takes `cost` tokens from the key's bucket (1: one request), or refuses. */
  take(keyId: string, cost = 1): RateDecision {
    const now = this.#now();
    const bucket = this.#buckets.get(keyId) ?? { tokens: this.#burst, refilledAt: now };
    const elapsedSeconds = Math.max(0, now - bucket.refilledAt) / 1000;
    bucket.tokens = Math.min(this.#burst, bucket.tokens + elapsedSeconds * this.#perSecond);
    bucket.refilledAt = now;
    this.#buckets.set(keyId, bucket);
    if (cost <= bucket.tokens) {
      bucket.tokens -= cost;
      return { allowed: true };
    }
    const missing = Math.min(cost, this.#burst) - bucket.tokens;
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil(missing / this.#perSecond)),
    };
  }
}
