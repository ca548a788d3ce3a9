-- Moves the rows set aside by 0004 into the raw tables of 0005 (their envelope, entity id and
-- payload; the payload's copied-out columns are dropped), which builds their derived facts
-- (0006's materialized views fire on these inserts), then drops the old tables.
--
-- Each entity's anchor follows the sink's rule (entityStates in services/clickhouse-sink/src/processor.ts): the
-- Europe/London month of its first event as received — the call time when that event is the
-- incident's creation. Entities with a correction or a retraction are marked revised; `bluelight
-- migrate` then recomputes their facts (and `bluelight facts rebuild` can redo everything).
-- Running it again after a partial failure only adds duplicates, which raw deduplication and the
-- idempotent facts absorb.

-- migrate:up
INSERT INTO calls_raw
SELECT
    v1.event_id, v1.event_type, v1.schema_version, v1.occurred_at, v1.source, v1.agency,
    v1.correlation_call_id, v1.correlation_incident_id, v1.corrects_event_id, v1.corrects_reason,
    v1.call_id, v1.payload, v1._topic, v1._partition, v1._offset, v1._ingested_at,
    e.anchor AS _anchor, e.revised AS _revised
FROM calls_raw_v1 AS v1
INNER JOIN (
    SELECT
        agency,
        call_id,
        toStartOfMonth(toDate(argMin(occurred_at, (_ingested_at, _partition, _offset)), 'Europe/London')) AS anchor,
        toUInt8(max(corrects_event_id != '' OR event_type = 'call.event_retracted')) AS revised
    FROM calls_raw_v1
    GROUP BY agency, call_id
) AS e ON e.agency = v1.agency AND e.call_id = v1.call_id
SETTINGS max_partitions_per_insert_block = 0;

INSERT INTO incidents_raw
SELECT
    v1.event_id, v1.event_type, v1.schema_version, v1.occurred_at, v1.source, v1.agency,
    v1.correlation_call_id, v1.correlation_incident_id, v1.corrects_event_id, v1.corrects_reason,
    v1.incident_id, v1.payload, v1._topic, v1._partition, v1._offset, v1._ingested_at,
    e.anchor AS _anchor, e.revised AS _revised
FROM incidents_raw_v1 AS v1
INNER JOIN (
    SELECT
        agency,
        incident_id,
        toStartOfMonth(toDate(argMin(
            if(event_type = 'incident.created' AND call_received_at IS NOT NULL, assumeNotNull(call_received_at), occurred_at),
            (_ingested_at, _partition, _offset)), 'Europe/London')) AS anchor,
        toUInt8(max(corrects_event_id != '' OR event_type = 'incident.event_retracted')) AS revised
    FROM incidents_raw_v1
    GROUP BY agency, incident_id
) AS e ON e.agency = v1.agency AND e.incident_id = v1.incident_id
SETTINGS max_partitions_per_insert_block = 0;

INSERT INTO resources_raw
SELECT
    v1.event_id, v1.event_type, v1.schema_version, v1.occurred_at, v1.source, v1.agency,
    v1.correlation_call_id, v1.correlation_incident_id, v1.corrects_event_id, v1.corrects_reason,
    v1.resource_id, v1.payload, v1._topic, v1._partition, v1._offset, v1._ingested_at,
    e.anchor AS _anchor, e.revised AS _revised
FROM resources_raw_v1 AS v1
INNER JOIN (
    SELECT
        agency,
        resource_id,
        toStartOfMonth(toDate(argMin(occurred_at, (_ingested_at, _partition, _offset)), 'Europe/London')) AS anchor,
        toUInt8(max(corrects_event_id != '' OR event_type = 'resource.event_retracted')) AS revised
    FROM resources_raw_v1
    GROUP BY agency, resource_id
) AS e ON e.agency = v1.agency AND e.resource_id = v1.resource_id
SETTINGS max_partitions_per_insert_block = 0;

DROP TABLE IF EXISTS calls_raw_v1 {{ON_CLUSTER}};
DROP TABLE IF EXISTS incidents_raw_v1 {{ON_CLUSTER}};
DROP TABLE IF EXISTS resources_raw_v1 {{ON_CLUSTER}};

-- migrate:down irreversible
