import { describe, expect, it } from 'vitest';
import { type DisplayField, displayedValues, frameOf, reduce } from './grafana-reduce.js';

// One row per line, as "Calls waiting now" returns it.
const waiting: DisplayField[] = [
  { name: 'line', kind: 'string', values: ['101', '999'] },
  { name: 'waiting', kind: 'number', values: [2, 5] },
];

describe("Grafana's stat reduction (model of getFieldDisplayValues)", () => {
  it('reduces over rows to the last one without values: true (the wall screen shows one line)', () => {
    expect(displayedValues(waiting, { calcs: [] })).toEqual([
      { title: 'waiting', value: 5, field: 'waiting', calc: 'last' },
    ]);
  });

  it('shows every row, named by its string columns, with values: true', () => {
    expect(
      displayedValues(waiting, { values: true, calcs: ['lastNotNull'], fields: '/^waiting$/' }),
    ).toEqual([
      { title: '101', value: 2, field: 'waiting', row: 0 },
      { title: '999', value: 5, field: 'waiting', row: 1 },
    ]);
  });

  it("adds the field's name to a row's title when another numeric field exists", () => {
    const fields: DisplayField[] = [
      { name: 'family', kind: 'string', values: ['calls'] },
      { name: 'delay', kind: 'number', values: [20] },
      { name: 'n', kind: 'number', values: [3] },
    ];
    expect(displayedValues(fields, { values: true }).map((value) => value.title)).toEqual([
      'calls delay',
      'calls n',
    ]);
  });

  it('matches fields by display name with a regular expression, numeric fields by default', () => {
    const fields: DisplayField[] = [
      { name: 'value', kind: 'number', values: [0.75], displayName: 'Within 10 s' },
      { name: 'n', kind: 'number', values: [8] },
    ];
    expect(displayedValues(fields, { calcs: ['lastNotNull'], fields: '/^value$/' })).toEqual([
      { title: 'No data', value: null, field: '' },
    ]);
    expect(displayedValues(fields, { calcs: ['lastNotNull'], fields: '/^Within/' })).toHaveLength(
      1,
    );
    expect(displayedValues(fields, { calcs: ['lastNotNull'] }).map((v) => v.value)).toEqual([
      0.75, 8,
    ]);
  });

  it('stops at the limit (25 by default)', () => {
    const many: DisplayField[] = [
      { name: 'n', kind: 'number', values: Array.from({ length: 30 }, (_, i) => i) },
    ];
    expect(displayedValues(many, { values: true })).toHaveLength(25);
    expect(displayedValues(many, { values: true, limit: 3 })).toHaveLength(3);
  });

  it('reduces as Grafana does: last keeps a trailing null, lastNotNull skips it', () => {
    expect(reduce([1, 2, null], 'last')).toBeNull();
    expect(reduce([1, 2, null], 'lastNotNull')).toBe(2);
    expect(reduce([1, 2, null, 6], 'mean')).toBe(3);
    expect(reduce([4, null, 1], 'min')).toBe(1);
    expect(() => reduce([1], 'median')).toThrow(/not modelled/);
  });

  it('reads a ClickHouse result as the plugin frames it', () => {
    const frame = frameOf(
      [
        { name: 'line', type: 'String' },
        { name: 'waiting', type: 'UInt64' },
        { name: 'share', type: 'Nullable(Float64)' },
        { name: 'time', type: "DateTime('Europe/London')" },
      ],
      [{ line: '999', waiting: '5', share: null, time: '2024-04-05 12:00:00' }],
      { share: 'Share' },
    );
    expect(frame.map((field) => [field.name, field.kind, field.values[0]])).toEqual([
      ['line', 'string', '999'],
      ['waiting', 'number', 5],
      ['share', 'number', null],
      ['time', 'time', '2024-04-05 12:00:00'],
    ]);
    expect(frame[2]?.displayName).toBe('Share');
  });
});
