import { incidentFixtureEvents, landEvents } from '@bluelight/clickhouse-sink/testing/events';
import { migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type IncidentGrouping,
  type IncidentStandardVersion,
  incidentKpiQuery,
  incidentKpiQueryOver,
  type KpiRow,
  kpiResult,
} from './incident-kpi.js';
import { statisticSql } from './kpi-common.js';
import { loadStandards, parseStandard, versionsDuring } from './load.js';

let db: Awaited<ReturnType<typeof migratedDatabase>>;

interface Fact {
  id: string;
  receivedAt: string;
  seconds: number | null;
  band?: string;
  station?: string;
  lifeRisk?: number;
  service?: string;
  subtype?: string;
  lateCall?: number;
  outOfSequence?: number;
  day?: string;
  agency?: string;
}

const OURS = 'staffordshire-fire';
const NEIGHBOUR = 'cheshire-fire';

/** Hand-built incident facts: the input the standards read, with known attendance times. */
const FACTS: Fact[] = [
  { id: 'A', receivedAt: '2024-03-31T10:00:00Z', seconds: 420, band: 'high' },
  { id: 'B', receivedAt: '2024-03-31T11:00:00Z', seconds: 500, band: 'high' },
  { id: 'C', receivedAt: '2024-03-31T12:00:00Z', seconds: 590, band: 'medium', station: 'LEEK' },
  { id: 'D', receivedAt: '2024-03-31T13:00:00Z', seconds: 1000, band: 'low', station: 'LEEK' },
  // Across the spring clocks change: 00:55 GMT to 02:00:05 BST is 305 seconds, not 3,905.
  { id: 'M', receivedAt: '2024-03-31T00:55:00Z', seconds: 305, band: 'medium' },
  {
    id: 'E',
    receivedAt: '2024-03-31T14:00:00Z',
    seconds: 600,
    band: 'medium',
    station: 'LEEK',
    lateCall: 1,
  },
  { id: 'F', receivedAt: '2024-03-31T15:00:00Z', seconds: 400, band: 'high', outOfSequence: 1 },
  { id: 'G', receivedAt: '2024-03-31T16:00:00Z', seconds: 4_000, band: 'low', station: 'LEEK' },
  { id: 'H', receivedAt: '2024-03-31T17:00:00Z', seconds: 45, band: 'medium', station: 'LEEK' },
  { id: 'I', receivedAt: '2024-03-31T18:00:00Z', seconds: null, band: 'high' },
  // Out of scope: not life-risk, a falls response, a police incident.
  { id: 'K', receivedAt: '2024-03-31T19:00:00Z', seconds: 100, band: 'high', lifeRisk: 0 },
  {
    id: 'L',
    receivedAt: '2024-03-31T20:00:00Z',
    seconds: 100,
    band: 'high',
    subtype: 'falls_assisting_other_agencies',
  },
  { id: 'P', receivedAt: '2024-03-31T21:00:00Z', seconds: 100, band: 'high', service: 'police' },
  // A neighbouring service in the same database: the same day and the same station names.
  // Its own ids (the facts are keyed by entity id alone until identity is (agency, id)).
  ...[
    { id: 'N1', seconds: 300, band: 'high', station: 'HANLEY' },
    { id: 'N2', seconds: 700, band: 'high', station: 'HANLEY' },
    { id: 'N3', seconds: 550, band: 'medium', station: 'LEEK' },
    { id: 'N4', seconds: 1100, band: 'low', station: 'LEEK' },
    { id: 'N5', seconds: 200, band: 'medium', station: 'HANLEY' },
  ].map((fact, index) => ({
    ...fact,
    receivedAt: `2024-03-31T1${index}:30:00Z`,
    agency: NEIGHBOUR,
  })),
];

beforeAll(async () => {
  db = await migratedDatabase('kpi');
  await landEvents(
    db.client,
    FACTS.flatMap((fact) =>
      incidentFixtureEvents({
        id: fact.id,
        agency: fact.agency ?? OURS,
        receivedAt: fact.receivedAt,
        service: fact.service === 'police' ? 'police' : 'fire',
        category: fact.subtype ? 'special_service' : 'primary_fire',
        subtype: fact.subtype ?? 'dwelling',
        riskBand: (fact.band ?? 'high') as 'high' | 'medium' | 'low',
        lifeRisk: (fact.lifeRisk ?? 1) === 1,
        station: fact.station ?? 'HANLEY',
        createdAfter: 60,
        // Mobilised 90 s and mobile 150 s after the call (just before an earlier arrival), for
        // the response segments; an out-of-sequence incident is mobilised after its arrival.
        mobilisedAfter:
          fact.seconds === null
            ? null
            : fact.outOfSequence
              ? fact.seconds + 50
              : Math.min(90, fact.seconds - 20),
        mobileAfter: fact.seconds === null ? null : Math.min(150, fact.seconds - 10),
        arrivalsAfter: [fact.seconds],
        closedAfter: fact.lateCall ? 3_000 : null,
        exclusions: { lateCall: fact.lateCall === 1 },
      }),
    ),
  );
});
afterAll(async () => {
  await db.drop();
});

async function compute(
  version: IncidentStandardVersion,
  from: string,
  to: string,
  groupBy: IncidentGrouping = 'none',
  agencies: string[] = [OURS],
) {
  const { query, params } = incidentKpiQuery(version, { from, to }, agencies, groupBy);
  const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return (await result.json<KpiRow>()).map((row) => kpiResult(version, row));
}

const shipped = (id: string) => {
  const standard = loadStandards().find((candidate) => candidate.id === id);
  if (standard?.subject !== 'incidents') throw new Error(`no incident standard ${id}`);
  return standard.versions[0] as IncidentStandardVersion;
};

describe('incident KPIs from the standards (real ClickHouse)', () => {
  it('computes the attendance standard with each exclusion counted by reason', async () => {
    const [all] = await compute(shipped('fire-attendance-standard'), '2024-03-30', '2024-04-01');
    // Measured: A 420 ≤ 480, B 500 > 480, C 590 ≤ 600, D 1000 ≤ 1080, M 305 ≤ 600 → 4 of 5.
    expect(all).toEqual({
      group: 'all',
      version: 1,
      // In scope: A–I and M (life-risk fire, not falls); K, L and P are not.
      incidents: 10,
      n: 5,
      met: 4,
      value: 0.8,
      insufficientData: false,
      meanSeconds: (420 + 500 + 590 + 1000 + 305) / 5,
      // PERCENTILE.INC of 305, 420, 500, 590, 1000 at 0.9: h = 0.9 × (5 − 1) + 1 = 4.6, so
      // 590 + 0.6 × (1000 − 590) = 836 (to floating-point precision, as a spreadsheet has it).
      percentileSeconds: expect.closeTo(836, 9),
      notMeasured: 1,
      segments: {
        call_handling: { n: 5, meanSeconds: 90, p90Seconds: 90 },
        turnout: { n: 5, meanSeconds: 60, p90Seconds: 60 },
        // 155, 270, 350, 440, 850: 440 + 0.6 × (850 − 440) = 686.
        travel: {
          n: 5,
          meanSeconds: (270 + 350 + 440 + 850 + 155) / 5,
          p90Seconds: expect.closeTo(686, 9),
        },
        total: {
          n: 5,
          meanSeconds: (420 + 500 + 590 + 1000 + 305) / 5,
          p90Seconds: expect.closeTo(836, 9),
        },
      },
      excluded: {
        total: 4,
        late_call: 1,
        derelict_property: 0,
        abandoned_road_vehicle: 0,
        out_of_sequence: 1,
        total_over: 1,
        total_under: 1,
      },
      // No incident here matched two reasons: each one's primary reason is its only one.
      excludedByPrimaryReason: {
        late_call: 1,
        derelict_property: 0,
        abandoned_road_vehicle: 0,
        out_of_sequence: 1,
        total_over: 1,
        total_under: 1,
      },
      excludedAlsoMatched: {
        late_call: 0,
        derelict_property: 0,
        abandoned_road_vehicle: 0,
        out_of_sequence: 0,
        total_over: 0,
        total_under: 0,
      },
      cancelled: 0,
      // Without exclusions: the 9 with an arrival (I has none), within their band: A, C, D, M,
      // E (600 ≤ 600), F, H — not B (500 > 480) nor G.
      withoutExclusions: { n: 9, value: 7 / 9, insufficientData: false },
    });
  });

  it('answers "insufficient data" below the minimum sample, per group', async () => {
    const byStation = await compute(
      shipped('fire-attendance-standard'),
      '2024-03-30',
      '2024-04-01',
      'station',
    );
    expect(
      byStation.map(({ group, n, value, insufficientData }) => ({
        group,
        n,
        value,
        insufficientData,
      })),
    ).toEqual([
      { group: 'HANLEY', n: 3, value: null, insufficientData: true },
      { group: 'LEEK', n: 2, value: null, insufficientData: true },
    ]);
  });

  it('uses the version in force on each part of a period when a standard changes mid-way', async () => {
    const changed = parseStandard(
      `id: changed
name: Changed standard
description: The high-risk time tightens on 31 March.
source: Test
subject: incidents
versions:
  - version: 1
    effective_from: "2020-04-01"
    effective_to: "2024-03-31"
    applies_to: { services: [fire], life_risk: true, exclude_special_service_types: [falls_assisting_other_agencies] }
    clock: { start: call_received, stop: first_arrival }
    statistic: { kind: share_within, threshold_seconds: { by_risk_band: { high: 480, medium: 600, low: 1080 } }, target_share: 0.8 }
    minimum_sample: 1
  - version: 2
    effective_from: "2024-03-31"
    applies_to: { services: [fire], life_risk: true, exclude_special_service_types: [falls_assisting_other_agencies] }
    clock: { start: call_received, stop: first_arrival }
    statistic: { kind: share_within, threshold_seconds: { by_risk_band: { high: 400, medium: 600, low: 1080 } }, target_share: 0.8 }
    minimum_sample: 1`,
      'changed.yaml',
    );
    const parts = versionsDuring(changed, '2024-03-01', '2024-04-01');
    expect(parts.map((part) => [part.version.version, part.from, part.to])).toEqual([
      [1, '2024-03-01', '2024-03-31'],
      [2, '2024-03-31', '2024-04-01'],
    ]);
    const [before] = await compute(
      parts[0]?.version as IncidentStandardVersion,
      parts[0]?.from as string,
      parts[0]?.to as string,
    );
    expect(before).toBeUndefined(); // no incidents before 31 March
    const [after] = await compute(
      parts[1]?.version as IncidentStandardVersion,
      parts[1]?.from as string,
      parts[1]?.to as string,
    );
    // Under version 2, A (420 s, high) misses 400 s: 3 of 5.
    expect(after).toMatchObject({ version: 2, n: 5, met: 3, value: 0.6 });
  });

  it('treats scope values as data, never as SQL', async () => {
    const version = shipped('fire-attendance-standard');
    const hostile: IncidentStandardVersion = {
      ...version,
      applies_to: {
        ...version.applies_to,
        exclude_special_service_types: ["x') OR 1=1 --", 'falls_assisting_other_agencies'],
      },
    };
    const [all] = await compute(hostile, '2024-03-30', '2024-04-01');
    expect(all?.n).toBe(5);
    const { query } = incidentKpiQuery(hostile, { from: '2024-03-30', to: '2024-04-01' }, [OURS]);
    expect(query).not.toContain('OR 1=1');
    // An agency is data too: a hostile one matches nothing and never reaches the SQL text.
    const [none] = await compute(version, '2024-03-30', '2024-04-01', 'none', ["x') OR 1=1 --"]);
    expect(none).toBeUndefined();
  });

  it('computes a mean standard over its own scope', async () => {
    const [all] = await compute(shipped('fire-average-attendance'), '2024-03-30', '2024-04-01');
    // Primary fires measured and not excluded: A 420, B 500, C 590, D 1000, M 305, I none,
    // K 100 (not life-risk but a primary fire), P is police. E, F, G, H excluded.
    expect(all?.n).toBe(6);
    expect(all?.value).toBeCloseTo((420 + 500 + 590 + 1000 + 305 + 100) / 6, 9);
  });

  it('gives in SQL (statisticSql) the value kpiResult gives, insufficient data included', async () => {
    for (const [id, groupBy] of [
      ['fire-attendance-standard', 'none'],
      ['fire-attendance-standard', 'station'],
      ['fire-average-attendance', 'none'],
    ] as const) {
      const version = shipped(id);
      const { query, params } = incidentKpiQuery(
        version,
        { from: '2024-03-30', to: '2024-04-01' },
        [OURS],
        groupBy,
      );
      const result = await db.client.query({
        query: `SELECT group, ${statisticSql(version)} AS value FROM (${query}) ORDER BY group`,
        query_params: params,
        format: 'JSONEachRow',
      });
      const inSql = await result.json<{ group: string; value: number | null }>();
      const inTs = (await compute(version, '2024-03-30', '2024-04-01', groupBy)).map((row) => ({
        group: row.group,
        value: row.value,
      }));
      expect(inSql.length).toBe(inTs.length);
      inSql.forEach((row, index) => {
        expect(row.group).toBe(inTs[index]?.group);
        if (inTs[index]?.value === null) expect(row.value).toBeNull();
        else expect(row.value).toBeCloseTo(inTs[index]?.value as number, 9);
      });
    }
  });
});

describe('incident KPIs of one agency among several (real ClickHouse)', () => {
  const attendance = () => shipped('fire-attendance-standard');

  it('counts only the agencies asked for, apart and together', async () => {
    // Ours, as above: 4 of 5 measured met, 10 in scope.
    const [ours] = await compute(attendance(), '2024-03-30', '2024-04-01');
    expect(ours).toMatchObject({ incidents: 10, n: 5, met: 4, value: 0.8 });
    // The neighbour's: N1 300 ≤ 480 ✓, N2 700 > 480 ✗, N3 550 ≤ 600 ✓, N4 1100 > 1080 ✗,
    // N5 200 ≤ 600 ✓ → 3 of 5; mean (300 + 700 + 550 + 1100 + 200) / 5 = 570.
    const [theirs] = await compute(attendance(), '2024-03-30', '2024-04-01', 'none', [NEIGHBOUR]);
    expect(theirs).toMatchObject({
      incidents: 5,
      n: 5,
      met: 3,
      value: 0.6,
      meanSeconds: 570,
      notMeasured: 0,
    });
    expect(theirs?.excluded.total).toBe(0);
    // Both together: 7 of 10.
    const [both] = await compute(attendance(), '2024-03-30', '2024-04-01', 'none', [
      OURS,
      NEIGHBOUR,
    ]);
    expect(both).toMatchObject({ incidents: 15, n: 10, met: 7, value: 0.7 });
    // An agency with no rows gives no row at all, as an empty period does.
    expect(await compute(attendance(), '2024-03-30', '2024-04-01', 'none', ['nobody'])).toEqual([]);
  });

  it('keeps a station name two agencies share apart', async () => {
    const rows = async (agencies: string[]) =>
      (await compute(attendance(), '2024-03-30', '2024-04-01', 'station', agencies)).map(
        ({ group, n, met }) => ({ group, n, met }),
      );
    // Ours: HANLEY A ✓ B ✗ M ✓; LEEK C ✓ D ✓. Theirs: HANLEY N1 ✓ N2 ✗ N5 ✓; LEEK N3 ✓ N4 ✗.
    expect(await rows([OURS])).toEqual([
      { group: 'HANLEY', n: 3, met: 2 },
      { group: 'LEEK', n: 2, met: 2 },
    ]);
    expect(await rows([NEIGHBOUR])).toEqual([
      { group: 'HANLEY', n: 3, met: 2 },
      { group: 'LEEK', n: 2, met: 1 },
    ]);
  });

  it('groups by agency, and with byAgency gives one row per agency and group', async () => {
    const both = [OURS, NEIGHBOUR];
    const byGroup = await compute(attendance(), '2024-03-30', '2024-04-01', 'agency', both);
    expect(byGroup.map(({ group, n, met }) => ({ group, n, met }))).toEqual([
      { group: NEIGHBOUR, n: 5, met: 3 },
      { group: OURS, n: 5, met: 4 },
    ]);
    const { query, params } = incidentKpiQuery(
      attendance(),
      { from: '2024-03-30', to: '2024-04-01' },
      both,
      'station',
      {},
      { byAgency: true },
    );
    const result = await db.client.query({
      query: `SELECT agency, group, n, met, toTypeName(agency) AS type FROM (${query})`,
      query_params: params,
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual([
      { agency: NEIGHBOUR, group: 'HANLEY', n: 3, met: 2, type: 'String' },
      { agency: NEIGHBOUR, group: 'LEEK', n: 2, met: 1, type: 'String' },
      { agency: OURS, group: 'HANLEY', n: 3, met: 2, type: 'String' },
      { agency: OURS, group: 'LEEK', n: 2, met: 2, type: 'String' },
    ]);
  });

  it('takes the agencies as one query parameter narrowing every fact-table read, never in the SQL text', () => {
    const { query, params } = incidentKpiQueryOver(
      [
        { version: attendance(), from: '2024-03-01', to: '2024-03-15' },
        { version: attendance(), from: '2024-03-15', to: '2024-04-01' },
      ],
      [NEIGHBOUR],
    );
    // The two parts are judged in one scan; every read of a fact table in it (aggregates,
    // revisions, the far-anchored exceptions) is narrowed to the agencies.
    const reads = query.match(/agency IN \{agencies:Array\(String\)\}/g) ?? [];
    expect(reads.length).toBeGreaterThanOrEqual(3);
    expect(reads.length).toBe(
      query.match(/FROM (incident_facts|incident_fact_revisions|fact_anchor_exceptions)\b/g)
        ?.length,
    );
    expect(params.agencies).toEqual([NEIGHBOUR]);
    expect(query).not.toContain(NEIGHBOUR);
    expect(() => incidentKpiQueryOver([{ version: attendance(), from: 'a', to: 'b' }], [])).toThrow(
      'at least one agency',
    );
  });
});

describe('the exclusions table (real ClickHouse)', () => {
  // The precedence docs/standards.md documents: the order of `exclusions` in a definition.
  const PRECEDENCE = [
    'late_call',
    'derelict_property',
    'abandoned_road_vehicle',
    'out_of_sequence',
    'total_over',
    'total_under',
  ] as const;
  type Reason = (typeof PRECEDENCE)[number];
  /** Incidents of one May day, each with the exclusions it matches under the shipped defaults. */
  const CASES: {
    id: string;
    seconds: number | null;
    reasons: Reason[];
    lateCall?: boolean;
    derelict?: boolean;
    abandoned?: boolean;
    outOfSequence?: boolean;
    cancelled?: boolean;
  }[] = [
    // A late call that also took over an hour: the case the issue found counted twice.
    { id: 'X1', seconds: 4_200, reasons: ['late_call', 'total_over'], lateCall: true },
    { id: 'X2', seconds: 300, reasons: ['derelict_property'], derelict: true },
    { id: 'X3', seconds: 30, reasons: ['abandoned_road_vehicle', 'total_under'], abandoned: true },
    {
      id: 'X4',
      seconds: 5_000,
      reasons: ['out_of_sequence', 'total_over'],
      outOfSequence: true,
    },
    { id: 'X5', seconds: 40, reasons: ['total_under'] },
    {
      id: 'X6',
      seconds: 50,
      reasons: ['late_call', 'derelict_property', 'total_under'],
      lateCall: true,
      derelict: true,
    },
    { id: 'X7', seconds: 400, reasons: [] },
    // Not measured: no arrival recorded.
    { id: 'X8', seconds: null, reasons: [] },
    // Cancelled before anyone attended.
    { id: 'X9', seconds: null, reasons: [], cancelled: true },
  ];
  const DAY = '2024-05-15';

  beforeAll(async () => {
    await landEvents(
      db.client,
      CASES.flatMap((fact, index) =>
        incidentFixtureEvents({
          id: fact.id,
          agency: OURS,
          receivedAt: `${DAY}T0${index}:00:00Z`,
          riskBand: 'high',
          mobilisedAfter:
            fact.seconds === null
              ? null
              : fact.outOfSequence
                ? fact.seconds + 50
                : Math.min(10, fact.seconds - 2),
          mobileAfter: fact.seconds === null ? null : Math.min(20, fact.seconds - 1),
          arrivalsAfter: [fact.seconds],
          closedAfter: fact.cancelled ? null : 6_000,
          cancelledAfter: fact.cancelled ? 100 : null,
          exclusions: {
            lateCall: fact.lateCall ?? false,
            derelictProperty: fact.derelict ?? false,
            abandonedRoadVehicle: fact.abandoned ?? false,
          },
        }),
      ),
    );
  });

  it('counts each excluded incident once under its primary reason, the others beside it', async () => {
    const [row] = await compute(shipped('fire-attendance-standard'), DAY, '2024-05-16');
    const zero = () => Object.fromEntries(PRECEDENCE.map((reason) => [reason, 0]));
    const any = zero();
    const primary = zero();
    const also = zero();
    for (const fact of CASES) {
      const [first, ...rest] = PRECEDENCE.filter((reason) => fact.reasons.includes(reason));
      if (first === undefined) continue;
      primary[first] = (primary[first] ?? 0) + 1;
      any[first] = (any[first] ?? 0) + 1;
      for (const reason of rest) {
        any[reason] = (any[reason] ?? 0) + 1;
        also[reason] = (also[reason] ?? 0) + 1;
      }
    }
    const excluded = CASES.filter((fact) => fact.reasons.length > 0).length;
    expect(row).toMatchObject({
      // X1–X8; the cancelled X9 is counted apart.
      incidents: 8,
      cancelled: 1,
      n: 1,
      notMeasured: 1,
      excluded: { total: excluded, ...any },
      excludedByPrimaryReason: primary,
      excludedAlsoMatched: also,
      // Without exclusions: every incident in scope with an arrival, X1–X7; within the high
      // band's 480 s: X2, X3, X5, X6, X7.
      withoutExclusions: { n: 7, value: 5 / 7, insufficientData: false },
    });
    // The table adds up: primary reasons to the total, and primary + also matched to each reason.
    const byPrimary = Object.values(row?.excludedByPrimaryReason ?? {});
    expect(byPrimary.reduce((sum, count) => sum + count, 0)).toBe(6);
    for (const reason of PRECEDENCE) {
      expect(
        (row?.excludedByPrimaryReason[reason] ?? 0) + (row?.excludedAlsoMatched[reason] ?? 0),
      ).toBe(row?.excluded[reason]);
    }
    // In scope: included + excluded + not measured; cancelled beside them.
    expect((row?.n ?? 0) + (row?.excluded.total ?? 0) + (row?.notMeasured ?? 0)).toBe(
      row?.incidents,
    );
  });
});
