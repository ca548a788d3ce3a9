-- Derived facts kept by ClickHouse itself, as each raw insert lands: materialized views fold
-- every raw row into one fact row per (agency, entity). Every column is an aggregate whose state
-- is idempotent under duplicates (min, max, a latest-wins tuple, a per-appliance minMap), so an
-- event delivered twice — in one insert or two — changes nothing, and no column adds up.
--
-- Facts are partitioned by the entity's anchor month (raw `_anchor`, chosen once by the sink
-- from its first event), which never changes for an entity: a period's facts are read from its
-- months only, with FINAL merging within partitions (do_not_merge_across_partitions_select_final;
-- the anchor leads the sorting key after the agency, so ClickHouse can also decide that itself).
--
-- Corrections and retractions remove an event, which no aggregate can undo: an entity that has
-- one is `revised` (set by the sink on its raw rows), its aggregate row is ignored, and the sink
-- recomputes its facts from the effective raw events into `*_revisions` (latest generation wins).
-- Readers take `revised = 0` aggregate rows plus the revisions (infra/clickhouse/src/facts.ts).
--
-- The facts of 0002 and the rollups of 0003 are dropped: every figure is computed from these.

-- migrate:up
DROP TABLE IF EXISTS incidents_daily {{ON_CLUSTER}};
DROP TABLE IF EXISTS calls_5min {{ON_CLUSTER}};
DROP TABLE IF EXISTS incident_facts {{ON_CLUSTER}};
DROP TABLE IF EXISTS call_facts {{ON_CLUSTER}};
DROP TABLE IF EXISTS resource_intervals {{ON_CLUSTER}};

-- One row per incident. `arrivals` is each appliance's first arrival; the first and second
-- arrivals are its two earliest. `details`, `placement` and `closure` are the latest (by event
-- time, then event id) created/reclassified, created and closed event's fields.
CREATE TABLE IF NOT EXISTS incident_facts {{ON_CLUSTER}}
(
    agency LowCardinality(String),
    incident_id String,
    anchor Date,
    revised SimpleAggregateFunction(max, UInt8),
    call_received_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    created_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    first_mobilised_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    first_mobile_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    arrivals SimpleAggregateFunction(minMap, Map(String, DateTime64(3, 'UTC'))),
    closed_at SimpleAggregateFunction(max, Nullable(DateTime64(3, 'UTC'))),
    cancelled SimpleAggregateFunction(max, UInt8),
    details SimpleAggregateFunction(max, Tuple(
        at DateTime64(3, 'UTC'), event_id String, service String, category String,
        category_subtype String, risk_band String, life_risk UInt8, police_grading String,
        area_type String)),
    placement SimpleAggregateFunction(max, Tuple(
        at DateTime64(3, 'UTC'), event_id String, station_ground String, area String)),
    closure SimpleAggregateFunction(max, Tuple(
        at DateTime64(3, 'UTC'), event_id String, stop_code String, late_call UInt8,
        derelict_property UInt8, abandoned_road_vehicle UInt8, delay_reason String)),
    last_event_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    last_ingested_at SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = {{REPLICATED}}AggregatingMergeTree
PARTITION BY toYYYYMM(anchor)
ORDER BY (agency, anchor, incident_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS incident_facts_mv {{ON_CLUSTER}} TO incident_facts AS
WITH
    -- Every payload field an incident's facts take, of whichever event type carries it ('' or 0
    -- where the event has none).
    JSONExtract(payload, 'Tuple(
        call_received_at String,
        resource_id String,
        details Tuple(
            service String,
            category Tuple(type String, location_type String, special_service_type String, false_alarm_type String),
            risk_band String, life_risk Bool, grading String, area_type String),
        location Tuple(station_ground String, area String),
        stop_code String,
        exclusions Tuple(late_call Bool, derelict_property Bool, abandoned_road_vehicle Bool),
        delay_reason String)') AS p,
    p.details AS d,
    multiIf(
        d.category.type = 'primary_fire', d.category.location_type,
        d.category.type = 'special_service', d.category.special_service_type,
        d.category.type = 'false_alarm', d.category.false_alarm_type,
        '') AS subtype
SELECT
    agency,
    incident_id,
    _anchor AS anchor,
    max(incidents_raw._revised) AS revised,
    minIf(parseDateTime64BestEffortOrNull(p.call_received_at, 3, 'UTC'), event_type = 'incident.created') AS call_received_at,
    minIf(toNullable(occurred_at), event_type = 'incident.created') AS created_at,
    minIf(toNullable(occurred_at), event_type = 'incident.resource_mobilised') AS first_mobilised_at,
    minIf(toNullable(occurred_at), event_type = 'incident.resource_mobile') AS first_mobile_at,
    minMapIf(map(p.resource_id, occurred_at), event_type = 'incident.resource_arrived') AS arrivals,
    maxIf(toNullable(occurred_at), event_type = 'incident.closed') AS closed_at,
    max(toUInt8(event_type = 'incident.cancelled')) AS cancelled,
    maxIf(
        (occurred_at, event_id, d.service, d.category.type, subtype, d.risk_band,
         toUInt8(d.life_risk), d.grading, d.area_type),
        event_type IN ('incident.created', 'incident.reclassified')) AS details,
    maxIf(
        (occurred_at, event_id, p.location.station_ground, p.location.area),
        event_type = 'incident.created') AS placement,
    maxIf(
        (occurred_at, event_id, p.stop_code, toUInt8(p.exclusions.late_call),
         toUInt8(p.exclusions.derelict_property), toUInt8(p.exclusions.abandoned_road_vehicle),
         p.delay_reason),
        event_type = 'incident.closed') AS closure,
    maxIf(occurred_at, event_type != 'incident.event_retracted') AS last_event_at,
    max(_ingested_at) AS last_ingested_at
-- Retractions count for nothing but `revised` (every other column is of other event types).
FROM incidents_raw
GROUP BY agency, incident_id, anchor;

-- Recomputed facts of revised incidents: the same columns, from the effective events only.
CREATE TABLE IF NOT EXISTS incident_fact_revisions {{ON_CLUSTER}}
(
    agency LowCardinality(String),
    incident_id String,
    anchor Date,
    call_received_at Nullable(DateTime64(3, 'UTC')),
    created_at Nullable(DateTime64(3, 'UTC')),
    first_mobilised_at Nullable(DateTime64(3, 'UTC')),
    first_mobile_at Nullable(DateTime64(3, 'UTC')),
    arrivals Map(String, DateTime64(3, 'UTC')),
    closed_at Nullable(DateTime64(3, 'UTC')),
    cancelled UInt8,
    details Tuple(
        at DateTime64(3, 'UTC'), event_id String, service String, category String,
        category_subtype String, risk_band String, life_risk UInt8, police_grading String,
        area_type String),
    placement Tuple(at DateTime64(3, 'UTC'), event_id String, station_ground String, area String),
    closure Tuple(
        at DateTime64(3, 'UTC'), event_id String, stop_code String, late_call UInt8,
        derelict_property UInt8, abandoned_road_vehicle UInt8, delay_reason String),
    last_event_at DateTime64(3, 'UTC'),
    last_ingested_at DateTime64(3, 'UTC'),
    -- (highest raw offset seen << 16) | raw rows seen: a recompute that saw more wins.
    generation UInt64,
    -- 1 when every event of the incident was retracted.
    is_deleted UInt8
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(generation, is_deleted)
PARTITION BY toYYYYMM(anchor)
ORDER BY (agency, anchor, incident_id)
SETTINGS non_replicated_deduplication_window = 10000;

-- One row per call: when it was presented, answered, abandoned and closed; the latest
-- presentation's line, service and queue; the latest closure's outcome.
CREATE TABLE IF NOT EXISTS call_facts {{ON_CLUSTER}}
(
    agency LowCardinality(String),
    call_id String,
    anchor Date,
    revised SimpleAggregateFunction(max, UInt8),
    presented_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    answered_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    abandoned_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    closed_at SimpleAggregateFunction(max, Nullable(DateTime64(3, 'UTC'))),
    presentation SimpleAggregateFunction(max, Tuple(
        at DateTime64(3, 'UTC'), event_id String, line String, service String, queue String)),
    closure SimpleAggregateFunction(max, Tuple(
        at DateTime64(3, 'UTC'), event_id String, outcome String, incident_id String)),
    last_event_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    last_ingested_at SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = {{REPLICATED}}AggregatingMergeTree
PARTITION BY toYYYYMM(anchor)
ORDER BY (agency, anchor, call_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS call_facts_mv {{ON_CLUSTER}} TO call_facts AS
WITH JSONExtract(payload, 'Tuple(
        line String, service String, queue String,
        resolution Tuple(outcome String, incident_id String))') AS p
SELECT
    agency,
    call_id,
    _anchor AS anchor,
    max(calls_raw._revised) AS revised,
    minIf(toNullable(occurred_at), event_type = 'call.presented') AS presented_at,
    minIf(toNullable(occurred_at), event_type = 'call.answered') AS answered_at,
    minIf(toNullable(occurred_at), event_type = 'call.abandoned') AS abandoned_at,
    maxIf(toNullable(occurred_at), event_type = 'call.closed') AS closed_at,
    maxIf((occurred_at, event_id, p.line, p.service, p.queue), event_type = 'call.presented') AS presentation,
    maxIf(
        (occurred_at, event_id, p.resolution.outcome, p.resolution.incident_id),
        event_type = 'call.closed') AS closure,
    maxIf(occurred_at, event_type != 'call.event_retracted') AS last_event_at,
    max(_ingested_at) AS last_ingested_at
FROM calls_raw
GROUP BY agency, call_id, anchor;

CREATE TABLE IF NOT EXISTS call_fact_revisions {{ON_CLUSTER}}
(
    agency LowCardinality(String),
    call_id String,
    anchor Date,
    presented_at Nullable(DateTime64(3, 'UTC')),
    answered_at Nullable(DateTime64(3, 'UTC')),
    abandoned_at Nullable(DateTime64(3, 'UTC')),
    closed_at Nullable(DateTime64(3, 'UTC')),
    presentation Tuple(at DateTime64(3, 'UTC'), event_id String, line String, service String, queue String),
    closure Tuple(at DateTime64(3, 'UTC'), event_id String, outcome String, incident_id String),
    last_event_at DateTime64(3, 'UTC'),
    last_ingested_at DateTime64(3, 'UTC'),
    generation UInt64,
    is_deleted UInt8
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(generation, is_deleted)
PARTITION BY toYYYYMM(anchor)
ORDER BY (agency, anchor, call_id)
SETTINGS non_replicated_deduplication_window = 10000;

-- Every status change of an appliance, one row per instant (two at the same instant: the one
-- received later, i.e. at the higher offset, stands). Availability intervals run from one change
-- to the next and are formed when read. Revised appliances are rewritten by the sink after each
-- insert that touches them (every instant at a higher version, deletion markers for instants no
-- effective event has any more).
CREATE TABLE IF NOT EXISTS resource_changes {{ON_CLUSTER}}
(
    agency LowCardinality(String),
    resource_id String,
    start_at DateTime64(3, 'UTC'),
    home_station LowCardinality(String),
    appliance_type LowCardinality(String),
    crewing_model LowCardinality(String),
    status LowCardinality(String),
    unavailable_reason LowCardinality(String),
    committed_incident_id String,
    -- On the run (at the station, on the road or committed to an incident): what availability counts.
    available UInt8,
    event_id String,
    version UInt64,
    is_deleted UInt8
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(start_at)
ORDER BY (agency, resource_id, start_at)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS resource_changes_mv {{ON_CLUSTER}} TO resource_changes AS
WITH JSONExtract(payload, 'Tuple(
        home_station String, appliance_type String, crewing_model String,
        state Tuple(status String, reason String, incident_id String))') AS p
SELECT
    agency,
    resource_id,
    occurred_at AS start_at,
    p.home_station AS home_station,
    p.appliance_type AS appliance_type,
    p.crewing_model AS crewing_model,
    p.state.status AS status,
    p.state.reason AS unavailable_reason,
    p.state.incident_id AS committed_incident_id,
    toUInt8(p.state.status != 'unavailable') AS available,
    event_id,
    bitShiftLeft(_offset, 16) AS version,
    toUInt8(0) AS is_deleted
FROM resources_raw
WHERE event_type = 'resource.status_changed';

-- Every appliance once: when its first and last change happened (retracted ones included, so
-- "no change before" is never wrong) and its latest home station, type and crewing model.
CREATE TABLE IF NOT EXISTS resource_registry {{ON_CLUSTER}}
(
    agency LowCardinality(String),
    resource_id String,
    first_change_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_change_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    profile SimpleAggregateFunction(max, Tuple(
        at DateTime64(3, 'UTC'), offset UInt64, home_station String, appliance_type String,
        crewing_model String))
)
ENGINE = {{REPLICATED}}AggregatingMergeTree
ORDER BY (agency, resource_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS resource_registry_mv {{ON_CLUSTER}} TO resource_registry AS
WITH JSONExtract(payload, 'Tuple(home_station String, appliance_type String, crewing_model String)') AS p
SELECT
    agency,
    resource_id,
    min(occurred_at) AS first_change_at,
    max(occurred_at) AS last_change_at,
    max((occurred_at, _offset, p.home_station, p.appliance_type, p.crewing_model)) AS profile
FROM resources_raw
WHERE event_type = 'resource.status_changed'
GROUP BY agency, resource_id;

-- Each entity's anchor and whether it is revised, by the Kafka partition its events are keyed
-- to, for the sink: it loads the keys of each partition it is given (to know, without asking,
-- which entities are new) and looks up the rest by key.
CREATE TABLE IF NOT EXISTS fact_entities {{ON_CLUSTER}}
(
    family LowCardinality(String),
    kafka_partition UInt32,
    agency LowCardinality(String),
    entity_id String,
    anchor SimpleAggregateFunction(min, Date),
    revised SimpleAggregateFunction(max, UInt8),
    -- The raw table's partitions (UTC months, YYYYMM) holding the entity's rows: a recompute
    -- reads only these, so its cost does not grow with the years of history beside them.
    raw_months SimpleAggregateFunction(groupUniqArrayArray, Array(UInt32))
)
ENGINE = {{REPLICATED}}AggregatingMergeTree
ORDER BY (family, kafka_partition, agency, entity_id)
SETTINGS index_granularity = 1024, non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS fact_entities_calls_mv {{ON_CLUSTER}} TO fact_entities AS
SELECT 'calls' AS family, _partition AS kafka_partition, agency, call_id AS entity_id,
    min(_anchor) AS anchor, max(_revised) AS revised, groupUniqArray(toYYYYMM(occurred_at)) AS raw_months
FROM calls_raw
GROUP BY kafka_partition, agency, call_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS fact_entities_incidents_mv {{ON_CLUSTER}} TO fact_entities AS
SELECT 'incidents' AS family, _partition AS kafka_partition, agency, incident_id AS entity_id,
    min(_anchor) AS anchor, max(_revised) AS revised, groupUniqArray(toYYYYMM(occurred_at)) AS raw_months
FROM incidents_raw
GROUP BY kafka_partition, agency, incident_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS fact_entities_resources_mv {{ON_CLUSTER}} TO fact_entities AS
SELECT 'resources' AS family, _partition AS kafka_partition, agency, resource_id AS entity_id,
    min(_anchor) AS anchor, max(_revised) AS revised, groupUniqArray(toYYYYMM(occurred_at)) AS raw_months
FROM resources_raw
GROUP BY kafka_partition, agency, resource_id;

-- Entities whose day (the call's London day) lies outside the anchor month or the month before
-- it, which a period's read would otherwise miss: their first event came more than a month
-- after the call. Rare (events sent badly out of order); readers add them by key.
CREATE TABLE IF NOT EXISTS fact_anchor_exceptions {{ON_CLUSTER}}
(
    family LowCardinality(String),
    agency LowCardinality(String),
    entity_id String,
    anchor Date,
    day Date
)
ENGINE = {{REPLICATED}}ReplacingMergeTree
ORDER BY (family, agency, day, entity_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS fact_anchor_exceptions_calls_mv {{ON_CLUSTER}} TO fact_anchor_exceptions AS
SELECT 'calls' AS family, agency, call_id AS entity_id, _anchor AS anchor, toDate(occurred_at, 'Europe/London') AS day
FROM calls_raw
WHERE event_type = 'call.presented'
  AND toStartOfMonth(toDate(occurred_at, 'Europe/London')) NOT IN (_anchor, _anchor - toIntervalMonth(1));

CREATE MATERIALIZED VIEW IF NOT EXISTS fact_anchor_exceptions_incidents_mv {{ON_CLUSTER}} TO fact_anchor_exceptions AS
WITH toDate(parseDateTime64BestEffort(JSONExtractString(payload, 'call_received_at'), 3, 'UTC'), 'Europe/London') AS call_day
SELECT 'incidents' AS family, agency, incident_id AS entity_id, _anchor AS anchor, call_day AS day
FROM incidents_raw
WHERE event_type = 'incident.created'
  AND toStartOfMonth(call_day) NOT IN (_anchor, _anchor - toIntervalMonth(1));

-- migrate:down irreversible
