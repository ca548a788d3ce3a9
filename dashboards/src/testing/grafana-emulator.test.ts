import { describe, expect, it } from 'vitest';
import {
  applyConditionalAll,
  durationMs,
  expandMacros,
  grafanaSql,
  interpolateVariables,
} from './grafana-emulator.js';

const from = new Date('2024-03-31T00:00:00Z');
const to = new Date('2024-03-31T01:00:00.250Z');

describe('the Grafana and ClickHouse-plugin emulation the integration tests rely on', () => {
  it('expands the plugin macros as pkg/macros/macros.go does', () => {
    const context = { from, to, intervalSeconds: 300 };
    expect(expandMacros('WHERE $__timeFilter(presented_at)', context)).toBe(
      'WHERE presented_at >= toDateTime(1711843200) AND presented_at <= toDateTime(1711846800)',
    );
    expect(expandMacros('$__fromTime_ms $__fromTime $__toTime', context)).toBe(
      'fromUnixTimestamp64Milli(1711843200000) toDateTime(1711843200) toDateTime(1711846800)',
    );
    expect(expandMacros('$__timeInterval(bucket), $__interval_s', context)).toBe(
      'toStartOfInterval(toDateTime(bucket), INTERVAL 300 second), 300',
    );
    expect(expandMacros('$__dateFilter(day)', context)).toBe(
      "day >= toDate('2024-03-31') AND day <= toDate('2024-03-31')",
    );
  });

  it('refuses a macro the plugin does not have', () => {
    expect(() => expandMacros('$__interval', { from, to })).toThrow(/not a macro/);
  });

  it('formats multi-value variables, escaping quotes, and leaves macros to the plugin', () => {
    expect(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not JavaScript's
      interpolateVariables('x IN (${station:singlequote}) AND $__timeFilter(t)', {
        station: ['LEEK', "ST O'NEILL"],
      }),
    ).toBe("x IN ('LEEK','ST O\\'NEILL') AND $__timeFilter(t)");
    expect(interpolateVariables('$queue', { queue: ['999-general'] })).toBe('999-general');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not JavaScript's
    expect(() => interpolateVariables('${nope:singlequote}', {})).toThrow(/nope/);
  });

  it('interpolates variables before macros', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not JavaScript's
    expect(grafanaSql('[${s:singlequote}] $__toTime', { from, to, variables: { s: ['a'] } })).toBe(
      "['a'] toDateTime(1711846800)",
    );
  });

  it('expands $__conditionalAll as the plugin frontend does: 1=1 at All, the condition otherwise', () => {
    const sql =
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not JavaScript's
      "WHERE $__conditionalAll(s IN (${s:singlequote}), $s) AND $__conditionalAll(r = 'x', $r)";
    const variables = { s: ['LEEK', "ST O'NEILL"], r: ['high'] };
    // All: the variable's current value is $__all.
    expect(applyConditionalAll(sql, { from, to, variables, all: ['s', 'r'] })).toBe(
      'WHERE 1=1 AND 1=1',
    );
    // A subset: the condition, variables interpolated afterwards.
    expect(grafanaSql(sql, { from, to, variables, all: ['r'] })).toBe(
      "WHERE s IN ('LEEK','ST O\\'NEILL') AND 1=1",
    );
    // Nothing selected is an empty current value: 1=1 too, as in the plugin.
    expect(applyConditionalAll(sql, { from, to, variables: { s: [], r: ['high'] } })).toBe(
      "WHERE 1=1 AND r = 'x'",
    );
    // The plugin reads the variable name as the argument without its "$": ${s} is not found, so
    // the condition stays; a call without two arguments stops the expansion.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not JavaScript's
    expect(applyConditionalAll('$__conditionalAll(a = 1, ${s})', { from, to, all: ['s'] })).toBe(
      'a = 1',
    );
    expect(applyConditionalAll('$__conditionalAll(a = 1)', { from, to, all: ['a'] })).toBe(
      '$__conditionalAll(a = 1)',
    );
    expect(() => grafanaSql('$__conditionalAll(a = 1)', { from, to })).toThrow(/not a macro/);
    // The plugin splits at every comma inside ( ) depth 1, brackets and quotes included: a list
    // literal makes three arguments, so that call (and any before it) is left for ClickHouse to
    // refuse. Generated conditions carry the list as a variable, expanded afterwards.
    expect(
      applyConditionalAll("$__conditionalAll(a = 1, $a) $__conditionalAll(r IN ['x', 'y'], $r)", {
        from,
        to,
        all: ['a', 'r'],
      }),
    ).toBe("$__conditionalAll(a = 1, $a) $__conditionalAll(r IN ['x', 'y'], $r)");
  });

  it('reads durations', () => {
    expect(durationMs('1h')).toBe(3_600_000);
    expect(durationMs('10m')).toBe(600_000);
  });
});
