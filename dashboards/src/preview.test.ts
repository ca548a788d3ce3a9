import { describe, expect, it } from 'vitest';
import { relativeFrom } from './preview.js';

describe("a dashboard's own range for the preview", () => {
  const to = new Date('2024-04-05T12:00:00Z');
  it('counts back hours, days and calendar years from the end', () => {
    expect(relativeFrom('now-24h', to).toISOString()).toBe('2024-04-04T12:00:00.000Z');
    expect(relativeFrom('now-7d', to).toISOString()).toBe('2024-03-29T12:00:00.000Z');
    expect(relativeFrom('now-1y', to).toISOString()).toBe('2023-04-05T12:00:00.000Z');
  });
  it('refuses what is not a relative time', () => {
    expect(() => relativeFrom('yesterday', to)).toThrow(/not a relative time/);
  });
});
