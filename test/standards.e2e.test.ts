import { startTestSink, type TestEvent, uuidV7 } from '@bluelight/clickhouse-sink/testing';
import { computeKpi, type KpiResult, loadStandards, parseStandard } from '@bluelight/standards';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The standards engine on a hand-built set of events, through Kafka, the sink and ClickHouse,
 * with every expected figure worked out by hand below. The period is the weekend the clocks went
 * back: Saturday 28 October 2023 (BST) and Sunday 29 October (02:00 BST became 01:00 GMT).
 */
const PERIOD = { from: '2023-10-28', to: '2023-10-29' };
const MINUTE = 60_000;

interface Plan {
  id: string;
  /** When the call was received (UTC). */
  received: string;
  band: 'high' | 'medium' | 'low';
  /** Seconds from the call to the first arrival; null: nobody has arrived. */
  seconds: number | null;
  station?: string;
  location?: 'dwelling' | 'other_building' | 'road_vehicle';
  flags?: Partial<Record<'late_call' | 'derelict_property' | 'abandoned_road_vehicle', boolean>>;
  /** Mobilised this many seconds after the call (default 60; negative: before it). */
  mobilisedAfter?: number;
  /** Mobile this many seconds after the call (default 120). */
  mobileAfter?: number;
}

// Thresholds (shipped standard): high 480 s, medium 600 s, low 1,080 s.
const PLANS: Plan[] = [
  // Saturday 28 October.
  { id: 'B', received: '2023-10-28T10:00:00Z', band: 'high', seconds: 420 }, // met
  { id: 'C', received: '2023-10-28T11:00:00Z', band: 'medium', seconds: 650 }, // missed
  { id: 'L1', received: '2023-10-28T12:00:00Z', band: 'high', seconds: 300, station: 'LEEK' }, // met
  { id: 'L2', received: '2023-10-28T13:00:00Z', band: 'low', seconds: 1_100, station: 'LEEK' }, // missed
  { id: 'L3', received: '2023-10-28T14:00:00Z', band: 'medium', seconds: 590, station: 'LEEK' }, // met
  // Sunday 29 October. A: call at 01:58 BST, arrival at 01:04 GMT — 6 minutes, not minus 54.
  { id: 'A', received: '2023-10-29T00:58:00Z', band: 'high', seconds: 360 }, // met
  { id: 'D', received: '2023-10-29T09:00:00Z', band: 'low', seconds: 1_000 }, // met
  { id: 'E', received: '2023-10-29T10:00:00Z', band: 'medium', seconds: 500 }, // met, until corrected to 700
  // One per Home Office exclusion; each would have met the standard.
  {
    id: 'F',
    received: '2023-10-29T11:00:00Z',
    band: 'high',
    seconds: 400,
    flags: { late_call: true },
  },
  {
    id: 'G',
    received: '2023-10-29T12:00:00Z',
    band: 'high',
    seconds: 400,
    location: 'other_building',
    flags: { derelict_property: true },
  },
  {
    id: 'H',
    received: '2023-10-29T13:00:00Z',
    band: 'high',
    seconds: 400,
    location: 'road_vehicle',
    flags: { abandoned_road_vehicle: true },
  },
  { id: 'I', received: '2023-10-29T14:00:00Z', band: 'high', seconds: 400, mobilisedAfter: -60 },
  { id: 'J', received: '2023-10-29T15:00:00Z', band: 'high', seconds: 4_000 }, // over 1 h
  // K: under 1 min, mobilised and mobile before arriving (so not also out of sequence).
  {
    id: 'K',
    received: '2023-10-29T16:00:00Z',
    band: 'high',
    seconds: 45,
    mobilisedAfter: 10,
    mobileAfter: 20,
  },
  { id: 'N', received: '2023-10-29T17:00:00Z', band: 'high', seconds: null }, // not measured
];

function event(type: string, atMs: number, payload: Record<string, unknown>): TestEvent {
  return {
    event_id: uuidV7(atMs),
    event_type: type,
    schema_version: 1,
    occurred_at: new Date(atMs).toISOString(),
    source: 'standards-test',
    agency: 'staffordshire-fire',
    payload,
  };
}

/** An incident's events: created, one pump mobilised, mobile and arrived, closed. */
function incidentEvents(plan: Plan) {
  const received = Date.parse(plan.received);
  const incident_id = `SFRS-${plan.id}`;
  const on = { incident_id, resource_id: `${plan.id}-P1` };
  const events = [
    event('incident.created', received + 30_000, {
      incident_id,
      call_received_at: plan.received,
      details: {
        service: 'fire',
        category: { type: 'primary_fire', location_type: plan.location ?? 'dwelling' },
        risk_band: plan.band,
        life_risk: true,
      },
      location: { station_ground: plan.station ?? 'HANLEY', area: 'Staffordshire' },
    }),
    event('incident.resource_mobilised', received + (plan.mobilisedAfter ?? 60) * 1000, on),
    event('incident.resource_mobile', received + (plan.mobileAfter ?? 120) * 1000, on),
  ];
  const arrival =
    plan.seconds === null
      ? undefined
      : event('incident.resource_arrived', received + plan.seconds * 1000, on);
  if (arrival) events.push(arrival);
  events.push(
    event('incident.closed', received + 90 * MINUTE, {
      incident_id,
      stop_code: 'FD1',
      exclusions: {
        late_call: plan.flags?.late_call ?? false,
        derelict_property: plan.flags?.derelict_property ?? false,
        abandoned_road_vehicle: plan.flags?.abandoned_road_vehicle ?? false,
      },
    }),
  );
  return { events, arrival };
}

let sink: Awaited<ReturnType<typeof startTestSink>>;
let produced = 0;
const built = new Map(PLANS.map((plan) => [plan.id, incidentEvents(plan)]));

async function deliver(events: TestEvent[]) {
  await sink.produce(sink.families.incidents.topic.name, events);
  produced += events.length;
  await sink.waitUntilCommitted('incidents', produced);
}

const standards = loadStandards();
/** An incident standard's result; its rows are incident rows. */
const kpi = async (request: { standard: string; groupBy?: string }, list = standards) => {
  const result = await computeKpi(sink.db.client, list, {
    ...PERIOD,
    agencies: ['staffordshire-fire'],
    ...request,
  });
  return { ...result, rows: result.rows as KpiResult[] };
};

beforeAll(async () => {
  sink = await startTestSink({ families: 'incidents' });
  await deliver([...built.values()].flatMap(({ events }) => events));
});
afterAll(async () => {
  await sink?.cleanup();
});

describe('response standards from hand-built events (Kafka → sink → ClickHouse)', () => {
  it('measures across the clocks change and counts each Home Office exclusion', async () => {
    const result = await kpi({ standard: 'fire-attendance-standard' });
    expect(result.versions).toEqual([{ version: 1, ...PERIOD }]);
    // Included: B, C, L1, L2, L3, A, D, E; met: B, L1, L3, A, D, E.
    expect(result.rows).toEqual([
      expect.objectContaining({
        group: 'all',
        incidents: 15,
        n: 8,
        met: 6,
        value: 0.75,
        insufficientData: false,
        notMeasured: 1,
        excluded: {
          total: 6,
          late_call: 1,
          derelict_property: 1,
          abandoned_road_vehicle: 1,
          out_of_sequence: 1,
          total_over: 1,
          total_under: 1,
        },
      }),
    ]);
  });

  it('changes the figure when a late correction moves an arrival', async () => {
    const wrong = built.get('E')?.arrival as TestEvent;
    const corrected = event(
      'incident.resource_arrived',
      Date.parse('2023-10-29T10:00:00Z') + 700_000,
      {
        ...wrong.payload,
      },
    );
    corrected.corrects = { event_id: wrong.event_id, reason: 'arrival time corrected from AVL' };
    await deliver([corrected]);
    const result = await kpi({ standard: 'fire-attendance-standard' });
    // E now took 700 s in the medium band (600 s): 5 of 8.
    expect(result.rows[0]).toMatchObject({ n: 8, met: 5, value: 0.625 });
  });

  it('answers "insufficient data" for a station with 3 incidents, with segments per station', async () => {
    const result = await kpi({ standard: 'fire-attendance-standard', groupBy: 'station' });
    const [hanley, leek] = result.rows;
    // HANLEY: B, C, A, D, E measured; met B, A, D (E corrected to 700 s).
    expect(hanley).toMatchObject({
      group: 'HANLEY',
      n: 5,
      met: 3,
      value: 0.6,
      insufficientData: false,
    });
    expect(leek).toMatchObject({ group: 'LEEK', n: 3, value: null, insufficientData: true });
    // Mobilised 60 s and mobile 120 s after each call; travel is the rest:
    // B 300, C 530, A 240, D 880, E 580.
    expect(hanley?.segments).toEqual({
      call_handling: { n: 5, meanSeconds: 60, p90Seconds: 60 },
      turnout: { n: 5, meanSeconds: 60, p90Seconds: 60 },
      // PERCENTILE.INC at 0.9 of five: h = 4.6, the 4th + 0.6 × (5th − 4th).
      // Travel 240, 300, 530, 580, 880: 580 + 0.6 × 300 = 760.
      travel: {
        n: 5,
        meanSeconds: (300 + 530 + 240 + 880 + 580) / 5,
        p90Seconds: expect.closeTo(760, 9),
      },
      // Total 360, 420, 650, 700, 1000: 700 + 0.6 × 300 = 880.
      total: {
        n: 5,
        meanSeconds: (420 + 650 + 360 + 1000 + 700) / 5,
        p90Seconds: expect.closeTo(880, 9),
      },
    });
  });

  it('puts the incident of the repeated hour on its London day', async () => {
    const result = await kpi({ standard: 'fire-attendance-standard', groupBy: 'day' });
    expect(result.rows.map((row) => [row.group, row.n])).toEqual([
      ['2023-10-28', 5],
      ['2023-10-29', 3],
    ]);
  });

  it('judges each day by the version in force when the standard changed mid-period', async () => {
    const changed = parseStandard(
      `id: sas-tightened
name: Attendance standard, tightened from 29 October
description: The high-risk time falls from 8 to 5 minutes on 29 October 2023.
source: Test
subject: incidents
versions:
  - version: 1
    effective_from: "2020-04-01"
    effective_to: "2023-10-29"
    applies_to: { services: [fire], life_risk: true }
    clock: { start: call_received, stop: first_arrival }
    statistic: { kind: share_within, threshold_seconds: { by_risk_band: { high: 480, medium: 600, low: 1080 } }, target_share: 0.8 }
  - version: 2
    effective_from: "2023-10-29"
    applies_to: { services: [fire], life_risk: true }
    clock: { start: call_received, stop: first_arrival }
    statistic: { kind: share_within, threshold_seconds: { by_risk_band: { high: 300, medium: 600, low: 1080 } }, target_share: 0.8 }`,
      'sas-tightened.yaml',
    );
    const result = await kpi({ standard: 'sas-tightened' }, [changed]);
    expect(result.versions).toEqual([
      { version: 1, from: '2023-10-28', to: '2023-10-28' },
      { version: 2, from: '2023-10-29', to: '2023-10-29' },
    ]);
    // 28th under version 1: B, L1, L3 of 5. 29th under version 2: A (360 s > 300) misses,
    // D meets, E (700 s) misses: 1 of 3. Together 4 of 8.
    expect(result.rows[0]).toMatchObject({ n: 8, met: 4, value: 0.5, version: 2 });
  });
});
