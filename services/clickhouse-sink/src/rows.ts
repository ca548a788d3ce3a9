import type { BluelightEvent } from '@bluelight/schemas';

/** Where a message came from in Kafka, kept on every raw row. */
export interface Lineage {
  topic: string;
  partition: number;
  offset: string;
  ingestedAt: Date;
}

export type RawRow = Record<string, unknown>;

/** ClickHouse DateTime64(3, 'UTC') text: UTC, milliseconds, no zone letter. */
export function clickhouseTime(value: string | Date): string {
  const date = typeof value === 'string' ? new Date(value) : value;
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** The envelope columns of every raw table (migration 0005), in the order the sink sends them. */
const ENVELOPE_COLUMNS = [
  'event_id',
  'event_type',
  'schema_version',
  'occurred_at',
  'source',
  'agency',
  'correlation_call_id',
  'correlation_incident_id',
  'corrects_event_id',
  'corrects_reason',
] as const;

const LINEAGE_COLUMNS = ['_topic', '_partition', '_offset', '_ingested_at'] as const;

/**
 * A raw table's columns in the order `rawValues` gives them: the envelope, the entity id
 * (`idColumn`, the payload field the contract keys the family by), the payload, where the row
 * came from in Kafka, and the anchor month and revised flag the processor stamps.
 */
export function rawColumns(idColumn: string): string[] {
  return [...ENVELOPE_COLUMNS, idColumn, 'payload', ...LINEAGE_COLUMNS, '_anchor', '_revised'];
}

/** Where `rawValues` puts the entity id, and the anchor and revised flag the processor fills in. */
export const ENTITY_ID_INDEX = ENVELOPE_COLUMNS.length;
export const ANCHOR_INDEX = ENTITY_ID_INDEX + 2 + LINEAGE_COLUMNS.length;
export const REVISED_INDEX = ANCHOR_INDEX + 1;

/**
 * How raw rows travel (JSONCompactEachRow): the payload as the JSON object it is, which
 * ClickHouse stores as its text (`input_format_json_read_objects_as_strings`), and times as the
 * ISO 8601 the contract guarantees, which ClickHouse reads itself. So the sink neither
 * serialises the payload twice nor reformats a time per row.
 */
export const RAW_INSERT_SETTINGS = {
  input_format_json_read_objects_as_strings: 1,
  date_time_input_format: 'best_effort',
} as const;

/**
 * A raw row (migration 0005) as the values of `rawColumns(idColumn)`: the event's envelope, its
 * entity id, its payload — the views read the rest from there — and where it came from in Kafka.
 * The anchor and revised slots are placeholders the processor fills in. `ingestedAt` is the
 * batch's ingestion time, already as text (one per batch, not one per row).
 */
export function rawValues(
  event: BluelightEvent,
  lineage: { topic: string; partition: number; offset: string },
  ingestedAt: string,
  idColumn: string,
): unknown[] {
  const payload = event.payload as Record<string, unknown>;
  const id = payload[idColumn];
  if (typeof id !== 'string') throw new Error(`${event.event_type} carries no ${idColumn}`);
  return [
    event.event_id,
    event.event_type,
    event.schema_version,
    event.occurred_at,
    event.source,
    event.agency,
    event.correlation?.call_id ?? '',
    event.correlation?.incident_id ?? '',
    event.corrects?.event_id ?? '',
    event.corrects?.reason ?? '',
    id,
    payload,
    lineage.topic,
    lineage.partition,
    lineage.offset,
    ingestedAt,
    '',
    0,
  ];
}

/**
 * The same row as an object with ClickHouse-formatted times and the payload as text, for tests
 * and tools that insert rows as JSONEachRow without the settings above.
 */
export function rawRow(event: BluelightEvent, lineage: Lineage, idColumn: string): RawRow {
  const values = rawValues(event, lineage, lineage.ingestedAt.toISOString(), idColumn);
  const row: RawRow = {};
  rawColumns(idColumn).forEach((column, index) => {
    // The anchor and revised flag are the processor's to stamp.
    if (index < ANCHOR_INDEX) row[column] = values[index];
  });
  return {
    ...row,
    occurred_at: clickhouseTime(event.occurred_at),
    payload: JSON.stringify(event.payload),
    _ingested_at: clickhouseTime(lineage.ingestedAt),
  };
}
