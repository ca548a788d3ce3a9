import { startTestSink } from '@bluelight/clickhouse-sink/testing';
import {
  callFactsSql,
  incidentFactsSql,
  resourceIntervalsSql,
} from '@bluelight/clickhouse-schema';
import { FigureCounter } from '@bluelight/simulator/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { simulateIntoSink } from './simulated-feed.js';

/**
 * The whole pipeline: simulator → Kafka → sink → ClickHouse facts. Two weeks around
 * the autumn clocks change; the figures read from ClickHouse must equal those computed from the
 * very same events in plain TypeScript.
 */
const FROM = Date.parse('2023-10-22T00:00:00Z');
const TO = Date.parse('2023-11-05T00:00:00Z');

/** Every entity's facts, as every figure reads them. */
const EVERY_DAY = { from: `toDate('2000-01-01')`, to: `toDate('2100-01-01')` };
const INCIDENTS = `(${incidentFactsSql(EVERY_DAY)})`;
const CALLS = `(${callFactsSql(EVERY_DAY)})`;
const INTERVALS = `(${resourceIntervalsSql({ from: `toDateTime64('2000-01-01 00:00:00', 3, 'UTC')`, to: `toDateTime64('2100-01-01 00:00:00', 3, 'UTC')` })})`;

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe('pipeline end to end', () => {
  it('gives the figures the events imply, through Kafka, the sink and ClickHouse', {
    timeout: 300_000,
  }, async () => {
    const sink = await startTestSink();
    cleanups.push(sink.cleanup);
    const counter = new FigureCounter();
    for (const event of await simulateIntoSink(sink, { seed: 11, fromMs: FROM, toMs: TO })) {
      counter.add(event as never);
    }

    const expected = counter.figures(TO);
    const query = async (sql: string) => {
      const result = await sink.db.client.query({
        query: sql,
        query_params: { to: TO / 1000 },
        format: 'JSONEachRow',
      });
      return (await result.json<Record<string, number>>())[0] ?? {};
    };
    const incidents = await query(`
      SELECT countIf(service = 'fire') AS fire,
             countIf(category = 'primary_fire') AS primary,
             countIf(category_subtype = 'falls_assisting_other_agencies') AS falls
      FROM ${INCIDENTS} WHERE created_at IS NOT NULL`);
    expect(incidents).toEqual({
      fire: expected.fireIncidents,
      primary: expected.primaryFires,
      falls: expected.fallsResponses,
    });
    const attended = `cancelled = 0 AND first_arrival_at >= call_received_at`;
    const seconds = `dateDiff('millisecond', call_received_at, first_arrival_at) / 1000`;
    const standard = await query(`
      SELECT countIf(ceil(${seconds}) <= multiIf(risk_band = 'high', 480, risk_band = 'medium', 600, 1080)) / count() AS met
      FROM ${INCIDENTS}
      WHERE ${attended} AND service = 'fire' AND life_risk = 1 AND category_subtype != 'falls_assisting_other_agencies'`);
    expect(standard.met).toBeCloseTo(expected.attendanceStandardMet, 9);
    const primary = await query(`
      SELECT avg(${seconds}) / 60 AS mean
      FROM ${INCIDENTS} WHERE ${attended} AND category = 'primary_fire'`);
    expect(primary.mean).toBeCloseTo(expected.meanPrimaryFireAttendance, 6);
    const calls = await query(`
      SELECT countIf(answer_seconds <= 10) / count() AS within, avg(answer_seconds) AS wait
      FROM ${CALLS} WHERE line = '999' AND presented_at IS NOT NULL AND answer_seconds IS NOT NULL`);
    expect(calls.within).toBeCloseTo(expected.answered999Within10s, 9);
    expect(calls.wait).toBeCloseTo(expected.mean999Wait, 6);
    const triage = await query(`
      SELECT countIf(outcome = 'resolved_at_triage') / count() AS resolved,
             avg(dateDiff('millisecond', answered_at, closed_at)) / 60000 AS minutes
      FROM ${CALLS} WHERE line = '101' AND answered_at IS NOT NULL AND closed_at IS NOT NULL`);
    expect(triage.resolved).toBeCloseTo(expected.resolvedAtTriage101, 9);
    expect(triage.minutes).toBeCloseTo(expected.mean101Triage, 6);
    const availability = await query(`
      SELECT 1 - sumIf(span, crewing_model = 'wholetime' AND available = 0) / sumIf(span, crewing_model = 'wholetime') AS wholetime,
             1 - sumIf(span, crewing_model = 'on_call' AND available = 0) / sumIf(span, crewing_model = 'on_call') AS on_call
      FROM (
        SELECT crewing_model, available,
               dateDiff('millisecond', start_at, ifNull(end_at, toDateTime64({to:Float64}, 3, 'UTC'))) AS span
        FROM ${INTERVALS})`);
    expect(availability.wholetime).toBeCloseTo(expected.wholetimeAvailability, 9);
    expect(availability.on_call).toBeCloseTo(expected.onCallAvailability, 9);
  });
});
