import type { z } from 'zod';
import type { incidentVersion, PercentileMethod } from './definition.js';

// What every KPI query (incident, call, availability) is built from: bound parameters, the
// agencies read, exact instants, the by-agency layout, version parts and the statistic's rule.

/** A standard's statistic (every family's versions share the kinds). */
type Statistic = z.infer<typeof incidentVersion>['statistic'];

export interface KpiQuery {
  query: string;
  params: Record<string, unknown>;
}

/**
 * Binds values as query parameters named `<prefix><name>` and returns each one's placeholder
 * (`{p0_from:Date}`), so version parts of one query never share a parameter.
 */
export function parameterBinder(params: Record<string, unknown>, prefix: string) {
  return (name: string, value: unknown, type: string): string => {
    params[`${prefix}${name}`] = value;
    return `{${prefix}${name}:${type}}`;
  };
}

/**
 * The agencies a figure is read for, bound as a query parameter (`{agencies:Array(String)}`):
 * the facts sources filter every read of a fact table by it. Every KPI query has it: several
 * services share one deployment, and a figure without it would mix them.
 */
export function agencyList(
  bind: ReturnType<typeof parameterBinder>,
  agencies: readonly string[],
): string {
  if (agencies.length === 0) throw new Error('a KPI query needs at least one agency');
  return bind('agencies', [...agencies], 'Array(String)');
}

/** How a KPI query's rows are laid out beyond the grouping. */
export interface KpiQueryOptions {
  /**
   * One row per agency and group, with an `agency` column first (String), instead of the
   * agencies' rows counted together: for alert rules, one instance per agency.
   */
  byAgency?: boolean;
  /**
   * Narrow the facts to exact instants as well as London days (the last hour, the last 28 days):
   * UTC instants `YYYY-MM-DD hh:mm:ss[.sss]`, bound as `instant_from` / `instant_to` (a
   * dashboard renders them as its time-range macros). Incidents by the call time (creation
   * without a call), calls by presentation, availability clipped to them.
   */
  instants?: { from: string; to: string };
  /**
   * Incident standards only: group by what another source says of each incident instead of a
   * fixed grouping — `join` is a JOIN clause onto the scan's rows (alias `incident_facts`; its own
   * alias `joined`), `group` the String expression that groups them, its values bound in the same
   * params (operations/cover.ts: whether the station's on-call appliance was on the run at the
   * call, an ASOF join on the station's cover timeline).
   */
  joinedGroup?: { join: string; group: string };
}

/** The instants of `options`, bound as query parameters, as SQL for DateTime64 values. */
export function instantBounds(
  bind: ReturnType<typeof parameterBinder>,
  options: KpiQueryOptions,
): { from: string; to: string } | undefined {
  if (!options.instants) return undefined;
  return {
    from: bind('instant_from', options.instants.from, "DateTime64(3, 'UTC')"),
    to: bind('instant_to', options.instants.to, "DateTime64(3, 'UTC')"),
  };
}

/** The outer SELECT's leading columns, GROUP BY and ORDER BY for `byAgency` (the inner `row_agency`). */
export function agencyLayout(options: KpiQueryOptions) {
  return options.byAgency
    ? {
        column: 'row_agency AS agency,\n  ',
        groupBy: 'row_agency, grp',
        orderBy: 'row_agency, grp',
      }
    : { column: '', groupBy: 'grp', orderBy: 'grp' };
}

/** A version of a standard and the London days [from, to) it is applied to. */
export interface VersionPart<Version> {
  version: Version;
  from: string;
  to: string;
}

/** The counts a KPI query returns that a statistic is computed from. */
export interface StatisticCounts {
  n: number;
  met: number;
  with_outcome?: number;
  mean_seconds: number;
  percentile_seconds: number | null;
}

/** A column that may be NULL (an undefined exclusive percentile) as a number or null. */
export function nullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/** The standard's statistic from a KPI row's counts (n must be above zero). */
export function statisticValue(statistic: Statistic, counts: StatisticCounts): number | null {
  switch (statistic.kind) {
    case 'share_within':
      return counts.met / counts.n;
    case 'share_with_outcome':
      return (counts.with_outcome ?? 0) / counts.n;
    case 'percentile':
      return nullableNumber(counts.percentile_seconds);
    default:
      return counts.mean_seconds;
  }
}

/**
 * The same rule as `statisticValue` with the minimum sample, as SQL over a KPI query's columns
 * (incident, call or availability rows): NULL is "insufficient data". For SQL that wraps a KPI
 * query, such as a dashboard panel or an alert rule.
 */
export function statisticSql(version: { statistic: Statistic; minimum_sample: number }): string {
  const statistic = version.statistic;
  if (statistic.kind === 'share_available') {
    return 'if(total_ms > 0, available_ms / total_ms, NULL)';
  }
  const value = {
    share_within: 'met / n',
    share_with_outcome: 'with_outcome / n',
    percentile: 'percentile_seconds',
    mean: 'mean_seconds',
  }[statistic.kind];
  const minimum = version.minimum_sample;
  if (!Number.isInteger(minimum) || minimum < 1)
    throw new Error('minimum_sample must be a positive integer');
  return `if(n >= ${minimum}, ${value}, NULL)`;
}

/**
 * An aggregate: the `level` percentile (SQL of a Float64 constant, e.g. a bound parameter) of
 * `value` over the rows where `condition` holds, by `method` (docs/standards.md):
 * - `inclusive` (PERCENTILE.INC, R-7): h = p·(n−1)+1, x⌊h⌋ + (h−⌊h⌋)·(x⌊h⌋+1 − x⌊h⌋), 1-based;
 *   ClickHouse's quantileExactInclusive computes exactly this.
 * - `exclusive` (PERCENTILE.EXC, R-6): h = p·(n+1), the same interpolation; defined only for
 *   1 ≤ h ≤ n (Excel's #NUM! otherwise), so NULL there — ClickHouse would clamp to the minimum
 *   or maximum, which a spreadsheet never shows.
 * - `nearest_rank`: the value at rank ⌈p·n⌉ (at least 1) of the sorted values; p·n is rounded to
 *   9 decimals first, so 0.7 × 10 is rank 7 (in binary floating point it is 7.000000000000001).
 * All read the same one scan; NULL or a NaN for no rows (the callers show no value when n = 0).
 */
export function percentileAggregate(
  method: PercentileMethod,
  level: string,
  value: string,
  condition: string,
): string {
  const x = `assumeNotNull(${value})`;
  switch (method) {
    case 'inclusive':
      return `quantileExactInclusiveIf(${level})(${x}, ${condition})`;
    case 'exclusive': {
      const h = `(${level} * (countIf(${condition}) + 1))`;
      return `if(${h} >= 1 AND ${h} <= countIf(${condition}), quantileExactExclusiveIf(${level})(${x}, ${condition}), NULL)`;
    }
    default:
      return `arrayElement(arraySort(groupArrayIf(${x}, ${condition})), toUInt64(greatest(1, ceil(round(${level} * countIf(${condition}), 9)))))`;
  }
}
