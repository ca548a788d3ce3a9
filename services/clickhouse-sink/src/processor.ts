import { createHash } from 'node:crypto';
import { type BluelightEvent, validateEvent } from '@bluelight/schemas';
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
import {
  type EntityDirectory,
  type EntityKey,
  type EntityState,
  entityKey,
  londonMonthStart,
} from './entities.js';
import { isRetriable } from './errors.js';
import { type Family, revisesEntity } from './families.js';
import type { SinkMetrics } from './metrics.js';
import type { FactRevisions } from './revisions.js';
import {
  ANCHOR_INDEX,
  clickhouseTime,
  ENTITY_ID_INDEX,
  RAW_INSERT_SETTINGS,
  REVISED_INDEX,
  rawValues,
} from './rows.js';

export interface InsertLimits {
  /** Rows per INSERT; a larger partition batch is split (each part with its own token). */
  maxRows: number;
  /**
   * Distinct ClickHouse partitions one INSERT may write, in the raw table and in every view's
   * target (the server refuses more: max_partitions_per_insert_block, 100 by default).
   */
  maxPartitions: number;
}

export interface BatchContext {
  family: Family;
  clickhouse: ClickHouseClient;
  producer: EventProducer;
  guard: DeadLetterGuard;
  metrics: SinkMetrics;
  service: string;
  entities: EntityDirectory;
  revisions: FactRevisions;
  limits: InsertLimits;
  /** Runs a step, retrying infrastructure errors (the sink pauses the partition meanwhile). */
  retry: <T>(step: string, work: () => Promise<T>) => Promise<T>;
  now?: () => Date;
  /** EARLIEST_EVENT_TIME: earlier event times are contract dead letters (the contract's default when absent). */
  earliestEventTime?: Date;
}

/** A valid event's raw row, with what the sink needs to place it. */
interface DecodedRow {
  /** The row in the family's `rawColumns` order; the anchor and revised slots are filled later. */
  values: unknown[];
  entity: EntityKey;
  /** entityKey(entity), computed once. */
  key: string;
  topic: string;
  partition: number;
  offset: string;
  /** The UTC month of its event time, YYYY-MM: the raw table's partition. */
  eventMonth: string;
  /** When its entity's anchor month is taken from this event (see Family.anchorTime). */
  anchorTime: string;
  revises: boolean;
}

export interface DecodedBatch {
  rows: DecodedRow[];
  rejections: Rejection[];
  /** Per message in order: true when it was rejected (for the dead-letter guard). */
  outcomes: boolean[];
}

/** The agency and entity a message names, as far as it can be read (for dead letters). */
function claimedIdentity(parsed: unknown, key: Buffer | null): { agency: string; entity: string } {
  const agency =
    typeof (parsed as { agency?: unknown })?.agency === 'string'
      ? (parsed as { agency: string }).agency
      : '';
  const keyText = key?.toString('utf8') ?? '';
  const slash = keyText.indexOf('/');
  return { agency, entity: slash >= 0 ? keyText.slice(slash + 1) : keyText };
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
  // Well-formed UTF-8 never decodes to an unpaired surrogate; only a \u escape in the JSON can
  // make one, so text without either needs no walk through the parsed value.
  if (invalidOffsets.length === 0 && !text.includes('\\u')) return { ok: true, parsed };
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

/** The UTC month (YYYY-MM) of an ISO 8601 instant the contract accepted. */
function utcMonth(instant: string): string {
  return instant.endsWith('Z') ? instant.slice(0, 7) : new Date(instant).toISOString().slice(0, 7);
}

function decodeOne(
  message: ConsumedMessage,
  family: Family,
  ingestedAt: string,
  earliestEventTime: Date | undefined,
): DecodedRow | Rejection {
  let parsed: unknown;
  const reject = (
    errorClass: Rejection['errorClass'],
    reason: string,
    eventId = '',
    eventType = '',
  ): Rejection => ({
    message,
    errorClass,
    reason,
    eventId,
    eventType,
    ...claimedIdentity(parsed, message.key),
  });
  const decoded = decodeMessageValue(message.value);
  if (!decoded.ok) {
    return reject('undecodable', decoded.reason, decoded.eventId, decoded.eventType);
  }
  parsed = decoded.parsed;
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
  const values = rawValues(event, message, ingestedAt, family.entityColumn);
  const entity = { agency: event.agency, id: values[ENTITY_ID_INDEX] as string };
  return {
    values,
    entity,
    key: entityKey(entity),
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    eventMonth: utcMonth(event.occurred_at),
    anchorTime: family.anchorTime(event as BluelightEvent),
    revises: revisesEntity(event),
  };
}

/** Decodes and validates a batch; never throws for bad input. */
export function decodeBatch(
  messages: ConsumedMessage[],
  family: Family,
  ingestedAt: Date,
  earliestEventTime?: Date,
): DecodedBatch {
  const rows: DecodedRow[] = [];
  const rejections: Rejection[] = [];
  const outcomes: boolean[] = [];
  const ingestedAtText = ingestedAt.toISOString();
  for (const message of messages) {
    const decoded = decodeOne(message, family, ingestedAtText, earliestEventTime);
    if ('values' in decoded) {
      rows.push(decoded);
      outcomes.push(false);
    } else {
      rejections.push(decoded);
      outcomes.push(true);
    }
  }
  return { rows, rejections, outcomes };
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
function deduplicationToken(
  topic: string,
  partition: number,
  minOffset: string,
  maxOffset: string,
): string {
  return `${topic}-${partition}-${minOffset}-${maxOffset}`;
}

/** One INSERT: rows of one partition, a contiguous run of its offsets. */
interface PartitionInsert<T> {
  topic: string;
  partition: number;
  minOffset: string;
  maxOffset: string;
  items: T[];
}

interface InsertSplit<T> {
  place: (item: T) => { topic: string; partition: number; offset: string };
  /** The ClickHouse partitions an item is written to (raw table and view targets). */
  partitionsOf?: (item: T) => string[];
}

/**
 * Splits items into inserts of one Kafka partition each, in offset order: contiguous runs of at
 * most `limits.maxRows` items touching at most `limits.maxPartitions` ClickHouse partitions in
 * any one table. Tokens then depend only on offsets, never on which other partitions were
 * coalesced with them, so a redelivered range gets the same token however the retry groups it.
 */
function partitionInserts<T>(
  items: T[],
  split: InsertSplit<T>,
  limits: InsertLimits,
): PartitionInsert<T>[] {
  const groups = new Map<string, { topic: string; partition: number; items: T[] }>();
  for (const item of items) {
    const { topic, partition } = split.place(item);
    const key = `${topic}\u0000${partition}`;
    let group = groups.get(key);
    if (!group) {
      group = { topic, partition, items: [] };
      groups.set(key, group);
    }
    group.items.push(item);
  }
  const inserts: PartitionInsert<T>[] = [];
  for (const { topic, partition, items: unordered } of groups.values()) {
    const own = inOffsetOrder(unordered, split);
    let current: T[] = [];
    let partitions: Set<string>[] = [];
    const flush = () => {
      if (current.length === 0) return;
      inserts.push({
        topic,
        partition,
        minOffset: split.place(current[0] as T).offset,
        maxOffset: split.place(current.at(-1) as T).offset,
        items: current,
      });
      current = [];
      partitions = [];
    };
    for (const item of own) {
      const touched = split.partitionsOf?.(item) ?? [];
      const overflows =
        current.length >= limits.maxRows ||
        touched.some(
          (name, index) =>
            !(partitions[index]?.has(name) ?? false) &&
            (partitions[index]?.size ?? 0) >= limits.maxPartitions,
        );
      if (overflows) flush();
      current.push(item);
      touched.forEach((name, index) => {
        const seen = partitions[index] ?? new Set<string>();
        seen.add(name);
        partitions[index] = seen;
      });
    }
    flush();
  }
  return inserts;
}

/** One partition's items by offset: as they come (a fetch is in order) unless they are not. */
function inOffsetOrder<T>(items: T[], split: InsertSplit<T>): T[] {
  const offsets = items.map((item) => BigInt(split.place(item).offset));
  if (offsets.every((offset, index) => index === 0 || (offsets[index - 1] as bigint) < offset)) {
    return items;
  }
  return items
    .map((item, index) => ({ item, offset: offsets[index] as bigint }))
    .sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0))
    .map(({ item }) => item);
}

/**
 * The partitions a raw row is written to: the raw table's (the UTC month of its event time) and
 * the facts' (its entity's anchor month). View targets partitioned by event month share the
 * raw table's.
 */
const rowPartitions = (row: DecodedRow): [string, string] => [
  row.eventMonth,
  (row.values[ANCHOR_INDEX] as string).slice(0, 7),
];

/** A raw insert: rows of one or more partitions, with its deduplication token. */
interface RawInsert {
  token: string;
  values: unknown[][];
}

/** Tokens longer than this are hashed (ClickHouse keeps them in its deduplication log). */
const LONGEST_READABLE_TOKEN = 512;

/**
 * The deduplication token of a raw insert: the offset ranges, partition by partition, of exactly
 * the rows it holds — `topic:0=120-345,3=7-99`. The same unit retried (the sink's own retry, an
 * unknown-status failure) sends the same inserts with the same tokens, which ClickHouse drops.
 */
export function unitToken(
  topic: string,
  ranges: { partition: number; min: string; max: string }[],
) {
  const token = `${topic}:${ranges.map(({ partition, min, max }) => `${partition}=${min}-${max}`).join(',')}`;
  return token.length <= LONGEST_READABLE_TOKEN
    ? token
    : `${topic}:sha256=${createHash('sha256').update(token).digest('hex')}`;
}

/**
 * The raw inserts of a unit's valid rows: as few as the limits allow — the whole unit in one
 * when it fits, since every INSERT has a fixed cost in ClickHouse (a part per partition written,
 * in the raw table and in each view's target; ~30 ms here, measured) that small inserts pay over
 * and over. Rows go partition by partition, each in offset order, split where an insert would
 * exceed `limits.maxRows` rows or `limits.maxPartitions` ClickHouse partitions of a table.
 *
 * A unit regrouped on redelivery (after a crash or a rebalance, the first fetch groups partitions
 * its own way) has other tokens, so its rows may be written twice: harmless, as the raw tables
 * are ReplacingMergeTree (read with FINAL) and every view keeps idempotent aggregates.
 */
function rawInserts(rows: DecodedRow[], limits: InsertLimits): RawInsert[] {
  const byPartition = partitionInserts(
    rows,
    { place: (row) => row },
    { maxRows: Number.POSITIVE_INFINITY, maxPartitions: Number.POSITIVE_INFINITY },
  ).sort((a, b) => a.partition - b.partition);
  const ordered = byPartition.flatMap((insert) => insert.items);
  const topic = ordered[0]?.topic ?? '';
  const inserts: RawInsert[] = [];
  let current: DecodedRow[] = [];
  let months: [Set<string>, Set<string>] = [new Set(), new Set()];
  const flush = () => {
    if (current.length === 0) return;
    const ranges: { partition: number; min: string; max: string }[] = [];
    for (const row of current) {
      const last = ranges.at(-1);
      if (last?.partition === row.partition) last.max = row.offset;
      else ranges.push({ partition: row.partition, min: row.offset, max: row.offset });
    }
    inserts.push({ token: unitToken(topic, ranges), values: current.map((row) => row.values) });
    current = [];
    months = [new Set(), new Set()];
  };
  for (const row of ordered) {
    const touched = rowPartitions(row);
    const overflows =
      current.length >= limits.maxRows ||
      touched.some(
        (month, index) =>
          !months[index]?.has(month) && (months[index]?.size ?? 0) >= limits.maxPartitions,
      );
    if (overflows) flush();
    current.push(row);
    touched.forEach((month, index) => {
      months[index]?.add(month);
    });
  }
  flush();
  return inserts;
}

/** Inserts in flight at once: overlaps requests on a real server without flooding a small one. */
const INSERTS_AT_ONCE = 4;

/**
 * Runs the inserts not yet in `done`, a few at a time, and fails only once all have settled, so
 * a retry never overlaps a request still running. A failed insert may still have been written
 * (unknown status): its retry carries the same token and is then a no-op. Rows are arrays of
 * values in the order of `columns` (JSONCompactEachRow: no key in every row).
 */
async function insertAll(
  clickhouse: ClickHouseClient,
  table: string,
  columns: string[],
  inserts: RawInsert[],
  done: Set<string>,
  settings: Record<string, string | number> = {},
): Promise<void> {
  const todo = inserts.filter((insert) => !done.has(insert.token));
  const errors: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < todo.length && errors.length === 0) {
      const { token, values } = todo[next++] as RawInsert;
      try {
        await clickhouse.insert({
          table,
          columns: columns as [string, ...string[]],
          values,
          format: 'JSONCompactEachRow',
          clickhouse_settings: {
            ...settings,
            insert_deduplication_token: token,
            // A retried block is dropped by the views' targets too, not only by the raw table.
            deduplicate_blocks_in_dependent_materialized_views: 1,
          },
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
 * Each entity's state for this unit: as ClickHouse (or the directory) knows it, or — for an
 * entity not seen before — anchored on its first event in offset order; revised when it was, or
 * when an event of this unit corrects or retracts one of its events.
 */
async function entityStates(
  ctx: BatchContext,
  rows: DecodedRow[],
): Promise<Map<string, EntityState & { partition: number }>> {
  const firstRows = new Map<string, DecodedRow>();
  const revisedNow = new Set<string>();
  for (const decoded of rows) {
    if (!firstRows.has(decoded.key)) firstRows.set(decoded.key, decoded);
    if (decoded.revises) revisedNow.add(decoded.key);
  }
  const known = await timed(ctx, 'entities', () =>
    ctx.entities.lookup(
      ctx.clickhouse,
      [...firstRows.values()].map((decoded) => ({
        key: decoded.entity,
        partition: decoded.partition,
      })),
    ),
  );
  const states = new Map<string, EntityState & { partition: number }>();
  for (const [key, first] of firstRows) {
    const state = known.get(key) ?? {
      anchor: londonMonthStart(first.anchorTime),
      revised: false,
    };
    states.set(key, {
      ...state,
      revised: state.revised || revisedNow.has(key),
      partition: first.partition,
    });
  }
  return states;
}

const DEAD_LETTER_COLUMNS = [
  'failed_at',
  'service',
  'original_topic',
  'original_partition',
  'original_offset',
  'dead_letter_topic',
  'error_class',
  'reason',
  'event_id',
  'event_type',
  'agency',
  'entity_id',
  'message_key',
  'message_value',
];

/** A unit decoded, validated and placed, ready to be written (see prepareBatches). */
export interface PreparedUnit {
  batches: ConsumedBatch[];
  now: Date;
  inserts: RawInsert[];
  rejections: Rejection[];
  revised: EntityKey[];
  inserted: number;
}

/**
 * The first half of a unit's handling, all in this process: decode and validate every message,
 * check the dead-letter limits, give every entity its state (anchor, revised) and stamp it on
 * its rows, and split the rows into inserts. The states are remembered at once, so the next
 * unit can be prepared while this one is written (writePrepared); the sink prepares and writes
 * units in the order they arrive.
 */
export async function prepareBatches(
  batches: ConsumedBatch[],
  ctx: BatchContext,
): Promise<PreparedUnit> {
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

  const states = decoded.rows.length > 0 ? await entityStates(ctx, decoded.rows) : new Map();
  for (const row of decoded.rows) {
    const state = states.get(row.key) as EntityState;
    row.values[ANCHOR_INDEX] = state.anchor;
    row.values[REVISED_INDEX] = state.revised ? 1 : 0;
  }
  await ctx.entities.remember(ctx.clickhouse, states);
  const revised = [...states]
    .filter(([, state]) => state.revised)
    .map(([key]) => {
      const [agency, id] = key.split('\u0000') as [string, string];
      return { agency, id };
    });
  return {
    batches,
    now,
    inserts: rawInserts(decoded.rows, ctx.limits),
    rejections: decoded.rejections,
    revised,
    inserted: decoded.rows.length,
  };
}

/**
 * The second half: valid events into the raw table (one insert per partition's offset range,
 * each with its own deduplication token; the views keep the derived facts as the rows land),
 * invalid ones to the dead-letter topic and table, then the recomputed facts of every revised
 * entity touched. It resolves only when all of that is durable; the caller then commits every
 * batch's offsets.
 */
export async function writePrepared(unit: PreparedUnit, ctx: BatchContext): Promise<void> {
  const { family } = ctx;
  if (unit.inserts.length > 0) {
    const done = new Set<string>();
    await timed(ctx, 'raw_insert', () =>
      insertAll(
        ctx.clickhouse,
        family.rawTable,
        family.rawColumns,
        unit.inserts,
        done,
        RAW_INSERT_SETTINGS,
      ),
    );
  }

  if (unit.rejections.length > 0) {
    await timed(ctx, 'dead_letter_topic', () =>
      sendToDeadLetterTopic(
        ctx.producer,
        family.topic.deadLetter.name,
        unit.rejections,
        ctx.service,
        unit.now,
      ),
    );
    const failedAt = clickhouseTime(unit.now);
    const deadLetterInserts = partitionInserts(
      unit.rejections,
      { place: ({ message }) => message },
      { ...ctx.limits, maxPartitions: Number.POSITIVE_INFINITY },
    ).map((insert) => ({
      token: `dlq-${deduplicationToken(insert.topic, insert.partition, insert.minOffset, insert.maxOffset)}`,
      values: insert.items.map((rejection) => [
        failedAt,
        ctx.service,
        rejection.message.topic,
        rejection.message.partition,
        rejection.message.offset,
        family.topic.deadLetter.name,
        rejection.errorClass,
        rejection.reason,
        rejection.eventId,
        rejection.eventType,
        rejection.agency,
        rejection.entity,
        rejection.message.key?.toString('utf8') ?? '',
        rejection.message.value?.toString('utf8') ?? '',
      ]),
    }));
    const done = new Set<string>();
    await timed(ctx, 'dead_letter_table', () =>
      insertAll(ctx.clickhouse, 'dead_letters', DEAD_LETTER_COLUMNS, deadLetterInserts, done),
    );
    for (const rejection of unit.rejections) {
      ctx.metrics.deadLetters.inc({ family: family.name, error_class: rejection.errorClass });
    }
  }

  if (unit.revised.length > 0) {
    await timed(ctx, 'revisions', () => ctx.revisions.recompute(ctx.clickhouse, unit.revised));
  }

  ctx.metrics.messages.inc({ family: family.name, outcome: 'inserted' }, unit.inserted);
  ctx.metrics.messages.inc(
    { family: family.name, outcome: 'dead_lettered' },
    unit.rejections.length,
  );
  for (const batch of unit.batches) {
    const last = batch.messages.at(-1)?.offset ?? '0';
    const lag = Number(BigInt(batch.highWatermark) - BigInt(last) - 1n);
    ctx.metrics.lag.set(
      { family: family.name, partition: String(batch.partition) },
      Math.max(lag, 0),
    );
  }
}

/** Both halves, one after the other: a unit handled on its own (tests, tools). */
export async function processBatches(batches: ConsumedBatch[], ctx: BatchContext): Promise<void> {
  await writePrepared(await prepareBatches(batches, ctx), ctx);
}
