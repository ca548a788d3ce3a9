/**
 * The "Appliances and cover" dashboard and the station-without-cover alert rule, run as Grafana
 * would (the committed JSON and rules.yaml, through the emulator) on a real ClickHouse:
 *
 * - the rule on hand-built status changes across London midnight and the autumn 2023 clocks
 *   change: it fires one minute past the limit, not one minute before, measures elapsed time
 *   (not wall-clock), keeps each agency's stations apart, resolves to 0, and counts a run begun
 *   before its window from the appliance's last change before it;
 * - the panels that show an operational figure against the query API's own computation
 *   (`compute…` of @bluelight/standards, which operations.int.test.ts checks against plain
 *   recomputations) on the operations scenario of autumn 2024: same SQL, same numbers.
 */
import { landEvents } from '@bluelight/clickhouse-sink/testing/events';
import {
  computeConcurrency,
  computeCoverAttendance,
  computeUtilisation,
  coverAttendanceQuery,
  coverDifferences,
  type IncidentStandardVersion,
  type KpiRow,
  loadStandards,
  planKpi,
  type VersionPart,
} from '@bluelight/standards';
import { operationsScenario } from '@bluelight/standards/testing/operations';
import { migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_COVER_LIMIT_MINUTES } from './alerts.js';
import { changes, OURS, THEIRS } from './testing/fixtures.js';
import {
  allValues,
  evaluateRule,
  panel,
  provisionedDashboards,
  provisionedRules,
  type Result,
  run,
  runPanel,
} from './testing/grafana-run.js';

type Database = Awaited<ReturnType<typeof migratedDatabase>>;
let db: Database;

const MINUTE = 60_000;
/** 29 October 2023: London midnight is 28 October 23:00 UTC; the clocks go back at 01:00 UTC. */
const NO_COVER_FROM = Date.parse('2023-10-28T22:50:00Z'); // 23:50 BST on the Saturday
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Our LEEK: its on-call pump off the run from 22:50 UTC and its whole-time pump committed since
 * 22:40, so from 22:50 neither is free, until the on-call pump is back at 01:30 UTC (01:30 GMT,
 * after the repeated hour): 160 minutes elapsed, 100 on the clock. Our HANLEY is free all along.
 * Their LEEK's only pump is off the run from 23:00 UTC and stays off.
 */
const INTERVALS = [
  ...changes('LEEK-P1', 'on_call', [
    ['2023-10-28T12:00:00Z', 'available_at_station'],
    [iso(NO_COVER_FROM), 'unavailable', 'crewing'],
    ['2023-10-29T01:30:00Z', 'available_at_station'],
  ]),
  ...changes('LEEK-W1', 'wholetime', [
    ['2023-10-28T12:00:00Z', 'available_at_station'],
    ['2023-10-28T22:40:00Z', 'committed'],
    ['2023-10-29T02:00:00Z', 'available_mobile'],
  ]),
  ...changes('HANLEY-W1', 'wholetime', [['2023-10-28T12:00:00Z', 'available_at_station']]),
  ...changes(
    'CH-LEEK-P1',
    'on_call',
    [
      ['2023-10-28T12:00:00Z', 'available_at_station'],
      ['2023-10-28T23:00:00Z', 'unavailable', 'crewing'],
    ],
    { agency: THEIRS, station: 'LEEK' },
  ),
];

// The operations scenario (services/standards/src/operations/testing/scenario.ts), a year later.
const AUTUMN = operationsScenario(OURS.fire, '2024-10-26T23:00:00Z', 'A-');
const NEIGHBOUR = operationsScenario(THEIRS, '2024-10-26T23:00:00Z', 'A-');
/** The scenario's two London days as the dashboard's range (27 October BST to 28 October GMT). */
const RANGE = { from: new Date('2024-10-26T23:00:00Z'), to: new Date('2024-10-28T23:59:59Z') };

beforeAll(async () => {
  db = await migratedDatabase('appliances_cover');
  await landEvents(db.client, [...INTERVALS, ...AUTUMN.events, ...NEIGHBOUR.events]);
});
afterAll(async () => {
  await db?.drop();
});

const page = (() => {
  const found = provisionedDashboards().find((one) => one.uid === 'bluelight-appliances-cover');
  if (!found) throw new Error('no Appliances and cover dashboard');
  return found;
})();

async function show(
  title: string,
  range: { from: Date; to: Date },
  agency: string[],
): Promise<Result[]> {
  const all = await allValues(db.client, page, range);
  return runPanel(db.client, panel(page, title), {
    ...range,
    intervalSeconds: 300,
    variables: { ...all, agency },
    all: [],
  });
}

describe('station ground without an available appliance (alert rule, real ClickHouse)', () => {
  const rule = provisionedRules().find((one) => one.uid === 'bluelight-station-without-cover');
  const evaluate = (minutesAfter: number) => {
    if (!rule) throw new Error('no bluelight-station-without-cover rule');
    return evaluateRule(db.client, rule, new Date(NO_COVER_FROM + minutesAfter * MINUTE));
  };
  const ours = (station: string) => ({ agency: OURS.fire, station });
  const theirs = { agency: THEIRS, station: 'LEEK' };

  it('is a critical fire rule per agency and station, over the configured limit', () => {
    expect(rule?.labels).toEqual({ severity: 'critical', service: 'fire' });
    expect(rule?.data[2]?.model.conditions?.[0]?.evaluator).toEqual({
      type: 'gt',
      params: [NO_COVER_LIMIT_MINUTES],
    });
  });

  it(`stays quiet ${NO_COVER_LIMIT_MINUTES - 1} minutes in, fires at ${NO_COVER_LIMIT_MINUTES + 1}`, async () => {
    const before = await evaluate(NO_COVER_LIMIT_MINUTES - 1);
    // Their LEEK's run began at 23:00 UTC, 10 minutes after ours.
    expect(before.instances).toEqual([
      { labels: theirs, value: NO_COVER_LIMIT_MINUTES - 11, state: 'Normal' },
      { labels: ours('HANLEY'), value: 0, state: 'Normal' },
      { labels: ours('LEEK'), value: NO_COVER_LIMIT_MINUTES - 1, state: 'Normal' },
    ]);
    expect(before.state).toBe('Normal');
    const after = await evaluate(NO_COVER_LIMIT_MINUTES + 1);
    expect(after.instances).toEqual([
      { labels: theirs, value: NO_COVER_LIMIT_MINUTES - 9, state: 'Normal' },
      { labels: ours('HANLEY'), value: 0, state: 'Normal' },
      { labels: ours('LEEK'), value: NO_COVER_LIMIT_MINUTES + 1, state: 'Alerting' },
    ]);
    expect(after.state).toBe('Alerting');
  });

  it('counts elapsed time across London midnight and the repeated hour, then resolves', async () => {
    // 01:29 UTC: 159 minutes since 22:50 UTC (23:50 BST → 01:29 GMT is 99 on the clock).
    const late = await evaluate(159);
    expect(late.instances).toEqual([
      { labels: theirs, value: 149, state: 'Alerting' },
      { labels: ours('HANLEY'), value: 0, state: 'Normal' },
      { labels: ours('LEEK'), value: 159, state: 'Alerting' },
    ]);
    // 01:31 UTC: our on-call pump is back (01:30); the whole-time one is still committed.
    const back = await evaluate(161);
    expect(back.instances).toEqual([
      { labels: theirs, value: 151, state: 'Alerting' },
      { labels: ours('HANLEY'), value: 0, state: 'Normal' },
      { labels: ours('LEEK'), value: 0, state: 'Normal' },
    ]);
  });

  it('counts a run begun before its one-day window from the last change before it', async () => {
    // 30 October 00:10 UTC: their pump off since 28 October 23:00 UTC, 25 h 10 min (one of them
    // the repeated hour), found as the change carried into the window.
    const next = await evaluate(25 * 60 + 20);
    expect(next.instances.find((one) => one.labels.agency === THEIRS)).toEqual({
      labels: theirs,
      value: 25 * 60 + 10,
      state: 'Alerting',
    });
  });

  it('shows the same on the dashboard: the station, and the appliances free to send now', async () => {
    const now = new Date(NO_COVER_FROM + (NO_COVER_LIMIT_MINUTES + 1) * MINUTE);
    const range = { from: new Date(now.getTime() - 86_400_000), to: now };
    const [without] = await show('Station grounds without an available appliance', range, [
      OURS.fire,
    ]);
    expect(without?.rows).toEqual([
      { agency: OURS.fire, station: 'LEEK', minutes_without: NO_COVER_LIMIT_MINUTES + 1 },
    ]);
    const [free] = await show('Appliances available now', range, [OURS.fire]);
    expect(free?.rows).toEqual([
      { appliances: 'HANLEY · wholetime', available: 1 },
      { appliances: 'LEEK · on_call', available: 0 },
      { appliances: 'LEEK · wholetime', available: 0 },
    ]);
    const [theirsNow] = await show('Station grounds without an available appliance', range, [
      THEIRS,
    ]);
    expect(theirsNow?.rows).toEqual([
      { agency: THEIRS, station: 'LEEK', minutes_without: NO_COVER_LIMIT_MINUTES - 9 },
    ]);
  });
});

describe('Appliances and cover panels give the query API’s figures (real ClickHouse)', () => {
  const request = { agencies: [OURS.fire], ...AUTUMN.period };

  it('utilisation by station', async () => {
    const [result] = await show('Utilisation by station', RANGE, [OURS.fire]);
    const api = await computeUtilisation(db.client, { ...request, groupBy: 'station' });
    expect(api.rows.length).toBeGreaterThan(0);
    expect(result?.rows.map((row) => row.station)).toEqual(api.rows.map((row) => row.group));
    for (const [index, row] of api.rows.entries()) {
      const shown = result?.rows[index] ?? {};
      expect(shown.utilisation as number).toBeCloseTo(row.utilisation ?? Number.NaN, 12);
    }
    // Busy at all: the scenario's appliances were committed.
    expect(api.rows.some((row) => (row.utilisation ?? 0) > 0)).toBe(true);
  });

  it('incidents in progress, the peak of every hour (0 where none)', async () => {
    const [result] = await show('Incidents in progress, peak per hour', RANGE, [OURS.fire]);
    const api = await computeConcurrency(db.client, { ...request, bucket: 'hour' });
    const epochs = await run(
      db.client,
      `SELECT toUnixTimestamp(time) * 1000 AS ms, "in progress (peak)" AS peak FROM (${result?.sql})`,
    );
    const byHour = new Map(api.series.map((row) => [Date.parse(row.bucket), row.peak]));
    // Every hour of the 49-hour range (the clocks-change day has 25), each its API peak or 0.
    expect(epochs.rows).toHaveLength(49);
    for (const row of epochs.rows) {
      expect(Number(row.peak), new Date(Number(row.ms)).toISOString()).toBe(
        byHour.get(Number(row.ms)) ?? 0,
      );
    }
    expect(Math.max(...epochs.rows.map((row) => Number(row.peak)))).toBe(
      Math.max(...api.series.map((row) => row.peak)),
    );
  });

  it('on-call cover and attendance: each side and the difference, as /v1/operations/cover', async () => {
    const standards = loadStandards();
    const [result] = await show('On-call cover and attendance', RANGE, [OURS.fire]);
    const overall = await computeCoverAttendance(db.client, standards, request);
    const perStation = await computeCoverAttendance(db.client, standards, {
      ...request,
      byStation: true,
    });
    const api = [...overall.differences, ...perStation.differences];
    expect(result?.rows.map((row) => row.station)).toEqual(api.map((row) => row.station));
    for (const [index, row] of api.entries()) {
      const shown = result?.rows[index] ?? {};
      expect(shown.n_on_run).toBe(row.n.available);
      expect(shown.n_off_run).toBe(row.n.unavailable);
      expect(shown.value_on_run).toBe(row.available?.value ?? null);
      expect(shown.value_off_run).toBe(row.unavailable?.value ?? null);
      expect(shown.mean_on_run).toBe(row.available?.meanSeconds ?? null);
      expect(shown.mean_off_run).toBe(row.unavailable?.meanSeconds ?? null);
      // One or two incidents a side: below the minimum sample, no difference.
      expect(row.insufficientData).toBe(true);
      expect(shown.share_difference).toBeNull();
      expect(shown.mean_seconds_difference).toBeNull();
    }
    // LEEK's ground has incidents on both sides (I5 with its pump off the run, docs/operations.md).
    expect(api.some((row) => row.n.available > 0 && row.n.unavailable > 0)).toBe(true);
  });

  it('the difference and its interval as coverDifferences computes them, the guard lowered to 1', async () => {
    const standards = loadStandards();
    const plan = planKpi(standards, {
      standard: 'fire-attendance-standard',
      agencies: [OURS.fire],
      from: AUTUMN.period.from,
      to: AUTUMN.period.to,
    });
    const version = plan.last.version as IncidentStandardVersion;
    const [result] = await show('On-call cover and attendance', RANGE, [OURS.fire]);
    const sql = (result?.sql ?? '').replace(/>= 30 AND (n_off_run) >= 30/, '>= 1 AND $1 >= 1');
    expect(sql).not.toBe(result?.sql);
    const lowered = await run(db.client, sql);
    const query = coverAttendanceQuery(
      plan.parts as VersionPart<IncidentStandardVersion>[],
      AUTUMN.period,
      [OURS.fire],
      true,
    );
    const kpiRows = await (
      await db.client.query({
        query: query.query,
        query_params: query.params,
        format: 'JSONEachRow',
      })
    ).json<KpiRow>();
    const expected = coverDifferences(
      version,
      kpiRows.map((row) => ({ ...row, n: Number(row.n), met: Number(row.met) })),
      1,
    );
    const both = expected.filter((row) => row.available && row.unavailable);
    expect(both.length).toBeGreaterThan(0);
    for (const row of both) {
      const shown = lowered.rows.find((one) => one.station === row.station) ?? {};
      expect(shown.share_difference as number).toBeCloseTo(row.shareDifference ?? Number.NaN, 12);
      expect(shown.share_difference_low as number).toBeCloseTo(
        row.shareDifference95?.[0] ?? Number.NaN,
        12,
      );
      expect(shown.share_difference_high as number).toBeCloseTo(
        row.shareDifference95?.[1] ?? Number.NaN,
        12,
      );
      expect(shown.mean_seconds_difference as number).toBeCloseTo(
        row.meanSecondsDifference ?? Number.NaN,
        9,
      );
    }
  });
});
