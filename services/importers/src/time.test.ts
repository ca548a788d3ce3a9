import { describe, expect, it } from 'vitest';
import { instantsOf, nextOccurrence, toInstant, type WallTime, WallTimeFormat } from './time.js';

const iso = (ms: number) => new Date(ms).toISOString();
const wall = (text: string): WallTime => {
  const parsed = new WallTimeFormat(['yyyy-MM-dd HH:mm:ss']).parse(text);
  if (!parsed || 'lostDigits' in parsed) throw new Error(`bad test wall time ${text}`);
  return parsed;
};
const timeOfDay = (hour: number, minute: number, second = 0) => ({
  hour,
  minute,
  second,
  millisecond: 0,
});

describe('timestamp formats', () => {
  it('reads SFFD 12-hour times with AM/PM, including 12 AM (midnight) and 12 PM (noon)', () => {
    const sffd = new WallTimeFormat(['MM/dd/yyyy hh:mm:ss a']);
    expect(sffd.parse('12/31/2016 11:57:56 PM')).toEqual({
      year: 2016,
      month: 12,
      day: 31,
      hour: 23,
      minute: 57,
      second: 56,
      millisecond: 0,
    });
    expect(sffd.parse('01/01/2017 12:04:18 AM')).toMatchObject({ day: 1, hour: 0, minute: 4 });
    expect(sffd.parse('01/01/2017 12:30:00 PM')).toMatchObject({ hour: 12, minute: 30 });
    // Los Angeles is UTC-8 in winter.
    const received = sffd.parse('12/31/2016 11:57:56 PM') as WallTime;
    expect(iso(toInstant(received, 'America/Los_Angeles'))).toBe('2017-01-01T07:57:56.000Z');
  });

  it('reads LFB dates (28-Mar-23, 01 Jan 2009, 2023-03-19) joined with HH:MM:SS times', () => {
    const call = new WallTimeFormat([
      'd MMM yyyy H:mm:ss',
      'd-MMM-yy H:mm:ss',
      'yyyy-MM-dd H:mm:ss',
    ]);
    const london = (text: string) => iso(toInstant(call.parse(text) as WallTime, 'Europe/London'));
    // 28 March 2023 is two days after the clocks went forward: BST, UTC+1.
    expect(london('28-Mar-23 14:11:51')).toBe('2023-03-28T13:11:51.000Z');
    expect(london('01 Jan 2009 00:00:37')).toBe('2009-01-01T00:00:37.000Z');
    expect(london('2023-03-19 14:11:51')).toBe('2023-03-19T14:11:51.000Z');
  });

  it('refuses text that matches no pattern, including impossible dates', () => {
    const sffd = new WallTimeFormat(['MM/dd/yyyy hh:mm:ss a']);
    expect(sffd.parse('13/01/2017 01:00:00 AM')).toBeUndefined();
    expect(sffd.parse('02/30/2017 01:00:00 AM')).toBeUndefined();
    expect(sffd.parse('2017-01-01 01:00:00')).toBeUndefined();
  });
});

describe('local time to UTC across clocks changes', () => {
  it('Europe/London spring gap: 01:30 on 31 March 2024 never happened; read as 01:30 GMT', () => {
    const gap = wall('2024-03-31 01:30:00');
    expect(instantsOf(gap, 'Europe/London')).toEqual([]);
    // Moved forward by the hour the clocks skipped: 02:30 BST.
    expect(iso(toInstant(gap, 'Europe/London'))).toBe('2024-03-31T01:30:00.000Z');
    expect(iso(toInstant(wall('2024-03-31 00:59:59'), 'Europe/London'))).toBe(
      '2024-03-31T00:59:59.000Z',
    );
    expect(iso(toInstant(wall('2024-03-31 02:00:00'), 'Europe/London'))).toBe(
      '2024-03-31T01:00:00.000Z',
    );
  });

  it('Europe/London autumn overlap: 01:30 on 27 October 2024 happened twice; earlier unless not_before', () => {
    const overlap = wall('2024-10-27 01:30:00');
    const bst = Date.parse('2024-10-27T00:30:00Z');
    const gmt = Date.parse('2024-10-27T01:30:00Z');
    expect(instantsOf(overlap, 'Europe/London')).toEqual([bst, gmt]);
    expect(toInstant(overlap, 'Europe/London')).toBe(bst);
    // Mobilised at 01:50 BST, arrived at "01:30": the second 01:30, after the clocks went back.
    const mobilised = Date.parse('2024-10-27T00:50:00Z');
    expect(toInstant(overlap, 'Europe/London', mobilised)).toBe(gmt);
    expect(toInstant(overlap, 'Europe/London', Date.parse('2024-10-27T00:10:00Z'))).toBe(bst);
  });

  it('America/Los_Angeles spring gap: 02:30 on 10 March 2024 is read as 02:30 PST (03:30 PDT)', () => {
    const gap = wall('2024-03-10 02:30:00');
    expect(instantsOf(gap, 'America/Los_Angeles')).toEqual([]);
    expect(iso(toInstant(gap, 'America/Los_Angeles'))).toBe('2024-03-10T10:30:00.000Z');
    expect(iso(toInstant(wall('2024-03-10 03:00:00'), 'America/Los_Angeles'))).toBe(
      '2024-03-10T10:00:00.000Z',
    );
  });

  it('America/Los_Angeles autumn overlap: 01:30 on 3 November 2024 is PDT first, PST second', () => {
    const overlap = wall('2024-11-03 01:30:00');
    const pdt = Date.parse('2024-11-03T08:30:00Z');
    const pst = Date.parse('2024-11-03T09:30:00Z');
    expect(instantsOf(overlap, 'America/Los_Angeles')).toEqual([pdt, pst]);
    expect(toInstant(overlap, 'America/Los_Angeles')).toBe(pdt);
    expect(toInstant(overlap, 'America/Los_Angeles', Date.parse('2024-11-03T08:45:00Z'))).toBe(pst);
  });
});

describe('time-only columns roll over midnight after a reference', () => {
  it('puts a time earlier in the day than the reference on the next day', () => {
    const call = Date.parse('2023-01-01T23:58:00Z'); // 23:58 GMT
    expect(iso(nextOccurrence(timeOfDay(0, 3), call, 'Europe/London'))).toBe(
      '2023-01-02T00:03:00.000Z',
    );
    expect(iso(nextOccurrence(timeOfDay(23, 59), call, 'Europe/London'))).toBe(
      '2023-01-01T23:59:00.000Z',
    );
    expect(iso(nextOccurrence(timeOfDay(23, 58), call, 'Europe/London'))).toBe(
      '2023-01-01T23:58:00.000Z',
    );
  });

  it('uses the local date of the reference, not its UTC date', () => {
    // 23:50 PST on 31 December is 07:50 UTC on 1 January; 00:10 local is 20 minutes later.
    const call = Date.parse('2017-01-01T07:50:00Z');
    expect(iso(nextOccurrence(timeOfDay(0, 10), call, 'America/Los_Angeles'))).toBe(
      '2017-01-01T08:10:00.000Z',
    );
  });

  it('rolls over into the spring-forward night and through the autumn repeated hour', () => {
    // 23:50 GMT on 30 March 2024; 02:10 the next morning is already BST.
    const springCall = Date.parse('2024-03-30T23:50:00Z');
    expect(iso(nextOccurrence(timeOfDay(2, 10), springCall, 'Europe/London'))).toBe(
      '2024-03-31T01:10:00.000Z',
    );
    // 01:30 does not exist that night: moved forward like any gap time.
    expect(iso(nextOccurrence(timeOfDay(1, 30), springCall, 'Europe/London'))).toBe(
      '2024-03-31T01:30:00.000Z',
    );
    // 01:50 BST on 27 October 2024; "01:10" next is 01:10 GMT, 20 minutes later.
    const autumnCall = Date.parse('2024-10-27T00:50:00Z');
    expect(iso(nextOccurrence(timeOfDay(1, 10), autumnCall, 'Europe/London'))).toBe(
      '2024-10-27T01:10:00.000Z',
    );
  });
});
