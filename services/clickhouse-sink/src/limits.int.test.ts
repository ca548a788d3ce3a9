import type { ConsumedBatch } from '@bluelight/service-kit';
import { ALL_FACTS, migratedDatabase, uniqueName } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRetriable } from './errors.js';
import { familiesWithPrefix } from './families.js';
import { processBatches } from './processor.js';
import { testBatchContext } from './testing/batch-context.js';
import { type FixtureEvent, fixtureEvent } from './testing/fact-events.js';

let db: Awaited<ReturnType<typeof migratedDatabase>>;
beforeAll(async () => {
  db = await migratedDatabase('sink_limits');
});
afterAll(async () => {
  await db?.drop();
});

const family = familiesWithPrefix(`${uniqueName('t')}.`).incidents;
let nextOffset = 0;

function batch(events: FixtureEvent[]): ConsumedBatch {
  const topic = family.topic.name;
  const first = nextOffset;
  nextOffset += events.length;
  return {
    topic,
    partition: 0,
    highWatermark: String(nextOffset),
    heartbeat: async () => {},
    messages: events.map((event, index) => ({
      topic,
      partition: 0,
      offset: String(first + index),
      key: Buffer.from(`${event.agency}/${event.payload.incident_id}`),
      value: Buffer.from(JSON.stringify(event)),
      headers: {},
      timestamp: '0',
    })),
  };
}

const details = {
  service: 'fire',
  category: { type: 'secondary_fire' },
  risk_band: 'low',
  life_risk: false,
};

/** The 15th of each month from January 2000 (the contract's earliest year) on. */
const monthly = (count: number) =>
  Array.from({ length: count }, (_, index) => Date.UTC(2000, index, 15, 12));

async function count(query: string, params: Record<string, unknown> = {}): Promise<number> {
  const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
  const [row] = await result.json<{ n: number }>();
  return Number(row?.n);
}

describe('raw inserts at the engine’s limits (real ClickHouse)', () => {
  it('store all of 150 events of one incident, one a month over 150 months', async () => {
    const events = monthly(150).map((at) =>
      fixtureEvent('incident.reclassified', at, 'staffordshire-fire', {
        incident_id: 'INC-150-MONTHS',
        details,
      }),
    );
    await processBatches([batch(events)], await testBatchContext(db.client, family));
    expect(
      await count(
        `SELECT count() AS n FROM incidents_raw FINAL WHERE incident_id = 'INC-150-MONTHS'`,
      ),
    ).toBe(150);
    expect(
      await count(
        `SELECT uniqExact(toYYYYMM(occurred_at)) AS n FROM incidents_raw WHERE incident_id = 'INC-150-MONTHS'`,
      ),
    ).toBe(150);
  });

  it('store all of 150 incidents created a month apart, each in its own facts partition', async () => {
    const events = monthly(150).map((at, index) =>
      fixtureEvent('incident.created', at, 'staffordshire-fire', {
        incident_id: `INC-MONTH-${index}`,
        call_received_at: new Date(at - 60_000).toISOString(),
        details,
        location: { station_ground: 'HANLEY', area: 'Stoke' },
      }),
    );
    await processBatches([batch(events)], await testBatchContext(db.client, family));
    expect(
      await count(
        `SELECT count() AS n FROM ${ALL_FACTS.incidents} WHERE startsWith(incident_id, 'INC-MONTH-')`,
      ),
    ).toBe(150);
    expect(
      await count(
        `SELECT uniqExact(_partition_id) AS n FROM incident_facts WHERE startsWith(incident_id, 'INC-MONTH-')`,
      ),
    ).toBe(150);
  });

  it('stop rather than skip when the server refuses an insert the sink was allowed to make', async () => {
    const events = monthly(120).map((at) =>
      fixtureEvent('incident.reclassified', at, 'staffordshire-fire', {
        incident_id: 'INC-REFUSED',
        details,
      }),
    );
    // A sink configured above the server's max_partitions_per_insert_block (100).
    const context = await testBatchContext(db.client, family, {
      limits: { maxRows: 100_000, maxPartitions: 1_000 },
    });
    const failure = await processBatches([batch(events)], context).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(String(failure)).toMatch(/Too many partitions for single INSERT block/);
    // Not retriable: the same insert would fail again, so the sink stops with it uncommitted.
    expect(isRetriable(failure)).toBe(false);
    expect(
      await count(`SELECT count() AS n FROM incidents_raw WHERE incident_id = 'INC-REFUSED'`),
    ).toBe(0);
  });

  it('store the earliest and the latest times the contract accepts', async () => {
    const earliest = Date.parse('2000-01-01T00:00:00Z');
    const soon = Date.now() + 4 * 60_000;
    const events = [earliest, soon].map((at, index) =>
      fixtureEvent('incident.created', at, 'staffordshire-fire', {
        incident_id: `INC-EDGE-${index}`,
        call_received_at: new Date(at).toISOString(),
        details,
        location: { station_ground: 'HANLEY', area: 'Stoke' },
      }),
    );
    await processBatches([batch(events)], await testBatchContext(db.client, family));
    const result = await db.client.query({
      query: `SELECT incident_id, toUnixTimestamp64Milli(call_received_at) AS received
              FROM ${ALL_FACTS.incidents} WHERE startsWith(incident_id, 'INC-EDGE-') ORDER BY incident_id`,
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual([
      { incident_id: 'INC-EDGE-0', received: earliest },
      { incident_id: 'INC-EDGE-1', received: soon },
    ]);
  });
});
