import { createHash } from 'node:crypto';
import { validateEvent } from '@bluelight/schemas';
import { describe, expect, it } from 'vitest';
import { STAFFORDSHIRE_2023_24 } from './profile.js';
import { simulate } from './simulate.js';
import { FigureCounter } from './testing/figures.js';

const profile = STAFFORDSHIRE_2023_24;

function ndjsonHash(seed: number, fromMs: number, toMs: number): { hash: string; lines: number } {
  const hash = createHash('sha256');
  let lines = 0;
  for (const { emissions } of simulate({ profile, seed, fromMs, toMs })) {
    for (const emission of emissions) {
      hash.update(`${JSON.stringify(emission.event)}\n`);
      lines += 1;
    }
  }
  return { hash: hash.digest('hex'), lines };
}

let year: { counter: FigureCounter; toMs: number; invalid: number; outOfOrder: number } | undefined;
/** The profile year (seed 2024) counted once, for the tests that read its figures. */
function profileYear() {
  if (year) return year;
  const counter = new FigureCounter();
  const fromMs = Date.parse(profile.yearStart);
  const toMs = Date.parse(profile.yearEnd);
  let events = 0;
  let invalid = 0;
  let outOfOrder = 0;
  let lastOccurred = 0;
  for (const { emissions } of simulate({ profile, seed: 2024, fromMs, toMs })) {
    for (const emission of emissions) {
      events += 1;
      // Validating every event would take minutes; every 50th is a fair sample of each type.
      if (events % 50 === 0 && !validateEvent(emission.event).ok) invalid += 1;
      if (emission.occurredAt < lastOccurred) outOfOrder += 1;
      lastOccurred = Math.max(lastOccurred, emission.occurredAt);
      counter.add(emission.event);
    }
  }
  year = { counter, toMs, invalid, outOfOrder };
  return year;
}

describe('simulator', () => {
  it("keeps each simulated year's incidents inside that year, even its clocks-change incident", {
    timeout: 60_000,
  }, () => {
    // 2023-24 ends, and 2024-25 begins, at London midnight: 2024-03-31T23:00Z. The new year's
    // spring clocks-change incident belongs in March 2025, not on 31 March 2024.
    const boundary = Date.parse('2024-03-31T23:00:00Z');
    const misplaced: string[] = [];
    let created = 0;
    for (const { emissions } of simulate({
      profile,
      seed: 1,
      fromMs: Date.parse('2024-03-30T00:00:00Z'),
      toMs: Date.parse('2024-04-02T00:00:00Z'),
    })) {
      for (const { event } of emissions) {
        if (event.event_type !== 'incident.created' || event.agency !== 'staffordshire-fire')
          continue;
        created += 1;
        const payload = event.payload as { incident_id: string; call_received_at: string };
        // SFRS-<calendar year>-<simulated year, 2 digits><index, 5 digits>
        const year = payload.incident_id.slice(10, 12);
        const expected = Date.parse(payload.call_received_at) < boundary ? '00' : '01';
        if (year !== expected)
          misplaced.push(`${payload.incident_id} at ${payload.call_received_at}`);
      }
    }
    expect(created).toBeGreaterThan(40);
    expect(misplaced).toEqual([]);
  });

  it('gives byte-identical output for the same seed, and different output for another', {
    timeout: 120_000,
  }, () => {
    const from = Date.parse('2023-10-28T00:00:00Z');
    const to = Date.parse('2023-10-30T00:00:00Z');
    const first = ndjsonHash(7, from, to);
    expect(first.lines).toBeGreaterThan(2_000);
    expect(ndjsonHash(7, from, to)).toEqual(first);
    expect(ndjsonHash(8, from, to).hash).not.toBe(first.hash);
  });

  it('reproduces the published Staffordshire 2023-24 figures over its year, with only valid events', {
    timeout: 240_000,
  }, () => {
    const { counter, toMs, invalid, outOfOrder } = profileYear();
    expect(invalid).toBe(0);
    expect(outOfOrder).toBeGreaterThan(0); // the feed's imperfections are there
    const figures = counter.figures(toMs);
    // Counts are exact; shares within ±0.5 percentage points; times within ±0.1 min (±0.1 s for 999 waits).
    expect(figures).toMatchObject({
      fireIncidents: 8_203,
      primaryFires: 1_309,
      secondaryFires: 1_575,
      roadTrafficCollisions: 809,
      specialServicesOtherThanRtc: 1_412,
      fallsResponses: 939,
    });
    expect(Math.abs(figures.attendanceStandardMet - 0.809)).toBeLessThan(0.005);
    expect(Math.abs(figures.meanPrimaryFireAttendance - 9.34)).toBeLessThan(0.1);
    expect(Math.abs(figures.meanFallsAttendance - 38)).toBeLessThan(0.1);
    expect(Math.abs(figures.fallsNoFurtherHelp - 0.86)).toBeLessThan(0.005);
    expect(Math.abs(figures.meanPoliceEmergencyAttendance - 9.63)).toBeLessThan(0.1);
    expect(Math.abs(figures.answered999Within10s - 0.87)).toBeLessThan(0.005);
    expect(Math.abs(figures.mean999Wait - 9.4)).toBeLessThan(0.1);
    expect(Math.abs(figures.resolvedAtTriage101 - 0.56)).toBeLessThan(0.005);
    expect(Math.abs(figures.mean101Triage - 4.33)).toBeLessThan(0.1);
    expect(Math.abs(figures.wholetimeAvailability - 0.98)).toBeLessThan(0.005);
    expect(Math.abs(figures.onCallAvailability - 0.6)).toBeLessThan(0.005);
  });

  it('gives on-call cover the effect the profile configures, with its confidence', {
    timeout: 240_000,
  }, () => {
    // Life-risk incidents in on-call grounds, from the events: the attendance standard's share
    // with an on-call pump on the run at the call, minus without, and its 95% interval.
    const { available, unavailable } = profileYear().counter.coverSplit();
    const configured = profile.fire.onCallCoverEffect.shareDifference;
    expect(available.n).toBeGreaterThanOrEqual(100);
    expect(unavailable.n).toBeGreaterThanOrEqual(100);
    const pa = available.met / available.n;
    const pu = unavailable.met / unavailable.n;
    const difference = pa - pu;
    const se = Math.sqrt((pa * (1 - pa)) / available.n + (pu * (1 - pu)) / unavailable.n);
    expect(difference - 1.96 * se).toBeGreaterThan(0); // visible: the interval excludes none
    expect(difference - 1.96 * se).toBeLessThanOrEqual(configured);
    expect(difference + 1.96 * se).toBeGreaterThanOrEqual(configured);
    // The planned split is exact up to rounding; the feed's faults (missing or corrected first
    // arrivals) move it by a point or two at most.
    expect(Math.abs(difference - configured)).toBeLessThan(0.03);
    console.info(
      `on-call cover (life-risk, on-call grounds): on the run n=${available.n} met=${available.met}; off the run n=${unavailable.n} met=${unavailable.met}; difference ${difference.toFixed(4)} ± ${(1.96 * se).toFixed(4)}; means ${available.meanSeconds.toFixed(0)} s / ${unavailable.meanSeconds.toFixed(0)} s`,
    );
  });
});
