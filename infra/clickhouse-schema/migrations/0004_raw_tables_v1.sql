-- The raw tables were keyed by entity id alone, so two agencies' events with the same ids
-- collapsed into one. They are set aside as `*_v1` (one atomic rename, so a failed run leaves
-- either all three or none renamed); 0005 creates them again keyed by agency, and 0007 moves
-- the rows across.

-- migrate:up
RENAME TABLE calls_raw TO calls_raw_v1, incidents_raw TO incidents_raw_v1, resources_raw TO resources_raw_v1 {{ON_CLUSTER}}

-- migrate:down
RENAME TABLE calls_raw_v1 TO calls_raw, incidents_raw_v1 TO incidents_raw, resources_raw_v1 TO resources_raw {{ON_CLUSTER}}
