-- Per-appliance facts: for every appliance mobilised to an incident, its own mobilised, mobile,
-- arrived and left-scene times, kept by a materialized view over incidents_raw as each insert
-- lands (docs/operations.md). One row per (agency, incident, appliance), partitioned by the
-- incident's anchor month like incident_facts, so a period reads the same few partitions and an
-- incident's appliances sit beside it. Every column is an idempotent aggregate (min, max): an
-- event delivered twice changes nothing.
--
-- What is computed when read, not kept: turnout, travel and attendance (they need the incident's
-- call time), the order of arrival (it needs the incident's other appliances), the station the
-- appliance was deployed from (resource_registry) and whether it crossed into another station's
-- ground (the incident's ground, incident_facts).
--
-- Revised incidents (a correction or a retraction) are recomputed by the sink into
-- appliance_fact_revisions, by this view's own SELECT over the effective events
-- (services/clickhouse-sink/src/revisions.ts); readers ignore the aggregate rows of an incident
-- that incident_facts marks revised and take its revisions instead.

-- migrate:up
CREATE TABLE IF NOT EXISTS appliance_facts {{ON_CLUSTER}}
(
    agency LowCardinality(String),
    incident_id String,
    resource_id String,
    anchor Date,
    revised SimpleAggregateFunction(max, UInt8),
    mobilised_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    mobile_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    arrived_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    -- The latest departure: an appliance that left and came back is committed until it last left.
    left_at SimpleAggregateFunction(max, Nullable(DateTime64(3, 'UTC'))),
    last_ingested_at SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = {{REPLICATED}}AggregatingMergeTree
PARTITION BY toYYYYMM(anchor)
ORDER BY (agency, anchor, incident_id, resource_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS appliance_facts_mv {{ON_CLUSTER}} TO appliance_facts AS
SELECT
    agency,
    incident_id,
    JSONExtractString(payload, 'resource_id') AS resource_id,
    _anchor AS anchor,
    max(incidents_raw._revised) AS revised,
    minIf(toNullable(occurred_at), event_type = 'incident.resource_mobilised') AS mobilised_at,
    minIf(toNullable(occurred_at), event_type = 'incident.resource_mobile') AS mobile_at,
    minIf(toNullable(occurred_at), event_type = 'incident.resource_arrived') AS arrived_at,
    maxIf(toNullable(occurred_at), event_type = 'incident.resource_left_scene') AS left_at,
    max(_ingested_at) AS last_ingested_at
FROM incidents_raw
WHERE event_type IN (
    'incident.resource_mobilised', 'incident.resource_mobile',
    'incident.resource_arrived', 'incident.resource_left_scene')
GROUP BY agency, incident_id, resource_id, anchor;

-- Recomputed facts of revised incidents' appliances: the same columns, from the effective events;
-- an appliance none of whose events is left gets a deletion marker.
CREATE TABLE IF NOT EXISTS appliance_fact_revisions {{ON_CLUSTER}}
(
    agency LowCardinality(String),
    incident_id String,
    resource_id String,
    anchor Date,
    mobilised_at Nullable(DateTime64(3, 'UTC')),
    mobile_at Nullable(DateTime64(3, 'UTC')),
    arrived_at Nullable(DateTime64(3, 'UTC')),
    left_at Nullable(DateTime64(3, 'UTC')),
    last_ingested_at DateTime64(3, 'UTC'),
    generation UInt64,
    is_deleted UInt8
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(generation, is_deleted)
PARTITION BY toYYYYMM(anchor)
ORDER BY (agency, anchor, incident_id, resource_id)
SETTINGS non_replicated_deduplication_window = 10000;

-- The appliances of the incidents already stored (the view sees only inserts from now on);
-- revised incidents are then recomputed by `bluelight migrate`.
INSERT INTO appliance_facts
SELECT
    agency,
    incident_id,
    JSONExtractString(payload, 'resource_id') AS resource_id,
    _anchor AS anchor,
    max(_revised) AS revised,
    minIf(toNullable(occurred_at), event_type = 'incident.resource_mobilised') AS mobilised_at,
    minIf(toNullable(occurred_at), event_type = 'incident.resource_mobile') AS mobile_at,
    minIf(toNullable(occurred_at), event_type = 'incident.resource_arrived') AS arrived_at,
    maxIf(toNullable(occurred_at), event_type = 'incident.resource_left_scene') AS left_at,
    max(_ingested_at) AS last_ingested_at
FROM incidents_raw
WHERE event_type IN (
    'incident.resource_mobilised', 'incident.resource_mobile',
    'incident.resource_arrived', 'incident.resource_left_scene')
GROUP BY agency, incident_id, resource_id, anchor
SETTINGS max_partitions_per_insert_block = 0;

-- migrate:down
DROP VIEW IF EXISTS appliance_facts_mv {{ON_CLUSTER}};
DROP TABLE IF EXISTS appliance_fact_revisions {{ON_CLUSTER}};
DROP TABLE IF EXISTS appliance_facts {{ON_CLUSTER}};
