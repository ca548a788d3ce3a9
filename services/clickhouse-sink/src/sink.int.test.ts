import { afterEach, describe, expect, it } from 'vitest';
import {
  type ExpectedIncident,
  expectedDailyRollup,
  incidentScenario,
  type TestEvent,
  uuidV7,
} from './testing/incident-scenario.js';
import { startTestSink } from './testing/sink-harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** Saturday 30 March 2024 20:00 UTC: the incidents run across the night the clocks go forward. */
const START = Date.parse('2024-03-30T20:00:00Z');

type Sink = Awaited<ReturnType<typeof startTestSink>>;

async function facts(sink: Sink) {
  const result = await sink.db.client.query({
    query: `SELECT incident_id, toUnixTimestamp64Milli(call_received_at) AS call_received_at,
              toUnixTimestamp64Milli(first_arrival_at) AS first_arrival_at,
              toUnixTimestamp64Milli(second_arrival_at) AS second_arrival_at,
              first_arrival_resource_id, category, risk_band, station_ground, toString(day) AS day
            FROM incident_facts FINAL ORDER BY incident_id`,
    format: 'JSONEachRow',
  });
  return result.json<ExpectedIncident>();
}

async function rollup(sink: Sink) {
  const result = await sink.db.client.query({
    query: `SELECT toString(day) AS day, station_ground, category, risk_band, incidents, attended,
              first_attendance_seconds_sum AS seconds_sum, first_attendance_histogram AS histogram
            FROM incidents_daily FINAL
            ORDER BY day, station_ground, category, risk_band`,
    format: 'JSONEachRow',
  });
  const rows = await result.json<{
    day: string;
    station_ground: string;
    category: string;
    risk_band: string;
    incidents: number;
    attended: number;
    seconds_sum: number;
    histogram: Record<string, number>;
  }>();
  return new Map(
    rows.map((row) => [
      [row.day, row.station_ground, row.category, row.risk_band].join('|'),
      {
        incidents: row.incidents,
        attended: row.attended,
        secondsSum: row.seconds_sum,
        histogram: row.histogram,
      },
    ]),
  );
}

function sortedExpected(expected: Map<string, ExpectedIncident>) {
  return [...expected.values()].sort((a, b) => a.incident_id.localeCompare(b.incident_id));
}

function expectRollupToEqual(
  actual: Awaited<ReturnType<typeof rollup>>,
  expected: ReturnType<typeof expectedDailyRollup>,
) {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [key, group] of expected) {
    const row = actual.get(key);
    expect(row?.incidents, key).toBe(group.incidents);
    expect(row?.attended, key).toBe(group.attended);
    expect(row?.secondsSum, key).toBeCloseTo(group.secondsSum, 3);
    expect(row?.histogram, key).toEqual(group.histogram);
  }
}

describe('clickhouse-sink (real Kafka and ClickHouse)', () => {
  it('stores each event once despite duplicates, and derives facts and rollups from out-of-order and late events', async () => {
    const sink = await startTestSink({ families: 'incidents' });
    cleanups.push(sink.cleanup);
    const topic = sink.families.incidents.topic.name;
    const { events, expected } = incidentScenario(60, START, 'INC-DUP');

    // Wire order: every third incident has its arrivals before its mobilisations; a tenth of the
    // incidents send their second arrival and closure only later; every 20th event is sent twice.
    const firstWave: TestEvent[] = [];
    const lateWave: TestEvent[] = [];
    events.forEach((own, index) => {
      const ordered =
        index % 3 === 0 ? [own[0], own[3], own[6], own[1], own[2], own[4], own[5], own[7]] : own;
      for (const event of ordered as TestEvent[]) {
        const late = index % 10 === 0 && (event === own[6] || event === own[7]);
        (late ? lateWave : firstWave).push(event);
      }
    });
    const duplicates = [...firstWave, ...lateWave].filter((_, index) => index % 20 === 0);
    const distinct = firstWave.length + lateWave.length;
    expect(distinct).toBe(480);

    await sink.produce(topic, [...firstWave, ...duplicates.slice(0, 12)]);
    await sink.waitUntilCommitted('incidents', firstWave.length + 12);
    // Before the late events, incidents 0, 10, … have one arrival only.
    const early = await facts(sink);
    expect(early.find((row) => row.incident_id === 'INC-DUP-0010')?.second_arrival_at).toBeNull();

    await sink.produce(topic, [...lateWave, ...duplicates.slice(12)]);
    await sink.waitUntilCommitted('incidents', distinct + duplicates.length);

    const counts = await sink.db.client.query({
      query:
        'SELECT count() AS rows_final, uniqExact(event_id) AS distinct_ids FROM incidents_raw FINAL',
      format: 'JSONEachRow',
    });
    expect(await counts.json()).toEqual([{ rows_final: 480, distinct_ids: 480 }]);
    // Every message was processed once: the duplicates were sent twice, nothing was re-fetched.
    const metrics = await sink.service?.app.inject({ url: '/metrics' });
    expect(metrics?.body).toMatch(
      new RegExp(
        `sink_messages_total\\{family="incidents",outcome="inserted"[^}]*\\} ${distinct + duplicates.length}\\n`,
      ),
    );
    expect(await facts(sink)).toEqual(sortedExpected(expected));
    expectRollupToEqual(await rollup(sink), expectedDailyRollup(expected.values()));
    // The clocks went forward on 31 March: incidents fall on both London days.
    expect(new Set([...expected.values()].map((incident) => incident.day))).toEqual(
      new Set(['2024-03-30', '2024-03-31']),
    );
  });

  it('lets a corrected arrival and a reclassification change facts and rollups', async () => {
    const sink = await startTestSink({ families: 'incidents' });
    cleanups.push(sink.cleanup);
    const topic = sink.families.incidents.topic.name;
    const { events, expected } = incidentScenario(6, START, 'INC-FIX');
    await sink.produce(topic, events.flat());
    await sink.waitUntilCommitted('incidents', 48);
    expectRollupToEqual(await rollup(sink), expectedDailyRollup(expected.values()));

    // Incident 1's first pump pressed 'arrived' while still on its way: AVL shows it arrived
    // 3 minutes later, after the second pump (which arrived 2 minutes after the recorded time).
    const wrongArrival = events[1]?.[3] as TestEvent;
    const incident1 = expected.get('INC-FIX-0001') as ExpectedIncident;
    const realArrival = incident1.first_arrival_at + 180_000;
    const correction: TestEvent = {
      ...wrongArrival,
      event_id: uuidV7(realArrival),
      occurred_at: new Date(realArrival).toISOString(),
      corrects: { event_id: wrongArrival.event_id, reason: 'arrival time taken from AVL' },
    };
    // Incident 2 turns out to be a false alarm: it must leave its old rollup group.
    const reclassified: TestEvent = {
      event_id: uuidV7(START + 10_000_000),
      event_type: 'incident.reclassified',
      schema_version: 1,
      occurred_at: new Date(START + 10_000_000).toISOString(),
      source: 'sink-test',
      agency: 'staffordshire-fire',
      payload: {
        incident_id: 'INC-FIX-0002',
        details: {
          service: 'fire',
          category: { type: 'false_alarm', false_alarm_type: 'due_to_apparatus' },
          risk_band: 'low',
          life_risk: false,
        },
      },
    };
    await sink.produce(topic, [correction, reclassified]);
    await sink.waitUntilCommitted('incidents', 50);

    expected.set('INC-FIX-0001', {
      ...incident1,
      first_arrival_at: incident1.first_arrival_at + 120_000,
      first_arrival_resource_id: 'INC-FIX-0001-P2',
      second_arrival_at: realArrival,
    });
    const incident2 = expected.get('INC-FIX-0002') as ExpectedIncident;
    expected.set('INC-FIX-0002', { ...incident2, category: 'false_alarm', risk_band: 'low' });
    expect(await facts(sink)).toEqual(sortedExpected(expected));
    expectRollupToEqual(await rollup(sink), expectedDailyRollup(expected.values()));
  });
});
