export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  refilledAt: number;
}

/**
 * One token bucket per key, counted in events (not requests): a producer may send `burst` events
 * at once and `eventsPerSecond` on average. A refused request takes no tokens.
 */
export class EventRateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #eventsPerSecond: number;
  readonly #burst: number;
  readonly #now: () => number;

  constructor(options: { eventsPerSecond: number; burst: number; now?: () => number }) {
    this.#eventsPerSecond = options.eventsPerSecond;
    this.#burst = options.burst;
    this.#now = options.now ?? (() => performance.now());
  }

  take(keyId: string, events: number): RateDecision {
    const now = this.#now();
    const bucket = this.#buckets.get(keyId) ?? { tokens: this.#burst, refilledAt: now };
    const elapsedSeconds = Math.max(0, now - bucket.refilledAt) / 1000;
    bucket.tokens = Math.min(this.#burst, bucket.tokens + elapsedSeconds * this.#eventsPerSecond);
    bucket.refilledAt = now;
    this.#buckets.set(keyId, bucket);
    if (events <= bucket.tokens) {
      bucket.tokens -= events;
      return { allowed: true };
    }
    const missing = Math.min(events, this.#burst) - bucket.tokens;
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil(missing / this.#eventsPerSecond)),
    };
  }
}
