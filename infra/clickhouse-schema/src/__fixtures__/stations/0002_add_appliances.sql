-- A column on the first table and a second table, so rolling back has two things to undo.

-- migrate:up
ALTER TABLE stations {{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS appliances UInt8 DEFAULT 1;

CREATE TABLE IF NOT EXISTS appliance_availability {{ON_CLUSTER}}
(
    station_id String,
    callsign String,
    available UInt8,
    changed_at DateTime64(3, 'UTC')
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(changed_at)
ORDER BY (station_id, callsign);

-- migrate:down
DROP TABLE IF EXISTS appliance_availability {{ON_CLUSTER}};
ALTER TABLE stations {{ON_CLUSTER}} DROP COLUMN IF EXISTS appliances;
