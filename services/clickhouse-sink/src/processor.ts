import { createHash } from 'node:crypto';
import { validateEvent } from '@bluelight/schemas';
import type {
  ClickHouseClient,
  ConsumedBatch,
  ConsumedMessage,
  EventProducer,
} from '@bluelight/service-kit';
import { type DeadLetterGuard, type Rejection, sendToDeadLetterTopic } from './dead-letters.js';
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
  /** Rows per INSERT; a larger batch is split (each part with its own deduplication token). */
  maxRowsPerInsert: number;
  /** Runs a step, retrying infrastructure errors (the sink pauses the partition meanwhile). */
  retry: <T>(step: string, work: () => Promise<T>) => Promise<T>;
  now?: () => Date;
}

export interface DecodedBatch {
  rows: RawRow[];
  rejections: Rejection[];
  entityIds: string[];
  /** Per message in order: true when it was rejected (for the dead-letter guard). */
  outcomes: boolean[];
}

function decodeOne(
  message: ConsumedMessage,
  family: Family,
  ingestedAt: Date,
): { row: RawRow; entityId: string } | Rejection {
  const reject = (
    errorClass: Rejection['errorClass'],
    reason: string,
    eventId = '',
    eventType = '',
  ): Rejection => ({ message, errorClass, reason, eventId, eventType });
  let parsed: unknown;
  try {
    parsed = JSON.parse(message.value?.toString('utf8') ?? '');
  } catch (error) {
    return reject('undecodable', `not JSON: ${(error as Error).message}`);
  }
  const result = validateEvent(parsed);
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
): DecodedBatch {
  const rows: RawRow[] = [];
  const rejections: Rejection[] = [];
  const entityIds = new Set<string>();
  const outcomes: boolean[] = [];
  for (const message of messages) {
    const decoded = decodeOne(message, family, ingestedAt);
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

/**
 * The deduplication token of an insert: the topic, partitions and offsets it holds, so a retried
 * insert of the same batches is not written twice. (Should a retry group the batches differently,
 * the raw tables still collapse repeated event ids: tokens save work, they are not the guarantee.)
 */
export function insertToken(batches: ConsumedBatch[]): string {
  const ranges = batches
    .map((batch) => {
      const first = batch.messages[0]?.offset ?? '0';
      const last = batch.messages.at(-1)?.offset ?? first;
      return `${batch.topic}-${batch.partition}-${first}-${last}`;
    })
    .sort();
  if (ranges.length === 1) return ranges[0] as string;
  return `${batches[0]?.topic}-${createHash('sha256').update(ranges.join(',')).digest('hex').slice(0, 32)}`;
}

/**
 * Batches from one or more partitions of a family's topic, handled as one: valid events into the
 * raw table (with a deduplication token made of topic, partitions and offsets), invalid ones to
 * the dead-letter topic and table, then the derived facts and rollups of every entity touched —
 * one refresh for all of them, which is what makes small live batches cheap.
 * It resolves only when all of that is durable; the caller then commits every batch's offsets.
 */
export async function processBatches(batches: ConsumedBatch[], ctx: BatchContext): Promise<void> {
  const { family } = ctx;
  const now = ctx.now?.() ?? new Date();
  const messages = batches.flatMap((batch) => batch.messages);
  const decoded = decodeBatch(messages, family, now);
  const where = batches
    .map((batch) => {
      const first = batch.messages[0]?.offset ?? '0';
      return `${batch.topic}[${batch.partition}] offsets ${first}–${batch.messages.at(-1)?.offset ?? first}`;
    })
    .join(', ');
  ctx.guard.check(decoded.outcomes, where);
  ctx.metrics.batchRows.observe({ family: family.name }, messages.length);

  const token = insertToken(batches);
  for (
    let start = 0, part = 0;
    start < decoded.rows.length;
    start += ctx.maxRowsPerInsert, part += 1
  ) {
    const values = decoded.rows.slice(start, start + ctx.maxRowsPerInsert);
    await timed(ctx, 'raw_insert', () =>
      ctx.clickhouse.insert({
        table: family.rawTable,
        values,
        format: 'JSONEachRow',
        clickhouse_settings: { insert_deduplication_token: `${token}-${part}` },
      }),
    );
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
    await timed(ctx, 'dead_letter_table', () =>
      ctx.clickhouse.insert({
        table: 'dead_letters',
        values: decoded.rejections.map((rejection) => ({
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
        format: 'JSONEachRow',
        clickhouse_settings: { insert_deduplication_token: `dlq-${token}` },
      }),
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
