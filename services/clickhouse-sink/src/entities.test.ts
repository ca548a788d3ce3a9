import { describe, expect, it } from 'vitest';
import { KeyFilter, londonMonthStart } from './entities.js';

describe('the entity key filter (Bloom filter)', () => {
  it('never forgets a key, and answers "maybe" for about 1% of keys it never saw, at capacity', () => {
    const filter = new KeyFilter(100_000);
    for (let i = 0; i < 100_000; i += 1) filter.add(`staffordshire-fire\u0000INC-${i}`);
    for (let i = 0; i < 100_000; i += 1) {
      expect(filter.mightContain(`staffordshire-fire\u0000INC-${i}`)).toBe(true);
    }
    let falsePositives = 0;
    for (let i = 0; i < 100_000; i += 1) {
      if (filter.mightContain(`westmids-fire\u0000INC-${i}`)) falsePositives += 1;
    }
    // 10 bits and 7 hashes a key: 0.8% in theory.
    expect(falsePositives / 100_000).toBeLessThan(0.015);
  });
});

describe('the London month an entity is anchored in', () => {
  it('follows London time across both clocks changes and the new year', () => {
    expect(londonMonthStart('2024-03-31T23:30:00Z')).toBe('2024-04-01'); // 00:30 BST
    expect(londonMonthStart('2024-10-31T23:30:00Z')).toBe('2024-10-01'); // 23:30 GMT
    expect(londonMonthStart('2023-12-31T23:59:59.999Z')).toBe('2023-12-01');
    expect(londonMonthStart('2024-06-30T23:00:00Z')).toBe('2024-07-01'); // 00:00 BST
  });
});
