import { createHash } from 'node:crypto';

/**
 * A small, fast, seedable generator (sfc32). Every stream is derived from the run's seed and a
 * label, so one part of the simulation drawing more numbers never shifts another part: the same
 * seed gives the same events whatever range or speed is asked for.
 */
export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number, ...labels: (string | number)[]) {
    const digest = createHash('sha256')
      .update(`${seed}:${labels.join(':')}`)
      .digest();
    this.#a = digest.readUInt32LE(0);
    this.#b = digest.readUInt32LE(4);
    this.#c = digest.readUInt32LE(8);
    this.#d = digest.readUInt32LE(12);
    for (let warmUp = 0; warmUp < 12; warmUp += 1) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  integer(min: number, maxInclusive: number): number {
    return Math.floor(this.uniform(min, maxInclusive + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  normal(mean = 0, sd = 1): number {
    const u = 1 - this.next();
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal with the given mean and coefficient of variation. */
  logNormal(mean: number, cv: number): number {
    const sigma2 = Math.log(1 + cv * cv);
    const mu = Math.log(mean) - sigma2 / 2;
    return Math.exp(this.normal(mu, Math.sqrt(sigma2)));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Picks by weight (weights need not sum to 1). */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((sum, [, weight]) => sum + weight, 0);
    let target = this.next() * total;
    for (const [item, weight] of items) {
      target -= weight;
      if (target < 0) return item;
    }
    return (items.at(-1) as readonly [T, number])[0];
  }

  shuffle<T>(items: T[]): T[] {
    for (let index = items.length - 1; index > 0; index -= 1) {
      const other = Math.floor(this.next() * (index + 1));
      [items[index], items[other]] = [items[other] as T, items[index] as T];
    }
    return items;
  }

  /** A UUID v7 for `atMs` whose random bits come from this stream (deterministic). */
  uuidV7(atMs: number): string {
    const hex = Math.max(0, Math.floor(atMs)).toString(16).padStart(12, '0').slice(-12);
    let random = '';
    for (let index = 0; index < 5; index += 1) {
      random += Math.floor(this.next() * 65536)
        .toString(16)
        .padStart(4, '0');
    }
    const variant = ((Number.parseInt(random.slice(3, 4), 16) & 0x3) | 0x8).toString(16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${random.slice(0, 3)}-${variant}${random.slice(4, 7)}-${random.slice(7, 19)}`;
  }
}

/** Rescales values (in place) so their mean is exactly `target`; returns them. */
export function rescaleToMean(values: number[], target: number): number[] {
  if (values.length === 0) return values;
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const factor = target / mean;
  for (let index = 0; index < values.length; index += 1) {
    values[index] = (values[index] as number) * factor;
  }
  return values;
}

/** Exactly round(count × share) trues, in a seeded random order. */
export function exactQuota(random: Random, count: number, share: number): boolean[] {
  const hits = Math.round(count * share);
  return random.shuffle(Array.from({ length: count }, (_, index) => index < hits));
}
