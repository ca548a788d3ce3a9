-- Derived facts, one row per entity (incident, call) or per availability interval (resource),
-- recomputed by the sink from ALL of that entity's raw events whenever it receives one: late,
-- out-of-order, corrected and retracted events therefore change the fact, and duplicates cannot.
-- Rows are versioned (ReplacingMergeTree with is_deleted), so readers use FINAL.
-- `rolled_*` records which rollup bucket currently counts the entity; see 0003.

-- migrate:up
CREATE TABLE IF NOT EXISTS incident_facts {{ON_CLUSTER}}
(
    incident_id String,
    agency LowCardinality(String),
    service LowCardinality(String),
    call_received_at Nullable(DateTime64(3, 'UTC')),
    created_at Nullable(DateTime64(3, 'UTC')),
    first_mobilised_at Nullable(DateTime64(3, 'UTC')),
    first_mobile_at Nullable(DateTime64(3, 'UTC')),
    first_arrival_at Nullable(DateTime64(3, 'UTC')),
    first_arrival_resource_id String,
    second_arrival_at Nullable(DateTime64(3, 'UTC')),
    closed_at Nullable(DateTime64(3, 'UTC')),
    cancelled UInt8,
    category LowCardinality(String),
    category_subtype LowCardinality(String),
    risk_band LowCardinality(String),
    life_risk UInt8,
    police_grading LowCardinality(String),
    area_type LowCardinality(String),
    station_ground LowCardinality(String),
    area LowCardinality(String),
    stop_code LowCardinality(String),
    excluded_late_call UInt8,
    excluded_derelict_property UInt8,
    excluded_abandoned_road_vehicle UInt8,
    delay_reason LowCardinality(String),
    -- A clock stop before its start (e.g. arrival before mobilisation): a Home Office exclusion.
    out_of_sequence UInt8,
    event_count UInt32,
    last_event_at DateTime64(3, 'UTC'),
    -- The Europe/London day of the call (or of creation when the call time is missing).
    day Nullable(Date),
    rolled_day Nullable(Date),
    version DateTime64(6, 'UTC'),
    is_deleted UInt8
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(version, is_deleted)
ORDER BY incident_id;

CREATE TABLE IF NOT EXISTS call_facts {{ON_CLUSTER}}
(
    call_id String,
    agency LowCardinality(String),
    line LowCardinality(String),
    service LowCardinality(String),
    queue LowCardinality(String),
    presented_at Nullable(DateTime64(3, 'UTC')),
    answered_at Nullable(DateTime64(3, 'UTC')),
    abandoned_at Nullable(DateTime64(3, 'UTC')),
    closed_at Nullable(DateTime64(3, 'UTC')),
    answer_seconds Nullable(Float64),
    outcome LowCardinality(String),
    incident_id String,
    event_count UInt32,
    last_event_at DateTime64(3, 'UTC'),
    -- The 5-minute UTC bucket of presentation (rollups in 0003 are 5-minute).
    bucket Nullable(DateTime('UTC')),
    rolled_bucket Nullable(DateTime('UTC')),
    version DateTime64(6, 'UTC'),
    is_deleted UInt8
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(version, is_deleted)
ORDER BY call_id;

-- One row per status interval: from a status change to the next one (open while end_at is NULL).
CREATE TABLE IF NOT EXISTS resource_intervals {{ON_CLUSTER}}
(
    resource_id String,
    start_at DateTime64(3, 'UTC'),
    end_at Nullable(DateTime64(3, 'UTC')),
    agency LowCardinality(String),
    home_station LowCardinality(String),
    appliance_type LowCardinality(String),
    crewing_model LowCardinality(String),
    status LowCardinality(String),
    unavailable_reason LowCardinality(String),
    available UInt8,
    event_id String,
    version DateTime64(6, 'UTC'),
    is_deleted UInt8
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(version, is_deleted)
ORDER BY (resource_id, start_at);

-- migrate:down
DROP TABLE IF EXISTS resource_intervals {{ON_CLUSTER}};
DROP TABLE IF EXISTS call_facts {{ON_CLUSTER}};
DROP TABLE IF EXISTS incident_facts {{ON_CLUSTER}};
