-- Identity is (agency, entity id): raw tables are re-keyed so two agencies may use the same
-- incident, call, resource and event ids and never collapse into each other. Every raw row also
-- records the entity's anchor — the Europe/London month its facts are partitioned by, chosen once
-- by the sink from the entity's first event — and whether the entity's facts are recomputed
-- (`_revised`: it has a correction or retraction; see 0005).
--
-- 0004 renamed the old tables `*_v1`; 0007 moves their rows into these once the derived facts
-- (0006) are in place to be built from them.

-- migrate:up

CREATE TABLE IF NOT EXISTS calls_raw {{ON_CLUSTER}}
(
    event_id String,
    event_type LowCardinality(String),
    schema_version UInt8,
    occurred_at DateTime64(3, 'UTC'),
    source LowCardinality(String),
    agency LowCardinality(String),
    correlation_call_id String,
    correlation_incident_id String,
    corrects_event_id String,
    corrects_reason String,
    call_id String,
    line LowCardinality(String),
    service LowCardinality(String),
    queue LowCardinality(String),
    position LowCardinality(String),
    abandon_stage LowCardinality(String),
    to_service LowCardinality(String),
    to_queue LowCardinality(String),
    outcome LowCardinality(String),
    outcome_incident_id String,
    payload String CODEC(ZSTD(3)),
    _topic LowCardinality(String),
    _partition UInt32,
    _offset UInt64,
    _ingested_at DateTime64(3, 'UTC'),
    _anchor Date,
    _revised UInt8
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(_ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (agency, call_id, event_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS incidents_raw {{ON_CLUSTER}}
(
    event_id String,
    event_type LowCardinality(String),
    schema_version UInt8,
    occurred_at DateTime64(3, 'UTC'),
    source LowCardinality(String),
    agency LowCardinality(String),
    correlation_call_id String,
    correlation_incident_id String,
    corrects_event_id String,
    corrects_reason String,
    incident_id String,
    resource_id String,
    call_received_at Nullable(DateTime64(3, 'UTC')),
    service LowCardinality(String),
    category LowCardinality(String),
    category_subtype LowCardinality(String),
    risk_band LowCardinality(String),
    life_risk Nullable(UInt8),
    police_grading LowCardinality(String),
    area_type LowCardinality(String),
    station_ground LowCardinality(String),
    area LowCardinality(String),
    lat Nullable(Float64),
    lon Nullable(Float64),
    stop_code LowCardinality(String),
    excluded_late_call UInt8,
    excluded_derelict_property UInt8,
    excluded_abandoned_road_vehicle UInt8,
    delay_reason LowCardinality(String),
    cancel_reason LowCardinality(String),
    payload String CODEC(ZSTD(3)),
    _topic LowCardinality(String),
    _partition UInt32,
    _offset UInt64,
    _ingested_at DateTime64(3, 'UTC'),
    _anchor Date,
    _revised UInt8
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(_ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (agency, incident_id, event_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS resources_raw {{ON_CLUSTER}}
(
    event_id String,
    event_type LowCardinality(String),
    schema_version UInt8,
    occurred_at DateTime64(3, 'UTC'),
    source LowCardinality(String),
    agency LowCardinality(String),
    correlation_call_id String,
    correlation_incident_id String,
    corrects_event_id String,
    corrects_reason String,
    resource_id String,
    home_station LowCardinality(String),
    appliance_type LowCardinality(String),
    crewing_model LowCardinality(String),
    status LowCardinality(String),
    unavailable_reason LowCardinality(String),
    committed_incident_id String,
    payload String CODEC(ZSTD(3)),
    _topic LowCardinality(String),
    _partition UInt32,
    _offset UInt64,
    _ingested_at DateTime64(3, 'UTC'),
    _anchor Date,
    _revised UInt8
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(_ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (agency, resource_id, event_id)
SETTINGS non_replicated_deduplication_window = 10000;

-- Dead letters name the agency and entity too (when the message was readable enough to say),
-- so a reader is shown only its own agency's.
ALTER TABLE dead_letters {{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS agency LowCardinality(String) AFTER event_type;
ALTER TABLE dead_letters {{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS entity_id String AFTER agency;

-- migrate:down
ALTER TABLE dead_letters {{ON_CLUSTER}} DROP COLUMN IF EXISTS entity_id;
ALTER TABLE dead_letters {{ON_CLUSTER}} DROP COLUMN IF EXISTS agency;
DROP TABLE IF EXISTS resources_raw {{ON_CLUSTER}};
DROP TABLE IF EXISTS incidents_raw {{ON_CLUSTER}};
DROP TABLE IF EXISTS calls_raw {{ON_CLUSTER}};
