/**
 * The annual report's "Appliances and cover" section on the hand-built operations scenario
 * (autumn 2024, both agencies with the same ids), against plain recomputations from the events
 * (operations/testing/reference.ts): the first-arriving appliance's crewing model, utilisation by
 * station, and the on-call cover split with its sample sizes and the minimum-sample guard.
 */
import { landEvents } from '@bluelight/clickhouse-sink/testing/events';
import { migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStandards } from './load.js';
import { COVER_MINIMUM_SAMPLE } from './operations/index.js';
import {
  refApplianceSegments,
  refCoverAtCall,
  refUtilisation,
} from './operations/testing/reference.js';
import { operationsScenario } from './operations/testing/scenario.js';
import { annualReport } from './report.js';
import { operationsSectionText } from './report-operations.js';

let db: Awaited<ReturnType<typeof migratedDatabase>>;
const OURS = 'staffordshire-fire';
const AUTUMN = operationsScenario(OURS, '2024-10-26T23:00:00Z', 'A-');
const THEIRS = operationsScenario('cheshire-fire', '2024-10-26T23:00:00Z', 'A-');
const EVENTS = [...AUTUMN.events, ...THEIRS.events];

beforeAll(async () => {
  db = await migratedDatabase('report_operations');
  await landEvents(db.client, EVENTS);
});
afterAll(async () => {
  await db?.drop();
});

describe('the annual report’s Appliances and cover section (real ClickHouse)', () => {
  it('gives the first arrivals, utilisation and cover split of the agencies asked for', async () => {
    const report = await annualReport(db.client, loadStandards(), AUTUMN.period, [OURS]);
    const section = report.operations;
    expect(section.title).toBe('Appliances and cover');

    const segments = refApplianceSegments(EVENTS, [OURS], AUTUMN.period, (row) => row.crewing);
    const firsts = segments.filter((row) => row.firstArrivals > 0);
    const total = firsts.reduce((sum, row) => sum + row.firstArrivals, 0);
    expect(
      section.firstArrivingCrewingModel.map((row) => [row.crewingModel, row.incidents, row.share]),
    ).toEqual(firsts.map((row) => [row.group, row.firstArrivals, row.firstArrivals / total]));
    expect(total).toBeGreaterThan(0);

    const utilisation = refUtilisation(
      EVENTS,
      [OURS],
      AUTUMN.period,
      (change) => change.station,
      false,
    );
    expect(section.utilisationByStation.map((row) => row.station)).toEqual(
      utilisation.map((row) => row.group),
    );
    section.utilisationByStation.forEach((row, index) => {
      const want = utilisation[index] as (typeof utilisation)[number];
      expect(row.onTheRunHours).toBeCloseTo(want.availableHours, 9);
      expect(row.committedHours).toBeCloseTo(want.committedHours, 9);
      expect(row.utilisation ?? Number.NaN).toBeCloseTo(want.utilisation ?? Number.NaN, 9);
    });

    // Life-risk incidents of on-call grounds with a first arrival, by the pump's state at the call.
    const arrivals = new Map<string, number>();
    for (const incident of AUTUMN.incidents) {
      const times = incident.appliances
        .map((appliance) => appliance.arrived)
        .filter((seconds): seconds is number => seconds !== undefined);
      if (times.length > 0) arrivals.set(incident.id, Math.min(...times));
    }
    const cover = refCoverAtCall(EVENTS, [OURS], AUTUMN.period).filter(
      (row) => row.onCall > 0 && arrivals.has(row.incident.id),
    );
    const n = (onRun: boolean) => cover.filter((row) => row.onCallOnRun > 0 === onRun).length;
    const split = section.onCallCover;
    expect(split.standard.id).toBe('fire-attendance-standard');
    expect(split.n).toEqual({ available: n(true), unavailable: n(false) });
    expect(split.n.unavailable).toBeGreaterThan(0);
    // A handful a side: below the minimum sample, so no difference is given.
    expect(split.minimumSample).toBe(COVER_MINIMUM_SAMPLE);
    expect(split.insufficientData).toBe(true);
    expect(split.shareDifference).toBeNull();
    expect(split.shareDifference95).toBeNull();

    const text = operationsSectionText(section);
    expect(text[0]).toBe('Appliances and cover');
    expect(text).toContain(
      `  on-call appliance off the run at the call: n = ${n(false)}, met n/a, mean ${((split.offTheRun?.meanSeconds ?? 0) / 60).toFixed(2)} min`,
    );
    expect(text.at(-1)).toBe(
      `  difference: insufficient data (a side has fewer than ${COVER_MINIMUM_SAMPLE} incidents)`,
    );
  });

  it('says the difference with its interval once both sides have the minimum sample', () => {
    const side = (n: number, met: number, meanSeconds: number) => ({
      n,
      met,
      share: met / n,
      meanSeconds,
    });
    const text = operationsSectionText({
      title: 'Appliances and cover',
      firstArrivingCrewingModel: [
        { crewingModel: 'on_call', incidents: 40, share: 0.4, meanAttendanceSeconds: 600 },
      ],
      utilisationByStation: [
        { station: 'LEEK', utilisation: 0.05, committedHours: 5, onTheRunHours: 100 },
      ],
      onCallCover: {
        standard: { id: 'fire-attendance-standard' } as never,
        minimumSample: 30,
        n: { available: 100, unavailable: 50 },
        onTheRun: side(100, 90, 540),
        offTheRun: side(50, 35, 660),
        insufficientData: false,
        shareDifference: 0.2,
        shareDifference95: [0.05, 0.35],
        meanSecondsDifference: 120,
      },
    });
    expect(text).toEqual([
      'Appliances and cover',
      '',
      'First-arriving appliance, by crewing model',
      '  on-call           40   40.0%  mean attendance 10.00 min',
      '',
      'Utilisation by station (time committed ÷ time on the run)',
      '  LEEK    5.0%  of 100 h on the run',
      '',
      "On-call cover and attendance (fire-attendance-standard, on-call stations' grounds)",
      '  on-call appliance on the run at the call : n = 100, met 90.0%, mean 9.00 min',
      '  on-call appliance off the run at the call: n = 50, met 70.0%, mean 11.00 min',
      '  difference: +20.0 points on the run (95% interval +5.0 to +35.0); off the run 2.00 min later on average',
    ]);
  });
});
