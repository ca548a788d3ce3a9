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

/**
 * Recomputes the intervals of the given resources from the last change before the batch's
 * earliest change (or the earliest change a batch event corrects) onwards; earlier intervals
 * stand. Without that anchor, every batch would rewrite each resource's whole history.
 * Parameters: `ids` (resource ids) and `events` (the batch's event ids).
 */
export const REFRESH_RESOURCE_INTERVALS = `
INSERT INTO resource_intervals
WITH
  batch AS (
    SELECT resource_id, min(occurred_at) AS since
    FROM (
      SELECT resource_id, occurred_at FROM resources_raw
      WHERE resource_id IN {ids:Array(String)} AND event_id IN {events:Array(String)}
      UNION ALL
      SELECT resource_id, occurred_at FROM resources_raw
      WHERE resource_id IN {ids:Array(String)}
        AND event_id IN (
          SELECT corrects_event_id FROM resources_raw
          WHERE resource_id IN {ids:Array(String)} AND event_id IN {events:Array(String)}
            AND corrects_event_id != ''
        )
    )
    GROUP BY resource_id
  ),
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
  anchors AS (
    SELECT
      b.resource_id AS resource_id,
      -- The last change before the batch, or the beginning of time when there is none.
      if(countIf(c.occurred_at < b.since) > 0, maxIf(c.occurred_at, c.occurred_at < b.since), toDateTime64(0, 3, 'UTC')) AS anchor
    FROM batch AS b
    LEFT JOIN changes AS c ON c.resource_id = b.resource_id
    GROUP BY b.resource_id
  ),
  current AS (
    SELECT
      c.resource_id AS resource_id,
      c.occurred_at AS start_at,
      leadInFrame(toNullable(c.occurred_at)) OVER (
        PARTITION BY c.resource_id ORDER BY c.occurred_at
        ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING
      ) AS end_at,
      c.agency AS agency,
      c.home_station AS home_station,
      c.appliance_type AS appliance_type,
      c.crewing_model AS crewing_model,
      c.status AS status,
      c.unavailable_reason AS unavailable_reason,
      -- On the run (at the station, on the road or committed to an incident): what availability counts.
      toUInt8(c.status != 'unavailable') AS available,
      c.latest_event_id AS event_id
    FROM changes AS c
    INNER JOIN anchors AS a ON a.resource_id = c.resource_id
    WHERE c.occurred_at >= a.anchor
  )
SELECT *, now64(6) AS version, 0 AS is_deleted FROM current
UNION ALL
SELECT
  r.resource_id, r.start_at, r.end_at, r.agency, r.home_station, r.appliance_type, r.crewing_model,
  r.status, r.unavailable_reason, r.available, r.event_id, now64(6), 1
FROM resource_intervals AS r FINAL
INNER JOIN anchors AS a ON a.resource_id = r.resource_id
WHERE r.start_at >= a.anchor
  AND (r.resource_id, r.start_at) NOT IN (SELECT resource_id, start_at FROM current)
`;
