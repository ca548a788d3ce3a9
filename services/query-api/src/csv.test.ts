import { describe, expect, it } from 'vitest';
import { flatten, preferredType, toCsv, wantsCsv } from './csv.js';

describe('flatten', () => {
  it('turns nested objects into dotted columns and plain lists into ;-joined fields', () => {
    expect(
      flatten({
        group: 'all',
        excluded: { total: 2, late_call: 1 },
        segments: { travel: { n: 1, meanSeconds: null } },
        services: ['fire', 'police'],
        pairs: [{ a: 1 }],
      }),
    ).toEqual({
      group: 'all',
      'excluded.total': 2,
      'excluded.late_call': 1,
      'segments.travel.n': 1,
      'segments.travel.meanSeconds': null,
      services: 'fire;police',
      pairs: '[{"a":1}]',
    });
  });
});

describe('toCsv', () => {
  it('writes a header of every column in first-seen order and CRLF after each record', () => {
    const csv = toCsv([
      { group: 'HANLEY', value: 0.5, excluded: { late_call: 1 } },
      { group: 'LEEK, north', value: null, excluded: { late_call: 0, total_over: 2 } },
    ]);
    expect(csv).toBe(
      'group,value,excluded.late_call,excluded.total_over\r\n' +
        'HANLEY,0.5,1,\r\n' +
        '"LEEK, north",,0,2\r\n',
    );
  });

  it('writes text that starts a formula as quoted text with a leading quote', () => {
    expect(toCsv([{ area: '=1+1', seconds: -30, services: ['-x', 'y'] }])).toBe(
      `area,seconds,services\r\n"'=1+1",-30,"'-x;y"\r\n`,
    );
  });

  it('uses the given columns, so an empty result still has its header', () => {
    expect(toCsv([], ['incident_id', 'day'])).toBe('incident_id,day\r\n');
    expect(toCsv([{ day: '2024-03-31', extra: 1 }], ['incident_id', 'day'])).toBe(
      'incident_id,day\r\n,2024-03-31\r\n',
    );
  });
});

describe('wantsCsv', () => {
  it('is true when text/csv is accepted ahead of JSON', () => {
    expect(wantsCsv('text/csv')).toBe(true);
    expect(wantsCsv('text/csv; charset=utf-8')).toBe(true);
    expect(wantsCsv('application/json;q=0.5, text/csv')).toBe(true);
  });

  it('is false for JSON, anything else, or nothing', () => {
    expect(wantsCsv(undefined)).toBe(false);
    expect(wantsCsv('application/json')).toBe(false);
    expect(wantsCsv('*/*')).toBe(false);
    expect(wantsCsv('application/json, text/csv;q=0.9')).toBe(false);
    expect(wantsCsv('text/csv;q=0')).toBe(false);
  });
});

describe('preferredType', () => {
  const offered = ['application/json', 'text/csv', 'text/html'];

  it('picks the offered type ranked highest, the first listed on a tie', () => {
    // What a browser sends when it opens the URL: the HTML document.
    expect(
      preferredType('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', offered),
    ).toBe('text/html');
    expect(preferredType('application/json, text/html', offered)).toBe('application/json');
    expect(preferredType('text/html;q=0.5, text/csv', offered)).toBe('text/csv');
  });

  it('is undefined when none of them is named (the route answers JSON)', () => {
    expect(preferredType(undefined, offered)).toBeUndefined();
    expect(preferredType('*/*', offered)).toBeUndefined();
    expect(preferredType('text/html;q=0', offered)).toBeUndefined();
  });
});
