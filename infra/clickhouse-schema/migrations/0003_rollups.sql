-- Rollups for dashboards and reports, so history queries never scan raw events. Each bucket is
-- recomputed from the facts whenever an entity in it (or leaving it) changes, so rollups are
-- exactly the sum of current facts. Times are histogrammed in whole seconds, rounded up
-- (ceil), so "within N seconds" shares and exact percentiles come from the rollup.

-- migrate:up
CREATE TABLE IF NOT EXISTS incidents_daily {{ON_CLUSTER}}
(
    day Date,
    agency LowCardinality(String),
    service LowCardinality(String),
    station_ground LowCardinality(String),
    category LowCardinality(String),
    category_subtype LowCardinality(String),
    risk_band LowCardinality(String),
    life_risk UInt8,
    police_grading LowCardinality(String),
    area_type LowCardinality(String),
    incidents UInt64,
    cancelled UInt64,
    attended UInt64,
    first_attendance_seconds_sum Float64,
    first_attendance_histogram Map(UInt32, UInt64),
    second_attended UInt64,
    second_attendance_histogram Map(UInt32, UInt64),
    excluded_late_call UInt64,
    excluded_derelict_property UInt64,
    excluded_abandoned_road_vehicle UInt64,
    out_of_sequence UInt64,
    version DateTime64(6, 'UTC'),
    is_deleted UInt8
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(day)
ORDER BY (day, agency, service, station_ground, category, category_subtype, risk_band, life_risk, police_grading, area_type);

CREATE TABLE IF NOT EXISTS calls_5min {{ON_CLUSTER}}
(
    bucket DateTime('UTC'),
    agency LowCardinality(String),
    line LowCardinality(String),
    service LowCardinality(String),
    queue LowCardinality(String),
    presented UInt64,
    answered UInt64,
    abandoned UInt64,
    answered_within_10s UInt64,
    answered_10_to_60s UInt64,
    answered_60s_or_more UInt64,
    answer_seconds_sum Float64,
    answer_histogram Map(UInt32, UInt64),
    closed UInt64,
    resolved_at_triage UInt64,
    version DateTime64(6, 'UTC'),
    is_deleted UInt8
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(bucket)
ORDER BY (bucket, agency, line, service, queue);

-- migrate:down
DROP TABLE IF EXISTS calls_5min {{ON_CLUSTER}};
DROP TABLE IF EXISTS incidents_daily {{ON_CLUSTER}};
