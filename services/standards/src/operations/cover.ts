import type { IncidentStandardVersion, KpiResult, KpiRow } from '../incident-kpi.js';
import { incidentKpiQueryOver, kpiResult } from '../incident-kpi.js';
import { type KpiQuery, parameterBinder, type VersionPart } from '../kpi-common.js';
import type { OperationsPeriod } from './common.js';
import { coverAtCallSql } from './concurrency.js';

/** The two sides of the split, and incidents in grounds without an on-call appliance. */
export const COVER_STATES = {
  available: 'on_call_available',
  unavailable: 'on_call_unavailable',
  none: 'no_on_call_appliance',
} as const;

/**
 * An incident standard (e.g. the attendance standard) over the incidents of the period, split by
 * whether the on-call appliance of the incident's station ground was on the run when the call was
 * received (at least one of the station's on-call appliances available: at the station, on the
 * road or committed), optionally per station ground. Each incident is judged by the standard's own
 * definition (scope, clock, threshold, exclusions, versions by day), the same SQL as /v1/kpis.
 */
export function coverAttendanceQuery(
  parts: VersionPart<IncidentStandardVersion>[],
  period: OperationsPeriod,
  agencies: readonly string[],
  byStation: boolean,
): KpiQuery {
  const coverParams: Record<string, unknown> = {};
  const p = parameterBinder(coverParams, 'cover_');
  const state = `multiIf(on_call = 0, '${COVER_STATES.none}', on_call_on_run > 0, '${COVER_STATES.available}', '${COVER_STATES.unavailable}')`;
  const group = byStation ? `concat(joined_station_ground, '|', ${state})` : state;
  const sql = `SELECT joined_agency, joined_incident_id, ${group} AS joined_group
    FROM (${coverAtCallSql(p, period, agencies, { onCallGroundsOnly: true })})`;
  const filters = period.stations !== undefined ? { station: period.stations } : {};
  const kpi = incidentKpiQueryOver(parts, agencies, 'none', filters, { joinedGroup: { sql } });
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
