import {
  type AgenciesSql,
  agencyFilter,
  anchoredWhere,
  type DaysSql,
  incidentFactsSql,
  WITHIN_PARTITIONS,
} from './facts.js';

/**
 * Where every per-appliance figure reads its facts from (migrations/0008_appliance_facts.sql):
 * one row per appliance mobilised to an incident that can have a London day in `days`, with its
 * own times, its segments, its order of arrival, the station it was deployed from and whether it
 * crossed into another station's ground, beside the incident's own facts.
 *
 * Reads: the appliance rows of the period's anchor months (FINAL within partitions), minus the
 * aggregate rows of revised incidents (whose recomputed rows come from the revisions table), joined
 * by key to the incident facts of the same months and to the appliances' registry entries.
 */
export function applianceFactsSql(days: DaysSql, agencies: AgenciesSql): string {
  const agency = agencyFilter(agencies);
  const wanted = anchoredWhere('incidents', 'incident_id', days, agencies);
  const columns = 'agency, incident_id, resource_id, mobilised_at, mobile_at, arrived_at, left_at';
  return `
  SELECT
    a.agency AS agency,
    a.incident_id AS incident_id,
    a.resource_id AS resource_id,
    a.mobilised_at AS mobilised_at,
    a.mobile_at AS mobile_at,
    a.arrived_at AS arrived_at,
    a.left_at AS left_at,
    i.service AS service,
    i.category AS category,
    i.risk_band AS risk_band,
    i.life_risk AS life_risk,
    i.cancelled AS cancelled,
    i.call_received_at AS call_received_at,
    i.created_at AS created_at,
    i.closed_at AS closed_at,
    i.day AS day,
    i.station_ground AS station_ground,
    ifNull(r.home_station, '') AS home_station,
    ifNull(r.crewing_model, '') AS crewing_model,
    ifNull(r.appliance_type, '') AS appliance_type,
    -- Its own segments, in seconds (NULL when an end is missing).
    dateDiff('millisecond', a.mobilised_at, a.mobile_at) / 1000 AS turnout_seconds,
    dateDiff('millisecond', a.mobile_at, a.arrived_at) / 1000 AS travel_seconds,
    dateDiff('millisecond', i.call_received_at, a.arrived_at) / 1000 AS attendance_seconds,
    -- 1 for the first to arrive (equal times: by appliance id, as the incident's first arrival).
    if(a.arrived_at IS NULL, NULL, toNullable(row_number() OVER (
      PARTITION BY a.agency, a.incident_id ORDER BY a.arrived_at ASC NULLS LAST, a.resource_id
    ))) AS arrival_order,
    toUInt8(a.arrived_at IS NULL) AS not_arrived,
    -- Deployed into a ground that is not its own station's (both known).
    toUInt8(home_station != '' AND i.station_ground != '' AND home_station != i.station_ground) AS crossed_border
  FROM (
    SELECT ${columns} FROM appliance_facts FINAL
    WHERE ${wanted}${agency}
      AND (agency, incident_id) NOT IN (
        SELECT agency, incident_id FROM incident_facts
        WHERE ${wanted}${agency} AND revised = 1)
    ${WITHIN_PARTITIONS}
    UNION ALL
    SELECT ${columns} FROM appliance_fact_revisions FINAL
    WHERE ${wanted}${agency}
    ${WITHIN_PARTITIONS}
  ) AS a
  INNER JOIN (${incidentFactsSql(days, agencies)}
  ) AS i ON i.agency = a.agency AND i.incident_id = a.incident_id
  LEFT JOIN (
    -- The station, type and crewing model of its latest status change.
    SELECT agency, resource_id, max(profile) AS latest,
      latest.3 AS home_station, latest.4 AS appliance_type, latest.5 AS crewing_model
    FROM resource_registry
    WHERE 1${agency}
    GROUP BY agency, resource_id
  ) AS r ON r.agency = a.agency AND r.resource_id = a.resource_id`;
}
