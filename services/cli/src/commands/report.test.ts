import { formatReportValue as formatValue } from '@bluelight/standards';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { UserFacingError } from '../exit-codes.js';
import { collectAgencies, parseLondonDate, reportAgencies, reportCsv } from './report.js';

describe('bluelight report formatting', () => {
  it('shows each unit as the annual report does', () => {
    expect(formatValue('count', 8203)).toBe('8,203');
    expect(formatValue('share', 0.80912)).toBe('80.9%');
    expect(formatValue('minutes', 9.3412)).toBe('9.34 min');
    expect(formatValue('seconds', 9.4)).toBe('9.40 s');
    expect(formatValue('share', null)).toBe('n/a');
  });

  it('writes CSV with raw numbers, quoting labels that need it', () => {
    const csv = reportCsv([
      { key: 'a', label: 'Plain', unit: 'count', value: 12, previous: null, target: null },
      {
        key: 'b',
        label: '  Says "hi", twice',
        unit: 'share',
        value: 0.5,
        previous: 0.25,
        target: 0.8,
      },
    ]);
    expect(csv).toBe(
      'key,label,unit,value,previous,target\r\na,Plain,count,12,,\r\nb,"Says ""hi"", twice",share,0.5,0.25,0.8\r\n',
    );
  });

  it('keeps negative numbers as numbers and defuses a label that starts a formula', () => {
    // Labels come from the code today; a standard's YAML could one day name a line.
    const csv = reportCsv([
      {
        key: 'change',
        label: '-3 on last year',
        unit: 'count',
        value: -3,
        previous: -0.5,
        target: null,
      },
      {
        key: 'x',
        label: '=HYPERLINK("http://evil.test")',
        unit: 'count',
        value: 1,
        previous: null,
        target: null,
      },
    ]);
    expect(csv).toBe(
      'key,label,unit,value,previous,target\r\n' +
        `change,"'-3 on last year",count,-3,-0.5,\r\n` +
        `x,"'=HYPERLINK(""http://evil.test"")",count,1,,\r\n`,
    );
  });

  it('accepts only calendar dates that exist', () => {
    expect(parseLondonDate('2024-02-29')).toBe('2024-02-29');
    for (const bad of ['2023-02-29', '2024-13-01', '24-01-01', '2024-01-01T00:00:00Z', "'; DROP"]) {
      expect(() => parseLondonDate(bad), bad).toThrow(InvalidArgumentError);
    }
  });
});

describe('bluelight report --agency', () => {
  it('takes repeated and comma-separated agency codes as one list, once each', () => {
    expect(collectAgencies('b-fire, a-fire', collectAgencies('a-fire'))).toEqual([
      'a-fire',
      'b-fire',
    ]);
    for (const bad of ['', ',', 'A-Fire', "x'; DROP", 'a']) {
      expect(() => collectAgencies(bad), bad).toThrow(InvalidArgumentError);
    }
  });

  it('decides as the query API does: the ones named, else the only one there is', () => {
    expect(reportAgencies(['b-fire', 'a-fire'], [])).toEqual(['a-fire', 'b-fire']);
    expect(reportAgencies(undefined, ['a-fire'])).toEqual(['a-fire']);
    const several = () => reportAgencies(undefined, ['a-fire', 'b-fire']);
    expect(several).toThrow(UserFacingError);
    expect(several).toThrow('--agency: the database holds several agencies (a-fire, b-fire)');
    expect(() => reportAgencies(undefined, [])).toThrow('holds no facts of any agency yet');
  });
});
