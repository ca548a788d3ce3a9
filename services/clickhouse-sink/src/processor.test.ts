import type { ClickHouseClient, ConsumedBatch, EventProducer } from '@bluelight/service-kit';
import { createMetricsRegistry } from '@bluelight/service-kit';
import { describe, expect, it } from 'vitest';
import { DeadLetterGuard } from './dead-letters.js';
import { familiesWithPrefix } from './families.js';
import { createSinkMetrics } from './metrics.js';
import { decodeBatch, deduplicationToken, processBatches } from './processor.js';
import { incidentScenario } from './testing/incident-scenario.js';

const TOPIC = 'unit.bluelight.incidents.v1';
const events = incidentScenario(3, Date.parse('2024-03-30T20:00:00Z'), 'INC-TOKEN').events.flat();

/** A partition batch: one message per value, from `firstOffset` on. */
function batch(partition: number, firstOffset: number, values: string[]): ConsumedBatch {
  return {
    topic: TOPIC,
    partition,
    highWatermark: String(firstOffset + values.length),
    heartbeat: async () => {},
    messages: values.map((value, index) => ({
      topic: TOPIC,
      partition,
      offset: String(firstOffset + index),
      key: null,
      value: Buffer.from(value),
      headers: {},
      timestamp: '0',
    })),
  };
}

const valid = (from: number, count: number) =>
  events.slice(from, from + count).map((event) => JSON.stringify(event));

/** processBatches against a ClickHouse that records inserts and a refresh that records calls. */
function harness(options: { maxRowsPerInsert: number; failFirstInsertOf?: string }) {
  const inserts: { table: string; token: string; offsets: string[] }[] = [];
  const refreshes: string[][] = [];
  let failed = false;
  const clickhouse = {
    insert: async (params: {
      table: string;
      values: Record<string, unknown>[];
      clickhouse_settings: { insert_deduplication_token: string };
    }) => {
      const token = params.clickhouse_settings.insert_deduplication_token;
      if (token === options.failFirstInsertOf && !failed) {
        failed = true;
        throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      }
      inserts.push({
        table: params.table,
        token,
        offsets: params.values.map((row) => String(row._offset ?? row.original_offset)),
      });
    },
  } as unknown as ClickHouseClient;
  const family = {
    ...familiesWithPrefix('unit.').incidents,
    refresh: async (_client: ClickHouseClient, ids: string[]) => void refreshes.push(ids),
  };
  const retries: string[] = [];
  const metrics = createSinkMetrics(createMetricsRegistry('unit'));
  const run = (batches: ConsumedBatch[]) =>
    processBatches(batches, {
      family,
      clickhouse,
      producer: { send: async () => [] } as unknown as EventProducer,
      guard: new DeadLetterGuard({ maxConsecutive: 100, maxRatio: 1, window: 100 }),
      metrics,
      service: 'clickhouse-sink',
      maxRowsPerInsert: options.maxRowsPerInsert,
      retry: async (step, work) => {
        for (;;) {
          try {
            return await work();
          } catch {
            retries.push(step);
          }
        }
      },
    });
  return { run, inserts, refreshes, retries, metrics };
}

describe('raw insert deduplication tokens', () => {
  it('are topic-partition-minOffset-maxOffset', () => {
    expect(deduplicationToken('bluelight.incidents.v1', 7, '120', '345')).toBe(
      'bluelight.incidents.v1-7-120-345',
    );
  });

  it('give each insert one partition and the offsets of exactly the rows it holds', async () => {
    const sink = harness({ maxRowsPerInsert: 2 });
    // Partition 1's middle message is refused: its insert still spans 100–102, the rows it holds.
    await sink.run([
      batch(0, 10, valid(0, 5)),
      batch(1, 100, [...valid(5, 1), 'not json', ...valid(6, 1)]),
      batch(2, 7, ['{}']),
    ]);
    expect(sink.inserts).toEqual([
      { table: 'incidents_raw', token: `${TOPIC}-0-10-11`, offsets: ['10', '11'] },
      { table: 'incidents_raw', token: `${TOPIC}-0-12-13`, offsets: ['12', '13'] },
      { table: 'incidents_raw', token: `${TOPIC}-0-14-14`, offsets: ['14'] },
      { table: 'incidents_raw', token: `${TOPIC}-1-100-102`, offsets: ['100', '102'] },
      { table: 'dead_letters', token: `dlq-${TOPIC}-1-101-101`, offsets: ['101'] },
      { table: 'dead_letters', token: `dlq-${TOPIC}-2-7-7`, offsets: ['7'] },
    ]);
    // The derived facts are refreshed once for the whole unit.
    expect(sink.refreshes).toHaveLength(1);
    expect(new Set(sink.refreshes[0])).toEqual(new Set(['INC-TOKEN-0000']));
  });

  it('do not depend on which partitions a redelivered batch is coalesced with', async () => {
    const alone = harness({ maxRowsPerInsert: 100 });
    await alone.run([batch(3, 40, valid(0, 8))]);
    const together = harness({ maxRowsPerInsert: 100 });
    await together.run([batch(4, 0, valid(8, 3)), batch(3, 40, valid(0, 8))]);
    expect(alone.inserts.map((insert) => insert.token)).toEqual([`${TOPIC}-3-40-47`]);
    expect(together.inserts.map((insert) => insert.token)).toEqual([
      `${TOPIC}-4-0-2`,
      `${TOPIC}-3-40-47`,
    ]);
    expect(together.refreshes).toHaveLength(1);
  });

  it('a retry re-sends only the inserts that failed, with the same token', async () => {
    const sink = harness({ maxRowsPerInsert: 100, failFirstInsertOf: `${TOPIC}-1-0-3` });
    await sink.run([batch(0, 0, valid(0, 4)), batch(1, 0, valid(4, 4))]);
    expect(sink.retries).toEqual(['raw_insert']);
    expect(sink.inserts.map((insert) => insert.token)).toEqual([
      `${TOPIC}-0-0-3`,
      `${TOPIC}-1-0-3`,
    ]);
  });
});

describe('batch metrics', () => {
  it('set the lag of each partition to the messages between its last offset and the end', async () => {
    const sink = harness({ maxRowsPerInsert: 100 });
    // Partition 0: offsets 10–14 handled, end 25, so 15–24 (10 messages) are still to read.
    // Partition 1: offsets 100–101 handled, end 102: caught up.
    await sink.run([
      { ...batch(0, 10, valid(0, 5)), highWatermark: '25' },
      batch(1, 100, valid(5, 2)),
    ]);
    const lag = await sink.metrics.lag.get();
    expect(lag.values.map(({ labels, value }) => [labels.partition, value])).toEqual([
      ['0', 10],
      ['1', 0],
    ]);
    const rows = await sink.metrics.batchRows.get();
    expect(rows.values.find((sample) => sample.metricName === 'sink_batch_rows_sum')?.value).toBe(
      7,
    );
  });
});

describe('decoding messages that are not UTF-8 text', () => {
  const family = familiesWithPrefix('unit.').incidents;
  const [event] = events;
  const text = JSON.stringify(event);
  const message = (value: Buffer, offset: string) => ({
    topic: TOPIC,
    partition: 0,
    offset,
    key: null,
    value,
    headers: {},
    timestamp: '0',
  });

  it('refuses invalid bytes and unpaired surrogate escapes as undecodable, saying where', () => {
    // The event with one Latin-1 byte at the start of its first string value.
    const at = text.indexOf(':"') + 2;
    const latin1 = Buffer.concat([
      Buffer.from(text.slice(0, at)),
      Buffer.from([0xe9]),
      Buffer.from(text.slice(at)),
    ]);
    const surrogate = Buffer.from(text.replace(':"', ':"\\udc80'));
    const decoded = decodeBatch(
      [message(latin1, '0'), message(surrogate, '1'), message(Buffer.from(text), '2')],
      family,
      new Date(),
    );
    expect(decoded.rows.map((row) => row._offset)).toEqual(['2']);
    expect(
      decoded.rejections.map(({ errorClass, reason, eventId }) => ({
        errorClass,
        reason,
        eventId,
      })),
    ).toEqual([
      {
        errorClass: 'undecodable',
        reason: `not valid UTF-8: byte 0xE9 at offset ${at} is not UTF-8, in event_id (dead-lettered as sent, not repaired)`,
        eventId: '',
      },
      {
        errorClass: 'undecodable',
        reason: 'not Unicode text: an unpaired surrogate escape (\\uD800–\\uDFFF) in event_id',
        eventId: '',
      },
    ]);
  });
});

describe('decoding events dated before the earliest event time', () => {
  it('refuses them as contract errors naming the field, with the bound given (or the default)', () => {
    const family = familiesWithPrefix('unit.').incidents;
    const event = events[0] as unknown as Record<string, unknown>;
    const at = (occurredAt: string, offset: string) => ({
      topic: TOPIC,
      partition: 0,
      offset,
      key: null,
      value: Buffer.from(JSON.stringify({ ...event, occurred_at: occurredAt })),
      headers: {},
      timestamp: '0',
    });
    const messages = [at('1900-01-01T00:00:00Z', '0'), at('2024-03-30T20:00:00Z', '1')];
    const byDefault = decodeBatch(messages, family, new Date());
    expect(byDefault.rows.map((row) => row._offset)).toEqual(['1']);
    expect(byDefault.rejections.map(({ errorClass }) => errorClass)).toEqual(['contract']);
    // (An incident created in 1900 from a call of 2024 also breaks the call-before-creation rule.)
    expect(JSON.parse(byDefault.rejections[0]?.reason ?? '[]')).toContainEqual({
      path: 'occurred_at',
      message: expect.stringMatching(/^is before the earliest event time accepted, 2000-01-01T/),
    });
    // EARLIEST_EVENT_TIME later than both: both refused.
    const later = decodeBatch(messages, family, new Date(), new Date('2024-03-31T00:00:00Z'));
    expect(later.rows).toEqual([]);
    expect(later.rejections).toHaveLength(2);
  });
});
