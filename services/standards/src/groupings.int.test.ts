import { incidentFixtureEvents, landEvents } from '@bluelight/clickhouse-sink/testing/events';
import { migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeKpi } from './engine.js';
import { parseStandard } from './load.js';

// Grouping by the contract's other categorical attributes — subtype, police grading, area type,
// stop code, service — each a column a mapping fills from the source: per group, the figure a
// recount of these hand-built incidents gives.

let db: Awaited<ReturnType<typeof migratedDatabase>>;

const AGENCIES = ['staffordshire-fire', 'staffordshire-police'];

/** Every incident of both services within 600 s, no exclusions: each group is a plain count. */
const WITHIN_TEN = parseStandard(
  `id: test-within-ten
name: Test within ten minutes
description: Every incident, fire and police, attended within 600 s.
source: Test
subject: incidents
versions:
  - version: 1
    effective_from: "2020-04-01"
    applies_to: { services: [fire, police] }
    clock: { start: call_received, stop: first_arrival }
    statistic: { kind: share_within, threshold_seconds: 600, target_share: 0.8 }
    exclusions: { total_under_seconds: null, total_over_seconds: null, late_call: false, derelict_property: false, abandoned_road_vehicle: false, out_of_sequence: false }
    minimum_sample: 1
`,
  'test-within-ten.yaml',
);

interface Incident {
  id: string;
  seconds: number;
  service: 'fire' | 'police';
  subtype: string;
  grading?: 'emergency' | 'priority' | 'scheduled';
  areaType?: 'urban' | 'rural';
  stopCode: string;
}

// 14 May 2025, BST. What each grouping must give is counted from this list alone.
const INCIDENTS: Incident[] = [
  { id: 'F1', seconds: 300, service: 'fire', subtype: 'dwelling', stopCode: 'FIRE' },
  { id: 'F2', seconds: 700, service: 'fire', subtype: 'dwelling', stopCode: 'FIRE' },
  { id: 'F3', seconds: 600, service: 'fire', subtype: 'road_vehicle', stopCode: 'FIRE' },
  { id: 'F4', seconds: 900, service: 'fire', subtype: 'outdoor', stopCode: 'FALSE' },
  { id: 'F5', seconds: 200, service: 'fire', subtype: 'outdoor', stopCode: 'FALSE' },
  { id: 'F6', seconds: 450, service: 'fire', subtype: 'outdoor', stopCode: 'FIRE' },
  {
    id: 'P1',
    seconds: 500,
    service: 'police',
    subtype: '',
    grading: 'emergency',
    areaType: 'urban',
    stopCode: 'ARREST',
  },
  {
    id: 'P2',
    seconds: 1000,
    service: 'police',
    subtype: '',
    grading: 'emergency',
    areaType: 'rural',
    stopCode: 'ARREST',
  },
  {
    id: 'P3',
    seconds: 580,
    service: 'police',
    subtype: '',
    grading: 'priority',
    areaType: 'rural',
    stopCode: 'ADVICE',
  },
];

beforeAll(async () => {
  db = await migratedDatabase('groupings');
  await landEvents(
    db.client,
    INCIDENTS.flatMap((incident, index) =>
      incidentFixtureEvents({
        id: incident.id,
        receivedAt: `2025-05-14T${String(8 + index).padStart(2, '0')}:00:00Z`,
        service: incident.service,
        ...(incident.service === 'fire'
          ? { category: 'primary_fire' as const, subtype: incident.subtype }
          : { grading: incident.grading, areaType: incident.areaType }),
        mobilisedAfter: 60,
        mobileAfter: 120,
        arrivalsAfter: [incident.seconds],
        closedAfter: incident.seconds + 1_800,
        stopCode: incident.stopCode,
      }),
    ),
  );
});
afterAll(async () => {
  await db?.drop();
});

/** Per value of an attribute: how many incidents, and how many within 600 s. */
function recount(value: (incident: Incident) => string) {
  const groups = new Map<string, { n: number; met: number }>();
  for (const incident of INCIDENTS) {
    const group = groups.get(value(incident)) ?? { n: 0, met: 0 };
    group.n += 1;
    if (incident.seconds <= 600) group.met += 1;
    groups.set(value(incident), group);
  }
  return [...groups]
    .map(([group, counts]) => ({ group, ...counts }))
    .sort((a, b) => a.group.localeCompare(b.group));
}

async function grouped(groupBy: string, filters?: Record<string, string[]>) {
  const result = await computeKpi(db.client, [WITHIN_TEN], {
    standard: 'test-within-ten',
    agencies: AGENCIES,
    from: '2025-05-14',
    to: '2025-05-14',
    groupBy,
    ...(filters ? { filters } : {}),
  });
  return (result.rows as { group: string; n: number; met: number }[])
    .map(({ group, n, met }) => ({ group, n, met }))
    .sort((a, b) => a.group.localeCompare(b.group));
}

describe('grouping by the contract’s categorical attributes (real ClickHouse)', () => {
  it('by subtype: the primary fire’s location type', async () => {
    const fires = INCIDENTS.filter((incident) => incident.service === 'fire');
    expect(await grouped('subtype', { service: ['fire'] })).toEqual(
      recount((incident) => incident.subtype).filter((row) =>
        fires.some((fire) => fire.subtype === row.group),
      ),
    );
  });

  it('by police grading and by area type', async () => {
    expect(await grouped('police_grading', { service: ['police'] })).toEqual([
      { group: 'emergency', n: 2, met: 1 },
      { group: 'priority', n: 1, met: 1 },
    ]);
    expect(await grouped('area_type', { service: ['police'] })).toEqual([
      { group: 'rural', n: 2, met: 1 },
      { group: 'urban', n: 1, met: 1 },
    ]);
  });

  it('by stop code and by service, over both services', async () => {
    expect(await grouped('stop_code')).toEqual(recount((incident) => incident.stopCode));
    expect(await grouped('service')).toEqual(recount((incident) => incident.service));
  });
});
