import { validateEvent } from '@bluelight/schemas';
import {
  type ClickHouseClient,
  type ConsumedBatch,
  type ConsumedMessage,
  decodeUtf8,
  describeInvalidUtf8,
  type EventProducer,
  notUnicodePaths,
} from '@bluelight/service-kit';
import { type DeadLetterGuard, type Rejection, sendToDeadLetterTopic } from './dead-letters.js';
import { isRetriable } from './errors.js';
import type { Family } from './families.js';
import type { SinkMetrics } from './metrics.js';
import { clickhouseTime, type RawRow } from './rows.js';

export interface BatchContext {
  family: Family;
  clickhouse: ClickHouseClient;
  producer: EventProducer;
  guard: DeadLetterGuard;
  metrics: SinkMetrics;
  service: string;
  /** Rows per INSERT; a larger partition batch is split (each part with its own token). */
  maxRowsPerInsert: number;
  /** Runs a step, retrying infrastructure errors (the sink pauses the partition meanwhile). */
  retry: <T>(step: string, work: () => Promise<T>) => Promise<T>;
  now?: () => Date;
  /** EARLIEST_EVENT_TIME: earlier event times are contract dead letters (the contract's default when absent). */
  earliestEventTime?: Date;
}

export interface DecodedBatch {
  rows: RawRow[];
  rejections: Rejection[];
  entityIds: string[];
  /** Per message in order: true when it was rejected (for the dead-letter guard). */
  outcomes: boolean[];
}

/**
 * A message value as JSON, or why it cannot be read. Decoded without repair: Buffer#toString
 * would put U+FFFD where bytes are not UTF-8, and the event would be stored with text its sender
 * never sent. The id and type are given when they can be read, for the dead letter.
 */
export function decodeMessageValue(
  value: Buffer | null,
):
  | { ok: true; parsed: unknown }
  | { ok: false; reason: string; eventId: string; eventType: string } {
  const bytes = value ?? Buffer.alloc(0);
  const { text, invalidOffsets } = decodeUtf8(bytes);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const notUtf8 =
      invalidOffsets.length > 0
        ? `not valid UTF-8 (${describeInvalidUtf8(bytes, invalidOffsets)}); `
        : '';
    return {
      ok: false,
      reason: `${notUtf8}not JSON: ${(error as Error).message}`,
      eventId: '',
      eventType: '',
    };
  }
  const notUnicode = notUnicodePaths(parsed);
  if (notUnicode.length === 0) return { ok: true, parsed };
  const record = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<
    string,
    unknown
  >;
  const read = (field: string) => {
    const found = record[field];
    return typeof found === 'string' && !notUnicode.includes(field) ? found : '';
  };
  const where = notUnicode.join(', ');
  return {
    ok: false,
    reason:
      invalidOffsets.length > 0
        ? `not valid UTF-8: ${describeInvalidUtf8(bytes, invalidOffsets)}, in ${where} (dead-lettered as sent, not repaired)`
        : `not Unicode text: an unpaired surrogate escape (\\uD800–\\uDFFF) in ${where}`,
    eventId: read('event_id'),
    eventType: read('event_type'),
  };
}

function decodeOne(
  message: ConsumedMessage,
  family: Family,
  ingestedAt: Date,
  earliestEventTime: Date | undefined,
): { row: RawRow; entityId: string } | Rejection {
  const reject = (
    errorClass: Rejection['errorClass'],
    reason: string,
    eventId = '',
    eventType = '',
  ): Rejection => ({ message, errorClass, reason, eventId, eventType });
  const decoded = decodeMessageValue(message.value);
  if (!decoded.ok) {
    return reject('undecodable', decoded.reason, decoded.eventId, decoded.eventType);
  }
  const { parsed } = decoded;
  const result = validateEvent(
    parsed,
    earliestEventTime === undefined ? {} : { earliestEventTime },
  );
  if (!result.ok) {
    return reject(
      'contract',
      JSON.stringify(result.errors),
      result.eventId ?? '',
      result.eventType ?? '',
    );
  }
  const { event } = result;
  if (!family.topic.eventTypes.includes(event.event_type)) {
    return reject(
      'wrong_topic',
      `${event.event_type} belongs on another topic than ${message.topic}`,
      event.event_id,
      event.event_type,
    );
  }
  const row = family.toRow(event, {
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    ingestedAt,
  });
  return { row, entityId: String(row[family.entityColumn]) };
}

/** Decodes and validates a batch; never throws for bad input. */
export function decodeBatch(
  messages: ConsumedMessage[],
  family: Family,
  ingestedAt: Date,
  earliestEventTime?: Date,
): DecodedBatch {
  const rows: RawRow[] = [];
  const rejections: Rejection[] = [];
  const entityIds = new Set<string>();
  const outcomes: boolean[] = [];
  for (const message of messages) {
    const decoded = decodeOne(message, family, ingestedAt, earliestEventTime);
    if ('row' in decoded) {
      rows.push(decoded.row);
      entityIds.add(decoded.entityId);
      outcomes.push(false);
    } else {
      rejections.push(decoded);
      outcomes.push(true);
    }
  }
  return { rows, rejections, entityIds: [...entityIds], outcomes };
}

async function timed<T>(ctx: BatchContext, step: string, work: () => Promise<T>): Promise<T> {
  const stop = ctx.metrics.stepSeconds.startTimer({ family: ctx.family.name, step });
  try {
    return await ctx.retry(step, work);
  } finally {
    stop();
  }
}

/** The deduplication token of a raw insert: exactly the partition offsets of the rows it holds. */
export function deduplicationToken(
  topic: string,
  partition: number,
  minOffset: string,
  maxOffset: string,
): string {
  return `${topic}-${partition}-${minOffset}-${maxOffset}`;
}

/** One INSERT: rows of one partition, a contiguous run of its offsets. */
export interface PartitionInsert<T> {
  topic: string;
  partition: number;
  minOffset: string;
  maxOffset: string;
  items: T[];
}

/**
 * Splits items into inserts of one partition each, in offset order, at most `maxPerInsert` each.
 * Tokens then depend only on offsets, never on which other partitions were coalesced with them,
 * so a redelivered range gets the same token however the retry groups it.
 */
export function partitionInserts<T>(
  items: T[],
  placeOf: (item: T) => { topic: string; partition: number; offset: string },
  maxPerInsert: number,
): PartitionInsert<T>[] {
  const groups = new Map<string, { topic: string; partition: number; items: T[] }>();
  for (const item of items) {
    const { topic, partition } = placeOf(item);
    const key = `${topic}\u0000${partition}`;
    const group = groups.get(key) ?? { topic, partition, items: [] };
    group.items.push(item);
    groups.set(key, group);
  }
  const inserts: PartitionInsert<T>[] = [];
  for (const { topic, partition, items: own } of groups.values()) {
    const offsetOf = (item: T) => BigInt(placeOf(item).offset);
    own.sort((a, b) => {
      const diff = offsetOf(a) - offsetOf(b);
      return diff < 0n ? -1 : diff > 0n ? 1 : 0;
    });
    for (let start = 0; start < own.length; start += maxPerInsert) {
      const part = own.slice(start, start + maxPerInsert);
      inserts.push({
        topic,
        partition,
        minOffset: placeOf(part[0] as T).offset,
        maxOffset: placeOf(part.at(-1) as T).offset,
        items: part,
      });
    }
  }
  return inserts;
}

const rowPlace = (row: RawRow) => ({
  topic: String(row._topic),
  partition: Number(row._partition),
  offset: String(row._offset),
});

/** The raw inserts of a unit's valid rows, each with its deduplication token. */
export function rawInserts(
  rows: RawRow[],
  maxRowsPerInsert: number,
): { token: string; values: RawRow[] }[] {
  return partitionInserts(rows, rowPlace, maxRowsPerInsert).map((insert) => ({
    token: deduplicationToken(insert.topic, insert.partition, insert.minOffset, insert.maxOffset),
    values: insert.items,
  }));
}

/** Inserts in flight at once: overlaps requests on a real server without flooding a small one. */
const INSERTS_AT_ONCE = 4;

/**
 * Runs the inserts not yet in `done`, a few at a time, and fails only once all have settled, so
 * a retry never overlaps a request still running. A failed insert may still have been written
 * (unknown status): its retry carries the same token and is then a no-op.
 */
async function insertAll(
  clickhouse: ClickHouseClient,
  table: string,
  inserts: { token: string; values: RawRow[] }[],
  done: Set<string>,
): Promise<void> {
  const todo = inserts.filter((insert) => !done.has(insert.token));
  const errors: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < todo.length && errors.length === 0) {
      const { token, values } = todo[next++] as (typeof todo)[number];
      try {
        await clickhouse.insert({
          table,
          values,
          format: 'JSONEachRow',
          clickhouse_settings: { insert_deduplication_token: token },
        });
        done.add(token);
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(INSERTS_AT_ONCE, todo.length) }, worker));
  // A non-retriable error must stop the sink even if a retriable one came first.
  if (errors.length > 0) throw errors.find((error) => !isRetriable(error)) ?? errors[0];
}

/**
 * Batches from one or more partitions of a family's topic, handled as one: valid events into the
 * raw table (one insert per partition's offset range, each with its own deduplication token),
 * invalid ones to the dead-letter topic and table, then the derived facts and rollups of every
 * entity touched — one refresh for the whole unit, which is what makes small live batches cheap.
 * It resolves only when all of that is durable; the caller then commits every batch's offsets.
 */
export async function processBatches(batches: ConsumedBatch[], ctx: BatchContext): Promise<void> {
  const { family } = ctx;
  const now = ctx.now?.() ?? new Date();
  const messages = batches.flatMap((batch) => batch.messages);
  const decoded = decodeBatch(messages, family, now, ctx.earliestEventTime);
  const where = batches
    .map((batch) => {
      const first = batch.messages[0]?.offset ?? '0';
      return `${batch.topic}[${batch.partition}] offsets ${first}–${batch.messages.at(-1)?.offset ?? first}`;
    })
    .join(', ');
  ctx.guard.check(decoded.outcomes, where);
  ctx.metrics.batchRows.observe({ family: family.name }, messages.length);

  const inserts = rawInserts(decoded.rows, ctx.maxRowsPerInsert);
  if (inserts.length > 0) {
    const done = new Set<string>();
    await timed(ctx, 'raw_insert', () => insertAll(ctx.clickhouse, family.rawTable, inserts, done));
  }

  if (decoded.rejections.length > 0) {
    await timed(ctx, 'dead_letter_topic', () =>
      sendToDeadLetterTopic(
        ctx.producer,
        family.topic.deadLetter.name,
        decoded.rejections,
        ctx.service,
        now,
      ),
    );
    const deadLetterInserts = partitionInserts(
      decoded.rejections,
      ({ message }) => message,
      ctx.maxRowsPerInsert,
    ).map((insert) => ({
      token: `dlq-${deduplicationToken(insert.topic, insert.partition, insert.minOffset, insert.maxOffset)}`,
      values: insert.items.map((rejection) => ({
        failed_at: clickhouseTime(now),
        service: ctx.service,
        original_topic: rejection.message.topic,
        original_partition: rejection.message.partition,
        original_offset: rejection.message.offset,
        dead_letter_topic: family.topic.deadLetter.name,
        error_class: rejection.errorClass,
        reason: rejection.reason,
        event_id: rejection.eventId,
        event_type: rejection.eventType,
        message_key: rejection.message.key?.toString('utf8') ?? '',
        message_value: rejection.message.value?.toString('utf8') ?? '',
      })),
    }));
    const done = new Set<string>();
    await timed(ctx, 'dead_letter_table', () =>
      insertAll(ctx.clickhouse, 'dead_letters', deadLetterInserts, done),
    );
    for (const rejection of decoded.rejections) {
      ctx.metrics.deadLetters.inc({ family: family.name, error_class: rejection.errorClass });
    }
  }

  if (decoded.entityIds.length > 0) {
    const eventIds = decoded.rows.map((row) => String(row.event_id));
    await timed(ctx, 'derived', () => family.refresh(ctx.clickhouse, decoded.entityIds, eventIds));
  }
  ctx.metrics.messages.inc({ family: family.name, outcome: 'inserted' }, decoded.rows.length);
  ctx.metrics.messages.inc(
    { family: family.name, outcome: 'dead_lettered' },
    decoded.rejections.length,
  );
  for (const batch of batches) {
    const last = batch.messages.at(-1)?.offset ?? '0';
    const lag = Number(BigInt(batch.highWatermark) - BigInt(last) - 1n);
    ctx.metrics.lag.set(
      { family: family.name, partition: String(batch.partition) },
      Math.max(lag, 0),
    );
  }
}

/** One batch from one partition (see processBatches). */
export function processBatch(batch: ConsumedBatch, ctx: BatchContext): Promise<void> {
  return processBatches([batch], ctx);
}
