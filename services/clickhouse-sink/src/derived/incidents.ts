/**
 * Per-incident facts and the daily incident rollup, recomputed in ClickHouse from raw events.
 * Every statement takes its values through query parameters only.
 */

import { effectiveEvents } from './effective.js';

const effectiveIncidentEvents = effectiveEvents({
  table: 'incidents_raw',
  idColumn: 'incident_id',
  retractionType: 'incident.event_retracted',
});

/** Rewrites the facts of the given incidents; entities left with no events keep a row with no events until the rollup has let go of them. */
export const REFRESH_INCIDENT_FACTS = `
INSERT INTO incident_facts
WITH
  effective AS (${effectiveIncidentEvents}),
  arrivals AS (
    SELECT incident_id, arraySort(arrival -> arrival.1, groupArray((arrived_at, resource_id))) AS ordered
    FROM (
      SELECT incident_id, resource_id, min(occurred_at) AS arrived_at
      FROM effective
      WHERE event_type = 'incident.resource_arrived'
      GROUP BY incident_id, resource_id
    )
    GROUP BY incident_id
  ),
  computed AS (
    SELECT
      incident_id,
      argMax(agency, (occurred_at, event_id)) AS agency,
      argMaxIf(service, (occurred_at, event_id), event_type IN ('incident.created', 'incident.reclassified')) AS service,
      minIf(call_received_at, event_type = 'incident.created') AS call_received_at,
      minOrNullIf(occurred_at, event_type = 'incident.created') AS created_at,
      minOrNullIf(occurred_at, event_type = 'incident.resource_mobilised') AS first_mobilised_at,
      minOrNullIf(occurred_at, event_type = 'incident.resource_mobile') AS first_mobile_at,
      maxOrNullIf(occurred_at, event_type = 'incident.closed') AS closed_at,
      toUInt8(countIf(event_type = 'incident.cancelled') > 0) AS cancelled,
      argMaxIf(category, (occurred_at, event_id), event_type IN ('incident.created', 'incident.reclassified')) AS category,
      argMaxIf(category_subtype, (occurred_at, event_id), event_type IN ('incident.created', 'incident.reclassified')) AS category_subtype,
      argMaxIf(risk_band, (occurred_at, event_id), event_type IN ('incident.created', 'incident.reclassified')) AS risk_band,
      ifNull(argMaxIf(life_risk, (occurred_at, event_id), event_type IN ('incident.created', 'incident.reclassified')), 0) AS life_risk,
      argMaxIf(police_grading, (occurred_at, event_id), event_type IN ('incident.created', 'incident.reclassified')) AS police_grading,
      argMaxIf(area_type, (occurred_at, event_id), event_type IN ('incident.created', 'incident.reclassified')) AS area_type,
      argMaxIf(station_ground, (occurred_at, event_id), event_type = 'incident.created') AS station_ground,
      argMaxIf(area, (occurred_at, event_id), event_type = 'incident.created') AS area,
      argMaxIf(stop_code, (occurred_at, event_id), event_type = 'incident.closed') AS stop_code,
      argMaxIf(excluded_late_call, (occurred_at, event_id), event_type = 'incident.closed') AS excluded_late_call,
      argMaxIf(excluded_derelict_property, (occurred_at, event_id), event_type = 'incident.closed') AS excluded_derelict_property,
      argMaxIf(excluded_abandoned_road_vehicle, (occurred_at, event_id), event_type = 'incident.closed') AS excluded_abandoned_road_vehicle,
      argMaxIf(delay_reason, (occurred_at, event_id), event_type = 'incident.closed') AS delay_reason,
      toUInt32(count()) AS event_count,
      max(occurred_at) AS last_event_at
    FROM effective
    GROUP BY incident_id
  ),
  previous AS (
    SELECT incident_id, rolled_day, day, last_event_at, agency
    FROM incident_facts FINAL
    WHERE incident_id IN {ids:Array(String)}
  )
SELECT
  c.incident_id AS incident_id,
  c.agency AS agency,
  c.service AS service,
  c.call_received_at AS call_received_at,
  c.created_at AS created_at,
  c.first_mobilised_at AS first_mobilised_at,
  c.first_mobile_at AS first_mobile_at,
  if(length(a.ordered) >= 1, toNullable(a.ordered[1].1), NULL) AS first_arrival_at,
  if(length(a.ordered) >= 1, a.ordered[1].2, '') AS first_arrival_resource_id,
  if(length(a.ordered) >= 2, toNullable(a.ordered[2].1), NULL) AS second_arrival_at,
  c.closed_at AS closed_at,
  c.cancelled AS cancelled,
  c.category AS category,
  c.category_subtype AS category_subtype,
  c.risk_band AS risk_band,
  c.life_risk AS life_risk,
  c.police_grading AS police_grading,
  c.area_type AS area_type,
  c.station_ground AS station_ground,
  c.area AS area,
  c.stop_code AS stop_code,
  c.excluded_late_call AS excluded_late_call,
  c.excluded_derelict_property AS excluded_derelict_property,
  c.excluded_abandoned_road_vehicle AS excluded_abandoned_road_vehicle,
  c.delay_reason AS delay_reason,
  toUInt8(
    ifNull(c.first_mobilised_at < c.call_received_at, 0)
    OR ifNull(c.first_mobile_at < c.first_mobilised_at, 0)
    OR ifNull(first_arrival_at < c.first_mobilised_at, 0)
    OR ifNull(first_arrival_at < c.call_received_at, 0)
  ) AS out_of_sequence,
  c.event_count AS event_count,
  c.last_event_at AS last_event_at,
  toDate(coalesce(c.call_received_at, c.created_at), 'Europe/London') AS day,
  p.rolled_day AS rolled_day,
  now64(6) AS version,
  0 AS is_deleted
FROM computed AS c
LEFT JOIN arrivals AS a ON a.incident_id = c.incident_id
LEFT JOIN previous AS p ON p.incident_id = c.incident_id
UNION ALL
-- Incidents whose every event was retracted: no longer counted, but the rollup must let go first.
SELECT
  incident_id, agency, '', NULL, NULL, NULL, NULL, NULL, '', NULL, NULL, 0, '', '', '', 0, '', '', '', '',
  '', 0, 0, 0, '', 0, 0, last_event_at, NULL, rolled_day, now64(6), 0
FROM previous
WHERE incident_id NOT IN (SELECT incident_id FROM computed)
SETTINGS join_use_nulls = 0
`;

/** The days (Europe/London) whose rollup rows must be recomputed for these incidents. */
export const AFFECTED_INCIDENT_DAYS = `
SELECT DISTINCT toString(affected_day) AS day
FROM (
  SELECT arrayJoin([day, rolled_day]) AS affected_day
  FROM incident_facts FINAL
  WHERE incident_id IN {ids:Array(String)}
)
WHERE affected_day IS NOT NULL
ORDER BY day
`;

const incidentRollupKeys =
  'day, agency, service, station_ground, category, category_subtype, risk_band, life_risk, police_grading, area_type';

/**
 * Recomputes whole days of the rollup from the facts. Groups that no longer have any incident
 * get a deletion marker, so a reclassified incident leaves its old group.
 */
export const REFRESH_INCIDENTS_DAILY = `
INSERT INTO incidents_daily
WITH
  attendance AS (
    SELECT
      *,
      cancelled = 0 AND first_arrival_at IS NOT NULL AND call_received_at IS NOT NULL
        AND first_arrival_at >= call_received_at AS first_measured,
      cancelled = 0 AND second_arrival_at IS NOT NULL AND call_received_at IS NOT NULL
        AND second_arrival_at >= call_received_at AS second_measured,
      dateDiff('millisecond', call_received_at, first_arrival_at) / 1000 AS first_seconds,
      dateDiff('millisecond', call_received_at, second_arrival_at) / 1000 AS second_seconds
    FROM incident_facts FINAL
    WHERE day IN {days:Array(Date)} AND event_count > 0
  ),
  current AS (
    SELECT
      assumeNotNull(day) AS day, agency, service, station_ground, category, category_subtype,
      risk_band, life_risk, police_grading, area_type,
      count() AS incidents,
      countIf(cancelled = 1) AS cancelled,
      countIf(first_measured) AS attended,
      sumIf(assumeNotNull(first_seconds), first_measured) AS first_attendance_seconds_sum,
      sumMapIf(map(toUInt32(ceil(assumeNotNull(first_seconds))), toUInt64(1)), first_measured) AS first_attendance_histogram,
      countIf(second_measured) AS second_attended,
      sumMapIf(map(toUInt32(ceil(assumeNotNull(second_seconds))), toUInt64(1)), second_measured) AS second_attendance_histogram,
      countIf(excluded_late_call = 1) AS excluded_late_call,
      countIf(excluded_derelict_property = 1) AS excluded_derelict_property,
      countIf(excluded_abandoned_road_vehicle = 1) AS excluded_abandoned_road_vehicle,
      countIf(out_of_sequence = 1) AS out_of_sequence
    FROM attendance
    GROUP BY ${incidentRollupKeys}
  )
SELECT *, now64(6) AS version, 0 AS is_deleted FROM current
UNION ALL
SELECT
  ${incidentRollupKeys},
  0, 0, 0, 0, map(), 0, map(), 0, 0, 0, 0,
  now64(6), 1
FROM incidents_daily FINAL
WHERE day IN {days:Array(Date)}
  AND (${incidentRollupKeys}) NOT IN (SELECT ${incidentRollupKeys} FROM current)
`;

/**
 * Records that the rollup now counts each incident in its current day; incidents with no events
 * left are deleted once the rollup no longer counts them.
 */
export const MARK_INCIDENTS_ROLLED = `
INSERT INTO incident_facts
SELECT * REPLACE (day AS rolled_day, now64(6) AS version, toUInt8(event_count = 0) AS is_deleted)
FROM incident_facts FINAL
WHERE incident_id IN {ids:Array(String)}
  AND (ifNull(rolled_day != day, isNull(rolled_day) != isNull(day)) OR event_count = 0)
`;
