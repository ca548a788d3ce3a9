import type { ConsumedBatch } from '@bluelight/service-kit';
import { migratedDatabase, uniqueName } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { familiesWithPrefix } from './families.js';
import { type BatchContext, processBatches } from './processor.js';
import { testBatchContext } from './testing/batch-context.js';
import { incidentScenario } from './testing/incident-scenario.js';

let db: Awaited<ReturnType<typeof migratedDatabase>>;
let context: BatchContext;
beforeAll(async () => {
  db = await migratedDatabase('sink_dedup');
  // Inserts of 4 rows at most, so one redelivered batch is several inserts.
  context = await testBatchContext(db.client, family, {
    limits: { maxRows: 4, maxPartitions: 100 },
  });
  // No background merge may collapse duplicates behind the test's back: every row written stays
  // visible to a read without FINAL.
  await db.client.command({ query: 'SYSTEM STOP MERGES incidents_raw' });
});
afterAll(async () => {
  await db?.drop();
});

const family = familiesWithPrefix(`${uniqueName('t')}.`).incidents;
const events = incidentScenario(2, Date.parse('2024-03-30T20:00:00Z'), 'INC-REDELIVER')
  .events.flat()
  .map((event) => JSON.stringify(event));

function batch(partition: number, firstOffset: number, values: string[]): ConsumedBatch {
  const topic = family.topic.name;
  return {
    topic,
    partition,
    highWatermark: String(firstOffset + values.length),
    heartbeat: async () => {},
    messages: values.map((value, index) => ({
      topic,
      partition,
      offset: String(firstOffset + index),
      key: null,
      value: Buffer.from(value),
      headers: {},
      timestamp: '0',
    })),
  };
}

/** The sink's own path for one unit: raw inserts (4 rows each at most); the views do the rest. */
function deliver(batches: ConsumedBatch[], at: string) {
  return processBatches(batches, { ...context, now: () => new Date(at) });
}

async function rawCount(final = false): Promise<number> {
  const result = await db.client.query({
    query: `SELECT count() AS n FROM incidents_raw ${final ? 'FINAL' : ''}`,
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ n: number }>();
  return Number(row?.n);
}

describe('raw inserts with deduplication tokens (real ClickHouse)', () => {
  it('are honoured by every raw table: a non-replicated MergeTree needs a deduplication window', async () => {
    const tables = await db.client.query({
      query: `SELECT name, engine_full FROM system.tables
              WHERE database = currentDatabase() AND endsWith(name, '_raw') ORDER BY name`,
      format: 'JSONEachRow',
    });
    const rows = await tables.json<{ name: string; engine_full: string }>();
    expect(rows.map((row) => row.name)).toEqual(['calls_raw', 'incidents_raw', 'resources_raw']);
    for (const row of rows) {
      expect(row.engine_full, row.name).toMatch(/non_replicated_deduplication_window = [1-9]/);
    }
  });

  it('adds no rows, even without FINAL, when a batch is delivered again', async () => {
    const first = batch(0, 100, events.slice(0, 10));
    await deliver([first], '2024-04-01T10:00:00Z');
    expect(await rawCount()).toBe(10);

    // The same unit redelivered later (other _ingested_at, so the rows differ): three inserts,
    // all no-ops.
    await deliver([batch(0, 100, events.slice(0, 10))], '2024-04-01T10:05:00Z');
    expect(await rawCount()).toBe(10);

    const ingested = await db.client.query({
      query: `SELECT _partition, toString(_ingested_at) AS at, count() AS n FROM incidents_raw
              GROUP BY _partition, at ORDER BY _partition`,
      format: 'JSONEachRow',
    });
    expect(await ingested.json()).toEqual([
      { _partition: 0, at: '2024-04-01 10:00:00.000', n: 10 },
    ]);
  });

  it('regrouped with another partition on redelivery: the same events and facts, read with FINAL', async () => {
    // After a crash the first fetch groups partitions its own way: other inserts, other tokens.
    await deliver(
      [batch(1, 0, events.slice(10, 16)), batch(0, 100, events.slice(0, 10))],
      '2024-04-01T10:10:00Z',
    );
    // Rows may stand twice until the table merges; FINAL — how every reader reads — has each once.
    expect(await rawCount(true)).toBe(16);
    const distinct = await db.client.query({
      query: 'SELECT uniqExact(agency, incident_id, event_id) AS n FROM incidents_raw',
      format: 'JSONEachRow',
    });
    expect(await distinct.json()).toEqual([{ n: 16 }]);
    // The facts equal those of the same events written once (the views' aggregates are
    // idempotent), in a database of their own.
    const once = await migratedDatabase('sink_dedup_once');
    try {
      const onceContext = await testBatchContext(once.client, family, { limits: context.limits });
      await processBatches([batch(0, 100, events.slice(0, 10))], onceContext);
      await processBatches([batch(1, 0, events.slice(10, 16))], onceContext);
      const facts = async (client: typeof db.client) => {
        const result = await client.query({
          query: `SELECT * EXCEPT (last_ingested_at) FROM incident_facts FINAL ORDER BY incident_id`,
          format: 'JSONEachRow',
        });
        return result.json();
      };
      const expected = await facts(once.client);
      expect(expected).toHaveLength(2);
      expect(await facts(db.client)).toEqual(expected);
    } finally {
      await once.drop();
    }
  });

  it('is the token that prevents it: another offset range is written again (FINAL still collapses it)', async () => {
    const before = await rawCount();
    // Nine of the same messages, fetched from offset 101: other ranges and tokens, so written.
    await deliver([batch(0, 101, events.slice(1, 10))], '2024-04-01T10:15:00Z');
    expect(await rawCount()).toBe(before + 9);
    expect(await rawCount(true)).toBe(16);
  });
});
