import type { ClickHouseClient, ConsumedBatch, EventProducer } from '@bluelight/service-kit';
import { createMetricsRegistry } from '@bluelight/service-kit';
import { describe, expect, it } from 'vitest';
import { DeadLetterGuard } from './dead-letters.js';
import type { EntityDirectory } from './entities.js';
import { familiesWithPrefix } from './families.js';
import { createSinkMetrics } from './metrics.js';
import { decodeBatch, processBatches, unitToken } from './processor.js';
import type { FactRevisions } from './revisions.js';
import { incidentScenario, uuidV7 } from './testing/incident-scenario.js';

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
function harness(options: {
  maxRowsPerInsert: number;
  maxPartitions?: number;
  failFirstInsertOf?: string;
}) {
  const inserts: {
    table: string;
    token: string;
    offsets: string[];
    rows: Record<string, unknown>[];
  }[] = [];
  const refreshes: string[][] = [];
  let failed = false;
  const clickhouse = {
    insert: async (params: {
      table: string;
      columns: string[];
      values: unknown[][];
      clickhouse_settings: { insert_deduplication_token: string };
    }) => {
      const token = params.clickhouse_settings.insert_deduplication_token;
      if (token === options.failFirstInsertOf && !failed) {
        failed = true;
        throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      }
      // JSONCompactEachRow: each row's values in the order of `columns`.
      const rows = params.values.map((values) =>
        Object.fromEntries(params.columns.map((column, index) => [column, values[index]])),
      );
      inserts.push({
        table: params.table,
        token,
        offsets: rows.map((row) => String(row._offset ?? row.original_offset)),
        rows,
      });
    },
  } as unknown as ClickHouseClient;
  const family = familiesWithPrefix('unit.').incidents;
  // No entity is known yet; recomputes are recorded (these events correct nothing).
  const entities = {
    lookup: async () => new Map(),
    remember: () => {},
    forget: () => {},
  } as unknown as EntityDirectory;
  const revisions = {
    recompute: async (_client: ClickHouseClient, keys: { agency: string; id: string }[]) =>
      void refreshes.push(keys.map((key) => key.id)),
  } as unknown as FactRevisions;
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
      entities,
      revisions,
      limits: { maxRows: options.maxRowsPerInsert, maxPartitions: options.maxPartitions ?? 100 },
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
  it('name the offset ranges of exactly the rows an insert holds, partition by partition', async () => {
    expect(
      unitToken('bluelight.incidents.v1', [
        { partition: 0, min: '120', max: '345' },
        { partition: 3, min: '7', max: '99' },
      ]),
    ).toBe('bluelight.incidents.v1:0=120-345,3=7-99');
    // Hundreds of partitions: hashed, still one per set of ranges.
    const many = Array.from({ length: 300 }, (_, partition) => ({ partition, min: '0', max: '9' }));
    expect(unitToken('t', many)).toMatch(/^t:sha256=[0-9a-f]{64}$/);
    expect(unitToken('t', many)).not.toBe(unitToken('t', many.slice(1)));
  });

  it('put a whole unit in one insert when it fits, partitions in order, each in offset order', async () => {
    const sink = harness({ maxRowsPerInsert: 100 });
    // Partition 1's middle message is refused: its range still spans 100–102, the rows it holds.
    await sink.run([
      batch(1, 100, [...valid(5, 1), 'not json', ...valid(6, 1)]),
      batch(0, 10, valid(0, 5)),
      batch(2, 7, ['{}']),
    ]);
    expect(sink.inserts.map(({ rows: _, ...insert }) => insert)).toEqual([
      {
        table: 'incidents_raw',
        token: `${TOPIC}:0=10-14,1=100-102`,
        offsets: ['10', '11', '12', '13', '14', '100', '102'],
      },
      { table: 'dead_letters', token: `dlq-${TOPIC}-1-101-101`, offsets: ['101'] },
      { table: 'dead_letters', token: `dlq-${TOPIC}-2-7-7`, offsets: ['7'] },
    ]);
    // Nothing here corrects or retracts an event: no facts are recomputed.
    expect(sink.refreshes).toHaveLength(0);
  });

  it('split a unit above the rows per insert, an insert spanning partitions where it falls', async () => {
    const sink = harness({ maxRowsPerInsert: 2 });
    await sink.run([batch(0, 10, valid(0, 3)), batch(1, 100, valid(3, 3))]);
    expect(sink.inserts.map(({ token, offsets }) => [token, offsets])).toEqual([
      [`${TOPIC}:0=10-11`, ['10', '11']],
      [`${TOPIC}:0=12-12,1=100-100`, ['12', '100']],
      [`${TOPIC}:1=101-102`, ['101', '102']],
    ]);
  });

  it('are the same when the same unit is delivered again', async () => {
    const first = harness({ maxRowsPerInsert: 100 });
    await first.run([batch(4, 0, valid(8, 3)), batch(3, 40, valid(0, 8))]);
    const again = harness({ maxRowsPerInsert: 100 });
    await again.run([batch(3, 40, valid(0, 8)), batch(4, 0, valid(8, 3))]);
    expect(first.inserts.map((insert) => insert.token)).toEqual([`${TOPIC}:3=40-47,4=0-2`]);
    expect(again.inserts.map((insert) => insert.token)).toEqual([`${TOPIC}:3=40-47,4=0-2`]);
  });

  it('a retry re-sends only the inserts that failed, with the same token', async () => {
    const sink = harness({ maxRowsPerInsert: 4, failFirstInsertOf: `${TOPIC}:1=0-3` });
    await sink.run([batch(0, 0, valid(0, 4)), batch(1, 0, valid(4, 4))]);
    expect(sink.retries).toEqual(['raw_insert']);
    expect(sink.inserts.map((insert) => insert.token)).toEqual([
      `${TOPIC}:0=0-3`,
      `${TOPIC}:1=0-3`,
    ]);
  });
});

/** One incident's reclassification per month from January 2000, then a creation per month. */
function monthly(count: number, type: 'reclassified' | 'created'): string[] {
  return Array.from({ length: count }, (_, index) => {
    const at = new Date(Date.UTC(2000, index, 15, 12)).toISOString();
    const event = {
      event_id: uuidV7(Date.parse(at)),
      event_type: `incident.${type}`,
      schema_version: 1,
      occurred_at: at,
      source: 'unit',
      agency: 'staffordshire-fire',
      payload: {
        incident_id: type === 'created' ? `INC-M${index}` : 'INC-MONTHLY',
        ...(type === 'created'
          ? { call_received_at: at, location: { station_ground: 'HANLEY', area: 'Stoke' } }
          : {}),
        details: {
          service: 'fire',
          category: { type: 'secondary_fire' },
          risk_band: 'low',
          life_risk: false,
        },
      },
    };
    return JSON.stringify(event);
  });
}

describe('raw inserts at the engine’s partition limit', () => {
  const months = (rows: Record<string, unknown>[], column: string) =>
    new Set(rows.map((row) => String(row[column]).slice(0, 7))).size;

  it('split a batch whose events span more months than one insert may write', async () => {
    const sink = harness({ maxRowsPerInsert: 1_000, maxPartitions: 100 });
    await sink.run([batch(0, 500, monthly(150, 'reclassified'))]);
    expect(sink.inserts.map(({ token, offsets }) => [token, offsets.length])).toEqual([
      [`${TOPIC}:0=500-599`, 100],
      [`${TOPIC}:0=600-649`, 50],
    ]);
    for (const insert of sink.inserts) {
      expect(months(insert.rows, 'occurred_at')).toBeLessThanOrEqual(100);
    }
    // One incident: every row carries the anchor of its first event, January 2000.
    expect(new Set(sink.inserts.flatMap(({ rows }) => rows.map((row) => row._anchor)))).toEqual(
      new Set(['2000-01-01']),
    );
  });

  it('split on the facts’ anchor months too: 150 incidents, one a month', async () => {
    const sink = harness({ maxRowsPerInsert: 1_000, maxPartitions: 40 });
    await sink.run([batch(2, 0, monthly(150, 'created'))]);
    expect(sink.inserts.map(({ offsets }) => offsets.length)).toEqual([40, 40, 40, 30]);
    for (const insert of sink.inserts) {
      expect(months(insert.rows, '_anchor')).toBeLessThanOrEqual(40);
      expect(months(insert.rows, 'occurred_at')).toBeLessThanOrEqual(40);
    }
    expect(sink.inserts.flatMap(({ rows }) => rows).length).toBe(150);
  });

  it('anchor an incident on the London month of its call, not of the event that created it', async () => {
    const sink = harness({ maxRowsPerInsert: 100 });
    // Called at 23:30 GMT on 31 January 2024 (still January in London), created after midnight.
    const created = {
      event_id: uuidV7(Date.parse('2024-02-01T00:02:00Z')),
      event_type: 'incident.created',
      schema_version: 1,
      occurred_at: '2024-02-01T00:02:00Z',
      source: 'unit',
      agency: 'staffordshire-fire',
      payload: {
        incident_id: 'INC-EDGE',
        call_received_at: '2024-01-31T23:30:00Z',
        details: {
          service: 'fire',
          category: { type: 'chimney_fire' },
          risk_band: 'low',
          life_risk: true,
        },
        location: { station_ground: 'LEEK', area: 'Moorlands' },
      },
    };
    // 23:30 UTC on 31 March 2024 is 00:30 BST on 1 April: April in London.
    const april = {
      ...created,
      event_id: uuidV7(Date.parse('2024-03-31T23:40:00Z')),
      occurred_at: '2024-03-31T23:40:00Z',
      payload: {
        ...created.payload,
        incident_id: 'INC-BST',
        call_received_at: '2024-03-31T23:30:00Z',
      },
    };
    await sink.run([batch(0, 0, [JSON.stringify(created), JSON.stringify(april)])]);
    expect(
      sink.inserts[0]?.rows.map((row) => [row.incident_id, row._anchor, row._revised]),
    ).toEqual([
      ['INC-EDGE', '2024-01-01', 0],
      ['INC-BST', '2024-04-01', 0],
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
    expect(decoded.rows.map(({ offset }) => offset)).toEqual(['2']);
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
    expect(byDefault.rows.map(({ offset }) => offset)).toEqual(['1']);
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
