import { incidentFixtureEvents, landEvents } from '@bluelight/clickhouse-sink/testing/events';
import { migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeKpi } from './engine.js';
import { parseStandard } from './load.js';
import { computeKpiRecords } from './records.js';
import {
  RECORDS_AGENCY,
  recordsScenarioEvents,
  SCENARIO_INCIDENTS,
} from './testing/records-scenario.js';

// The records of a standard that changed mid-period, and of a nearest-rank percentile standard:
// each record is judged by the version in force on its day, and recounting them gives the figure.

let db: Awaited<ReturnType<typeof migratedDatabase>>;

/**
 * Tightened on 14 May 2025: 600 s for every band and the Home Office exclusions before; 300 s
 * from then on, with the "under a minute" exclusion switched off.
 */
const TIGHTENED = parseStandard(
  `id: test-tightened
name: Test tightened
description: Tightened on 14 May 2025.
source: Test
subject: incidents
versions:
  - version: 1
    effective_from: "2020-04-01"
    effective_to: "2025-05-14"
    applies_to: { services: [fire], life_risk: true, exclude_special_service_types: [falls_assisting_other_agencies] }
    clock: { start: call_received, stop: first_arrival }
    statistic: { kind: share_within, threshold_seconds: 600, target_share: 0.8 }
    minimum_sample: 1
  - version: 2
    effective_from: "2025-05-14"
    applies_to: { services: [fire], life_risk: true, exclude_special_service_types: [falls_assisting_other_agencies] }
    clock: { start: call_received, stop: first_arrival }
    statistic: { kind: share_within, threshold_seconds: 300, target_share: 0.8 }
    exclusions: { total_under_seconds: null }
    minimum_sample: 1
`,
  'test-tightened.yaml',
);

/** The 90th percentile by nearest rank, over the same incidents. */
const NEAREST = parseStandard(
  `id: test-nearest
name: Test nearest rank
description: p90 by nearest rank.
source: Test
subject: incidents
versions:
  - version: 1
    effective_from: "2020-04-01"
    applies_to: { services: [fire], life_risk: true, exclude_special_service_types: [falls_assisting_other_agencies] }
    clock: { start: call_received, stop: first_arrival }
    statistic: { kind: percentile, percentile: 0.9 }
    percentile_method: nearest_rank
    minimum_sample: 1
`,
  'test-nearest.yaml',
);

const STANDARDS = [TIGHTENED, NEAREST];

/** Two incidents of the 12th (London, BST): judged by version 1. */
const EARLIER = [
  { id: 'E1', receivedAt: '2025-05-12T09:00:00Z', seconds: 550 },
  { id: 'E2', receivedAt: '2025-05-12T10:00:00Z', seconds: 45 },
];

beforeAll(async () => {
  db = await migratedDatabase('records');
  await landEvents(db.client, [
    ...recordsScenarioEvents(),
    ...EARLIER.flatMap((incident) =>
      incidentFixtureEvents({
        id: incident.id,
        agency: RECORDS_AGENCY,
        receivedAt: incident.receivedAt,
        mobilisedAfter: Math.min(60, incident.seconds - 20),
        mobileAfter: Math.min(120, incident.seconds - 10),
        arrivalsAfter: [incident.seconds],
      }),
    ),
  ]);
});
afterAll(async () => {
  await db?.drop();
});

const request = (standard: string) => ({
  standard,
  agencies: [RECORDS_AGENCY],
  from: '2025-05-12',
  to: '2025-05-14',
});

async function everyRecord(standard: string) {
  const page = await computeKpiRecords(db.client, STANDARDS, { ...request(standard), limit: 1000 });
  expect(page.next).toBeNull();
  expect(page.records).toHaveLength(page.total);
  return page.records as Record<string, unknown>[];
}

describe('the records behind a figure (real ClickHouse)', () => {
  it('judges each record by the version in force on its day', async () => {
    const records = await everyRecord('test-tightened');
    const byId = new Map(records.map((record) => [record.incident_id, record]));
    // The 12th: version 1, 600 s; E2's 45 s is under a minute, excluded then.
    expect(byId.get('E1')).toMatchObject({ version: 1, threshold_seconds: 600, met: true });
    expect(byId.get('E2')).toMatchObject({
      version: 1,
      excluded: true,
      exclusion_reasons: ['total_under'],
      included: false,
    });
    // The 14th: version 2, 300 s; X6's 45 s counts now (that exclusion is switched off).
    expect(byId.get('R01')).toMatchObject({ version: 2, threshold_seconds: 300, met: true });
    expect(byId.get('R02')).toMatchObject({ version: 2, threshold_seconds: 300, met: false });
    expect(byId.get('X6')).toMatchObject({
      version: 2,
      excluded: false,
      exclusion_reasons: [],
      included: true,
      met: true,
    });
    // A cancelled incident is listed under the version of its day too.
    expect(byId.get('C1')).toMatchObject({ version: 2, in_scope: false, cancelled: true });
    const [figure] = (await computeKpi(db.client, STANDARDS, request('test-tightened'))).rows as {
      n: number;
      met: number;
      incidents: number;
      cancelled: number;
    }[];
    const count = (test: (record: Record<string, unknown>) => boolean) =>
      records.filter(test).length;
    expect(figure).toMatchObject({
      incidents: count((record) => record.in_scope === true),
      cancelled: count((record) => record.cancelled === true),
      n: count((record) => record.included === true),
      met: count((record) => record.met === true),
    });
    // By hand: E1 (≤ 600) and, of the 14th's included R01–R07 and X6, R01 300 and X6 45 (≤ 300).
    expect([figure?.n, figure?.met]).toEqual([9, 3]);
  });

  it('gives a nearest-rank percentile that the records’ seconds give, and no met column', async () => {
    const records = await everyRecord('test-nearest');
    const seconds = records
      .filter((record) => record.included === true)
      .map((record) => record.seconds as number)
      .sort((a, b) => a - b);
    // The 14th's R01–R07 and E1 (E2 and X6 are under a minute, excluded by default).
    expect(seconds).toEqual([300, 420, 480, 540, 550, 590, 610, 1000]);
    expect(
      records.every((record) => record.met === null && record.threshold_seconds === null),
    ).toBe(true);
    const [figure] = (await computeKpi(db.client, STANDARDS, request('test-nearest'))).rows as {
      value: number;
    }[];
    // Rank ⌈0.9 × 8⌉ = 8.
    expect(figure?.value).toBe(seconds[Math.ceil(0.9 * seconds.length) - 1]);
    expect(figure?.value).toBe(1000);
    // A percentile standard has no threshold to meet: only=not_met is refused, naming only.
    await expect(
      computeKpiRecords(db.client, STANDARDS, { ...request('test-nearest'), only: 'not_met' }),
    ).rejects.toThrow(/^only: /);
  });

  it('lists the scenario’s in-scope incidents of one day in call order, a page at a time', async () => {
    const pages: string[] = [];
    let offset: number | null = 0;
    while (offset !== null) {
      const page = await computeKpiRecords(db.client, STANDARDS, {
        ...request('test-tightened'),
        from: '2025-05-14',
        offset,
        limit: 5,
      });
      pages.push(
        ...(page.records as Record<string, unknown>[]).map((record) => String(record.incident_id)),
      );
      offset = page.next;
    }
    const order = (id: string) =>
      id === 'R07' ? -1 : SCENARIO_INCIDENTS.findIndex((incident) => incident.id === id);
    expect(pages).toEqual(
      SCENARIO_INCIDENTS.filter((incident) => incident.state !== 'out_of_scope')
        .map((incident) => incident.id)
        .sort((a, b) => order(a) - order(b)),
    );
  });
});
