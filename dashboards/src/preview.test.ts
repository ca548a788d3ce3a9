import { describe, expect, it } from 'vitest';
import { formatValue, relativeFrom, showsName, thresholdColour } from './preview.js';

describe("a dashboard's own range for the preview (Grafana's date math in Europe/London)", () => {
  // 13:00 BST on Friday 5 April 2024; the clocks went forward at 01:00 UTC on 31 March.
  const to = new Date('2024-04-05T12:00:00Z');

  it('counts hours back as elapsed time', () => {
    expect(relativeFrom('now-24h', to).toISOString()).toBe('2024-04-04T12:00:00.000Z');
    expect(relativeFrom('now-6h', to).toISOString()).toBe('2024-04-05T06:00:00.000Z');
  });

  it('counts days and weeks on London’s calendar, keeping 13:00 across the clocks change', () => {
    // 13:00 GMT on 29 March (before the change) is 13:00 UTC: 169 hours, not 168.
    expect(relativeFrom('now-7d', to).toISOString()).toBe('2024-03-29T13:00:00.000Z');
    expect(relativeFrom('now-1w', to).toISOString()).toBe('2024-03-29T13:00:00.000Z');
    // Within summer time: 13:00 BST on 2 April is 12:00 UTC.
    expect(relativeFrom('now-3d', to).toISOString()).toBe('2024-04-02T12:00:00.000Z');
    // Back over the autumn change: 13:00 GMT on 1 Nov 2024 from 13:00 BST on 25 Oct.
    const autumn = new Date('2024-10-25T12:00:00Z');
    expect(relativeFrom('now-7d', new Date('2024-11-01T13:00:00Z')).toISOString()).toBe(
      autumn.toISOString(),
    );
  });

  it('counts months and years on the calendar', () => {
    // 13:00 GMT on 5 March is 13:00 UTC.
    expect(relativeFrom('now-1M', to).toISOString()).toBe('2024-03-05T13:00:00.000Z');
    // 13:00 BST on 5 April 2023 is 12:00 UTC.
    expect(relativeFrom('now-1y', to).toISOString()).toBe('2023-04-05T12:00:00.000Z');
    // 30 days back from 13:00 BST on 5 April: 13:00 GMT on 6 March.
    expect(relativeFrom('now-30d', to).toISOString()).toBe('2024-03-06T13:00:00.000Z');
  });

  it('refuses what is not a relative time', () => {
    expect(() => relativeFrom('yesterday', to)).toThrow(/not a relative time/);
  });
});

describe('stat colours and names, as Grafana draws them', () => {
  const steps = [
    { value: null, color: 'green' },
    { value: 3, color: 'orange' },
    { value: 10, color: 'red' },
  ];
  it('takes the last threshold step at or below the value', () => {
    expect(thresholdColour(2, steps)).toBe('#73bf69');
    expect(thresholdColour(3, steps)).toBe('#ff9830');
    expect(thresholdColour(9.9, steps)).toBe('#ff9830');
    expect(thresholdColour(10, steps)).toBe('#f2495c');
    expect(thresholdColour(null, steps)).toBeUndefined();
    // No thresholds set: Grafana's defaults, green then red from 80.
    expect(thresholdColour(79)).toBe('#73bf69');
    expect(thresholdColour(80)).toBe('#f2495c');
  });
  it('names values in auto mode only when there is more than one', () => {
    expect(showsName('auto', 1)).toBe(false);
    expect(showsName(undefined, 1)).toBe(false);
    expect(showsName('auto', 2)).toBe(true);
    expect(showsName('value_and_name', 1)).toBe(true);
    expect(showsName('value', 3)).toBe(false);
  });
});

describe("values written as Grafana's units write them", () => {
  it('picks decimals by magnitude (in effect three significant digits) and drops them for integers', () => {
    expect(formatValue(75)).toBe('75');
    // 0.93: magnitude 0.01, normalised 93 > 2.25 → 3 decimals.
    expect(formatValue(0.93)).toBe('0.930');
    expect(formatValue(0.5333333)).toBe('0.533');
    expect(formatValue(1.2)).toBe('1.20');
    expect(formatValue(12.345, undefined, 1)).toBe('12.3');
  });
  it('writes shares as percentages', () => {
    expect(formatValue(0.75, 'percentunit')).toBe('75%');
    expect(formatValue(0.556, 'percentunit')).toBe('55.6%');
    expect(formatValue(1, 'percentunit')).toBe('100%');
    expect(formatValue(0.8, 'percentunit', 1)).toBe('80.0%');
  });
  it('writes seconds in the largest unit below the value', () => {
    expect(formatValue(20, 's')).toBe('20 s');
    expect(formatValue(119, 's')).toBe('1.98 min');
    // 3 h − 2 s = 2.99944 hours, two decimals (normalised 30 > 2.25).
    expect(formatValue(3 * 3600 - 2, 's')).toBe('3.00 hour');
    expect(formatValue(2 * 86400, 's')).toBe('2 day');
    expect(formatValue(15, 'h')).toBe('15 hour');
    expect(formatValue(36, 'h')).toBe('1.50 day');
  });
  it('writes minutes in the largest unit below the value', () => {
    expect(formatValue(31, 'm')).toBe('31 min');
    expect(formatValue(159, 'm')).toBe('2.65 hour');
    expect(formatValue(0.5, 'm')).toBe('30 s');
    expect(formatValue(1510, 'm')).toBe('1.05 day');
  });
  it('writes no value as a dash', () => {
    expect(formatValue(null, 's')).toBe('—');
  });
});
