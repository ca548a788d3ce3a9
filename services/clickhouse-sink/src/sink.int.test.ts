import { ALL_FACTS } from '@bluelight/test/harness';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ExpectedIncident,
  expectedDailyRollup,
  incidentScenario,
  rollupKey,
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

/** Every fact column ExpectedIncident has, times as ms since the epoch. */
async function facts(sink: Sink) {
  const result = await sink.db.client.query({
    query: `SELECT incident_id, toUnixTimestamp64Milli(call_received_at) AS call_received_at,
              toUnixTimestamp64Milli(created_at) AS created_at,
              toUnixTimestamp64Milli(first_mobilised_at) AS first_mobilised_at,
              toUnixTimestamp64Milli(first_mobile_at) AS first_mobile_at,
              toUnixTimestamp64Milli(first_arrival_at) AS first_arrival_at,
              toUnixTimestamp64Milli(second_arrival_at) AS second_arrival_at,
              first_arrival_resource_id, category, risk_band, station_ground, police_grading,
              excluded_late_call, excluded_derelict_property, excluded_abandoned_road_vehicle,
              toString(day) AS day
            FROM ${ALL_FACTS.incidents} ORDER BY incident_id`,
    format: 'JSONEachRow',
  });
  return result.json<ExpectedIncident>();
}

/**
 * What a dashboard reads per London day, station, category, risk band and grading: incidents,
 * those attended, the attendance seconds and their histogram in whole seconds (rounded up).
 */
async function rollup(sink: Sink) {
  const result = await sink.db.client.query({
    query: `SELECT toString(day) AS day, station_ground, category, risk_band, police_grading,
              count() AS incidents,
              countIf(first_arrival_at >= call_received_at) AS attended,
              sum(dateDiff('millisecond', call_received_at, first_arrival_at) / 1000) AS seconds_sum,
              sumMap(map(toUInt32(ceil(assumeNotNull(dateDiff('millisecond', call_received_at, first_arrival_at)) / 1000)), toUInt64(1))) AS histogram
            FROM ${ALL_FACTS.incidents}
            WHERE cancelled = 0
            GROUP BY day, station_ground, category, risk_band, police_grading`,
    format: 'JSONEachRow',
  });
  const rows = await result.json<{
    day: string;
    station_ground: string;
    category: string;
    risk_band: string;
    police_grading: string;
    incidents: number;
    attended: number;
    seconds_sum: number;
    histogram: Record<string, number>;
  }>();
  const groups = new Map<
    string,
    { incidents: number; attended: number; secondsSum: number; histogram: Record<string, number> }
  >();
  for (const row of rows) {
    const group = groups.get(rollupKey(row)) ?? {
      incidents: 0,
      attended: 0,
      secondsSum: 0,
      histogram: {},
    };
    group.incidents += row.incidents;
    group.attended += row.attended;
    group.secondsSum += row.seconds_sum;
    for (const [bucket, n] of Object.entries(row.histogram)) {
      group.histogram[bucket] = (group.histogram[bucket] ?? 0) + n;
    }
    groups.set(rollupKey(row), group);
  }
  return groups;
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
  it('stores each event once despite duplicates, and derives facts and daily figures from out-of-order and late events', async () => {
    const sink = await startTestSink({ families: 'incidents' });
    cleanups.push(sink.cleanup);
    const topic = sink.families.incidents.topic.name;
    const { events, expected } = incidentScenario(60, START, 'INC-DUP');

    // Wire order (event times stay as generated): every third incident sends its reclassification
    // first, then creation and both arrivals before the mobilisations; the next third sends its
    // closure and mobile events before its mobilisations and creation. Incidents 0, 10, … send
    // their second arrival and closure (with its exclusion flag) only later, incidents 5, 13, …
    // their reclassification. Every 20th event is sent twice.
    const firstWave: TestEvent[] = [];
    const lateWave: TestEvent[] = [];
    events.forEach((own, index) => {
      const [created, mob1, mobile1, arr1, mob2, mobile2, arr2, closed, reclassified] = own;
      const ordered =
        index % 3 === 0
          ? [reclassified, created, arr1, arr2, mob1, mobile1, mob2, mobile2, closed]
          : index % 3 === 1
            ? [closed, mobile1, mobile2, mob1, mob2, created, arr1, arr2, reclassified]
            : own;
      for (const event of ordered) {
        if (!event) continue;
        const late =
          (index % 10 === 0 && (event === arr2 || event === closed)) ||
          (index % 8 === 5 && event === reclassified);
        (late ? lateWave : firstWave).push(event);
      }
    });
    const duplicates = [...firstWave, ...lateWave].filter((_, index) => index % 20 === 0);
    const distinct = firstWave.length + lateWave.length;
    // 60 incidents × 8 events, plus 15 reclassifications.
    expect(distinct).toBe(495);
    expect(distinct).toBe(events.flat().length);
    // The scenario covers police gradings, each exclusion flag and reclassifications.
    const incidents = [...expected.values()];
    expect(new Set(incidents.map((incident) => incident.police_grading))).toEqual(
      new Set(['', 'emergency', 'priority', 'scheduled']),
    );
    for (const flag of [
      'excluded_late_call',
      'excluded_derelict_property',
      'excluded_abandoned_road_vehicle',
    ] as const) {
      expect(incidents.filter((incident) => incident[flag] === 1).length).toBe(10);
    }

    await sink.produce(topic, [...firstWave, ...duplicates.slice(0, 12)]);
    await sink.waitUntilCommitted('incidents', firstWave.length + 12);
    // Before the late events, incidents 0, 10, … have one arrival and no closure (so no
    // exclusion flag), and incidents 5, 13, … their first classification.
    const early = new Map((await facts(sink)).map((row) => [row.incident_id, row]));
    expect(early.get('INC-DUP-0010')).toMatchObject({
      second_arrival_at: null,
      excluded_abandoned_road_vehicle: 0,
    });
    expect(early.get('INC-DUP-0020')?.excluded_derelict_property).toBe(0);
    expect(early.get('INC-DUP-0005')).toMatchObject({
      category: 'secondary_fire',
      risk_band: 'low',
    });
    expect(early.get('INC-DUP-0013')?.police_grading).toBe('priority');

    await sink.produce(topic, [...lateWave, ...duplicates.slice(12)]);
    await sink.waitUntilCommitted('incidents', distinct + duplicates.length);

    const counts = await sink.db.client.query({
      query:
        'SELECT count() AS rows_final, uniqExact(event_id) AS distinct_ids FROM incidents_raw FINAL',
      format: 'JSONEachRow',
    });
    expect(await counts.json()).toEqual([{ rows_final: distinct, distinct_ids: distinct }]);
    // Every message was processed once: the duplicates were sent twice, nothing was re-fetched.
    const metrics = await sink.service?.app.inject({ url: '/metrics' });
    expect(metrics?.body).toMatch(
      new RegExp(
        `sink_messages_total\\{family="incidents",outcome="inserted"[^}]*\\} ${distinct + duplicates.length}\\n`,
      ),
    );
    expect(await facts(sink)).toEqual(sortedExpected(expected));
    expect(expected.get('INC-DUP-0005')).toMatchObject({
      category: 'special_service',
      risk_band: 'high',
    });
    expect(expected.get('INC-DUP-0013')?.police_grading).toBe('scheduled');
    expectRollupToEqual(await rollup(sink), expectedDailyRollup(expected.values()));
    // The clocks went forward on 31 March: incidents fall on both London days.
    expect(new Set([...expected.values()].map((incident) => incident.day))).toEqual(
      new Set(['2024-03-30', '2024-03-31']),
    );
  });

  it('lets a corrected arrival and a reclassification change facts and daily figures', async () => {
    const sink = await startTestSink({ families: 'incidents' });
    cleanups.push(sink.cleanup);
    const topic = sink.families.incidents.topic.name;
    const { events, expected } = incidentScenario(6, START, 'INC-FIX');
    await sink.produce(topic, events.flat());
    await sink.waitUntilCommitted('incidents', events.flat().length);
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
    // Incident 2 turns out to be a false alarm: it must leave its old daily group.
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
    await sink.waitUntilCommitted('incidents', events.flat().length + 2);

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
