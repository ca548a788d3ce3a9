import { incidentFactsSql, resourceIntervalsSql } from '@bluelight/clickhouse-schema';
import { agencyList, type KpiQuery, parameterBinder } from '../kpi-common.js';
import {
  type Bind,
  daysBefore,
  type OperationsPeriod,
  periodDays,
  periodInstants,
  scopeWhere,
} from './common.js';

export const CONCURRENCY_GROUPINGS = {
  none: `'all'`,
  agency: 'CAST(agency AS String)',
  station_ground: 'station_ground',
  service: 'service',
} as const;
export type ConcurrencyGrouping = keyof typeof CONCURRENCY_GROUPINGS;

/** When an incident begins to be in progress: its call, or its creation without one. */
export const INCIDENT_BEGINS = 'coalesce(call_received_at, created_at)';

/**
 * An incident in progress at the instant `at` (SQL), over incident facts: not cancelled, begun at
 * or before it, not closed by it. Unlike the levels below (which need an end), an incident not
 * closed yet is in progress: this is "now" on a wall screen.
 */
export function inProgressAtWhere(at: string): string[] {
  return [
    'cancelled = 0',
    `${INCIDENT_BEGINS} IS NOT NULL`,
    `${INCIDENT_BEGINS} <= ${at}`,
    `ifNull(closed_at > ${at}, 1)`,
  ];
}

/**
 * Incidents that began before the period and were still in progress in it are counted when they
 * began at most this many days before it: the facts of those days are read too.
 */
export const CONCURRENCY_CARRY_IN_DAYS = 2;

/**
 * Levels of concurrency: for each group, the segments [t, next_t) between consecutive starts and
 * ends of incidents in progress (call received, or creation without a call, to closure; cancelled
 * and never-closed incidents are not counted), each with how many were in progress during it,
 * clipped to the period. An end at the instant of another's start is processed first, so
 * back-to-back incidents are not concurrent.
 */
function levelSegmentsSql(
  p: Bind,
  period: OperationsPeriod,
  agencies: readonly string[],
  groupBy: ConcurrencyGrouping,
): string {
  const days = periodDays(p, period);
  const instants = periodInstants(days);
  // The incidents' days read: the period and the carry-in before it.
  const read = {
    from: p('read_from', daysBefore(period.from, CONCURRENCY_CARRY_IN_DAYS), 'Date'),
    to: days.to,
  };
  const scope = scopeWhere(p, period, { from: read.from, to: days.to });
  return `
    SELECT grp, t, next_t, level FROM (
      SELECT grp, t, delta,
        sum(delta) OVER (PARTITION BY grp ORDER BY t, delta ROWS UNBOUNDED PRECEDING) AS level,
        leadInFrame(toNullable(t)) OVER (
          PARTITION BY grp ORDER BY t, delta ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING) AS next_t
      FROM (
        SELECT grp, arrayJoin([(begins, toInt8(1)), (ends, toInt8(-1))]) AS point,
          point.1 AS t, point.2 AS delta
        FROM (
          SELECT ${CONCURRENCY_GROUPINGS[groupBy]} AS grp,
            greatest(assumeNotNull(${INCIDENT_BEGINS}), ${instants.from}) AS begins,
            least(assumeNotNull(closed_at), ${instants.to}) AS ends
          FROM (${incidentFactsSql(read, agencyList(p, agencies))}) AS incident_facts
          WHERE ${scope.join(' AND ')} AND cancelled = 0
            AND closed_at IS NOT NULL AND ${INCIDENT_BEGINS} IS NOT NULL
            AND closed_at > ${INCIDENT_BEGINS}
            AND ${INCIDENT_BEGINS} < ${instants.to}
            AND closed_at > ${instants.from}
        )
      )
    )
    WHERE next_t IS NOT NULL AND next_t > t`;
}

export const CONCURRENCY_BUCKETS = {
  // The hour's start, UTC.
  hour: `formatDateTime(toDateTime(hour * 3600, 'UTC'), '%Y-%m-%dT%H:00:00Z', 'UTC')`,
  // The London day (London days begin on UTC hours, so an hour is in one day).
  day: `toString(toDate(toDateTime(hour * 3600, 'UTC'), 'Europe/London'))`,
} as const;
export type ConcurrencyBucket = keyof typeof CONCURRENCY_BUCKETS;

/**
 * Incidents in progress at once over London days [from, to], in one read of the facts: per group
 * and bucket (UTC hour or London day) that had any, the peak level and how long each level above
 * 0 lasted in it (`ms_by_level`, the level segments cut at hour boundaries), and the period's
 * length. The distribution over the period is the buckets' times added up; the rest is level 0.
 */
export function concurrencyQuery(
  period: OperationsPeriod,
  agencies: readonly string[],
  groupBy: ConcurrencyGrouping = 'none',
  bucket: ConcurrencyBucket = 'hour',
): KpiQuery {
  const params: Record<string, unknown> = {};
  const p = parameterBinder(params, '');
  const segments = levelSegmentsSql(p, period, agencies, groupBy);
  const instants = periodInstants(periodDays(p, period));
  const query = `
SELECT
  grp AS group,
  ${CONCURRENCY_BUCKETS[bucket]} AS bucket,
  max(level) AS peak,
  sumMap(map(toUInt32(level), toInt64(least(end_ms, (hour + 1) * 3600000) - greatest(start_ms, hour * 3600000)))) AS ms_by_level,
  any(toInt64(dateDiff('millisecond', ${instants.from}, ${instants.to}))) AS period_ms
FROM (
  SELECT grp, level, start_ms, end_ms,
    arrayJoin(range(intDiv(start_ms, 3600000), intDiv(end_ms - 1, 3600000) + 1)) AS hour
  FROM (
    SELECT grp, level, toUnixTimestamp64Milli(t) AS start_ms,
      toUnixTimestamp64Milli(assumeNotNull(next_t)) AS end_ms
    FROM (${segments})
    WHERE level > 0
  )
)
GROUP BY grp, bucket
ORDER BY grp, bucket`;
  return { query, params };
}

/**
 * One row per incident of the period (not cancelled, with a call time) and what its station's own
 * appliances (home station = the incident's ground) were doing when the call was received: each
 * appliance's latest status change at or before the call (an ASOF join on the status intervals).
 * Columns are prefixed `joined_` so the row can be joined to incident facts by key.
 */
export function coverAtCallSql(
  p: Bind,
  period: OperationsPeriod,
  agencies: readonly string[],
): string {
  const days = periodDays(p, period);
  const instants = periodInstants(days);
  const agencyArray = agencyList(p, agencies);
  return `
    SELECT
      CAST(incident.agency AS String) AS joined_agency,
      incident.incident_id AS joined_incident_id,
      any(incident.station_ground) AS joined_station_ground,
      any(incident.service) AS joined_service,
      countIf(appliance.resource_id != '') AS own_appliances,
      countIf(status.status = 'committed' AND status.committed_incident_id != incident.incident_id) AS committed_elsewhere,
      countIf(status.status IN ('available_at_station', 'available_mobile')) AS free,
      countIf(appliance.crewing_model = 'on_call') AS on_call,
      countIf(appliance.crewing_model = 'on_call' AND status.available = 1) AS on_call_on_run
    FROM (
      SELECT agency, incident_id, station_ground, service, assumeNotNull(call_received_at) AS call_at
      FROM (${incidentFactsSql(days, agencyArray)}) AS incident_facts
      WHERE ${scopeWhere(p, period, days).join(' AND ')} AND cancelled = 0 AND call_received_at IS NOT NULL
    ) AS incident
    LEFT JOIN (
      SELECT agency, resource_id, latest.3 AS home_station, latest.5 AS crewing_model
      FROM (
        SELECT agency, resource_id, max(profile) AS latest FROM resource_registry
        WHERE agency IN ${agencyArray} GROUP BY agency, resource_id)
    ) AS appliance ON appliance.agency = incident.agency AND appliance.home_station = incident.station_ground
    ASOF LEFT JOIN (
      SELECT agency, resource_id, start_at, status, committed_incident_id, available
      FROM (${resourceIntervalsSql({ from: instants.from, to: instants.to }, agencyArray)})
    ) AS status ON status.agency = appliance.agency AND status.resource_id = appliance.resource_id
      AND status.start_at <= incident.call_at
    GROUP BY incident.agency, incident.incident_id`;
}

export const COMMITTED_ELSEWHERE_GROUPINGS = {
  none: `'all'`,
  agency: 'joined_agency',
  station_ground: 'joined_station_ground',
  service: 'joined_service',
} as const;
export type CommittedElsewhereGrouping = keyof typeof COMMITTED_ELSEWHERE_GROUPINGS;

/**
 * The share of incidents that began while the station's own appliances were committed
 * elsewhere: per group, incidents in grounds with appliances of their own, those with at least one
 * own appliance committed to another incident at the call, and those where none of the station's
 * appliances was free (available at the station or on the road) and at least one was committed.
 */
export function committedElsewhereQuery(
  period: OperationsPeriod,
  agencies: readonly string[],
  groupBy: CommittedElsewhereGrouping = 'none',
): KpiQuery {
  const params: Record<string, unknown> = {};
  const p = parameterBinder(params, '');
  const query = `
SELECT
  ${COMMITTED_ELSEWHERE_GROUPINGS[groupBy]} AS group,
  count() AS incidents,
  countIf(own_appliances > 0) AS with_own_appliances,
  countIf(committed_elsewhere > 0) AS any_committed_elsewhere,
  countIf(own_appliances > 0 AND free = 0 AND committed_elsewhere > 0) AS all_committed_elsewhere
FROM (${coverAtCallSql(p, period, agencies)})
GROUP BY group
ORDER BY group`;
  return { query, params };
}
