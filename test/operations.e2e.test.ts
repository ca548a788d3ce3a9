import { startTestSink } from '@bluelight/clickhouse-sink/testing';
import { referenceAppliances } from '@bluelight/clickhouse-sink/testing/events';
import { openEventOutput } from '@bluelight/event-output';
import { type BluelightEvent, topicFor } from '@bluelight/schemas';
import { STAFFORDSHIRE_2023_24, simulate } from '@bluelight/simulator';
import { computeCoverAttendance, parseStandard } from '@bluelight/standards';
import { londonDay, refCoverAtCall } from '@bluelight/standards/testing/operations';
import { afterAll, describe, expect, it } from 'vitest';
import { testLogger } from './harness/index.js';

/**
 * The simulator's county through Kafka, the sink and ClickHouse, then the on-call cover figure:
 * attendance in on-call stations' grounds split by whether the station's on-call appliance was
 * on the run at the call. Fire incidents and appliance status only (calls and police play no part
 * in the figure), five weeks across the autumn clocks change: the smallest scope with enough
 * incidents on both sides for the minimum sample.
 *
 * The size the seed describes: when a ground's on-call appliances are all off the run at the
 * call, the simulator sends the first pump from further away (services/simulator/src/year.ts,
 * `onCallCoverEffect` of the profile): life-risk incidents meet the attendance standard 15 points
 * less often, every other incident's first attendance is drawn 1.3 times longer. Over every fire
 * incident against the band's time that is a difference well above 0 — its 95% interval must
 * exclude none, with both samples above the minimum, and the off-the-run side is slower on
 * average. (The calibration test checks the configured 15 points on the year's life-risk
 * incidents, where the samples are large enough.) The on-call appliances are off the run 40% of
 * each day (availability 60%).
 */
const FROM = Date.parse('2023-10-01T00:00:00Z');
const TO = Date.parse('2023-11-05T00:00:00Z');
const PERIOD = { from: '2023-10-01', to: '2023-11-04' };
const AGENCY = STAFFORDSHIRE_2023_24.agencies.fire;

/** Every fire incident measured by its first arrival against the band's time, no exclusions. */
const ALL_FIRE_ATTENDANCE = parseStandard(
  `id: all-fire-attendance
name: All fire incidents, first pump
description: Every fire incident, first arrival within the risk band's time.
source: Test
subject: incidents
versions:
  - version: 1
    effective_from: "2020-04-01"
    applies_to: { services: [fire] }
    clock: { start: call_received, stop: first_arrival }
    statistic: { kind: share_within, threshold_seconds: { by_risk_band: { high: 480, medium: 600, low: 1080 } }, target_share: 0.8 }
    exclusions: { late_call: false, derelict_property: false, abandoned_road_vehicle: false, out_of_sequence: false, total_over_seconds: null, total_under_seconds: null }
    minimum_sample: 30
`,
  'all-fire-attendance.yaml',
);
const THRESHOLDS: Record<string, number> = { high: 480, medium: 600, low: 1080 };

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe('on-call cover and attendance over the simulated county (end to end)', () => {
  it('reports the split with its sample sizes, equal to a recomputation from the events', {
    timeout: 300_000,
  }, async () => {
    const sink = await startTestSink();
    cleanups.push(sink.cleanup);
    const output = await openEventOutput(
      {
        kind: 'kafka',
        brokers: sink.config.KAFKA_BROKERS,
        topicPrefix: sink.config.KAFKA_TOPIC_PREFIX,
      },
      testLogger('simulator'),
    );
    const sent: BluelightEvent[] = [];
    const perFamily = { calls: 0, incidents: 0, resources: 0 };
    for (const { emissions } of simulate({
      profile: STAFFORDSHIRE_2023_24,
      seed: 18,
      fromMs: FROM,
      toMs: TO,
    })) {
      const events = emissions
        .map((emission) => emission.event as unknown as BluelightEvent)
        .filter((event) => event.agency === AGENCY);
      for (const event of events) perFamily[topicFor(event.event_type).family] += 1;
      sent.push(...events);
      await output.write(events);
    }
    await output.close();
    await sink.waitUntilCommitted('incidents', perFamily.incidents, 240_000);
    await sink.waitUntilCommitted('resources', perFamily.resources, 240_000);

    const result = await computeCoverAttendance(sink.db.client, [ALL_FIRE_ATTENDANCE], {
      agencies: [AGENCY],
      ...PERIOD,
      standard: 'all-fire-attendance',
    });

    // Recomputed from the events: each incident's first arrival and its station's on-call cover.
    const events = sent as never;
    const firstArrivals = new Map(
      referenceAppliances(events)
        .filter((row) => row.arrival_order === 1 && row.call_received_at !== null)
        .map((row) => [
          row.incident_id,
          ((row.arrived_at as number) - (row.call_received_at as number)) / 1000,
        ]),
    );
    const cover = refCoverAtCall(events, [AGENCY], PERIOD).filter(
      (row) =>
        row.onCall > 0 &&
        firstArrivals.has(row.incident.id) &&
        londonDay(row.incident.call) >= PERIOD.from,
    );
    const side = (onRun: boolean) => {
      const rows = cover.filter((row) => row.onCallOnRun > 0 === onRun);
      const seconds = rows.map((row) => firstArrivals.get(row.incident.id) as number);
      return {
        n: rows.length,
        met: rows.filter(
          (row) =>
            (firstArrivals.get(row.incident.id) as number) <=
            (THRESHOLDS[row.incident.riskBand] as number),
        ).length,
        mean: seconds.reduce((sum, value) => sum + value, 0) / seconds.length,
      };
    };
    const available = side(true);
    const unavailable = side(false);
    const [all] = result.differences;
    expect(result.differences).toHaveLength(1);
    expect(all?.n).toEqual({ available: available.n, unavailable: unavailable.n });
    expect(all?.available?.met).toBe(available.met);
    expect(all?.unavailable?.met).toBe(unavailable.met);
    expect(all?.available?.meanSeconds).toBeCloseTo(available.mean, 6);
    expect(all?.unavailable?.meanSeconds).toBeCloseTo(unavailable.mean, 6);

    // Enough incidents on both sides for a difference, and the effect the seed describes: visible.
    expect(all?.insufficientData).toBe(false);
    expect(all?.n.unavailable).toBeGreaterThanOrEqual(30);
    const [low, high] = all?.shareDifference95 ?? [Number.NaN, Number.NaN];
    expect(low).toBeGreaterThan(0);
    expect(high).toBeLessThan(1);
    expect(all?.meanSecondsDifference).toBeGreaterThan(0);
    // Reported for docs/operations.md.
    console.info(
      `on-call cover, ${PERIOD.from}..${PERIOD.to}: available n=${available.n} met=${available.met} mean=${available.mean.toFixed(1)} s; unavailable n=${unavailable.n} met=${unavailable.met} mean=${unavailable.mean.toFixed(1)} s; share difference ${all?.shareDifference?.toFixed(4)} [${low.toFixed(4)}, ${high.toFixed(4)}]; mean difference ${all?.meanSecondsDifference?.toFixed(1)} s`,
    );
  });
});
