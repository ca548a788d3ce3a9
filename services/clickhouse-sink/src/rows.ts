import type { BluelightEvent } from '@bluelight/schemas';

/** Where a message came from in Kafka, kept on every raw row. */
export interface Lineage {
  topic: string;
  partition: number;
  offset: string;
  ingestedAt: Date;
}

export type RawRow = Record<string, string | number | null>;

/** ClickHouse DateTime64(3, 'UTC') text: UTC, milliseconds, no zone letter. */
export function clickhouseTime(value: string | Date): string {
  const date = typeof value === 'string' ? new Date(value) : value;
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/**
 * A raw row (migration 0005): the event's envelope, its entity id (`idColumn`, the payload field
 * the contract keys its family by, which every event of the family carries), its payload as
 * JSON — the views read the rest from there — and where it came from in Kafka. The anchor and
 * revised flag are stamped by the processor.
 */
export function rawRow(event: BluelightEvent, lineage: Lineage, idColumn: string): RawRow {
  const payload = event.payload as Record<string, unknown>;
  const id = payload[idColumn];
  if (typeof id !== 'string') throw new Error(`${event.event_type} carries no ${idColumn}`);
  return {
    event_id: event.event_id,
    event_type: event.event_type,
    schema_version: event.schema_version,
    occurred_at: clickhouseTime(event.occurred_at),
    source: event.source,
    agency: event.agency,
    correlation_call_id: event.correlation?.call_id ?? '',
    correlation_incident_id: event.correlation?.incident_id ?? '',
    corrects_event_id: event.corrects?.event_id ?? '',
    corrects_reason: event.corrects?.reason ?? '',
    [idColumn]: id,
    payload: JSON.stringify(event.payload),
    _topic: lineage.topic,
    _partition: lineage.partition,
    _offset: lineage.offset,
    _ingested_at: clickhouseTime(lineage.ingestedAt),
  };
}
