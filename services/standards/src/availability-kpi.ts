import { resourceIntervalsSql } from '@bluelight/clickhouse-schema';
import type { z } from 'zod';
import type { availabilityVersion } from './definition.js';
import {
  agencyLayout,
  agencyList,
  instantBounds,
  type KpiQuery,
  type KpiQueryOptions,
  parameterBinder,
  type VersionPart,
} from './kpi-common.js';

export type AvailabilityStandardVersion = z.infer<typeof availabilityVersion>;

export const AVAILABILITY_GROUPINGS = {
  none: `'all'`,
  agency: 'CAST(agency AS String)',
  day: 'toString(day)',
  week: 'toString(toMonday(day))',
  month: `formatDateTime(day, '%Y-%m')`,
  station: 'home_station',
  resource: 'resource_id',
  crewing_model: 'crewing_model',
} as const;
export type AvailabilityGrouping = keyof typeof AVAILABILITY_GROUPINGS;

export const AVAILABILITY_FILTERS = {
  station: 'home_station',
  crewing_model: 'crewing_model',
} as const;
export type AvailabilityFilters = Partial<Record<keyof typeof AVAILABILITY_FILTERS, string[]>>;

/**
 * One version part's status time: each interval of an appliance in scope is cut at London
 * midnights and clipped to the part's days, so every piece belongs to one day (a day is 23 or 25
 * hours on the clocks-change nights); an interval still open ends now.
 */
function piecesSql(
  part: VersionPart<AvailabilityStandardVersion>,
  prefix: string,
  agencies: readonly string[],
  groupBy: AvailabilityGrouping,
  filters: AvailabilityFilters,
  params: Record<string, unknown>,
  options: KpiQueryOptions,
): string {
  const p = parameterBinder(params, prefix);
  const dayStart = `toDateTime64(${p('from', part.from, 'Date')}, 3, 'Europe/London')`;
  const dayEnd = `toDateTime64(${p('to', part.to, 'Date')}, 3, 'Europe/London')`;
  // With instants, the part's London days clipped to them.
  const instants = instantBounds(p, options);
  const inLondon = (instant: string) => `toTimeZone(${instant}, 'Europe/London')`;
  const periodStart = instants ? `greatest(${dayStart}, ${inLondon(instants.from)})` : dayStart;
  const periodEnd = instants ? `least(${dayEnd}, ${inLondon(instants.to)})` : dayEnd;
  const where = [
    `crewing_model IN ${p('crewing', part.version.applies_to.crewing_models, 'Array(String)')}`,
    `start_at < ${periodEnd}`,
    `ifNull(end_at, now64(3)) > ${periodStart}`,
  ];
  for (const [name, column] of Object.entries(AVAILABILITY_FILTERS)) {
    const values = filters[name as keyof AvailabilityFilters];
    if (values !== undefined)
      where.push(`${column} IN ${p(`filter_${name}`, values, 'Array(String)')}`);
  }
  return `
  SELECT
    ${AVAILABILITY_GROUPINGS[groupBy]} AS grp,
    CAST(agency AS String) AS row_agency,
    available,
    unavailable_reason,
    toInt64(dateDiff(
      'millisecond',
      greatest(clipped_start, toDateTime64(day, 3, 'Europe/London')),
      least(clipped_end, toDateTime64(day + 1, 3, 'Europe/London'))
    )) AS span_ms
  FROM (
    SELECT
      *,
      greatest(start_at, ${periodStart}) AS clipped_start,
      least(ifNull(end_at, now64(3)), ${periodEnd}) AS clipped_end,
      arrayJoin(arrayMap(
        offset -> toDate(clipped_start, 'Europe/London') + offset,
        range(toUInt32(dateDiff('day', toDate(clipped_start, 'Europe/London'), toDate(clipped_end, 'Europe/London')) + 1))
      )) AS day
    FROM (${resourceIntervalsSql({ from: periodStart, to: periodEnd }, agencyList(p, agencies))}) AS resource_intervals
    WHERE ${where.join('\n      AND ')}
  )`;
}

/**
 * The SQL for an availability standard over version parts of London days: time on the run
 * (available or committed) over all time, from the resources' status intervals; off-run time is
 * broken down by reason.
 */
export function availabilityKpiQueryOver(
  parts: VersionPart<AvailabilityStandardVersion>[],
  agencies: readonly string[],
  groupBy: AvailabilityGrouping = 'none',
  filters: AvailabilityFilters = {},
  options: KpiQueryOptions = {},
): KpiQuery {
  if (parts.length === 0)
    throw new Error('availabilityKpiQueryOver needs at least one version part');
  const params: Record<string, unknown> = {};
  const pieces = parts
    .map((part, index) =>
      piecesSql(part, `p${index}_`, agencies, groupBy, filters, params, options),
    )
    .join('\n  UNION ALL');
  const layout = agencyLayout(options);
  const query = `
SELECT
  ${layout.column}grp AS group,
  sum(span_ms) AS total_ms,
  sumIf(span_ms, available = 1) AS available_ms,
  sumMapIf(map(unavailable_reason, span_ms), available = 0) AS off_run_ms_by_reason
FROM (${pieces}
)
WHERE span_ms > 0
GROUP BY ${layout.groupBy}
ORDER BY ${layout.orderBy}`;
  return { query, params };
}

/** The SQL for one version of an availability standard over London days [from, to). */
export function availabilityKpiQuery(
  version: AvailabilityStandardVersion,
  period: { from: string; to: string },
  agencies: readonly string[],
  groupBy: AvailabilityGrouping = 'none',
  filters: AvailabilityFilters = {},
  options: KpiQueryOptions = {},
): KpiQuery {
  return availabilityKpiQueryOver([{ version, ...period }], agencies, groupBy, filters, options);
}

export interface AvailabilityKpiRow {
  group: string;
  total_ms: number;
  available_ms: number;
  off_run_ms_by_reason: Record<string, number>;
}

export function availabilityKpiResult(
  version: AvailabilityStandardVersion,
  row: AvailabilityKpiRow,
) {
  const total = Number(row.total_ms);
  return {
    group: row.group,
    version: version.version,
    hours: total / 3_600_000,
    value: total > 0 ? Number(row.available_ms) / total : null,
    offRunHoursByReason: Object.fromEntries(
      Object.entries(row.off_run_ms_by_reason).map(([reason, ms]) => [
        reason,
        Number(ms) / 3_600_000,
      ]),
    ),
  };
}
