-- Statement 2 fails (its table does not exist), after statement 1 has taken effect.

-- migrate:up
CREATE TABLE IF NOT EXISTS incidents (incident_id String) ENGINE = MergeTree ORDER BY incident_id;
ALTER TABLE no_such_table ADD COLUMN priority UInt8;
CREATE TABLE IF NOT EXISTS never_created (id String) ENGINE = MergeTree ORDER BY id;

-- migrate:down
DROP TABLE IF EXISTS never_created;
DROP TABLE IF EXISTS incidents;
