import { callFactsSql, incidentFactsSql, resourceIntervalsSql } from '@bluelight/clickhouse-schema';
import { partitionKey } from '@bluelight/schemas';
import type { ClickHouseClient, ConsumedBatch } from '@bluelight/service-kit';
import { migratedDatabase } from '@bluelight/test/harness';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntityDirectory } from './entities.js';
import { type Family, familiesWithPrefix } from './families.js';
import { type BatchContext, processBatches } from './processor.js';
import { testBatchContext } from './testing/batch-context.js';
import {
  callFixtureEvents,
  type FixtureEvent,
  fixtureEvent,
  incidentFixtureEvents,
  statusFixtureEvents,
} from './testing/land.js';

/*
 * Property: however the producers ordered a scenario's events, and however Kafka delivered them
 * at least once — batches of any length, partitions grouped into units any way, commits lost,
 * sinks restarted (forgetting what they knew) and ranges delivered again — every figure the
 * readers see is the one the scenario gives when delivered once, in order.
 */

const ms = (iso: string) => Date.parse(iso);

function correction(event: FixtureEvent, atMs: number): FixtureEvent {
  return {
    ...fixtureEvent(event.event_type, atMs, event.agency, event.payload),
    corrects: { event_id: event.event_id, reason: 'time taken from AVL' },
  };
}

function retraction(event: FixtureEvent, atMs: number): FixtureEvent {
  const family = event.event_type.split('.')[0] as 'incident' | 'call' | 'resource';
  const idField = `${family}_id`;
  return {
    ...fixtureEvent(`${family}.event_retracted`, atMs, event.agency, {
      [idField]: event.payload[idField],
    }),
    corrects: { event_id: event.event_id, reason: 'sent in error' },
  };
}

const find = (events: FixtureEvent[], type: string, resource?: string) =>
  events.find(
    (event) =>
      event.event_type === type &&
      (resource === undefined || event.payload.resource_id === resource),
  ) as FixtureEvent;

/** The scenario: built once, so every delivery carries the very same events (ids included). */
function scenario(): FixtureEvent[] {
  // The night the clocks go forward (01:00 UTC, 31 March 2024), and a call at 23:30 UTC that
  // night, already 1 April in London.
  const beforeChange = incidentFixtureEvents({
    id: 'INC-P1',
    receivedAt: '2024-03-31T00:40:00Z',
    mobilisedAfter: 40,
    mobileAfter: 100,
    arrivalsAfter: [420, 540],
    closedAfter: 3_000,
  });
  const april = incidentFixtureEvents({
    id: 'INC-P2',
    receivedAt: '2024-03-31T23:30:00Z',
    category: 'secondary_fire',
    riskBand: 'low',
    mobilisedAfter: 30,
    mobileAfter: 90,
    arrivalsAfter: [600],
    closedAfter: 2_400,
  });
  // Closed 40 days after the call: if that event arrives first, the incident is anchored in May
  // and its day (in March) lies outside the anchor month and the one before.
  const longRunning = incidentFixtureEvents({
    id: 'INC-P3',
    receivedAt: '2024-03-30T12:00:00Z',
    mobilisedAfter: 60,
    arrivalsAfter: [480],
    closedAfter: 40 * 86_400,
  });
  const retracted = incidentFixtureEvents({
    id: 'INC-P4',
    receivedAt: '2024-04-02T08:00:00Z',
    arrivalsAfter: [300],
  });
  // Another agency, the same incident id.
  const otherAgency = incidentFixtureEvents({
    id: 'INC-P1',
    agency: 'westmids-fire',
    receivedAt: '2024-03-31T02:10:00Z',
    arrivalsAfter: [660],
    closedAfter: 1_800,
  });
  const calls = [
    ...callFixtureEvents({ id: 'CALL-P1', presentedAt: '2024-03-31T00:55:00Z', answeredAfter: 7 }),
    ...callFixtureEvents({
      id: 'CALL-P2',
      presentedAt: '2024-03-31T23:45:00Z',
      answeredAfter: 14,
      closedAfter: 200,
    }),
    ...callFixtureEvents({
      id: 'CALL-P3',
      presentedAt: '2024-04-01T10:00:00Z',
      line: '101',
      service: 'police',
      abandonedAfter: 50,
    }),
    ...callFixtureEvents({
      id: 'CALL-P1',
      agency: 'westmids-control',
      presentedAt: '2024-03-31T01:20:00Z',
      answeredAfter: 22,
    }),
  ];
  const pump = { id: 'LEEK-P1', station: 'LEEK', crewing: 'on_call' as const };
  const statuses = statusFixtureEvents(pump, [
    { at: '2024-03-30T22:00:00Z', status: 'available_at_station' },
    { at: '2024-03-31T00:41:00Z', status: 'committed' },
    { at: '2024-03-31T01:30:00Z', status: 'available_mobile' },
    { at: '2024-03-31T03:00:00Z', status: 'unavailable', reason: 'crewing' },
    { at: '2024-03-31T07:00:00Z', status: 'available_at_station' },
  ]);
  const revisions = [
    // R1 pressed "arrived" early; R2's arrival at INC-P2 never happened; a late answer time.
    correction(
      find(beforeChange, 'incident.resource_arrived', 'INC-P1-R1'),
      ms('2024-03-31T00:50:00Z'),
    ),
    retraction(find(april, 'incident.resource_arrived', 'INC-P2-R1'), ms('2024-04-01T09:00:00Z')),
    correction(find(calls, 'call.answered'), ms('2024-03-31T00:55:09Z')),
    ...retracted.map((event) => retraction(event, ms('2024-04-03T09:00:00Z'))),
    retraction(statuses[3] as FixtureEvent, ms('2024-03-31T08:00:00Z')),
  ];
  return [
    ...beforeChange,
    ...april,
    ...longRunning,
    ...retracted,
    ...otherAgency,
    ...calls,
    ...statuses,
    ...revisions,
  ];
}

const EVENTS = scenario();
const PARTITIONS = 3;

/**
 * Each delivery writes under agencies and topics of its own (`-d<n>` and `delivery<n>.`), so
 * all of them share one database without meeting: entities are (agency, id), insert tokens
 * name their topic.
 */
function delivery(n: number) {
  const suffix = `-d${n}`;
  return {
    suffix,
    families: Object.values(familiesWithPrefix(`delivery${n}.`)),
    events: (events: FixtureEvent[]) =>
      events.map((event) => ({ ...event, agency: `${event.agency}${suffix}` })),
  };
}

const AGENCIES = [...new Set(EVENTS.map((event) => event.agency))];

/** What the readers of these agencies see: every incident, call and availability interval. */
async function figures(client: ClickHouseClient, suffix: string) {
  const days = { from: `toDate('2024-03-01')`, to: `toDate('2024-06-01')` };
  const instants = {
    from: `toDateTime64('2024-03-01 00:00:00', 3, 'UTC')`,
    to: `toDateTime64('2024-06-01 00:00:00', 3, 'UTC')`,
  };
  const agencies = '{agencies:Array(String)}';
  const read = async (sql: string, order: string): Promise<Record<string, unknown>[]> => {
    const result = await client.query({
      query: `SELECT * FROM (${sql}) ORDER BY ${order}`,
      query_params: { agencies: AGENCIES.map((agency) => `${agency}${suffix}`) },
      format: 'JSONEachRow',
    });
    // Where an entity is stored (its anchor) and when its rows were written are not figures:
    // they depend on which event arrived first and on the delivery.
    return (await result.json<Record<string, unknown> & { agency: string }>()).map(
      ({ anchor: _anchor, last_ingested_at: _ingested, ...figure }) => ({
        ...figure,
        agency: String(figure.agency).slice(0, -suffix.length),
      }),
    );
  };
  return {
    incidents: await read(incidentFactsSql(days, agencies), 'agency, incident_id'),
    calls: await read(callFactsSql(days, agencies), 'agency, call_id'),
    intervals: await read(
      resourceIntervalsSql(instants, agencies),
      'agency, resource_id, start_at',
    ),
  };
}

/** Kafka's placement: one entity's events on one partition, in the order they were produced. */
function partitionLogs(events: FixtureEvent[], family: Family): FixtureEvent[][] {
  const logs: FixtureEvent[][] = Array.from({ length: PARTITIONS }, () => []);
  for (const event of events) {
    if (!family.topic.eventTypes.includes(event.event_type as never)) continue;
    const key = partitionKey(event as never);
    let hash = 0;
    for (const char of key) hash = (Math.imul(hash, 31) + char.charCodeAt(0)) | 0;
    logs[Math.abs(hash) % PARTITIONS]?.push(event);
  }
  return logs;
}

function batchOf(
  family: Family,
  partition: number,
  log: FixtureEvent[],
  from: number,
  to: number,
): ConsumedBatch {
  const topic = family.topic.name;
  return {
    topic,
    partition,
    highWatermark: String(log.length),
    heartbeat: async () => {},
    messages: log.slice(from, to).map((event, index) => ({
      topic,
      partition,
      offset: String(from + index),
      key: Buffer.from(partitionKey(event as never)),
      value: Buffer.from(JSON.stringify(event)),
      headers: {},
      timestamp: '0',
    })),
  };
}

/** One step of a delivery: which partitions' next batches form a unit, and what goes wrong. */
interface Step {
  /** Bit i: partition i takes part in this unit. */
  partitions: number;
  /** Messages per batch. */
  length: number;
  /** The unit is written but its offsets are never committed (the sink died first). */
  commitLost: boolean;
  /** Then the sink restarts: it forgets what it knew and reads on from the committed offsets. */
  restart: boolean;
  /** The sink retries the same unit (an unknown-status failure). */
  retried: boolean;
}

/** True about once in `n` steps. */
const oneIn = (n: number) => fc.integer({ min: 1, max: n }).map((draw) => draw === 1);

const stepArbitrary: fc.Arbitrary<Step> = fc.record({
  partitions: fc.integer({ min: 1, max: 2 ** PARTITIONS - 1 }),
  length: fc.integer({ min: 1, max: 8 }),
  commitLost: oneIn(3),
  restart: oneIn(4),
  retried: oneIn(5),
});

/** Delivers one family's logs by the steps given, then to the end, at least once. */
async function deliver(
  client: ClickHouseClient,
  family: Family,
  logs: FixtureEvent[][],
  steps: Step[],
) {
  const newSink = async (): Promise<BatchContext> =>
    testBatchContext(client, family, { entities: new EntityDirectory(family.name) });
  let sink = await newSink();
  const committed = logs.map(() => 0);
  const position = logs.map(() => 0);
  const runUnit = async (batches: ConsumedBatch[], step: Step) => {
    await processBatches(batches, sink);
    if (step.retried) await processBatches(batches, sink);
  };
  for (const step of steps) {
    const batches: ConsumedBatch[] = [];
    logs.forEach((log, partition) => {
      if ((step.partitions & (1 << partition)) === 0 || position[partition] === log.length) return;
      const from = position[partition] as number;
      const to = Math.min(log.length, from + step.length);
      batches.push(batchOf(family, partition, log, from, to));
      position[partition] = to;
    });
    if (batches.length === 0) continue;
    await runUnit(batches, step);
    if (!step.commitLost) {
      for (const batch of batches) committed[batch.partition] = position[batch.partition] as number;
    }
    if (step.restart) {
      position.splice(0, position.length, ...committed);
      sink = await newSink();
    }
  }
  // Whatever is left (or was never committed) is read on to the end by a fresh sink.
  sink = await newSink();
  const rest = logs
    .map((log, partition) => ({ log, partition }))
    .filter(({ log, partition }) => (committed[partition] as number) < log.length)
    .map(({ log, partition }) =>
      batchOf(family, partition, log, committed[partition] as number, log.length),
    );
  if (rest.length > 0) await processBatches(rest, sink);
}

let db: Awaited<ReturnType<typeof migratedDatabase>>;
let expected: Awaited<ReturnType<typeof figures>>;
beforeAll(async () => {
  db = await migratedDatabase('delivery');
  // The reference: every event delivered once, in the order written, one unit per family.
  const reference = delivery(0);
  for (const family of reference.families) {
    const logs = partitionLogs(reference.events(EVENTS), family);
    const batches = logs
      .map((log, partition) => batchOf(family, partition, log, 0, log.length))
      .filter((batch) => batch.messages.length > 0);
    await processBatches(batches, await testBatchContext(db.client, family));
  }
  expected = await figures(db.client, reference.suffix);
});

afterAll(async () => {
  await db?.drop();
});

let deliveries = 0;

describe('figures under any order of production and any at-least-once delivery (real ClickHouse)', () => {
  it('the reference holds what the scenario means', () => {
    // A few figures worked out by hand, so the property compares against something right.
    const incident = (agency: string, id: string) =>
      expected.incidents.find((row) => row.agency === agency && row.incident_id === id);
    // R1's arrival corrected to 00:50 (600 s after the call), after R2's at 00:49.
    expect(incident('staffordshire-fire', 'INC-P1')).toMatchObject({
      first_arrival_at: '2024-03-31 00:49:00.000',
      first_arrival_resource_id: 'INC-P1-R2',
    });
    // Its only arrival retracted.
    expect(incident('staffordshire-fire', 'INC-P2')).toMatchObject({ first_arrival_at: null });
    expect(incident('staffordshire-fire', 'INC-P4')).toBeUndefined();
    expect(incident('westmids-fire', 'INC-P1')).toMatchObject({
      first_arrival_at: '2024-03-31 02:21:00.000',
    });
    expect(incident('staffordshire-fire', 'INC-P3')).toBeDefined();
    const call = expected.calls.find(
      (row) => row.agency === 'staffordshire-control' && row.call_id === 'CALL-P1',
    );
    expect(call).toMatchObject({ answered_at: '2024-03-31 00:55:09.000' });
    // The unavailable spell was retracted: committed → mobile → at station.
    expect(expected.intervals.map((row) => row.status)).toEqual([
      'available_at_station',
      'committed',
      'available_mobile',
      'available_at_station',
    ]);
  });

  it('are the same however the events were ordered, grouped, redelivered and restarted', async () => {
    await fc.assert(
      fc.asyncProperty(
        // The producers' order: a permutation of the scenario.
        fc.shuffledSubarray(
          EVENTS.map((_, index) => index),
          { minLength: EVENTS.length, maxLength: EVENTS.length },
        ),
        fc.array(stepArbitrary, { minLength: 1, maxLength: 12 }),
        async (order, steps) => {
          deliveries += 1;
          const run = delivery(deliveries);
          const produced = run.events(order.map((index) => EVENTS[index] as FixtureEvent));
          for (const family of run.families) {
            await deliver(db.client, family, partitionLogs(produced, family), steps);
          }
          expect(await figures(db.client, run.suffix)).toEqual(expected);
        },
      ),
      { numRuns: Number(process.env.DELIVERY_RUNS ?? 8), endOnFailure: true },
    );
  }, 600_000);
});
