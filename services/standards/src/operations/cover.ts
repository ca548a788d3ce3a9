import { resourceIntervalsSql } from '@bluelight/clickhouse-schema';
import type { IncidentStandardVersion, KpiResult, KpiRow } from '../incident-kpi.js';
import { incidentKpiQueryOver, kpiResult } from '../incident-kpi.js';
import { agencyList, type KpiQuery, parameterBinder, type VersionPart } from '../kpi-common.js';
import { type Bind, type OperationsPeriod, periodDays, periodInstants } from './common.js';
import { stationCountTimelineSql } from './station-cover.js';

/** The two sides of the split, and incidents in grounds without an on-call appliance. */
export const COVER_STATES = {
  available: 'on_call_available',
  unavailable: 'on_call_unavailable',
  none: 'no_on_call_appliance',
} as const;

/**
 * Each station's on-call cover over the period: at every status change of one of its on-call
 * appliances (and at each one's last change before the period), how many of them were then on the
 * run (`stationCountTimelineSql`), the appliances' station as of each change.
 */
function coverTimelineSql(p: Bind, period: OperationsPeriod, agencies: readonly string[]): string {
  const instants = periodInstants(periodDays(p, period));
  const onCall = `SELECT * FROM (${resourceIntervalsSql(instants, agencyList(p, agencies))})
        WHERE crewing_model = 'on_call'`;
  return `
    SELECT agency AS joined_agency, station AS joined_station, at AS joined_at, counted AS joined_on_run
    FROM (${stationCountTimelineSql(onCall, 'available')})`;
}

/**
 * An incident standard (e.g. the attendance standard) over the incidents of the period, split by
 * whether an on-call appliance of the incident's station was on the run when the call was
 * received (available at the station, on the road or committed), optionally per station ground.
 * Each incident is judged by the standard's own definition (scope, clock, threshold, exclusions,
 * versions by day), the same SQL as /v1/kpis, in the same scan: the station's cover at the call
 * is an ASOF join of its cover timeline onto each incident row. Grounds without an on-call
 * appliance (no timeline) are not split.
 */
export function coverAttendanceQuery(
  parts: VersionPart<IncidentStandardVersion>[],
  period: OperationsPeriod,
  agencies: readonly string[],
  byStation: boolean,
): KpiQuery {
  const coverParams: Record<string, unknown> = {};
  const p = parameterBinder(coverParams, 'cover_');
  const join = `ASOF LEFT JOIN (${coverTimelineSql(p, period, agencies)}) AS joined
        ON joined.joined_agency = incident_facts.agency
        AND joined.joined_station = incident_facts.station_ground
        AND joined.joined_at <= incident_facts.call_received_at`;
  const state = `multiIf(joined.joined_station = '', '${COVER_STATES.none}', joined.joined_on_run > 0, '${COVER_STATES.available}', '${COVER_STATES.unavailable}')`;
  const group = byStation ? `concat(incident_facts.station_ground, '|', ${state})` : state;
  const filters = period.stations !== undefined ? { station: period.stations } : {};
  const kpi = incidentKpiQueryOver(parts, agencies, 'none', filters, {
    joinedGroup: { join, group },
  });
  return { query: kpi.query, params: { ...kpi.params, ...coverParams } };
}

/** The difference between the two sides, when both have the minimum sample. */
export interface CoverDifference {
  station: string;
  available: KpiResult | null;
  unavailable: KpiResult | null;
  /** Incidents in the standard, included (measured, not excluded), on each side. */
  n: { available: number; unavailable: number };
  minimumSample: number;
  /** True when a side has fewer than the minimum sample: the differences are then null. */
  insufficientData: boolean;
  /** Share within the standard when available minus when unavailable (share_within standards). */
  shareDifference: number | null;
  /** Its 95% interval (normal approximation for a difference of two proportions). */
  shareDifference95: [number, number] | null;
  /** Mean measured seconds when unavailable minus when available: how much longer it takes. */
  meanSecondsDifference: number | null;
}

/**
 * Pairs the split's rows into a difference per station (or 'all'), with sample sizes; below
 * `minimumSample` on either side the differences are null (insufficient data).
 */
export function coverDifferences(
  version: IncidentStandardVersion,
  rows: KpiRow[],
  minimumSample: number,
): CoverDifference[] {
  const byStation = new Map<string, { available?: KpiResult; unavailable?: KpiResult }>();
  for (const row of rows) {
    const [station, state] = row.group.includes('|')
      ? (row.group.split('|') as [string, string])
      : ['all', row.group];
    const side =
      state === COVER_STATES.available
        ? 'available'
        : state === COVER_STATES.unavailable
          ? 'unavailable'
          : undefined;
    if (!side) continue;
    const entry = byStation.get(station) ?? {};
    entry[side] = kpiResult(version, row);
    byStation.set(station, entry);
  }
  return [...byStation.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([station, sides]) => {
      const nAvailable = sides.available?.n ?? 0;
      const nUnavailable = sides.unavailable?.n ?? 0;
      const insufficientData = nAvailable < minimumSample || nUnavailable < minimumSample;
      let shareDifference: number | null = null;
      let shareDifference95: [number, number] | null = null;
      let meanSecondsDifference: number | null = null;
      if (!insufficientData && sides.available && sides.unavailable) {
        const a = sides.available;
        const u = sides.unavailable;
        if (a.met !== undefined && u.met !== undefined) {
          const pa = a.met / a.n;
          const pu = u.met / u.n;
          shareDifference = pa - pu;
          const se = Math.sqrt((pa * (1 - pa)) / a.n + (pu * (1 - pu)) / u.n);
          shareDifference95 = [shareDifference - 1.96 * se, shareDifference + 1.96 * se];
        }
        if (a.meanSeconds !== null && u.meanSeconds !== null) {
          meanSecondsDifference = u.meanSeconds - a.meanSeconds;
        }
      }
      return {
        station,
        available: sides.available ?? null,
        unavailable: sides.unavailable ?? null,
        n: { available: nAvailable, unavailable: nUnavailable },
        minimumSample,
        insufficientData,
        shareDifference,
        shareDifference95,
        meanSecondsDifference,
      };
    });
}

/** The differences as flat records (CSV lines, table rows): one per station (or all). */
export function coverRecords(differences: CoverDifference[]): Record<string, unknown>[] {
  return differences.map((row) => ({
    station: row.station,
    n_available: row.n.available,
    n_unavailable: row.n.unavailable,
    value_available: row.available?.value ?? null,
    value_unavailable: row.unavailable?.value ?? null,
    mean_seconds_available: row.available?.meanSeconds ?? null,
    mean_seconds_unavailable: row.unavailable?.meanSeconds ?? null,
    minimum_sample: row.minimumSample,
    insufficient_data: row.insufficientData,
    share_difference: row.shareDifference,
    share_difference_95_low: row.shareDifference95?.[0] ?? null,
    share_difference_95_high: row.shareDifference95?.[1] ?? null,
    mean_seconds_difference: row.meanSecondsDifference,
  }));
}
