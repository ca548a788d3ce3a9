import { startTestSink } from '@bluelight/clickhouse-sink/testing';
import { FigureCounter } from '@bluelight/simulator/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { storedFigures } from './harness/index.js';
import { simulateIntoSink } from './simulated-feed.js';

/**
 * The whole pipeline: simulator → Kafka → sink → ClickHouse facts. Two weeks around
 * the autumn clocks change; the figures read from ClickHouse must equal those computed from the
 * very same events in plain TypeScript.
 */
const FROM = Date.parse('2023-10-22T00:00:00Z');
const TO = Date.parse('2023-11-05T00:00:00Z');

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
    const stored = await storedFigures(sink.db.client, TO);
    expect({
      fire: stored.fireIncidents,
      primary: stored.primaryFires,
      falls: stored.fallsResponses,
    }).toEqual({
      fire: expected.fireIncidents,
      primary: expected.primaryFires,
      falls: expected.fallsResponses,
    });
    expect(stored.attendanceStandardMet).toBeCloseTo(expected.attendanceStandardMet, 9);
    expect(stored.meanPrimaryFireAttendance).toBeCloseTo(expected.meanPrimaryFireAttendance, 6);
    expect(stored.answered999Within10s).toBeCloseTo(expected.answered999Within10s, 9);
    expect(stored.mean999Wait).toBeCloseTo(expected.mean999Wait, 6);
    expect(stored.resolvedAtTriage101).toBeCloseTo(expected.resolvedAtTriage101, 9);
    expect(stored.mean101Triage).toBeCloseTo(expected.mean101Triage, 6);
    expect(stored.wholetimeAvailability).toBeCloseTo(expected.wholetimeAvailability, 9);
    expect(stored.onCallAvailability).toBeCloseTo(expected.onCallAvailability, 9);
  });
});
