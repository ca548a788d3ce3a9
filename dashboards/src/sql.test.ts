import { describe, expect, it } from 'vitest';
import { renderParameters, sqlLiteral } from './sql.js';

describe('ClickHouse literals for builder parameters', () => {
  it('types every value', () => {
    expect(sqlLiteral(480, 'Float64')).toBe('480.0');
    expect(sqlLiteral(0.9, 'Float64')).toBe('0.9');
    expect(sqlLiteral(1, 'UInt8')).toBe('toUInt8(1)');
    expect(sqlLiteral(true, 'UInt8')).toBe('toUInt8(1)');
    expect(sqlLiteral('2024-03-31', 'Date')).toBe("toDate('2024-03-31')");
    expect(sqlLiteral(['fire', 'police'], 'Array(String)')).toBe("['fire', 'police']");
    expect(sqlLiteral([], 'Array(String)')).toBe('CAST([] AS Array(String))');
    expect(sqlLiteral([10, 60], 'Array(Float64)')).toBe('[10.0, 60.0]');
  });

  it('escapes strings, including what Grafana would interpolate', () => {
    expect(sqlLiteral("O'Brien \\ $station [[x]]", 'String')).toBe(
      "'O\\'Brien \\\\ \\x24station \\x5B\\x5Bx]]'",
    );
  });

  it('refuses values that do not fit the type', () => {
    expect(() => sqlLiteral(256, 'UInt8')).toThrow(RangeError);
    expect(() => sqlLiteral(Number.NaN, 'Float64')).toThrow(TypeError);
    expect(() => sqlLiteral('2024-3-1', 'Date')).toThrow(TypeError);
    expect(() => sqlLiteral('x', 'Map(String, UInt8)')).toThrow(/no literal/);
  });

  it('renders placeholders as literals or Grafana expressions, and refuses gaps and typos', () => {
    const query = 'WHERE day >= {from:Date} AND s IN {services:Array(String)} AND x <= {t:Float64}';
    expect(
      renderParameters(
        query,
        { from: '2024-01-01', services: ['fire'], t: 600 },
        {
          from: "toDate($__fromTime, 'Europe/London')",
        },
      ),
    ).toBe("WHERE day >= toDate($__fromTime, 'Europe/London') AND s IN ['fire'] AND x <= 600.0");
    expect(() => renderParameters(query, { from: '2024-01-01', services: [] })).toThrow(
      /t has no value/,
    );
    expect(() =>
      renderParameters(query, { from: '2024-01-01', services: [], t: 1 }, { form: 'x' }),
    ).toThrow(/no placeholder for form/);
  });
});
