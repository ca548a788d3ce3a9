/**
 * Availability intervals per resource, recomputed from all of its effective status changes: each
 * change opens an interval that the next change (in event time) closes. Intervals that no longer
 * exist (a retracted or corrected change) get a deletion marker.
 */

import { effectiveEvents } from './effective.js';

const effectiveResourceEvents = effectiveEvents({
  table: 'resources_raw',
  idColumn: 'resource_id',
  retractionType: 'resource.event_retracted',
  onlyType: 'resource.status_changed',
});

export const REFRESH_RESOURCE_INTERVALS = `
INSERT INTO resource_intervals
WITH
  changes AS (
    -- Two changes at the same instant: the later-received one stands.
    SELECT
      resource_id,
      occurred_at,
      argMax(agency, (_ingested_at, event_id)) AS agency,
      argMax(home_station, (_ingested_at, event_id)) AS home_station,
      argMax(appliance_type, (_ingested_at, event_id)) AS appliance_type,
      argMax(crewing_model, (_ingested_at, event_id)) AS crewing_model,
      argMax(status, (_ingested_at, event_id)) AS status,
      argMax(unavailable_reason, (_ingested_at, event_id)) AS unavailable_reason,
      argMax(event_id, (_ingested_at, event_id)) AS latest_event_id
    FROM (${effectiveResourceEvents})
    GROUP BY resource_id, occurred_at
  ),
  current AS (
    SELECT
      resource_id,
      occurred_at AS start_at,
      leadInFrame(toNullable(occurred_at)) OVER (
        PARTITION BY resource_id ORDER BY occurred_at
        ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING
      ) AS end_at,
      agency,
      home_station,
      appliance_type,
      crewing_model,
      status,
      unavailable_reason,
      -- On the run (at the station, on the road or committed to an incident): what availability counts.
      toUInt8(status != 'unavailable') AS available,
      latest_event_id AS event_id
    FROM changes
  )
SELECT *, now64(6) AS version, 0 AS is_deleted FROM current
UNION ALL
SELECT
  resource_id, start_at, end_at, agency, home_station, appliance_type, crewing_model, status,
  unavailable_reason, available, event_id, now64(6), 1
FROM resource_intervals FINAL
WHERE resource_id IN {ids:Array(String)}
  AND (resource_id, start_at) NOT IN (SELECT resource_id, start_at FROM current)
`;
