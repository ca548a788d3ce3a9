import type { ConsumedMessage } from '@bluelight/service-kit';
import { consumeMessages, testEndpoints } from '@bluelight/test/harness';
import { afterEach, describe, expect, it } from 'vitest';
import { DLQ_HEADERS } from './dead-letters.js';
import { DeadLetterLimitExceeded } from './errors.js';
import { incidentScenario, type TestEvent } from './testing/incident-scenario.js';
import { startTestSink } from './testing/sink-harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

const START = Date.parse('2024-02-10T09:00:00Z');
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('dead letters (real Kafka and ClickHouse)', () => {
  it('sends poison messages to the dead-letter topic and table with their origin, while the rest flows', async () => {
    const sink = await startTestSink({ families: 'incidents' });
    cleanups.push(sink.cleanup);
    const topic = sink.families.incidents.topic.name;
    const { events } = incidentScenario(3, START, 'INC-POISON');
    const good = events.flat();
    const missingRiskBand = structuredClone(good[0]) as TestEvent;
    missingRiskBand.event_id = '0190a0b1-0000-7000-8000-000000000001';
    delete (missingRiskBand.payload.details as Record<string, unknown>).risk_band;
    const callOnIncidentTopic = {
      ...(structuredClone(good[0]) as TestEvent),
      event_id: '0190a0b1-0000-7000-8000-000000000002',
      event_type: 'call.answered',
      payload: { call_id: 'C-1', position: 'FIRE-01' },
    };
    const producedAt = Date.now();
    await sink.produce(topic, [
      ...good.slice(0, 10),
      {
        raw: '{"event_id": "truncated',
        key: 'INC-POISON-0000',
        // The producer's own headers must travel with the dead letter (e.g. for tracing).
        headers: { traceparent: TRACEPARENT, 'x-origin': 'gateway' },
      },
      missingRiskBand,
      ...good.slice(10),
      callOnIncidentTopic,
    ]);
    await sink.waitUntilCommitted('incidents', good.length + 3);

    const raw = await sink.db.client.query({
      query: 'SELECT count() AS n FROM incidents_raw FINAL',
      format: 'JSONEachRow',
    });
    expect(await raw.json()).toEqual([{ n: good.length }]);

    const letters = await consumeMessages({
      brokers: testEndpoints().kafkaBrokers,
      topic: sink.families.incidents.topic.deadLetter.name,
      count: 3,
    });
    const byClass = new Map(
      letters.map((letter) => [letter.headers[DLQ_HEADERS.errorClass], letter]),
    );
    expect([...byClass.keys()].sort()).toEqual(['contract', 'undecodable', 'wrong_topic']);
    const undecodable = byClass.get('undecodable') as ConsumedMessage;
    expect(undecodable.value?.toString()).toBe('{"event_id": "truncated');
    expect(undecodable.key?.toString()).toBe('INC-POISON-0000');
    expect(undecodable.headers[DLQ_HEADERS.originalTopic]).toBe(topic);
    expect(undecodable.headers[DLQ_HEADERS.service]).toBe('clickhouse-sink');
    expect(undecodable.headers[DLQ_HEADERS.reason]).toMatch(/^not JSON/);
    expect(undecodable.headers.traceparent).toBe(TRACEPARENT);
    expect(undecodable.headers['x-origin']).toBe('gateway');
    // The sink's own headers do not replace them, and vice versa.
    expect(Object.keys(undecodable.headers).sort()).toEqual(
      [...Object.values(DLQ_HEADERS), 'traceparent', 'x-origin'].sort(),
    );
    const failedAt = Date.parse(undecodable.headers[DLQ_HEADERS.failedAt] ?? '');
    expect(failedAt).toBeGreaterThanOrEqual(producedAt);
    expect(failedAt).toBeLessThanOrEqual(Date.now());
    const contract = byClass.get('contract') as ConsumedMessage;
    expect(JSON.parse(contract.headers[DLQ_HEADERS.reason] ?? '[]')).toEqual([
      expect.objectContaining({ path: 'payload.details.risk_band' }),
    ]);
    const table = await sink.db.client.query({
      query: `SELECT error_class, event_id, original_partition, original_offset, message_value
              FROM dead_letters FINAL ORDER BY error_class`,
      format: 'JSONEachRow',
    });
    const rows = await table.json<Record<string, string | number>>();
    expect(rows.map(({ error_class, event_id }) => ({ error_class, event_id }))).toEqual([
      { error_class: 'contract', event_id: '0190a0b1-0000-7000-8000-000000000001' },
      { error_class: 'undecodable', event_id: '' },
      { error_class: 'wrong_topic', event_id: '0190a0b1-0000-7000-8000-000000000002' },
    ]);
    // Topic and table name the same original partition and offset, so the message can be found.
    for (const row of rows) {
      const letter = byClass.get(String(row.error_class)) as ConsumedMessage;
      expect(Number(letter.headers[DLQ_HEADERS.originalPartition])).toBe(row.original_partition);
      expect(Number(letter.headers[DLQ_HEADERS.originalOffset])).toBe(row.original_offset);
      expect(letter.value?.toString()).toBe(row.message_value);
    }
  });

  it('dead-letters a message that is not UTF-8 as undecodable, naming the byte and the field, never repairing it', async () => {
    const sink = await startTestSink({ families: 'incidents' });
    cleanups.push(sink.cleanup);
    const topic = sink.families.incidents.topic.name;
    const { events } = incidentScenario(2, START, 'INC-LATIN1');
    const good = events.flat();
    const created = good.find((event) => event.event_type === 'incident.created') as TestEvent;
    // The same incident sent again by a producer that wrote "Stoké" in Latin-1 (0xE9).
    const broken = structuredClone(created);
    broken.event_id = '0190a0b1-0000-7000-8000-0000000000e9';
    (broken.payload.location as { area: string }).area = 'Stoke@@';
    const [before, after] = JSON.stringify(broken).split('@@') as [string, string];
    const latin1 = Buffer.concat([Buffer.from(before), Buffer.from([0xe9]), Buffer.from(after)]);
    await sink.produce(topic, [...good, { raw: latin1, key: String(broken.payload.incident_id) }]);
    await sink.waitUntilCommitted('incidents', good.length + 1);

    // The valid events beside it are stored; nothing with U+FFFD is.
    expect(await sink.count('SELECT count() AS n FROM incidents_raw FINAL')).toBe(good.length);
    const repaired = await sink.db.client.query({
      query: `SELECT count() AS n FROM incidents_raw
              WHERE event_id = {id:String} OR position(payload, {replacement:String}) > 0`,
      query_params: { id: broken.event_id, replacement: '\uFFFD' },
      format: 'JSONEachRow',
    });
    expect(await repaired.json()).toEqual([{ n: 0 }]);
    const [letter] = await consumeMessages({
      brokers: testEndpoints().kafkaBrokers,
      topic: sink.families.incidents.topic.deadLetter.name,
      count: 1,
    });
    expect(letter?.headers[DLQ_HEADERS.errorClass]).toBe('undecodable');
    // The reason says which byte (its offset in the message) and which field.
    expect(letter?.headers[DLQ_HEADERS.reason]).toBe(
      `not valid UTF-8: byte 0xE9 at offset ${before.length} is not UTF-8, in payload.location.area (dead-lettered as sent, not repaired)`,
    );
    // The dead letter holds the bytes as sent, so it can be fixed and replayed.
    expect(Buffer.compare(letter?.value ?? Buffer.alloc(0), latin1)).toBe(0);
    const table = await sink.db.client.query({
      query: 'SELECT error_class, event_id, reason FROM dead_letters FINAL',
      format: 'JSONEachRow',
    });
    expect(await table.json()).toEqual([
      {
        error_class: 'undecodable',
        event_id: broken.event_id,
        reason: letter?.headers[DLQ_HEADERS.reason],
      },
    ]);
  });

  it('dead-letters an event dated before EARLIEST_EVENT_TIME as a contract error naming the field', async () => {
    // One incident from 06:00 (all its events, closure included, before 07:30), one from 11:00;
    // the bound is 10:00 that morning.
    const sink = await startTestSink({
      families: 'incidents',
      env: { EARLIEST_EVENT_TIME: '2024-02-10T10:00:00Z' },
    });
    cleanups.push(sink.cleanup);
    const topic = sink.families.incidents.topic.name;
    const early = incidentScenario(1, START - 3 * 3_600_000, 'INC-EARLY').events.flat();
    const late = incidentScenario(1, START + 2 * 3_600_000, 'INC-LATE').events.flat();
    await sink.produce(topic, [...early, ...late]);
    await sink.waitUntilCommitted('incidents', early.length + late.length);
    const stored = await sink.db.client.query({
      query: 'SELECT event_id FROM incidents_raw FINAL ORDER BY event_id',
      format: 'JSONEachRow',
    });
    expect(await stored.json()).toEqual(
      late
        .map((event) => ({ event_id: event.event_id }))
        .sort((a, b) => a.event_id.localeCompare(b.event_id)),
    );
    const table = await sink.db.client.query({
      query: 'SELECT error_class, event_id, reason FROM dead_letters FINAL',
      format: 'JSONEachRow',
    });
    const letters = await table.json<{ error_class: string; event_id: string; reason: string }>();
    expect(letters.map((letter) => letter.event_id).sort()).toEqual(
      early.map((event) => event.event_id).sort(),
    );
    for (const letter of letters) {
      expect(letter.error_class).toBe('contract');
      expect(JSON.parse(letter.reason)).toContainEqual({
        path: 'occurred_at',
        message: expect.stringMatching(
          /^is before the earliest event time accepted, 2024-02-10T10:00:00.000Z/,
        ),
      });
    }
  });

  it('stops instead of dead-lettering a flood of invalid messages, committing nothing of it', async () => {
    const sink = await startTestSink({
      families: 'incidents',
      env: { DLQ_MAX_CONSECUTIVE: '5' },
    });
    cleanups.push(sink.cleanup);
    const topic = sink.families.incidents.topic.name;
    // Same partition (same key) so the flood arrives as one batch after the good messages.
    const { events } = incidentScenario(1, START, 'INC-FLOOD');
    const flood = Array.from({ length: 20 }, (_, index) => ({
      raw: JSON.stringify({ event_type: 'incident.created', schema_version: 99, n: index }),
      key: 'INC-FLOOD-0000',
    }));
    await sink.produce(topic, [...(events[0] as TestEvent[]), ...flood]);

    const deadline = Date.now() + 30_000;
    while (sink.fatalErrors.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(sink.fatalErrors[0]).toBeInstanceOf(DeadLetterLimitExceeded);
    expect(sink.fatalErrors[0]?.message).toMatch(/invalid messages in a row \(limit 5\)/);

    const letters = await sink.db.client.query({
      query: 'SELECT count() AS n FROM dead_letters',
      format: 'JSONEachRow',
    });
    expect(await letters.json()).toEqual([{ n: 0 }]);
    const committed = await sink.admin.committedOffsets(
      `${sink.config.SINK_GROUP_PREFIX}-incidents`,
      topic,
    );
    const flooded = committed.find(({ offset }) => Number(offset) > 0);
    // Whatever was committed ends before the flood: the flood itself is never committed.
    expect(Number(flooded?.offset ?? 0)).toBeLessThanOrEqual(8);
  });
});
