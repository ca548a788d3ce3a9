import { applianceFactsSql } from '@bluelight/clickhouse-schema';
import { agencyList, type KpiQuery, parameterBinder } from '../kpi-common.js';
import { type OperationsPeriod, periodDays, scopeWhere } from './common.js';

/** How per-appliance figures are broken down; each a fixed expression over the appliance facts. */
export const APPLIANCE_GROUPINGS = {
  none: `'all'`,
  agency: 'CAST(agency AS String)',
  resource: 'resource_id',
  // The station the appliance was deployed from (its home station).
  station: 'home_station',
  // The ground the incident was in.
  station_ground: 'station_ground',
  crewing_model: 'crewing_model',
  appliance_type: 'appliance_type',
} as const;
export type ApplianceGrouping = keyof typeof APPLIANCE_GROUPINGS;

const SEGMENT_COLUMNS = {
  turnout: 'turnout_seconds',
  travel: 'travel_seconds',
  attendance: 'attendance_seconds',
} as const;
export type ApplianceSegment = keyof typeof SEGMENT_COLUMNS;
export const APPLIANCE_SEGMENTS = Object.keys(SEGMENT_COLUMNS) as ApplianceSegment[];

/** A segment's count, mean and exact 90th percentile over the rows that have it (≥ 0 s). */
function segmentAggregates(): string[] {
  return APPLIANCE_SEGMENTS.flatMap((segment) => {
    const column = SEGMENT_COLUMNS[segment];
    const has = `ifNull(${column} >= 0, 0)`;
    return [
      `countIf(${has}) AS ${segment}_n`,
      `avgIf(${column}, ${has}) AS ${segment}_mean`,
      `quantileExactIf(0.9)(assumeNotNull(${column}), ${has}) AS ${segment}_p90`,
    ];
  });
}

/**
 * Per-appliance figures over London days [from, to]: mobilisations, arrivals, appliances that
 * never arrived (stood down en route, or the incident cancelled), first arrivals, border crossings
 * and each segment of the appliance's own events — one scan of the appliance facts of the period.
 */
export function applianceSegmentsQuery(
  period: OperationsPeriod,
  agencies: readonly string[],
  groupBy: ApplianceGrouping = 'none',
): KpiQuery {
  const params: Record<string, unknown> = {};
  const p = parameterBinder(params, '');
  const days = periodDays(p, period);
  const query = `
SELECT
  grp AS group,
  count() AS mobilisations_count,
  countIf(arrived_at IS NOT NULL) AS arrivals_count,
  countIf(not_arrived = 1) AS not_arrived_count,
  countIf(not_arrived = 1 AND cancelled = 0) AS stood_down_count,
  countIf(ifNull(arrival_order = 1, 0)) AS first_arrivals_count,
  countIf(crossed_border = 1) AS crossed_border_count,
  ${segmentAggregates().join(',\n  ')}
FROM (
  SELECT *, ${APPLIANCE_GROUPINGS[groupBy]} AS grp
  FROM (${applianceFactsSql(days, agencyList(p, agencies))}) AS appliance_facts
  WHERE ${scopeWhere(p, period, days).join(' AND ')}
)
GROUP BY grp
ORDER BY grp`;
  return { query, params };
}

/** Incident-level breakdowns of the first-arriving appliance. */
export const FIRST_ARRIVAL_GROUPINGS = {
  none: `'all'`,
  agency: 'CAST(agency AS String)',
  station_ground: 'station_ground',
} as const;
export type FirstArrivalGrouping = keyof typeof FIRST_ARRIVAL_GROUPINGS;

/**
 * The first-arriving appliance of every incident attended (not cancelled) and its crewing model:
 * per group and crewing model, how many incidents it arrived first at, its attendance (call to its
 * arrival) mean and p90, and how many of those arrivals crossed from another station's ground.
 */
export function firstArrivalsQuery(
  period: OperationsPeriod,
  agencies: readonly string[],
  groupBy: FirstArrivalGrouping = 'none',
): KpiQuery {
  const params: Record<string, unknown> = {};
  const p = parameterBinder(params, '');
  const days = periodDays(p, period);
  const has = 'ifNull(attendance_seconds >= 0, 0)';
  const query = `
SELECT
  grp AS group,
  crewing_model,
  count() AS incidents,
  countIf(crossed_border = 1) AS crossed_border_count,
  countIf(${has}) AS attendance_n,
  avgIf(attendance_seconds, ${has}) AS attendance_mean,
  quantileExactIf(0.9)(assumeNotNull(attendance_seconds), ${has}) AS attendance_p90
FROM (
  SELECT *, ${FIRST_ARRIVAL_GROUPINGS[groupBy]} AS grp
  FROM (${applianceFactsSql(days, agencyList(p, agencies))}) AS appliance_facts
  WHERE ${scopeWhere(p, period, days).join(' AND ')} AND cancelled = 0 AND arrival_order = 1
)
GROUP BY grp, crewing_model
ORDER BY grp, crewing_model`;
  return { query, params };
}

/** The columns of one appliance record, in order (the CSV header of the records route). */
export const APPLIANCE_RECORD_COLUMNS = [
  'agency',
  'incident_id',
  'resource_id',
  'home_station',
  'crewing_model',
  'station_ground',
  'call_received_at',
  'mobilised_at',
  'mobile_at',
  'arrived_at',
  'left_at',
  'turnout_seconds',
  'travel_seconds',
  'attendance_seconds',
  'arrival_order',
  'crossed_border',
  'not_arrived',
  'cancelled',
] as const;

/**
 * The records behind the per-appliance figures: one row per appliance mobilised to an incident of
 * the period, ordered by call time, incident and appliance, a page at a time (`offset`, `limit`).
 */
export function applianceRecordsQuery(
  period: OperationsPeriod,
  agencies: readonly string[],
  page: { offset: number; limit: number; resources?: string[] },
): KpiQuery {
  const params: Record<string, unknown> = {};
  const p = parameterBinder(params, '');
  const days = periodDays(p, period);
  const where = scopeWhere(p, period, days);
  if (page.resources !== undefined) {
    where.push(`resource_id IN ${p('resources', page.resources, 'Array(String)')}`);
  }
  const query = `
SELECT
  CAST(agency AS String) AS agency, incident_id, resource_id, home_station, crewing_model, station_ground,
  call_received_at, mobilised_at, mobile_at, arrived_at, left_at,
  turnout_seconds, travel_seconds, attendance_seconds, arrival_order, crossed_border, not_arrived, cancelled
FROM (${applianceFactsSql(days, agencyList(p, agencies))}) AS appliance_facts
WHERE ${where.join(' AND ')}
ORDER BY appliance_facts.call_received_at, agency, incident_id, resource_id
LIMIT ${p('limit', page.limit, 'UInt32')} OFFSET ${p('offset', page.offset, 'UInt64')}`;
  return { query, params };
}
