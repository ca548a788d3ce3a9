import { callFactsSql } from '@bluelight/clickhouse-schema';
import type { z } from 'zod';
import type { callVersion } from './definition.js';
import {
  agencyLayout,
  agencyList,
  instantBounds,
  type KpiQuery,
  type KpiQueryOptions,
  nullableNumber,
  parameterBinder,
  percentileAggregate,
  statisticValue,
  type VersionPart,
} from './kpi-common.js';

export type CallStandardVersion = z.infer<typeof callVersion>;

const PRESENTED_DAY = `toDate(presented_at, 'Europe/London')`;

export const CALL_GROUPINGS = {
  none: `'all'`,
  agency: 'CAST(agency AS String)',
  day: `toString(${PRESENTED_DAY})`,
  week: `toString(toMonday(${PRESENTED_DAY}))`,
  month: `formatDateTime(${PRESENTED_DAY}, '%Y-%m')`,
  hour_of_week: `formatDateTime(presented_at, '%u-%H', 'Europe/London')`,
  queue: 'queue',
  service: 'service',
  line: 'line',
} as const;
export type CallGrouping = keyof typeof CALL_GROUPINGS;

export const CALL_FILTERS = { queue: 'queue', service: 'service' } as const;
export type CallFilters = Partial<Record<keyof typeof CALL_FILTERS, string[]>>;

const CALL_CLOCK_COLUMNS: Record<CallStandardVersion['clock']['start'], string> = {
  call_presented: 'presented_at',
  call_answered: 'answered_at',
  call_closed: 'closed_at',
};

/**
 * One version part's calls: in scope, measured or not, within the threshold (and the threshold,
 * NULL for a standard without one), with the outcome; `facts` are more call fact columns kept
 * on each row (the records' columns).
 */
function judgedCallsSql(
  part: VersionPart<CallStandardVersion>,
  prefix: string,
  agencies: readonly string[],
  groupBy: CallGrouping,
  filters: CallFilters,
  params: Record<string, unknown>,
  options: KpiQueryOptions,
  facts: readonly string[],
): string {
  const { version } = part;
  const p = parameterBinder(params, prefix);
  const statistic = version.statistic;
  const threshold =
    statistic.kind === 'share_within' && typeof statistic.threshold_seconds === 'number'
      ? statistic.threshold_seconds
      : 0;
  const days = { from: p('from', part.from, 'Date'), to: p('to', part.to, 'Date') };
  const where = [
    'presented_at IS NOT NULL',
    `day >= ${days.from}`,
    `day < ${days.to}`,
    `line IN ${p('lines', version.applies_to.lines, 'Array(String)')}`,
  ];
  if (version.applies_to.services) {
    where.push(`service IN ${p('services', version.applies_to.services, 'Array(String)')}`);
  }
  for (const [name, column] of Object.entries(CALL_FILTERS)) {
    const values = filters[name as keyof CallFilters];
    if (values !== undefined)
      where.push(`${column} IN ${p(`filter_${name}`, values, 'Array(String)')}`);
  }
  const instants = instantBounds(p, options);
  if (instants) where.push(`presented_at >= ${instants.from}`, `presented_at <= ${instants.to}`);
  const start = CALL_CLOCK_COLUMNS[version.clock.start];
  const stop = CALL_CLOCK_COLUMNS[version.clock.stop];
  // With record facts: those (abandoned_at and outcome are on every row already) and the
  // threshold. Without, the figures' SQL (and the dashboards' and alert rules' copies) as it was.
  const own = facts.filter((column) => column !== 'abandoned_at' && column !== 'outcome');
  const thresholdSeconds =
    statistic.kind === 'share_within'
      ? `toNullable(${p('threshold', threshold, 'Float64')})`
      : 'CAST(NULL AS Nullable(Float64))';
  const kept =
    facts.length === 0
      ? ''
      : [...own, ...(facts.includes('outcome') ? ['outcome'] : [])]
          .map((column) => ` ${column},`)
          .join('')
          .concat(` ${thresholdSeconds} AS threshold_seconds,`);
  return `
  SELECT
    grp, row_agency, abandoned_at, seconds, measured,${kept}
    measured AND seconds <= ${p('threshold', threshold, 'Float64')} AS met,
    measured AND ${p('has_outcome', statistic.kind === 'share_with_outcome' ? 1 : 0, 'UInt8')} = 1
      AND outcome = ${p('outcome', statistic.kind === 'share_with_outcome' ? statistic.outcome : '', 'String')} AS with_outcome
  FROM (
    SELECT
      ${CALL_GROUPINGS[groupBy]} AS grp,
      CAST(agency AS String) AS row_agency,
      abandoned_at,
      outcome,${own.map((column) => ` ${column},`).join('')}
      dateDiff('millisecond', ${start}, ${stop}) / 1000 AS seconds,
      ifNull(seconds >= 0, 0) AS measured
    FROM (${callFactsSql(days, agencyList(p, agencies))}) AS call_facts
    WHERE ${where.join('\n      AND ')}
  )`;
}

/**
 * Every version part's judged calls (see judgedCallsSql), one after another: the FROM of the
 * figures (callKpiQueryOver) and of the records behind them (callRecordsQuery), so both judge a
 * call by the same SQL. Binds its values into `params`.
 */
export function judgedCallsUnion(
  parts: VersionPart<CallStandardVersion>[],
  agencies: readonly string[],
  params: Record<string, unknown>,
  groupBy: CallGrouping = 'none',
  filters: CallFilters = {},
  options: KpiQueryOptions = {},
  facts: readonly string[] = [],
): string {
  return parts
    .map((part, index) =>
      judgedCallsSql(part, `p${index}_`, agencies, groupBy, filters, params, options, facts),
    )
    .join('\n  UNION ALL');
}

/**
 * The SQL for a call standard over version parts of London days of presentation, one row per
 * group: calls, abandoned, measured calls, those within the threshold, those with the outcome,
 * mean, exact percentile and the reporting bands (of the latest version). Values only as query
 * parameters.
 */
export function callKpiQueryOver(
  parts: VersionPart<CallStandardVersion>[],
  agencies: readonly string[],
  groupBy: CallGrouping = 'none',
  filters: CallFilters = {},
  options: KpiQueryOptions = {},
): KpiQuery {
  const last = parts.at(-1);
  if (!last) throw new Error('callKpiQueryOver needs at least one version part');
  const statistic = last.version.statistic;
  const params: Record<string, unknown> = {
    percentile: statistic.kind === 'percentile' ? statistic.percentile : 0.9,
    bands: last.version.bands_seconds ?? [],
  };
  const judged = judgedCallsUnion(parts, agencies, params, groupBy, filters, options);
  const layout = agencyLayout(options);
  const query = `
SELECT
  ${layout.column}grp AS group,
  count() AS calls,
  countIf(abandoned_at IS NOT NULL) AS abandoned,
  countIf(measured) AS n,
  countIf(met) AS met,
  countIf(with_outcome) AS with_outcome,
  avgIf(seconds, measured) AS mean_seconds,
  ${percentileAggregate(last.version.percentile_method, '{percentile:Float64}', 'seconds', 'measured')} AS percentile_seconds,
  -- Calls per band, keyed 0 (≤ b1), 1 (b1 < … ≤ b2), …, as the standard's own "within": a call
  -- answered at exactly 10.0 s is in the first band, as it is within 10 s, and in no other.
  sumMapIf(map(toUInt32(arrayCount(b -> ifNull(seconds > b, 0), {bands:Array(Float64)})), toUInt64(1)), measured) AS band_counts
FROM (${judged}
)
GROUP BY ${layout.groupBy}
ORDER BY ${layout.orderBy}`;
  return { query, params };
}

/** The SQL for one version of a call standard over London days [from, to). */
export function callKpiQuery(
  version: CallStandardVersion,
  period: { from: string; to: string },
  agencies: readonly string[],
  groupBy: CallGrouping = 'none',
  filters: CallFilters = {},
  options: KpiQueryOptions = {},
): KpiQuery {
  return callKpiQueryOver([{ version, ...period }], agencies, groupBy, filters, options);
}

export interface CallKpiRow {
  group: string;
  calls: number;
  abandoned: number;
  n: number;
  met: number;
  with_outcome: number;
  mean_seconds: number;
  percentile_seconds: number | null;
  band_counts: Record<string, number>;
}

export function callKpiResult(version: CallStandardVersion, row: CallKpiRow) {
  const percentileSeconds = row.n > 0 ? nullableNumber(row.percentile_seconds) : null;
  const insufficientData =
    row.n < version.minimum_sample ||
    (version.statistic.kind === 'percentile' && percentileSeconds === null);
  const value = insufficientData ? null : statisticValue(version.statistic, row);
  return {
    group: row.group,
    version: version.version,
    calls: row.calls,
    abandoned: row.abandoned,
    n: row.n,
    value,
    insufficientData,
    ...(version.statistic.kind === 'share_within' ? { met: row.met } : {}),
    ...(version.statistic.kind === 'share_with_outcome' ? { withOutcome: row.with_outcome } : {}),
    meanSeconds: row.n > 0 ? row.mean_seconds : null,
    percentileSeconds,
    bands: Array.from({ length: (version.bands_seconds?.length ?? 0) + 1 }, (_, index) =>
      Number(row.band_counts[String(index)] ?? 0),
    ),
  };
}
