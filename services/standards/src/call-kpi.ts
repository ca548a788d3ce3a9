import type { z } from 'zod';
import type { callVersion } from './definition.js';
import { statisticValue } from './kpi.js';

export type CallStandardVersion = z.infer<typeof callVersion>;

export const CALL_GROUPINGS = {
  none: `'all'`,
  day: `toString(toDate(presented_at, 'Europe/London'))`,
  month: `formatDateTime(toDate(presented_at, 'Europe/London'), '%Y-%m')`,
  queue: 'queue',
} as const;
export type CallGrouping = keyof typeof CALL_GROUPINGS;

const CALL_CLOCK_COLUMNS: Record<CallStandardVersion['clock']['start'], string> = {
  call_presented: 'presented_at',
  call_answered: 'answered_at',
  call_closed: 'closed_at',
};

/**
 * The SQL for a call standard over London days [from, to) of presentation, one row per group:
 * measured calls, those within the threshold, those with the outcome, mean and the reporting
 * bands. Values only as query parameters.
 */
export function callKpiQuery(
  version: CallStandardVersion,
  period: { from: string; to: string },
  groupBy: CallGrouping = 'none',
) {
  const statistic = version.statistic;
  const threshold =
    statistic.kind === 'share_within' && typeof statistic.threshold_seconds === 'number'
      ? statistic.threshold_seconds
      : 0;
  const bands = version.bands_seconds ?? [];
  const params: Record<string, unknown> = {
    from: period.from,
    to: period.to,
    lines: version.applies_to.lines,
    threshold,
    outcome: statistic.kind === 'share_with_outcome' ? statistic.outcome : '',
    percentile: statistic.kind === 'percentile' ? statistic.percentile : 0.9,
    bands,
  };
  const where = [
    'event_count > 0',
    'presented_at IS NOT NULL',
    `toDate(presented_at, 'Europe/London') >= {from:Date}`,
    `toDate(presented_at, 'Europe/London') < {to:Date}`,
    'line IN {lines:Array(String)}',
  ];
  if (version.applies_to.services) {
    params.services = version.applies_to.services;
    where.push('service IN {services:Array(String)}');
  }
  const start = CALL_CLOCK_COLUMNS[version.clock.start];
  const stop = CALL_CLOCK_COLUMNS[version.clock.stop];
  const query = `
SELECT
  ${CALL_GROUPINGS[groupBy]} AS group,
  count() AS calls,
  countIf(abandoned_at IS NOT NULL) AS abandoned,
  countIf(measured) AS n,
  countIf(measured AND seconds <= {threshold:Float64}) AS met,
  countIf(measured AND outcome = {outcome:String}) AS with_outcome,
  avgIf(seconds, measured) AS mean_seconds,
  quantileExactIf({percentile:Float64})(assumeNotNull(seconds), measured) AS percentile_seconds,
  -- Calls per band, keyed 0 (< b1), 1 (b1 ≤ … < b2), …; "within 10 s" above counts 10.0 s itself.
  sumMapIf(map(band, toUInt64(1)), measured) AS band_counts
FROM (
  SELECT
    *,
    dateDiff('millisecond', ${start}, ${stop}) / 1000 AS seconds,
    ifNull(seconds >= 0, 0) AS measured,
    toUInt32(arrayCount(b -> ifNull(seconds >= b, 0), {bands:Array(Float64)})) AS band
  FROM call_facts FINAL
  WHERE ${where.join('\n    AND ')}
)
GROUP BY group
ORDER BY group`;
  return { query, params };
}

export interface CallKpiRow {
  group: string;
  calls: number;
  abandoned: number;
  n: number;
  met: number;
  with_outcome: number;
  mean_seconds: number;
  percentile_seconds: number;
  band_counts: Record<string, number>;
}

export function callKpiResult(version: CallStandardVersion, row: CallKpiRow) {
  const insufficientData = row.n < version.minimum_sample;
  const value = insufficientData ? null : statisticValue(version.statistic, row);
  return {
    group: row.group,
    version: version.version,
    calls: row.calls,
    abandoned: row.abandoned,
    n: row.n,
    value,
    insufficientData,
    meanSeconds: row.n > 0 ? row.mean_seconds : null,
    bands: Array.from({ length: (version.bands_seconds?.length ?? 0) + 1 }, (_, index) =>
      Number(row.band_counts[String(index)] ?? 0),
    ),
  };
}
