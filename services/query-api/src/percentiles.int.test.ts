import { incidentFixtureEvents, landEvents } from '@bluelight/clickhouse-sink/testing/events';
import { loadStandards, parseStandard } from '@bluelight/standards';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestQueryApi } from './testing/harness.js';

// Each percentile method, computed here in plain TypeScript from its published definition over
// the same attendance times the API is given, equals what GET /v1/kpis answers.

/** Excel PERCENTILE.INC / R type 7 / numpy's default: h = (n − 1)p + 1, interpolate (1-based). */
function inclusive(sorted: number[], p: number): number {
  const h = (sorted.length - 1) * p + 1;
  const k = Math.floor(h);
  const low = sorted[k - 1] as number;
  return k >= sorted.length ? low : low + (h - k) * ((sorted[k] as number) - low);
}

/** Excel PERCENTILE.EXC / R type 6: h = (n + 1)p, defined for 1 ≤ h ≤ n only (#NUM! otherwise). */
function exclusive(sorted: number[], p: number): number | null {
  const h = (sorted.length + 1) * p;
  if (h < 1 || h > sorted.length) return null;
  const k = Math.floor(h);
  const low = sorted[k - 1] as number;
  return k >= sorted.length ? low : low + (h - k) * ((sorted[k] as number) - low);
}

/** The nearest-rank method: the ⌈pn⌉-th smallest value. */
function nearestRank(sorted: number[], p: number): number {
  // p·n in exact decimal arithmetic: p has at most two decimals here (0.9, 0.95, 0.5).
  const rank = Math.ceil((Math.round(p * 100) * sorted.length) / 100);
  return sorted[Math.max(1, rank) - 1] as number;
}

/** A small deterministic generator (mulberry32), so the data are the same on every run. */
function random(seed: number) {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Received → first on scene, shaped like the SFFD week (3,429 whole seconds, median ≈ 8 min,
 * a long tail past 20 min) — fewer of them, and a count where 0.9·n is not whole.
 */
function sffdLike(count: number): number[] {
  const next = random(16);
  return Array.from({ length: count }, () => Math.round(180 + 480 * -Math.log(1 - next())) + 1);
}

/**
 * Shaped like the Dublin file: times many incidents share (whole minutes often), some with
 * half seconds, and a count where 0.9·n is a whole number (nearest rank and ⌊pn⌋ then differ).
 */
function dublinLike(count: number): number[] {
  const next = random(35_163);
  return Array.from({ length: count }, (_, index) => {
    const minutes = 3 + Math.floor(next() * next() * 20);
    // Halves of a second are exact in binary, so the events' millisecond instants are too.
    return index % 3 === 0 ? minutes * 60 : minutes * 60 + Math.round(next() * 119) / 2;
  });
}

const DATASETS = [
  { name: 'SFFD-like', day: '2025-01-06', times: sffdLike(349) },
  { name: 'Dublin-like', day: '2025-02-03', times: dublinLike(250) },
];

const METHODS = ['inclusive', 'nearest_rank', 'exclusive'] as const;

const standardFor = (method: string, p: number) =>
  parseStandard(
    `id: test-p${Math.round(p * 100)}-${method.replace('_', '-')}
name: Test percentile
description: The ${p} percentile of call to first arrival, by ${method}.
source: Test
subject: incidents
versions:
  - version: 1
    effective_from: "2020-04-01"
    applies_to: { services: [fire] }
    clock: { start: call_received, stop: first_arrival }
    statistic: { kind: percentile, percentile: ${p} }
    percentile_method: ${method}
    minimum_sample: 1
    exclusions: { late_call: false, derelict_property: false, abandoned_road_vehicle: false, out_of_sequence: false, total_over_seconds: null, total_under_seconds: null }
`,
    'test.yaml',
  );

const LEVELS = [0.9, 0.5, 0.95];
const TEST_STANDARDS = METHODS.flatMap((method) => LEVELS.map((p) => standardFor(method, p)));

let api: Awaited<ReturnType<typeof startTestQueryApi>>;

beforeAll(async () => {
  api = await startTestQueryApi('pct', { standards: [...loadStandards(), ...TEST_STANDARDS] });
  await landEvents(
    api.db.client,
    DATASETS.flatMap(({ name, day, times }) =>
      times.map((seconds, index) => ({ seconds, index, name, day })),
    ).flatMap(({ seconds, index, name, day }) =>
      incidentFixtureEvents({
        id: `${name}-${index}`,
        // Spread over the day, in winter (London time is UTC).
        receivedAt: new Date(Date.parse(`${day}T00:00:00Z`) + index * 60_000).toISOString(),
        mobilisedAfter: 10,
        mobileAfter: 20,
        arrivalsAfter: [seconds],
      }),
    ),
  );
});
afterAll(async () => {
  await api?.cleanup();
});

describe('percentile methods (real ClickHouse, through GET /v1/kpis)', () => {
  for (const { name, day, times } of DATASETS) {
    const sorted = [...times].sort((a, b) => a - b);
    for (const method of METHODS) {
      it(`${name}: ${method} equals its definition computed in TypeScript`, async () => {
        for (const p of LEVELS) {
          const expected = {
            inclusive: inclusive(sorted, p),
            nearest_rank: nearestRank(sorted, p),
            exclusive: exclusive(sorted, p),
          }[method];
          const id = `test-p${Math.round(p * 100)}-${method.replace('_', '-')}`;
          const response = await api.get(`/v1/kpis?standard=${id}&from=${day}&to=${day}`);
          expect(response.statusCode, response.body).toBe(200);
          const [row] = response.json().rows;
          expect(row.n).toBe(sorted.length);
          expect({ p, value: row.value }).toEqual({ p, value: expected });
          expect(row.percentileSeconds).toBe(expected);
          // The segments' 90th percentile by the same method: total is this clock.
          if (p === 0.9) expect(row.segments.total.p90Seconds).toBe(expected);
        }
      });
    }
  }

  it('differs between the methods as the issue found (interpolated vs a recorded time)', () => {
    const [sffd] = DATASETS;
    const sorted = [...(sffd?.times ?? [])].sort((a, b) => a - b);
    // 0.9 × 348 + 1 = 314.2: between the 314th and 315th time; nearest rank is the 315th (⌈314.1⌉).
    expect(inclusive(sorted, 0.9)).toBeCloseTo(
      (sorted[313] as number) + 0.2 * ((sorted[314] as number) - (sorted[313] as number)),
      9,
    );
    expect(nearestRank(sorted, 0.9)).toBe(sorted[314]);
  });

  it('gives no exclusive percentile where it is undefined (fewer than 9 values for p90)', async () => {
    // Eight of the SFFD-like times on a day of their own: (8 + 1) × 0.9 = 8.1 > 8.
    const day = '2025-03-03';
    const times = sffdLike(8);
    await landEvents(
      api.db.client,
      times.flatMap((seconds, index) =>
        incidentFixtureEvents({
          id: `few-${index}`,
          receivedAt: `${day}T0${index}:00:00Z`,
          arrivalsAfter: [seconds],
        }),
      ),
    );
    const exclusiveRow = (
      await api.get(`/v1/kpis?standard=test-p90-exclusive&from=${day}&to=${day}`)
    ).json().rows[0];
    expect(exclusiveRow).toMatchObject({
      n: 8,
      value: null,
      percentileSeconds: null,
      insufficientData: true,
    });
    const inclusiveRow = (
      await api.get(`/v1/kpis?standard=test-p90-inclusive&from=${day}&to=${day}`)
    ).json().rows[0];
    expect(inclusiveRow.value).toBe(
      inclusive(
        [...times].sort((a, b) => a - b),
        0.9,
      ),
    );
  });
});
