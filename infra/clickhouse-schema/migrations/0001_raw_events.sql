-- Raw events, one table per family: every valid event exactly as received, flattened for queries,
-- with its Kafka lineage. Duplicates (at-least-once delivery) share an event_id and collapse:
-- exact readers use FINAL, which is cheap here because they always filter on the entity id.
-- Timestamps are UTC; partitions are months of event time.

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
    _ingested_at DateTime64(3, 'UTC')
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(_ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (call_id, event_id)
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
    _ingested_at DateTime64(3, 'UTC')
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(_ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (incident_id, event_id)
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
    _ingested_at DateTime64(3, 'UTC')
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(_ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (resource_id, event_id)
SETTINGS non_replicated_deduplication_window = 10000;

-- Messages the sink could not accept (undecodable or breaking the contract), with the original
-- bytes and why, for dashboards, alerts and `bluelight dlq`.
CREATE TABLE IF NOT EXISTS dead_letters {{ON_CLUSTER}}
(
    failed_at DateTime64(3, 'UTC'),
    service LowCardinality(String),
    original_topic LowCardinality(String),
    original_partition UInt32,
    original_offset UInt64,
    dead_letter_topic LowCardinality(String),
    error_class LowCardinality(String),
    reason String,
    event_id String,
    event_type LowCardinality(String),
    message_key String,
    message_value String CODEC(ZSTD(3))
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(failed_at)
PARTITION BY toYYYYMM(failed_at)
ORDER BY (original_topic, original_partition, original_offset)
SETTINGS non_replicated_deduplication_window = 10000;

-- migrate:down
DROP TABLE IF EXISTS dead_letters {{ON_CLUSTER}};
DROP TABLE IF EXISTS resources_raw {{ON_CLUSTER}};
DROP TABLE IF EXISTS incidents_raw {{ON_CLUSTER}};
DROP TABLE IF EXISTS calls_raw {{ON_CLUSTER}};
