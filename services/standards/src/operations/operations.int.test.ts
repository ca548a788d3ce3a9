import { landEvents, referenceAppliances } from '@bluelight/clickhouse-sink/testing/events';
import { migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStandards } from '../load.js';
import { COVER_STATES } from './cover.js';
import {
  CONCURRENCY_CARRY_IN_DAYS,
  computeApplianceRecords,
  computeApplianceSegments,
  computeCommittedElsewhere,
  computeConcurrency,
  computeCoverAttendance,
  computeFirstArrivals,
  computeUtilisation,
} from './index.js';
import {
  refApplianceSegments,
  refConcurrency,
  refCoverAtCall,
  refIncidents,
  refUtilisation,
} from './testing/reference.js';
import { operationsScenario, SCENARIO_APPLIANCES } from './testing/scenario.js';

let db: Awaited<ReturnType<typeof migratedDatabase>>;

const OURS = 'staffordshire-fire';
const NEIGHBOUR = 'cheshire-fire';
// 27 October 2024: the clocks go back at 01:00 UTC; 31 March 2024: forward at 01:00 UTC.
const AUTUMN = operationsScenario(OURS, '2024-10-26T23:00:00Z', 'A-');
const SPRING = operationsScenario(OURS, '2024-03-31T00:00:00Z', 'S-');
// The neighbour has the same appliance and incident ids, the same weekend.
const THEIRS = operationsScenario(NEIGHBOUR, '2024-10-26T23:00:00Z', 'A-');
const EVENTS = [...AUTUMN.events, ...SPRING.events, ...THEIRS.events];

beforeAll(async () => {
  db = await migratedDatabase('operations');
  // Delivered twice: duplicates change no figure.
  await landEvents(db.client, EVENTS);
  await landEvents(db.client, AUTUMN.events.slice(0, 20));
});
afterAll(async () => {
  await db.drop();
});

const station = (id: string) => SCENARIO_APPLIANCES.find((a) => a.id === id)?.station ?? '';

describe.each([
  ['the autumn clocks change', AUTUMN],
  ['the spring clocks change', SPRING],
])('operational figures over %s (real ClickHouse)', (_name, scenario) => {
  const request = { agencies: [OURS], ...scenario.period };

  it('gives each appliance’s and each station’s own segments, first arrivals and border crossings', async () => {
    for (const [groupBy, groupOf] of [
      ['resource', (row: { resource: string }) => row.resource],
      ['station', (row: { station: string }) => row.station],
      ['crewing_model', (row: { crewing: string }) => row.crewing],
    ] as const) {
      const result = await computeApplianceSegments(db.client, { ...request, groupBy });
      const expected = refApplianceSegments(EVENTS, [OURS], scenario.period, groupOf);
      expect(result.rows, groupBy).toHaveLength(expected.length);
      result.rows.forEach((row, index) => {
        const want = expected[index] as (typeof expected)[number];
        expect(row.group).toBe(want.group);
        expect({ ...row, segments: undefined }).toEqual({ ...want, segments: undefined });
        for (const segment of ['turnout', 'travel', 'attendance'] as const) {
          const got = row.segments[segment] as { n: number; meanSeconds: number | null };
          expect(got.n).toBe(want.segments[segment].n);
          expect(got.meanSeconds).toBeCloseTo(want.segments[segment].meanSeconds ?? 0, 9);
          expect(row.segments[segment]?.p90Seconds).toBe(want.segments[segment].p90Seconds);
        }
      });
    }
    // The race: LEEK-P1, mobilised with HANLEY-P1, arrived first, from another ground.
    const byResource = await computeApplianceSegments(db.client, {
      ...request,
      groupBy: 'resource',
    });
    const race = scenario.incidents.find((incident) => incident.id.endsWith('I1-RACE'));
    expect(race?.appliances.map((a) => a.resource)).toEqual(['HANLEY-P1', 'LEEK-P1']);
    expect(byResource.rows.find((row) => row.group === 'LEEK-P1')?.firstArrivals).toBeGreaterThan(
      0,
    );
    // BURSLEM-P1 was stood down en route once.
    expect(byResource.rows.find((row) => row.group === 'BURSLEM-P1')?.stoodDown).toBe(1);
  });

  it('lists the records behind the per-appliance figures, a page at a time', async () => {
    const all = [];
    let offset: number | null = 0;
    while (offset !== null) {
      const page = await computeApplianceRecords(db.client, { ...request, offset, limit: 3 });
      expect(page.records.length).toBeLessThanOrEqual(3);
      all.push(...page.records);
      offset = page.next;
    }
    const incidents = new Map(
      refIncidents(EVENTS).map((incident) => [`${incident.agency}/${incident.id}`, incident]),
    );
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const expected = referenceAppliances(EVENTS)
      .filter((row) => {
        const incident = incidents.get(`${row.agency}/${row.incident_id}`);
        return (
          row.agency === OURS &&
          incident !== undefined &&
          incident.day >= scenario.period.from &&
          incident.day <= scenario.period.to
        );
      })
      .sort(
        (a, b) =>
          (a.call_received_at ?? 0) - (b.call_received_at ?? 0) ||
          (a.incident_id < b.incident_id ? -1 : a.incident_id > b.incident_id ? 1 : 0) ||
          (a.resource_id < b.resource_id ? -1 : 1),
      );
    expect(
      all.map((row) => [row.incident_id, row.resource_id, row.arrived_at, row.arrival_order]),
    ).toEqual(
      expected.map((row) => [
        row.incident_id,
        row.resource_id,
        iso(row.arrived_at),
        row.arrival_order,
      ]),
    );
    expect(all.map((row) => row.home_station)).toEqual(
      expected.map((row) => station(row.resource_id)),
    );
  });

  it('gives the first-arriving appliance’s crewing model', async () => {
    const result = await computeFirstArrivals(db.client, request);
    const rows = refApplianceSegments(EVENTS, [OURS], scenario.period, (row) => row.crewing);
    // Recomputed from the appliances: first arrivals of incidents not cancelled (none was).
    const firsts = rows.filter((row) => row.firstArrivals > 0);
    const total = firsts.reduce((sum, row) => sum + row.firstArrivals, 0);
    expect(result.rows.map((row) => [row.crewingModel, row.incidents, row.share])).toEqual(
      firsts.map((row) => [row.group, row.firstArrivals, row.firstArrivals / total]),
    );
  });

  it('gives the incidents in progress at once: hours at each level and the hourly peaks', async () => {
    for (const [groupBy, groupOf] of [
      ['none', () => 'all'],
      ['station_ground', (incident: { ground: string }) => incident.ground],
    ] as const) {
      const result = await computeConcurrency(db.client, { ...request, groupBy });
      const expected = refConcurrency(
        EVENTS,
        [OURS],
        scenario.period,
        groupOf,
        CONCURRENCY_CARRY_IN_DAYS,
      );
      expect(result.distribution.map((row) => row.group)).toEqual(
        expected.distribution.map((row) => row.group),
      );
      result.distribution.forEach((row, index) => {
        const want = expected.distribution[index] as (typeof expected.distribution)[number];
        expect(row.peak).toBe(want.peak);
        expect(Object.keys(row.hoursByLevel).sort()).toEqual(Object.keys(want.hoursByLevel).sort());
        for (const [level, hours] of Object.entries(want.hoursByLevel)) {
          expect(row.hoursByLevel[level]).toBeCloseTo(hours, 9);
        }
      });
      expect(result.series).toEqual(expected.series);
    }
    // The period is 49 hours on the clocks-change weekend in autumn, 47 in spring.
    const all = await computeConcurrency(db.client, request);
    const hours = Object.values(all.distribution[0]?.hoursByLevel ?? {}).reduce((a, b) => a + b, 0);
    expect(hours).toBeCloseTo(scenario === AUTUMN ? 49 : 47, 9);
  });

  it('gives the share of incidents that began while the station’s own appliances were committed elsewhere', async () => {
    const result = await computeCommittedElsewhere(db.client, request);
    const cover = refCoverAtCall(EVENTS, [OURS], scenario.period);
    const grounds = [...new Set(cover.map((row) => row.incident.ground))].sort();
    expect(result.rows).toEqual(
      grounds.map((ground) => {
        const own = cover.filter((row) => row.incident.ground === ground);
        const withOwn = own.filter((row) => row.ownAppliances > 0).length;
        const any = own.filter((row) => row.committedElsewhere > 0).length;
        const allOf = own.filter(
          (row) => row.ownAppliances > 0 && row.free === 0 && row.committedElsewhere > 0,
        ).length;
        return {
          group: ground,
          incidents: own.length,
          withOwnAppliances: withOwn,
          anyCommittedElsewhere: any,
          allCommittedElsewhere: allOf,
          shareAnyCommittedElsewhere: withOwn > 0 ? any / withOwn : null,
          shareAllCommittedElsewhere: withOwn > 0 ? allOf / withOwn : null,
        };
      }),
    );
    // I3: LEEK's only appliance was still at I1 when the call came.
    expect(result.rows.find((row) => row.group === 'LEEK')?.allCommittedElsewhere).toBe(1);
  });

  it('gives unit-hour utilisation per appliance and station, by hour of week', async () => {
    for (const byHourOfWeek of [false, true]) {
      for (const [groupBy, groupOf] of [
        ['resource', (change: { resource: string }) => change.resource],
        ['station', (change: { station: string }) => change.station],
      ] as const) {
        const result = await computeUtilisation(db.client, { ...request, groupBy, byHourOfWeek });
        const expected = refUtilisation(EVENTS, [OURS], scenario.period, groupOf, byHourOfWeek);
        expect(result.rows.map((row) => [row.group, row.hourOfWeek])).toEqual(
          expected.map((row) => [row.group, row.hourOfWeek]),
        );
        result.rows.forEach((row, index) => {
          const want = expected[index] as (typeof expected)[number];
          expect(row.availableHours).toBeCloseTo(want.availableHours, 9);
          expect(row.committedHours).toBeCloseTo(want.committedHours, 9);
          if (want.utilisation === null) expect(row.utilisation).toBeNull();
          else expect(row.utilisation).toBeCloseTo(want.utilisation, 9);
        });
      }
    }
  });

  it('splits the attendance standard by whether the on-call appliance was on the run at the call', async () => {
    const standards = loadStandards();
    const version = standards.find((s) => s.id === 'fire-attendance-standard')?.versions.at(-1);
    const result = await computeCoverAttendance(db.client, standards, {
      ...request,
      byStation: true,
      minimumSample: 1,
    });
    // Recomputed: life-risk fire incidents judged by the first arrival against the band's time.
    const thresholds = { high: 480, medium: 600, low: 1080 } as Record<string, number>;
    const firsts = new Map<string, number>();
    for (const incident of scenario.incidents) {
      const arrivals = incident.appliances
        .map((a) => a.arrived)
        .filter((s): s is number => s !== undefined);
      if (arrivals.length > 0) firsts.set(incident.id, Math.min(...arrivals));
    }
    const cover = refCoverAtCall(EVENTS, [OURS], scenario.period).filter(
      (row) => row.onCall > 0 && firsts.has(row.incident.id),
    );
    const side = (onRun: boolean) => {
      const rows = cover.filter((row) => row.onCallOnRun > 0 === onRun);
      const seconds = rows.map((row) => firsts.get(row.incident.id) as number);
      return {
        n: rows.length,
        met: rows.filter(
          (row) =>
            (firsts.get(row.incident.id) as number) <= (thresholds[row.incident.riskBand] ?? 0),
        ).length,
        mean: seconds.reduce((a, b) => a + b, 0) / seconds.length,
      };
    };
    const available = side(true);
    const unavailable = side(false);
    expect(available.n).toBeGreaterThan(0);
    expect(unavailable.n).toBeGreaterThan(0);
    const leek = result.differences.find((row) => row.station === 'LEEK');
    expect(leek?.n).toEqual({ available: available.n, unavailable: unavailable.n });
    expect(leek?.available?.met).toBe(available.met);
    expect(leek?.unavailable?.met).toBe(unavailable.met);
    expect(leek?.available?.meanSeconds).toBeCloseTo(available.mean, 9);
    expect(leek?.unavailable?.meanSeconds).toBeCloseTo(unavailable.mean, 9);
    // The standard's own minimum sample (5) guards the difference: too few incidents here.
    expect(result.minimumSample).toBe(version?.minimum_sample);
    expect(leek?.insufficientData).toBe(true);
    expect(leek?.shareDifference).toBeNull();
    // Grounds without an on-call appliance are not split.
    expect(result.differences.map((row) => row.station)).toEqual(['LEEK']);
    expect(COVER_STATES.available).toBe('on_call_available');
  });
});

describe('operational figures read only the agencies asked for', () => {
  it('counts each agency’s own rows (the neighbour has the same ids)', async () => {
    const ours = await computeApplianceSegments(db.client, {
      agencies: [OURS],
      ...AUTUMN.period,
      groupBy: 'none',
    });
    const both = await computeApplianceSegments(db.client, {
      agencies: [OURS, NEIGHBOUR],
      ...AUTUMN.period,
      groupBy: 'none',
    });
    expect(both.rows[0]?.mobilisations).toBe(2 * (ours.rows[0]?.mobilisations ?? 0));
    expect(station('LEEK-P1')).toBe('LEEK');
  });
});
