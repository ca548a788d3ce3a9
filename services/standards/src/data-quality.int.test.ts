import {
  callFixtureEvents,
  type FixtureEvent,
  incidentFixtureEvents,
  landEvents,
} from '@bluelight/clickhouse-sink/testing/events';
import { migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DATA_QUALITY_CHECKS,
  type DataQualityCheck,
  type DataQualityRecord,
  DataQualityRequestError,
  dataQualityRecords,
  dataQualitySummary,
} from './data-quality.js';

let db: Awaited<ReturnType<typeof migratedDatabase>>;

const FIRE = 'staffordshire-fire';
const CONTROL = 'staffordshire-control';
const NEIGHBOUR = 'cheshire-fire';

/**
 * Times are near now: the late-ingest check compares event time with the time the events land,
 * so every record but the one meant to be late must have happened within the hour. The calls
 * happened 40 minutes ago; the latest event of any of them (a closure) 10 minutes ago.
 */
const NOW = Math.floor(Date.now() / 1000) * 1000;
const BASE = NOW - 40 * 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const londonDay = (ms: number) =>
  new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(new Date(ms));
const FROM = londonDay(NOW - 86_400_000);
const TO = londonDay(NOW);

const withSource = (source: string) => (event: FixtureEvent) => ({ ...event, source });

/** An incident received at `receivedAt` (ms), clean unless the overrides say otherwise. */
const incident = (
  id: string,
  overrides: Partial<Parameters<typeof incidentFixtureEvents>[0]> = {},
  receivedAt = BASE,
  source = 'staffs-cad',
) =>
  incidentFixtureEvents({
    id,
    agency: FIRE,
    receivedAt: iso(receivedAt),
    mobilisedAfter: 60,
    mobileAfter: 90,
    arrivalsAfter: [300],
    closedAfter: 1_800,
    ...overrides,
  }).map(withSource(source));

const LATE_AT = NOW - 3 * 3_600_000;

const EVENTS = [
  // Clean: every time present and in order; a cancelled incident never attended; an incident
  // still open and recent (nothing expected of it yet); a call linked within the skew limit.
  ...incident('CLEAN-1'),
  ...incident('CLEAN-CANCELLED', {
    mobilisedAfter: null,
    mobileAfter: null,
    arrivalsAfter: [],
    closedAfter: null,
    cancelledAfter: 120,
  }),
  ...incident('CLEAN-OPEN', {
    mobilisedAfter: null,
    mobileAfter: null,
    arrivalsAfter: [],
    closedAfter: null,
  }),
  ...incident('INC-C1'),
  ...callFixtureEvents({
    id: 'C1',
    agency: CONTROL,
    presentedAt: iso(BASE - 10_000),
    answeredAfter: 4,
    closedAfter: 60,
  }).map(withSource('staffs-telephony')),
  // Each of these trips one check, once.
  // Arrived 150 s after the call, mobilised at 200 s: out of sequence by 50 s.
  ...incident('OOS', { mobilisedAfter: 200, mobileAfter: 210, arrivalsAfter: [150] }),
  // A call answered 5 s before it was presented.
  ...callFixtureEvents({
    id: 'C3',
    agency: CONTROL,
    presentedAt: iso(BASE),
    answeredAfter: -5,
    closedAfter: 60,
    outcome: 'no_further_action',
  }).map(withSource('staffs-telephony')),
  // From another system of the same service.
  ...incident('NO-MOB', { mobilisedAfter: null, mobileAfter: null }, BASE, 'legacy-cad'),
  ...incident('NO-ARR', { arrivalsAfter: [] }),
  ...incident('NO-STOP', { mobilisedAfter: null, mobileAfter: null, arrivalsAfter: [] }),
  // Created 120 s before the call was received (the CAD's clock ahead of the telephony's).
  ...incident('SKEW', { createdAfter: -120 }),
  // Linked to a call presented 300 s before the incident's call time.
  ...incident('INC-C2'),
  ...callFixtureEvents({
    id: 'C2',
    agency: CONTROL,
    presentedAt: iso(BASE - 300_000),
    answeredAfter: 4,
    closedAfter: 60,
  }).map(withSource('staffs-telephony')),
  // Three hours ago, every event landing now: over an hour behind.
  ...incident('LATE', {}, LATE_AT),
  // A neighbour's incident out of sequence: never in our report.
  ...incidentFixtureEvents({
    id: 'N-OOS',
    agency: NEIGHBOUR,
    receivedAt: iso(BASE),
    mobilisedAfter: 200,
    arrivalsAfter: [150],
    closedAfter: 1_800,
  }).map(withSource('cheshire-cad')),
];

let landedAt = 0;
beforeAll(async () => {
  db = await migratedDatabase('quality');
  await landEvents(db.client, EVENTS);
  landedAt = Date.now();
});
afterAll(async () => {
  await db.drop();
});

interface Expected {
  check: DataQualityCheck;
  agency: string;
  source: string;
  entity: 'incident' | 'call';
  id: string;
  at: number;
  seconds: number | null;
}

/** The records the fixtures above are built to give, by hand. */
const EXPECTED: Expected[] = [
  {
    check: 'out_of_sequence',
    agency: FIRE,
    source: 'staffs-cad',
    entity: 'incident',
    id: 'OOS',
    at: BASE,
    seconds: 50,
  },
  {
    check: 'out_of_sequence',
    agency: CONTROL,
    source: 'staffs-telephony',
    entity: 'call',
    id: 'C3',
    at: BASE,
    seconds: 5,
  },
  {
    check: 'missing_mobilisation',
    agency: FIRE,
    source: 'legacy-cad',
    entity: 'incident',
    id: 'NO-MOB',
    at: BASE,
    seconds: null,
  },
  {
    check: 'missing_arrival',
    agency: FIRE,
    source: 'staffs-cad',
    entity: 'incident',
    id: 'NO-ARR',
    at: BASE,
    seconds: null,
  },
  {
    check: 'no_clock_stop',
    agency: FIRE,
    source: 'staffs-cad',
    entity: 'incident',
    id: 'NO-STOP',
    at: BASE,
    seconds: null,
  },
  {
    check: 'clock_skew',
    agency: FIRE,
    source: 'staffs-cad',
    entity: 'incident',
    id: 'SKEW',
    at: BASE,
    seconds: 120,
  },
  {
    check: 'clock_skew',
    agency: FIRE,
    source: 'staffs-cad',
    entity: 'incident',
    id: 'INC-C2',
    at: BASE,
    seconds: 300,
  },
  {
    check: 'late_ingest',
    agency: FIRE,
    source: 'staffs-cad',
    entity: 'incident',
    id: 'LATE',
    at: LATE_AT,
    seconds: null,
  },
];

const key = (record: { check: string; agency: string; id: string }) =>
  `${record.check}|${record.agency}|${record.id}`;

async function allRecords(agencies: string[], checks?: DataQualityCheck[]) {
  const page = await dataQualityRecords(db.client, {
    agencies,
    from: FROM,
    to: TO,
    limit: 1_000,
    ...(checks ? { checks } : {}),
  });
  expect(page.nextOffset).toBeNull();
  return page.records;
}

function expectRecords(records: DataQualityRecord[], expected: Expected[]) {
  expect(records.map(key).sort()).toEqual(expected.map(key).sort());
  for (const want of expected) {
    const got = records.find((record) => key(record) === key(want));
    expect(got).toMatchObject({
      source: want.source,
      entity: want.entity,
      day: londonDay(want.at),
      at: iso(want.at),
    });
    if (want.check === 'late_ingest') {
      // The latest event (the closure, 1,800 s after the call) to when the events landed.
      const latest = want.at + 1_800_000;
      expect(got?.seconds).toBeGreaterThan((NOW - latest) / 1000 - 1);
      expect(got?.seconds).toBeLessThanOrEqual((landedAt - latest) / 1000 + 1);
    } else {
      expect(got?.seconds).toBe(want.seconds);
    }
  }
}

function countsOf(expected: Expected[]) {
  const totals = Object.fromEntries(DATA_QUALITY_CHECKS.map((check) => [check, 0]));
  for (const record of expected) totals[record.check] = (totals[record.check] ?? 0) + 1;
  return totals;
}

describe('the data-quality report (real ClickHouse)', () => {
  it('lists exactly the records each check flags, with their source, and none of the clean ones', async () => {
    const records = await allRecords([FIRE, CONTROL]);
    expectRecords(records, EXPECTED);
    const oos = records.find((record) => record.id === 'OOS');
    expect(oos?.detail).toBe(
      `first_arrival_at ${iso(BASE + 150_000)
        .replace('T', ' ')
        .replace('Z', '')} is before first_mobilised_at ${iso(BASE + 200_000)
        .replace('T', ' ')
        .replace('Z', '')}`,
    );
  });

  it('counts the records per check, in total and per agency and source', async () => {
    const summary = await dataQualitySummary(db.client, {
      agencies: [FIRE, CONTROL],
      from: FROM,
      to: TO,
    });
    expect(summary.totals).toEqual(countsOf(EXPECTED));
    const bySource = new Map<string, Expected[]>();
    for (const record of EXPECTED) {
      const at = `${record.agency}|${record.source}`;
      bySource.set(at, [...(bySource.get(at) ?? []), record]);
    }
    expect(
      Object.fromEntries(
        summary.sources.map((entry) => [`${entry.agency}|${entry.source}`, entry.checks]),
      ),
    ).toEqual(Object.fromEntries([...bySource].map(([at, records]) => [at, countsOf(records)])));
    expect(summary.agencies).toEqual([CONTROL, FIRE]);
  });

  it('reads only the agencies asked for: a call of an agency not asked for is not linked', async () => {
    const fireOnly = EXPECTED.filter((record) => record.agency === FIRE && record.id !== 'INC-C2');
    expectRecords(await allRecords([FIRE]), fireOnly);
    expectRecords(await allRecords([NEIGHBOUR]), [
      {
        check: 'out_of_sequence',
        agency: NEIGHBOUR,
        source: 'cheshire-cad',
        entity: 'incident',
        id: 'N-OOS',
        at: BASE,
        seconds: 50,
      },
    ]);
  });

  it('filters by check and pages the records in a stable order', async () => {
    const skew = await allRecords([FIRE, CONTROL], ['clock_skew']);
    expectRecords(
      skew,
      EXPECTED.filter((record) => record.check === 'clock_skew'),
    );
    const all = await allRecords([FIRE, CONTROL]);
    const paged: DataQualityRecord[] = [];
    let offset: number | null = 0;
    while (offset !== null) {
      const page = await dataQualityRecords(db.client, {
        agencies: [FIRE, CONTROL],
        from: FROM,
        to: TO,
        limit: 3,
        offset,
      });
      paged.push(...page.records);
      offset = page.nextOffset;
    }
    expect(paged).toEqual(all);
  });

  it('finds nothing outside the period', async () => {
    const summary = await dataQualitySummary(db.client, {
      agencies: [FIRE, CONTROL],
      from: '2024-01-01',
      to: '2024-01-31',
    });
    expect(summary.totals).toEqual(countsOf([]));
    expect(summary.sources).toEqual([]);
  });

  it('refuses a request without an agency, naming it', async () => {
    await expect(
      dataQualitySummary(db.client, { agencies: [], from: FROM, to: TO }),
    ).rejects.toThrow(DataQualityRequestError);
  });
});
