import type { z } from 'zod';
import type { incidentVersion } from './definition.js';

export type IncidentStandardVersion = z.infer<typeof incidentVersion>;

/** How results are broken down; each is a fixed SQL expression over incident_facts. */
export const INCIDENT_GROUPINGS = {
  none: `'all'`,
  day: 'toString(day)',
  month: `formatDateTime(day, '%Y-%m')`,
  station: 'station_ground',
  category: 'category',
  risk_band: 'risk_band',
} as const;
export type IncidentGrouping = keyof typeof INCIDENT_GROUPINGS;

/** The fact column each clock event is read from. */
const CLOCK_COLUMNS: Record<IncidentStandardVersion['clock']['start'], string> = {
  call_received: 'call_received_at',
  incident_created: 'created_at',
  first_mobilised: 'first_mobilised_at',
  first_mobile: 'first_mobile_at',
  first_arrival: 'first_arrival_at',
  second_arrival: 'second_arrival_at',
};

export const EXCLUSION_REASONS = [
  'late_call',
  'derelict_property',
  'abandoned_road_vehicle',
  'out_of_sequence',
  'total_over',
  'total_under',
] as const;

export interface KpiQuery {
  query: string;
  params: Record<string, unknown>;
}

/**
 * The SQL that computes an incident standard over London days [from, to), one row per group.
 * Only fixed fragments chosen from the definition are put together; every value (dates, scope,
 * thresholds, switches) is a query parameter.
 */
export function incidentKpiQuery(
  version: IncidentStandardVersion,
  period: { from: string; to: string },
  groupBy: IncidentGrouping = 'none',
): KpiQuery {
  const scope = version.applies_to;
  const params: Record<string, unknown> = {
    from: period.from,
    to: period.to,
    services: scope.services,
  };
  const where = [
    'event_count > 0',
    'cancelled = 0',
    'day >= {from:Date}',
    'day < {to:Date}',
    'service IN {services:Array(String)}',
  ];
  const filter = (param: string, values: unknown, clause: string) => {
    if (values === undefined) return;
    params[param] = values;
    where.push(clause);
  };
  filter('categories', scope.categories, 'category IN {categories:Array(String)}');
  filter(
    'special_service_types',
    scope.special_service_types,
    'category_subtype IN {special_service_types:Array(String)}',
  );
  filter(
    'exclude_special_service_types',
    scope.exclude_special_service_types,
    'category_subtype NOT IN {exclude_special_service_types:Array(String)}',
  );
  filter('risk_bands', scope.risk_bands, 'risk_band IN {risk_bands:Array(String)}');
  filter(
    'life_risk',
    scope.life_risk === undefined ? undefined : scope.life_risk ? 1 : 0,
    'life_risk = {life_risk:UInt8}',
  );
  filter(
    'police_gradings',
    scope.police_gradings,
    'police_grading IN {police_gradings:Array(String)}',
  );
  filter('area_types', scope.area_types, 'area_type IN {area_types:Array(String)}');

  let threshold = 'CAST(NULL AS Nullable(Float64))';
  const statistic = version.statistic;
  if (statistic.kind === 'share_within') {
    const value = statistic.threshold_seconds;
    if (typeof value === 'number') {
      params.threshold = value;
      threshold = 'toNullable({threshold:Float64})';
    } else if ('by_risk_band' in value) {
      Object.assign(params, {
        t_high: value.by_risk_band.high,
        t_medium: value.by_risk_band.medium,
        t_low: value.by_risk_band.low,
      });
      threshold = `multiIf(risk_band = 'high', {t_high:Float64}, risk_band = 'medium', {t_medium:Float64}, risk_band = 'low', {t_low:Float64}, NULL)`;
    } else {
      Object.assign(params, {
        t_urban: value.by_area_type.urban,
        t_rural: value.by_area_type.rural,
      });
      threshold = `multiIf(area_type = 'urban', {t_urban:Float64}, area_type = 'rural', {t_rural:Float64}, NULL)`;
    }
  }
  const exclusions = version.exclusions;
  Object.assign(params, {
    x_late_call: exclusions.late_call ? 1 : 0,
    x_derelict_property: exclusions.derelict_property ? 1 : 0,
    x_abandoned_road_vehicle: exclusions.abandoned_road_vehicle ? 1 : 0,
    x_out_of_sequence: exclusions.out_of_sequence ? 1 : 0,
    x_total_over: exclusions.total_over_seconds === null ? 0 : 1,
    total_over_seconds: exclusions.total_over_seconds ?? 0,
    x_total_under: exclusions.total_under_seconds === null ? 0 : 1,
    total_under_seconds: exclusions.total_under_seconds ?? 0,
    percentile: statistic.kind === 'percentile' ? statistic.percentile : 0.9,
  });
  const start = CLOCK_COLUMNS[version.clock.start];
  const stop = CLOCK_COLUMNS[version.clock.stop];
  const query = `
WITH
  scoped AS (
    SELECT
      ${INCIDENT_GROUPINGS[groupBy]} AS grp,
      dateDiff('millisecond', ${start}, ${stop}) / 1000 AS seconds,
      dateDiff('millisecond', call_received_at, first_arrival_at) / 1000 AS total_seconds,
      ${threshold} AS threshold,
      excluded_late_call, excluded_derelict_property, excluded_abandoned_road_vehicle, out_of_sequence
    FROM incident_facts FINAL
    WHERE ${where.join('\n      AND ')}
  ),
  flagged AS (
    SELECT
      *,
      seconds IS NULL OR (${statistic.kind === 'share_within' ? 'threshold IS NULL' : '0'}) AS not_measured,
      {x_late_call:UInt8} = 1 AND excluded_late_call = 1 AS ex_late_call,
      {x_derelict_property:UInt8} = 1 AND excluded_derelict_property = 1 AS ex_derelict_property,
      {x_abandoned_road_vehicle:UInt8} = 1 AND excluded_abandoned_road_vehicle = 1 AS ex_abandoned_road_vehicle,
      {x_out_of_sequence:UInt8} = 1 AND (out_of_sequence = 1 OR ifNull(seconds < 0, 0)) AS ex_out_of_sequence,
      {x_total_over:UInt8} = 1 AND ifNull(total_seconds > {total_over_seconds:Float64}, 0) AS ex_total_over,
      {x_total_under:UInt8} = 1 AND ifNull(total_seconds >= 0 AND total_seconds < {total_under_seconds:Float64}, 0) AS ex_total_under
    FROM scoped
  ),
  judged AS (
    SELECT
      *,
      ex_late_call OR ex_derelict_property OR ex_abandoned_road_vehicle OR ex_out_of_sequence
        OR ex_total_over OR ex_total_under AS excluded,
      NOT not_measured AND NOT excluded AS included
    FROM flagged
  )
SELECT
  grp AS group,
  count() AS incidents,
  countIf(not_measured AND NOT excluded) AS not_measured_count,
  countIf(excluded) AS excluded_total,
  countIf(ex_late_call) AS excluded_late_call,
  countIf(ex_derelict_property) AS excluded_derelict_property,
  countIf(ex_abandoned_road_vehicle) AS excluded_abandoned_road_vehicle,
  countIf(ex_out_of_sequence) AS excluded_out_of_sequence,
  countIf(ex_total_over) AS excluded_total_over,
  countIf(ex_total_under) AS excluded_total_under,
  countIf(included) AS n,
  countIf(included AND seconds <= threshold) AS met,
  avgIf(seconds, included) AS mean_seconds,
  quantileExactIf({percentile:Float64})(assumeNotNull(seconds), included) AS percentile_seconds
FROM judged
GROUP BY grp
ORDER BY grp`;
  return { query, params };
}

export interface KpiRow {
  group: string;
  incidents: number;
  n: number;
  met: number;
  not_measured_count: number;
  excluded_total: number;
  mean_seconds: number;
  percentile_seconds: number;
  [reason: `excluded_${string}`]: number;
}

export interface KpiResult {
  group: string;
  version: number;
  n: number;
  /** The statistic's value, or null when n is below the minimum sample ("insufficient data"). */
  value: number | null;
  insufficientData: boolean;
  met?: number;
  notMeasured: number;
  excluded: Record<(typeof EXCLUSION_REASONS)[number], number> & { total: number };
}

/** The counts a KPI query returns that a statistic is computed from. */
export interface StatisticCounts {
  n: number;
  met: number;
  with_outcome?: number;
  mean_seconds: number;
  percentile_seconds: number;
}

/** The standard's statistic from a KPI row's counts (n must be above zero). */
export function statisticValue(
  statistic: IncidentStandardVersion['statistic'],
  counts: StatisticCounts,
): number {
  switch (statistic.kind) {
    case 'share_within':
      return counts.met / counts.n;
    case 'share_with_outcome':
      return (counts.with_outcome ?? 0) / counts.n;
    case 'percentile':
      return counts.percentile_seconds;
    default:
      return counts.mean_seconds;
  }
}

/** Turns a query row into the figure the standard defines, honouring the minimum sample. */
export function kpiResult(version: IncidentStandardVersion, row: KpiRow): KpiResult {
  const insufficientData = row.n < version.minimum_sample;
  const value = insufficientData ? null : statisticValue(version.statistic, row);
  return {
    group: row.group,
    version: version.version,
    n: row.n,
    value,
    insufficientData,
    ...(version.statistic.kind === 'share_within' ? { met: row.met } : {}),
    notMeasured: row.not_measured_count,
    excluded: {
      total: row.excluded_total,
      late_call: row.excluded_late_call,
      derelict_property: row.excluded_derelict_property,
      abandoned_road_vehicle: row.excluded_abandoned_road_vehicle,
      out_of_sequence: row.excluded_out_of_sequence,
      total_over: row.excluded_total_over,
      total_under: row.excluded_total_under,
    } as KpiResult['excluded'],
  };
}
