-- Fire stations: the first table of the fixture schema.

-- migrate:up
CREATE TABLE IF NOT EXISTS stations {{ON_CLUSTER}}
(
    station_id String,
    name String
)
ENGINE = {{REPLICATED}}MergeTree
ORDER BY station_id;

-- migrate:down
DROP TABLE IF EXISTS stations {{ON_CLUSTER}};
