import { resourceIntervalsSql } from '@bluelight/clickhouse-schema';
import { agencyList, type KpiQuery, parameterBinder } from '../kpi-common.js';
import { type OperationsPeriod, periodDays, periodInstants } from './common.js';

export const UTILISATION_GROUPINGS = {
  none: `'all'`,
  agency: 'CAST(agency AS String)',
  resource: 'resource_id',
  station: 'home_station',
  crewing_model: 'crewing_model',
} as const;
export type UtilisationGrouping = keyof typeof UTILISATION_GROUPINGS;

export interface UtilisationOptions {
  /** Also break each group down by London hour of week ("1-08": Monday 08:00–09:00). */
  byHourOfWeek?: boolean;
  /** Appliances of these crewing models only (default: every one). */
  crewingModels?: string[];
}

/**
 * Unit-hour utilisation over London days [from, to]: time committed to incidents (status
 * `committed`) over time available (on the run: every status but `unavailable`, which includes
 * committed), from the appliances' status intervals clipped to the period; an interval still open
 * ends now. By hour of week, each interval is cut at hour boundaries (London hours start on UTC
 * hours, so a clocks-change night has 23 or 25 of them) and each piece labelled by its London hour.
 */
export function utilisationQuery(
  period: Pick<OperationsPeriod, 'from' | 'to'>,
  agencies: readonly string[],
  groupBy: UtilisationGrouping = 'none',
  options: UtilisationOptions = {},
): KpiQuery {
  const params: Record<string, unknown> = {};
  const p = parameterBinder(params, '');
  const instants = periodInstants(periodDays(p, period));
  const where = [`start_at < ${instants.to}`, `ifNull(end_at, now64(3)) > ${instants.from}`];
  if (options.crewingModels !== undefined) {
    where.push(`crewing_model IN ${p('crewing', options.crewingModels, 'Array(String)')}`);
  }
  const clipped = `
      SELECT *,
        toUnixTimestamp64Milli(greatest(start_at, ${instants.from})) AS start_ms,
        toUnixTimestamp64Milli(least(ifNull(end_at, now64(3)), ${instants.to})) AS end_ms
      FROM (${resourceIntervalsSql(instants, agencyList(p, agencies))}) AS resource_intervals
      WHERE ${where.join(' AND ')}`;
  const pieces = options.byHourOfWeek
    ? `
    SELECT *,
      greatest(start_ms, hour * 3600000) AS piece_start,
      least(end_ms, (hour + 1) * 3600000) AS piece_end,
      formatDateTime(toDateTime(hour * 3600, 'UTC'), '%u-%H', 'Europe/London') AS how
    FROM (
      SELECT *, arrayJoin(range(intDiv(start_ms, 3600000), intDiv(end_ms - 1, 3600000) + 1)) AS hour
      FROM (${clipped})
      WHERE end_ms > start_ms
    )`
    : `SELECT *, start_ms AS piece_start, end_ms AS piece_end, 'all' AS how FROM (${clipped})`;
  const query = `
SELECT
  grp AS group,
  how AS hour_of_week,
  sumIf(piece_end - piece_start, available = 1) AS available_ms,
  sumIf(piece_end - piece_start, status = 'committed') AS committed_ms
FROM (
  SELECT *, ${UTILISATION_GROUPINGS[groupBy]} AS grp FROM (${pieces})
  WHERE piece_end > piece_start
)
GROUP BY grp, how
ORDER BY grp, how`;
  return { query, params };
}

export interface UtilisationRow {
  group: string;
  hour_of_week: string;
  available_ms: number;
  committed_ms: number;
}

export function utilisationResult(row: UtilisationRow) {
  const available = Number(row.available_ms);
  const committed = Number(row.committed_ms);
  return {
    group: row.group,
    hourOfWeek: row.hour_of_week,
    availableHours: available / 3_600_000,
    committedHours: committed / 3_600_000,
    utilisation: available > 0 ? committed / available : null,
  };
}
