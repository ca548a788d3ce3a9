import { migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALERT_INCIDENTS,
  CALLS,
  DEAD_LETTER_BURST,
  DLQ_BURST,
  INCIDENTS,
  INTERVALS,
  incidentRow,
  rawRow,
  T1,
  T2,
  T3,
} from './fixtures.js';
import {
  allValues,
  type Dashboard,
  evaluateRule,
  panel,
  provisionedDashboards,
  provisionedRules,
  type Result,
  runPanel,
} from './grafana-run.js';

let db: Awaited<ReturnType<typeof migratedDatabase>>;
const dashboards = provisionedDashboards();
const byUid = (uid: string) => {
  const found = dashboards.find((candidate) => candidate.uid === uid);
  if (!found) throw new Error(`no dashboard ${uid}`);
  return found;
};

beforeAll(async () => {
  db = await migratedDatabase('dash');
  const insert = (table: string, values: unknown[]) =>
    db.client.insert({ table, format: 'JSONEachRow', values });
  await insert('incident_facts', [...INCIDENTS, ...ALERT_INCIDENTS].map(incidentRow));
  await insert('call_facts', CALLS);
  await insert('resource_intervals', INTERVALS);
  await insert('calls_5min', [
    {
      bucket: '2024-04-05 11:00:00',
      agency: 'a',
      line: '999',
      service: 'police',
      queue: '999-general',
      presented: 10,
      answered: 8,
      abandoned: 1,
      version: '2024-06-01 00:00:00',
      is_deleted: 0,
    },
    {
      bucket: '2024-04-05 11:05:00',
      agency: 'a',
      line: '101',
      service: 'police',
      queue: '101-general',
      presented: 4,
      answered: 4,
      abandoned: 0,
      version: '2024-06-01 00:00:00',
      is_deleted: 0,
    },
  ]);
  // The newest event ingested 20 s before T1; one late event and one correction.
  await insert('calls_raw', [
    rawRow('call_id', 'b1', '2024-04-05T11:05:00Z', '2024-04-05T11:59:40Z'),
    rawRow('call_id', 'b2', '2024-04-05T11:00:00Z', '2024-04-05T11:30:00Z', {
      corrects_event_id: 'x',
    }),
  ]);
  await insert('incidents_raw', [
    rawRow('incident_id', 'A1', '2024-04-05T09:00:00Z', '2024-04-05T09:00:02Z', {
      event_type: 'incident.created',
    }),
  ]);
  await insert('resources_raw', [
    rawRow('resource_id', 'LEEK-P1', '2024-04-05T11:58:00Z', '2024-04-05T11:58:01Z', {
      event_type: 'resource.status_changed',
    }),
  ]);
  await insert('dead_letters', [
    {
      failed_at: '2024-04-05 11:55:00.000',
      service: 'clickhouse-sink',
      original_topic: 'calls',
      error_class: 'contract',
      reason: 'bad',
      dead_letter_topic: 'calls.dlq',
    },
    ...DEAD_LETTER_BURST,
  ]);
});
afterAll(async () => {
  await db?.drop();
});

/** Runs a panel as Grafana would, with every variable at All (`$__all`) unless given. */
async function show(
  dashboard: Dashboard,
  title: string,
  range: { from: string | Date; to: string | Date },
  variables: Record<string, string[]> = {},
  intervalSeconds = 300,
): Promise<Result[]> {
  const context = { from: new Date(range.from), to: new Date(range.to), intervalSeconds };
  const all = await allValues(db.client, dashboard, context);
  return runPanel(db.client, panel(dashboard, title), {
    ...context,
    variables: { ...all, ...variables },
    all: Object.keys(all).filter((name) => !(name in variables)),
  });
}
const rows = (results: Result[], index = 0) => results[index]?.rows ?? [];
const epoch = (iso: string) => Date.parse(iso);
/** A DateTime('Europe/London') column as JSON gives London wall-clock time: back to an instant. */
const timeOf = (row: Record<string, unknown>) => row.time;

// London spring 2024 (BST from 31 March 01:00 UTC) as the dashboard's range.
const SPRING = { from: '2024-03-01T00:00:00Z', to: '2024-05-31T22:59:59Z' };

describe('response standards dashboard, on hand-built incidents (real ClickHouse)', () => {
  const page = byUid('bluelight-response-standards');

  it('buckets the attendance standard by London month, across the clocks change', async () => {
    const [first, second] = await show(page, 'Attendance standard met, by month', SPRING);
    // London midnights of the 1st: 1 March GMT, 1 April and 1 May BST (23:00 UTC the day before).
    expect(first?.rows.map((row) => [timeOf(row), row['First pump']])).toEqual([
      ['2024-03-01 00:00:00', 4 / 6],
      ['2024-04-01 00:00:00', 3 / 5],
      ['2024-05-01 00:00:00', 4 / 5],
    ]);
    expect(first?.meta.find((column) => column.name === 'time')?.type).toBe(
      "DateTime('Europe/London')",
    );
    // No incident has a second arrival: in scope but not measured — no figure, not zero.
    expect(second?.rows.map((row) => row['Second pump'])).toEqual([null, null, null]);
  });

  it('gives the same month instants as UTC epochs', async () => {
    const results = await show(page, 'Attendance standard met, by month', SPRING);
    const sql = results[0]?.sql ?? '';
    const epochs = await db.client.query({
      query: `SELECT toUnixTimestamp(time) * 1000 AS ms FROM (${sql}) ORDER BY ms`,
      format: 'JSONEachRow',
    });
    expect((await epochs.json<{ ms: string }>()).map((row) => Number(row.ms))).toEqual([
      epoch('2024-03-01T00:00:00Z'),
      epoch('2024-03-31T23:00:00Z'),
      epoch('2024-04-30T23:00:00Z'),
    ]);
  });

  it('breaks the standard down by station, risk band and category (NULL below the minimum sample)', async () => {
    const station = await show(page, 'Attendance standard met — by station', SPRING);
    expect(rows(station)).toEqual([
      { station: 'HANLEY', met_share: 6 / 9, n: 9 },
      { station: 'LEEK', met_share: 5 / 7, n: 7 },
    ]);
    const band = await show(page, 'Attendance standard met — by risk band', SPRING);
    expect(rows(band)).toEqual([
      { risk_band: 'high', met_share: 5 / 8, n: 8 },
      { risk_band: 'low', met_share: null, n: 3 },
      { risk_band: 'medium', met_share: 4 / 5, n: 5 },
    ]);
    const category = await show(page, 'Attendance standard met — by category', SPRING);
    expect(rows(category)).toEqual([
      { category: 'primary_fire', met_share: 10 / 15, n: 15 },
      { category: 'special_service', met_share: null, n: 1 },
    ]);
  });

  it('narrows every figure by the template variables', async () => {
    const leek = await show(page, 'Attendance standard met — by station', SPRING, {
      station: ['LEEK'],
    });
    expect(rows(leek)).toEqual([{ station: 'LEEK', met_share: 5 / 7, n: 7 }]);
    const highOnly = await show(page, 'Attendance standard met — by station', SPRING, {
      risk_band: ['high'],
    });
    // HANLEY high: M1✓ M2✗ M7✗ M6✗ A1✓ A4✓ Y3✓; LEEK high: A5✓.
    expect(rows(highOnly)).toEqual([
      { station: 'HANLEY', met_share: 4 / 7, n: 7 },
      { station: 'LEEK', met_share: null, n: 1 },
    ]);
  });

  it('sends 1=1 for a variable at All ($__conditionalAll), the filter for a subset', async () => {
    const [all] = await show(page, 'Attendance standard met — by station', SPRING);
    // service, station, category and risk band at All: four 1=1, no list of values sent.
    expect(all?.sql.match(/1=1/g)).toHaveLength(4);
    expect(all?.sql).not.toMatch(/station_ground IN \[/);
    expect(all?.rows).toEqual([
      { station: 'HANLEY', met_share: 6 / 9, n: 9 },
      { station: 'LEEK', met_share: 5 / 7, n: 7 },
    ]);
    // A subset, one with a quote: the station filter is sent, the other three stay 1=1.
    const [some] = await show(page, 'Attendance standard met — by station', SPRING, {
      station: ['LEEK', "ST O'NEILL"],
    });
    expect(some?.sql.match(/1=1/g)).toHaveLength(3);
    expect(some?.sql).toContain("station_ground IN ['LEEK','ST O\\'NEILL']");
    expect(some?.rows).toEqual([{ station: 'LEEK', met_share: 5 / 7, n: 7 }]);
    // Hand-written SQL too: open incidents at T1, all categories, then special services only.
    const control = byUid('bluelight-control-room');
    const day = { from: new Date(T1.getTime() - 86_400_000), to: T1 };
    const [open] = await show(control, 'Open incidents by category', day);
    expect(open?.sql.match(/1=1/g)).toHaveLength(4);
    expect(open?.rows).toEqual([
      { category: 'primary_fire', open: 1 },
      { category: 'special_service', open: 1 },
    ]);
    const [rescue] = await show(control, 'Open incidents by category', day, {
      category: ['special_service'],
    });
    expect(rescue?.sql).toContain("category IN ('special_service')");
    expect(rescue?.rows).toEqual([{ category: 'special_service', open: 1 }]);
  });

  it('offers every station as a value, quotes and all', async () => {
    const values = await allValues(db.client, page, {
      from: new Date(SPRING.from),
      to: new Date(SPRING.to),
    });
    expect(values.station).toEqual(['BIDDULPH', 'HANLEY', 'LEEK', "ST O'NEILL"]);
    expect(values.risk_band).toEqual(['high', 'low', 'medium']);
  });

  it('compares with the same months a year before', async () => {
    const [now, before] = await show(page, 'Attendance standard met, year on year', SPRING);
    expect(now?.rows.map((row) => row['This year'])).toEqual([4 / 6, 3 / 5, 4 / 5]);
    // March 2023 (2 of 5), drawn at March 2024.
    expect(before?.rows).toEqual([{ time: '2024-03-01 00:00:00', 'Year before': 2 / 5 }]);
  });

  it('shows mean, exact 90th percentile and the response segments per month', async () => {
    const [times, average] = await show(page, 'Attendance time: mean and 90th percentile', SPRING);
    const march = [420, 500, 590, 1000, 900, 305];
    const mean = march.reduce((a, b) => a + b, 0) / march.length;
    expect(times?.rows[0]).toEqual({
      time: '2024-03-01 00:00:00',
      Mean: mean,
      '90th percentile': 1000,
    });
    // fire-average-attendance: primary fires, not only life-risk ones — in March the same six.
    expect(average?.rows[0]).toEqual({
      time: '2024-03-01 00:00:00',
      'Average fire attendance': mean,
    });
    const [segments] = await show(page, 'Response segments (mean)', SPRING);
    const march0 = segments?.rows[0] ?? {};
    expect([march0.time, march0['Call handling'], march0.Turnout]).toEqual([
      '2024-03-01 00:00:00',
      90,
      60,
    ]);
    expect(march0.Travel).toBeCloseTo(mean - 150, 9);
  });

  it('counts exclusions by reason', async () => {
    const excluded = await show(page, 'Excluded from the attendance standard, by reason', SPRING);
    expect(Object.fromEntries(rows(excluded).map((row) => [row.reason, row.incidents]))).toEqual({
      'Late call': 1,
      'Derelict property': 0,
      'Abandoned road vehicle': 0,
      'Out of sequence': 0,
      'Over the time limit': 1,
      'Under the time limit': 1,
    });
  });

  it('puts demand in London weekday-hour cells', async () => {
    // Saturday 30 March to Monday 1 April: M5 at 00:58 GMT on Sunday, M6 at 00:30 BST on Monday.
    const grid = await show(page, 'Demand by day of week and hour (London)', {
      from: '2024-03-30T00:00:00Z',
      to: '2024-04-01T22:59:59Z',
    });
    expect(rows(grid).map((row) => [row.day, row['00'], row['23']])).toEqual([
      ['Mon', 1, 0],
      ['Sun', 1, 0],
    ]);
    expect(results(grid).meta.map((column) => column.name)).toHaveLength(25);
  });
});

const results = (list: Result[]) => {
  const first = list[0];
  if (!first) throw new Error('no result');
  return first;
};

describe('control room dashboard at T1 (real ClickHouse)', () => {
  const page = byUid('bluelight-control-room');
  const range = { from: new Date(T1.getTime() - 86_400_000), to: T1 };

  it('counts calls waiting now, by line', async () => {
    expect(rows(await show(page, 'Calls waiting now', range))).toEqual([
      { line: '101', waiting: 2 },
      { line: '999', waiting: 5 },
    ]);
  });

  it('judges 999 answering over the last hour only, with 10.0 s counted as within', async () => {
    expect(rows(await show(page, '999 answered within 10 s — last hour', range))).toEqual([
      { value: 6 / 8, n: 8, met: 6 },
    ]);
    expect(rows(await show(page, '999 answer times — last hour', range))).toEqual([
      { band: '< 10 s', calls: 4 },
      { band: '10–60 s', calls: 4 },
      { band: '≥ 60 s', calls: 0 },
    ]);
  });

  it('shows open incidents by category and appliances on the run now', async () => {
    expect(rows(await show(page, 'Open incidents by category', range))).toEqual([
      { category: 'primary_fire', open: 1 },
      { category: 'special_service', open: 1 },
    ]);
    expect(rows(await show(page, 'Appliances on the run now', range))).toEqual([
      { appliances: 'HANLEY · on_call', on_the_run: 1 },
      { appliances: 'HANLEY · wholetime', on_the_run: 1 },
      { appliances: 'LEEK · on_call', on_the_run: 1 },
    ]);
  });

  it('says "insufficient data" for the last 24 h of attendance (1 measured, 5 needed)', async () => {
    expect(rows(await show(page, 'Attendance standard — last 24 h', range))).toEqual([
      { value: null, n: 1, met: 1 },
    ]);
  });

  it('shows seconds since the last event per family', async () => {
    expect(rows(await show(page, 'Ingestion delay', range))).toEqual([
      { family: 'calls', delay_seconds: 20 },
      { family: 'incidents', delay_seconds: 3 * 3600 - 2 },
      { family: 'resources', delay_seconds: 119 },
    ]);
  });
});

describe('call handling and availability dashboards (real ClickHouse)', () => {
  it('buckets 999 answering by London day across the clocks change', async () => {
    const page = byUid('bluelight-call-handling');
    const byDay = await show(page, '999 answered within 10 s, by day', {
      from: '2024-03-30T00:00:00Z',
      to: '2024-04-01T22:59:59Z',
    });
    // 30 March (1 call), 31 March (4 of 5), 1 April (1 call: 23:30 UTC on 31 March).
    expect(rows(byDay)).toEqual([
      { time: '2024-03-30 00:00:00', 'Within 10 s': null },
      { time: '2024-03-31 00:00:00', 'Within 10 s': 4 / 5 },
      { time: '2024-04-01 00:00:00', 'Within 10 s': null },
    ]);
  });

  it('shows 101 triage from the calls-101-triage standard', async () => {
    const page = byUid('bluelight-call-handling');
    const triage = await show(page, '101 resolved at triage', {
      from: '2024-04-05T00:00:00Z',
      to: '2024-04-05T12:00:00Z',
    });
    expect(rows(triage)).toEqual([{ value: 3 / 5, mean_seconds: 180, n: 5 }]);
  });

  it('computes on-call availability and off-run hours for a London day', async () => {
    const page = byUid('bluelight-availability');
    // 5 April 2024 (BST): 23:00 UTC on the 4th to 23:00 UTC on the 5th.
    const day = { from: '2024-04-04T23:00:00Z', to: '2024-04-05T22:59:59Z' };
    // P1 06:00–23:00 on (1,020 min); P2 08:00–23:00 off (900); P3 11:00–11:50 off (50), then on (670).
    const [onCall] = await show(page, 'On-call availability', day);
    expect(onCall?.rows[0]?.value).toBeCloseTo(1690 / 2640, 12);
    expect(onCall?.rows[0]?.hours).toBeCloseTo(2640 / 60, 9);
    const offRun = rows(await show(page, 'Off-run hours by reason', day));
    expect(offRun.map((row) => [row.crewing, row.reason, Number(row.hours).toFixed(4)])).toEqual([
      ['On-call', 'crewing', (900 / 60).toFixed(4)],
      ['On-call', 'training', (50 / 60).toFixed(4)],
    ]);
    const stations = rows(await show(page, 'Availability beside attendance, by station', day));
    expect(stations).toEqual([
      {
        station: 'HANLEY',
        wholetime_availability: 1,
        on_call_availability: 670 / 720,
        attendance_met: null,
        incidents_measured: 1,
      },
      {
        station: 'LEEK',
        wholetime_availability: null,
        on_call_availability: 1020 / 1920,
        attendance_met: null,
        incidents_measured: null,
      },
    ]);
  });
});

describe('every panel query runs and returns what its panel needs', () => {
  const NUMBER = /^(Nullable\()?(U?Int\d+|Float\d+|Decimal)/;
  const TIME = /^(Nullable\()?(DateTime|Date)/;
  for (const dashboard of dashboards) {
    for (const target of dashboard.panels) {
      it(`${dashboard.title}: ${target.title}`, async () => {
        const results = await show(dashboard, target.title, {
          from: '2024-03-01T00:00:00Z',
          to: T1,
        });
        for (const [index, result] of results.entries()) {
          const format = target.targets[index]?.format;
          const types = result.meta.map((column) => column.type);
          expect(
            types.some((type) => NUMBER.test(type)),
            result.sql,
          ).toBe(true);
          if (format === 0) {
            // Time series: the time first, values and String labels after.
            expect(result.meta[0]?.name).toBe('time');
            expect(result.meta[0]?.type).toMatch(TIME);
          }
          if (
            ['barchart', 'table'].includes(target.type) &&
            target.title !== 'Availability beside attendance, by station'
          ) {
            // The label column is a String (not LowCardinality), for the x axis or the row name.
            expect(result.meta[0]?.type, result.meta[0]?.name).toBe('String');
          }
          for (const column of result.meta) {
            expect(column.type, column.name).not.toMatch(/LowCardinality|Map|Array/);
          }
        }
      });
    }
  }
});

describe('alert rules, evaluated as Grafana would (real ClickHouse)', () => {
  const rules = provisionedRules();
  const rule = (uid: string) => {
    const found = rules.find((candidate) => candidate.uid === uid);
    if (!found) throw new Error(`no rule ${uid}`);
    return found;
  };
  const evaluate = (uid: string, now: Date) => evaluateRule(db.client, rule(uid), now);
  const state = async (uid: string, now: Date) => (await evaluate(uid, now)).state;

  it('provisions exactly the rules below, each with a runbook section', () => {
    expect(rules.map((candidate) => candidate.uid)).toEqual([
      'bluelight-999-answer-missed',
      'bluelight-999-answer-at-risk',
      'bluelight-attendance-standard-28d',
      'bluelight-attendance-projected-miss',
      'bluelight-on-call-availability',
      'bluelight-calls-waiting',
      'bluelight-ingestion-delay',
      'bluelight-dead-letters',
    ]);
  });

  it('999 within 10 s: fires below 90%, silent when met', async () => {
    const missed = await evaluate('bluelight-999-answer-missed', T1);
    // 6 of 8 answered within 10 s.
    expect(missed.instances).toEqual([{ labels: {}, value: 0.75, state: 'Alerting' }]);
    expect(missed.state).toBe('Alerting');
    expect(await state('bluelight-999-answer-missed', T2)).toBe('Normal');
    expect(await state('bluelight-999-answer-missed', T3)).toBe('Normal');
  });

  it('999 about to be missed: fires from 90% to 92%, silent at 100% and once the target is missed', async () => {
    const atRisk = await evaluate('bluelight-999-answer-at-risk', T3);
    expect(atRisk.instances).toEqual([{ labels: {}, value: 10 / 11, state: 'Alerting' }]);
    expect(await state('bluelight-999-answer-at-risk', T2)).toBe('Normal');
    // 6 of 8 (75%): the critical rule fires (above), this one stays quiet — one alert, not two.
    const missed = await evaluate('bluelight-999-answer-at-risk', T1);
    expect(missed.instances).toEqual([{ labels: {}, value: 0.75, state: 'Normal' }]);
  });

  it('attendance over the last 28 days, per station: HANLEY at 5 of 8 alerts, LEEK does not, BIDDULPH (2 measured) has no instance', async () => {
    // 28 September 12:00: 31 August 12:00 onwards — HANLEY ✗✗✗ (2–4 Sep) ✓✓✓✓✓ (20–24 Sep).
    const missed = await evaluate(
      'bluelight-attendance-standard-28d',
      new Date('2024-09-28T12:00:00Z'),
    );
    expect(missed.instances).toEqual([
      { labels: { station: 'HANLEY' }, value: 5 / 8, state: 'Alerting' },
      { labels: { station: 'LEEK' }, value: 1, state: 'Normal' },
    ]);
    expect(missed.state).toBe('Alerting');
    // 4 October 12:00: HANLEY's misses have left the window — 5 of 5; LEEK 5 of 5.
    const met = await evaluate(
      'bluelight-attendance-standard-28d',
      new Date('2024-10-04T12:00:00Z'),
    );
    expect(met.instances).toEqual([
      { labels: { station: 'HANLEY' }, value: 1, state: 'Normal' },
      { labels: { station: 'LEEK' }, value: 1, state: 'Normal' },
    ]);
    expect(met.state).toBe('Normal');
    // Spring, 5 May: 3 measured at each station, fewer than 5 — no instance, no alarm.
    expect(await state('bluelight-attendance-standard-28d', new Date('2024-05-06T00:00:00Z'))).toBe(
      'NoData',
    );
    expect(rule('bluelight-attendance-standard-28d').noDataState).toBe('OK');
  });

  it('projected miss: the month so far plus the remaining days at the last 28 days’ rate', async () => {
    // 15 September 12:00 (London 13:00), 15 days of September left. HANLEY: month 0 of 3; last 28
    // days (from 18 August 12:00) 5 of 8 → n = 3 + 8·15/28, met = 0 + 5·15/28 → 25/68.
    const projected = await evaluate(
      'bluelight-attendance-projected-miss',
      new Date('2024-09-15T12:00:00Z'),
    );
    const hanley = (0 + (5 * 15) / 28) / (3 + (8 * 15) / 28);
    expect(hanley).toBeCloseTo(25 / 68, 15);
    // LEEK: 5 of 5 and 5 of 5 → 1. BIDDULPH: 1 + 1·15/28 < 5 projected measured → no instance.
    expect(projected.instances.map((instance) => instance.labels.station)).toEqual([
      'HANLEY',
      'LEEK',
    ]);
    expect(projected.instances[0]?.value).toBeCloseTo(hanley, 12);
    expect(projected.instances[0]?.state).toBe('Alerting');
    expect(projected.instances[1]).toEqual({
      labels: { station: 'LEEK' },
      value: 1,
      state: 'Normal',
    });
    expect(projected.state).toBe('Alerting');
    // 30 August 12:00, one day left: HANLEY 5 of 5 this month and in the last 28 days → 1.
    const onTrack = await evaluate(
      'bluelight-attendance-projected-miss',
      new Date('2024-08-30T12:00:00Z'),
    );
    expect(onTrack.instances).toEqual([
      { labels: { station: 'HANLEY' }, value: 1, state: 'Normal' },
    ]);
    expect(onTrack.state).toBe('Normal');
  });

  it('on-call availability per station: LEEK at 15 of 30 minutes alerts, HANLEY at 10 of 15 does not', async () => {
    const low = await evaluate('bluelight-on-call-availability', T1);
    // 11:45–12:00: LEEK-P1 on 15 min, LEEK-P2 off 15 min; HANLEY-P3 off until 11:50, then on.
    expect(low.instances.map((instance) => instance.labels)).toEqual([
      { station: 'HANLEY' },
      { station: 'LEEK' },
    ]);
    expect(low.instances[0]?.value).toBeCloseTo(10 / 15, 12);
    expect(low.instances[0]?.state).toBe('Normal');
    expect(low.instances[1]).toEqual({
      labels: { station: 'LEEK' },
      value: 0.5,
      state: 'Alerting',
    });
    expect(low.state).toBe('Alerting');
    const allOn = await evaluate('bluelight-on-call-availability', T2);
    expect(allOn.instances).toEqual([
      { labels: { station: 'HANLEY' }, value: 1, state: 'Normal' },
      { labels: { station: 'LEEK' }, value: 1, state: 'Normal' },
    ]);
    expect(allOn.state).toBe('Normal');
  });

  it('calls waiting: fires at 7 (> 5), silent at 0', async () => {
    const busy = await evaluate('bluelight-calls-waiting', T1);
    expect(busy.instances).toEqual([{ labels: {}, value: 7, state: 'Alerting' }]);
    expect(await state('bluelight-calls-waiting', T2)).toBe('Normal');
  });

  it('ingestion stalled: silent at 20 s, fires at 320 s', async () => {
    const fresh = await evaluate('bluelight-ingestion-delay', T1);
    expect(fresh.instances).toEqual([{ labels: {}, value: 20, state: 'Normal' }]);
    const stale = await evaluate('bluelight-ingestion-delay', new Date(T1.getTime() + 300_000));
    expect(stale.instances).toEqual([{ labels: {}, value: 320, state: 'Alerting' }]);
    expect(stale.state).toBe('Alerting');
  });

  it('dead-letter rate per topic: 8 in 10 minutes (0.8/min) alerts, 1 (0.1/min) does not', async () => {
    const burst = await evaluate('bluelight-dead-letters', DLQ_BURST);
    expect(burst.instances).toEqual([
      { labels: { topic: 'calls' }, value: 0.1, state: 'Normal' },
      { labels: { topic: 'incidents' }, value: 0.8, state: 'Alerting' },
    ]);
    expect(burst.state).toBe('Alerting');
    const one = await evaluate('bluelight-dead-letters', T1);
    expect(one.instances).toEqual([{ labels: { topic: 'calls' }, value: 0.1, state: 'Normal' }]);
    expect(one.state).toBe('Normal');
    // None at all: no rows, which the rule treats as OK.
    expect(await state('bluelight-dead-letters', T2)).toBe('NoData');
    expect(rule('bluelight-dead-letters').noDataState).toBe('OK');
  });
});
