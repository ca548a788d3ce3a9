/**
 * Per-call facts and the 5-minute call rollup, recomputed in ClickHouse from raw events.
 * Same pattern as incidents.ts: facts from all effective events, then whole buckets of the rollup.
 */

import { effectiveEvents } from './effective.js';

const effectiveCallEvents = effectiveEvents({
  table: 'calls_raw',
  idColumn: 'call_id',
  retractionType: 'call.event_retracted',
});

export const REFRESH_CALL_FACTS = `
INSERT INTO call_facts
WITH
  effective AS (${effectiveCallEvents}),
  computed AS (
    SELECT
      call_id,
      argMax(agency, (occurred_at, event_id)) AS agency,
      argMaxIf(line, (occurred_at, event_id), event_type = 'call.presented') AS line,
      argMaxIf(service, (occurred_at, event_id), event_type = 'call.presented') AS service,
      argMaxIf(queue, (occurred_at, event_id), event_type = 'call.presented') AS queue,
      minOrNullIf(occurred_at, event_type = 'call.presented') AS presented_at,
      minOrNullIf(occurred_at, event_type = 'call.answered') AS answered_at,
      minOrNullIf(occurred_at, event_type = 'call.abandoned') AS abandoned_at,
      maxOrNullIf(occurred_at, event_type = 'call.closed') AS closed_at,
      argMaxIf(outcome, (occurred_at, event_id), event_type = 'call.closed') AS outcome,
      argMaxIf(outcome_incident_id, (occurred_at, event_id), event_type = 'call.closed') AS incident_id,
      toUInt32(count()) AS event_count,
      max(occurred_at) AS last_event_at
    FROM effective
    GROUP BY call_id
  ),
  previous AS (
    SELECT call_id, rolled_bucket, last_event_at, agency
    FROM call_facts FINAL
    WHERE call_id IN {ids:Array(String)}
  )
SELECT
  c.call_id AS call_id,
  c.agency AS agency,
  c.line AS line,
  c.service AS service,
  c.queue AS queue,
  c.presented_at AS presented_at,
  -- An answer without a presentation, or before it, is kept but measures nothing.
  c.answered_at AS answered_at,
  -- A caller who hung up after being answered did not abandon the call.
  if(c.answered_at IS NULL, c.abandoned_at, NULL) AS abandoned_at,
  c.closed_at AS closed_at,
  if(c.answered_at >= c.presented_at, dateDiff('millisecond', c.presented_at, c.answered_at) / 1000, NULL) AS answer_seconds,
  c.outcome AS outcome,
  c.incident_id AS incident_id,
  c.event_count AS event_count,
  c.last_event_at AS last_event_at,
  toStartOfInterval(toDateTime(c.presented_at, 'UTC'), INTERVAL 5 MINUTE) AS bucket,
  p.rolled_bucket AS rolled_bucket,
  now64(6) AS version,
  0 AS is_deleted
FROM computed AS c
LEFT JOIN previous AS p ON p.call_id = c.call_id
UNION ALL
SELECT call_id, agency, '', '', '', NULL, NULL, NULL, NULL, NULL, '', '', 0, last_event_at, NULL, rolled_bucket, now64(6), 0
FROM previous
WHERE call_id NOT IN (SELECT call_id FROM computed)
SETTINGS join_use_nulls = 0
`;

export const AFFECTED_CALL_BUCKETS = `
SELECT DISTINCT toString(affected) AS bucket
FROM (
  SELECT arrayJoin([bucket, rolled_bucket]) AS affected
  FROM call_facts FINAL
  WHERE call_id IN {ids:Array(String)}
)
WHERE affected IS NOT NULL
ORDER BY bucket
`;

const callRollupKeys = 'bucket, agency, line, service, queue';

export const REFRESH_CALLS_5MIN = `
INSERT INTO calls_5min
WITH
  current AS (
    SELECT
      assumeNotNull(bucket) AS bucket, agency, line, service, queue,
      count() AS presented,
      countIf(answer_seconds IS NOT NULL) AS answered,
      countIf(abandoned_at IS NOT NULL) AS abandoned,
      countIf(answer_seconds <= 10) AS answered_within_10s,
      countIf(answer_seconds > 10 AND answer_seconds < 60) AS answered_10_to_60s,
      countIf(answer_seconds >= 60) AS answered_60s_or_more,
      sumIf(assumeNotNull(answer_seconds), answer_seconds IS NOT NULL) AS answer_seconds_sum,
      sumMapIf(map(toUInt32(ceil(assumeNotNull(answer_seconds))), toUInt64(1)), answer_seconds IS NOT NULL) AS answer_histogram,
      countIf(closed_at IS NOT NULL) AS closed,
      countIf(outcome = 'resolved_at_triage') AS resolved_at_triage
    FROM call_facts FINAL
    WHERE bucket IN {buckets:Array(DateTime('UTC'))} AND event_count > 0 AND presented_at IS NOT NULL
    GROUP BY ${callRollupKeys}
  )
SELECT *, now64(6) AS version, 0 AS is_deleted FROM current
UNION ALL
SELECT ${callRollupKeys}, 0, 0, 0, 0, 0, 0, 0, map(), 0, 0, now64(6), 1
FROM calls_5min FINAL
WHERE bucket IN {buckets:Array(DateTime('UTC'))}
  AND (${callRollupKeys}) NOT IN (SELECT ${callRollupKeys} FROM current)
`;

export const MARK_CALLS_ROLLED = `
INSERT INTO call_facts
SELECT * REPLACE (bucket AS rolled_bucket, now64(6) AS version, toUInt8(event_count = 0) AS is_deleted)
FROM call_facts FINAL
WHERE call_id IN {ids:Array(String)}
  AND (ifNull(rolled_bucket != bucket, isNull(rolled_bucket) != isNull(bucket)) OR event_count = 0)
`;
