import { describe, expect, it } from 'vitest';
import { median, percentile, round } from './stats.js';

describe('benchmark statistics', () => {
  it('takes nearest-rank percentiles', () => {
    const samples = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(samples, 0.5)).toBe(5);
    expect(percentile(samples, 0.99)).toBe(10);
    expect(percentile(samples, 0.9)).toBe(9);
    expect(percentile([42], 0.99)).toBe(42);
    expect(median([3, 1, 2])).toBe(2);
    expect(percentile([], 0.5)).toBeNaN();
  });

  it('rounds to significant digits', () => {
    expect(round(12345.678)).toBe(12300);
    expect(round(0.0012345)).toBe(0.00123);
  });
});
