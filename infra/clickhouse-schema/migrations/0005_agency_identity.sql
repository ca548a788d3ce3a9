-- Identity is (agency, entity id): raw tables are re-keyed so two agencies may use the same
-- incident, call, resource and event ids and never collapse into each other. A raw row is the
-- event as received: its envelope, its entity id and its payload (JSON; the views of 0006 read
-- the fields they need from it — the columns 0001 copied out of every payload are gone, which
-- makes the raw insert, the sink's one write, about as cheap as a plain event store's). Every
-- raw row also records the entity's anchor — the Europe/London month its facts are partitioned
-- by, chosen once by the sink from the entity's first event — and whether the entity's facts
-- are recomputed (`_revised`: it has a correction or retraction; see 0006).
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
    -- The event's payload exactly as the contract validated it (JSON); the views read it.
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
    -- The event's payload exactly as the contract validated it (JSON); the views read it.
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
    -- The event's payload exactly as the contract validated it (JSON); the views read it.
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
