import { landEvents } from '@bluelight/clickhouse-sink/testing/events';
import { migratedDatabase } from '@bluelight/test/harness';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgencyData,
  DLQ_BURST,
  NEIGHBOUR_DATA,
  OUR_AGENCIES,
  OUR_DATA,
  OURS,
  PLATFORM_DEAD_LETTERS,
  T1,
  T2,
  T3,
  THEIRS,
} from './testing/fixtures.js';
import {
  allValues,
  type Dashboard,
  type Evaluation,
  evaluateRule,
  panel,
  provisionedDashboards,
  provisionedRules,
  type Result,
  runPanel,
} from './testing/grafana-run.js';

type Database = Awaited<ReturnType<typeof migratedDatabase>>;
/** Both services' rows in one database, as one deployment serves them. */
let db: Database;
/** The same rows of each service alone: what its figures must be, whoever else is in `db`. */
let oursAlone: Database;
let theirsAlone: Database;
const dashboards = provisionedDashboards();
const byUid = (uid: string) => {
  const found = dashboards.find((candidate) => candidate.uid === uid);
  if (!found) throw new Error(`no dashboard ${uid}`);
  return found;
};

async function load(target: Database, data: AgencyData[]) {
  await landEvents(
    target.client,
    data.flatMap((agency) => agency.events),
  );
  for (const table of Object.keys(data[0]?.raw ?? {}) as (keyof AgencyData['raw'])[]) {
    const values = data.flatMap((agency) => agency.raw[table]);
    if (values.length > 0) await target.client.insert({ table, format: 'JSONEachRow', values });
  }
  await target.client.insert({
    table: 'dead_letters',
    format: 'JSONEachRow',
    values: PLATFORM_DEAD_LETTERS(),
  });
}

beforeAll(async () => {
  [db, oursAlone, theirsAlone] = await Promise.all([
    migratedDatabase('dash'),
    migratedDatabase('dash_ours'),
    migratedDatabase('dash_theirs'),
  ]);
  await load(db, [OUR_DATA, NEIGHBOUR_DATA]);
  await load(oursAlone, [OUR_DATA]);
  await load(theirsAlone, [NEIGHBOUR_DATA]);
});
afterAll(async () => {
  await Promise.all([db?.drop(), oursAlone?.drop(), theirsAlone?.drop()]);
});

/**
 * Runs a panel as Grafana would on `client`, with every variable at All (`$__all`) unless given
 * — `agency` included, when `agency` is `'All'`.
 */
async function showOn(
  client: ClickHouseClient,
  dashboard: Dashboard,
  title: string,
  range: { from: string | Date; to: string | Date },
  variables: Record<string, string[]>,
  intervalSeconds = 300,
): Promise<Result[]> {
  const context = { from: new Date(range.from), to: new Date(range.to), intervalSeconds };
  const all = await allValues(client, dashboard, context);
  return runPanel(client, panel(dashboard, title), {
    ...context,
    variables: { ...all, ...variables },
    all: Object.keys(all).filter((name) => !(name in variables)),
  });
}

/** A panel on the shared database, for Staffordshire's agencies unless `agency` is given. */
const show = (
  dashboard: Dashboard,
  title: string,
  range: { from: string | Date; to: string | Date },
  variables: Record<string, string[]> = {},
  intervalSeconds = 300,
) =>
  showOn(
    db.client,
    dashboard,
    title,
    range,
    { agency: OUR_AGENCIES, ...variables },
    intervalSeconds,
  );

/** The same panel for the neighbour's agency. */
const showTheirs = (
  dashboard: Dashboard,
  title: string,
  range: { from: string | Date; to: string | Date },
  variables: Record<string, string[]> = {},
) => show(dashboard, title, range, { agency: [THEIRS], ...variables });

/** A panel with the agency variable at All: every agency counted together. */
async function showEveryAgency(
  dashboard: Dashboard,
  title: string,
  range: { from: string | Date; to: string | Date },
) {
  return showOn(db.client, dashboard, title, range, {});
}
/**
 * Panels that show both agencies the same: the pipeline's dead letters, which have no agency; and
 * utilisation, 0 at both agencies' HANLEY and LEEK (no fixture appliance is ever committed;
 * appliances-cover.int.test.ts tests it on committed appliances).
 */
const EXPECTED_SAME = [
  'Pipeline health: Dead letters per minute, by error class',
  'Pipeline health: Dead letters — last 10 minutes',
  'Appliances and cover: Utilisation by station',
];

/**
 * A data-quality record of late ingest says when its events landed, which differs between two
 * databases landed at different moments: compared without those times (the record itself must
 * still be there).
 */
function withoutIngestTimes(row: Record<string, unknown>): Record<string, unknown> {
  if (row.check !== 'late_ingest') return row;
  const { detail: _detail, seconds: _seconds, ...rest } = row;
  return rest;
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

  it('offers every station as a value', async () => {
    const values = await allValues(db.client, page, {
      from: new Date(SPRING.from),
      to: new Date(SPRING.to),
    });
    expect(values.station).toEqual(['BIDDULPH', 'HANLEY', 'LEEK', 'STONE']);
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
      // PERCENTILE.INC (the standards' default): h = 0.9 × 5 + 1 = 5.5, 900 + 0.5 × 100.
      '90th percentile': 950,
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
      // The bands agree with the standard: the 6 within 10 s (10.0 s among them) in the first.
      { band: '≤ 10 s', calls: 6 },
      { band: '10–60 s', calls: 2 },
      { band: '> 60 s', calls: 0 },
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

describe('one Grafana, several services: the agency variable (real ClickHouse)', () => {
  const day = { from: new Date(T1.getTime() - 86_400_000), to: T1 };

  it('offers every agency with facts, and narrows the attendance standard to the neighbour’s own', async () => {
    const page = byUid('bluelight-response-standards');
    const values = await allValues(db.client, page, {
      from: new Date(SPRING.from),
      to: new Date(SPRING.to),
    });
    expect(values.agency).toEqual([THEIRS, OURS.control, OURS.fire]);
    // Theirs: HANLEY CH-M1 ✓ M2 ✗ M5 ✓ M6 ✓ A1 ✗ → 3 of 5; LEEK M3 ✓ M4 ✓ A2 ✓ → 3 measured.
    // Ours at the same stations (above): HANLEY 6 of 9, LEEK 5 of 7.
    expect(rows(await showTheirs(page, 'Attendance standard met — by station', SPRING))).toEqual([
      { station: 'HANLEY', met_share: 0.6, n: 5 },
      { station: 'LEEK', met_share: null, n: 3 },
    ]);
    // By London month: March M1–M6 5 of 6; April A1, A2 2 measured (no figure).
    const [monthly] = await showTheirs(page, 'Attendance standard met, by month', SPRING);
    expect(monthly?.rows.map((row) => [timeOf(row), row['First pump']])).toEqual([
      ['2024-03-01 00:00:00', 5 / 6],
      ['2024-04-01 00:00:00', null],
    ]);
    // Both agencies chosen: HANLEY 6 + 3 of 9 + 5, LEEK 5 + 3 of 7 + 3 — counted together.
    expect(
      rows(
        await show(page, 'Attendance standard met — by station', SPRING, {
          agency: [THEIRS, OURS.fire],
        }),
      ),
    ).toEqual([
      { station: 'HANLEY', met_share: 9 / 14, n: 14 },
      { station: 'LEEK', met_share: 8 / 10, n: 10 },
    ]);
  });

  it('shows the control room of the neighbour its own calls, incidents and appliances', async () => {
    const page = byUid('bluelight-control-room');
    expect(rows(await showTheirs(page, 'Calls waiting now', day))).toEqual([
      { line: '999', waiting: 2 },
    ]);
    expect(rows(await showTheirs(page, '999 answered within 10 s — last hour', day))).toEqual([
      { value: 1, n: 5, met: 5 },
    ]);
    expect(rows(await showTheirs(page, 'Open incidents by category', day))).toEqual([
      { category: 'primary_fire', open: 1 },
    ]);
    expect(rows(await showTheirs(page, 'Appliances on the run now', day))).toEqual([
      { appliances: 'HANLEY · on_call', on_the_run: 0 },
      { appliances: 'LEEK · on_call', on_the_run: 1 },
    ]);
    // CH-A1, 600 s at high risk: measured, missed — one, below the minimum sample.
    expect(rows(await showTheirs(page, 'Attendance standard — last 24 h', day))).toEqual([
      { value: null, n: 1, met: 0 },
    ]);
    const delay = rows(await showTheirs(page, 'Ingestion delay', day));
    expect(delay.slice(0, 2)).toEqual([
      { family: 'calls', delay_seconds: 100 },
      { family: 'incidents', delay_seconds: 3600 },
    ]);
  });

  it('computes the neighbour’s on-call availability for a London day from its pumps alone', async () => {
    const page = byUid('bluelight-availability');
    const londonDay = { from: '2024-04-04T23:00:00Z', to: '2024-04-05T22:59:59Z' };
    // CH-LEEK-P1 on 00:00–23:00 UTC (1,380 min); CH-HANLEY-P2 on until 11:40 (700), then off (680).
    const [onCall] = await showTheirs(page, 'On-call availability', londonDay);
    expect(onCall?.rows[0]?.value).toBeCloseTo(2080 / 2760, 12);
    expect(onCall?.rows[0]?.hours).toBeCloseTo(46, 9);
    const offRun = rows(await showTheirs(page, 'Off-run hours by reason', londonDay));
    expect(offRun.map((row) => [row.crewing, row.reason, Number(row.hours).toFixed(4)])).toEqual([
      ['On-call', 'crewing', (680 / 60).toFixed(4)],
    ]);
  });

  it('at All counts every agency together and sends 1=1 for the agency too', async () => {
    const control = byUid('bluelight-control-room');
    const [waiting] = await showEveryAgency(control, 'Calls waiting now', day);
    // Ours 5 (999) and 2 (101), theirs 2 (999).
    expect(waiting?.rows).toEqual([
      { line: '101', waiting: 2 },
      { line: '999', waiting: 7 },
    ]);
    expect(waiting?.sql).not.toMatch(/agency IN/);
    const page = byUid('bluelight-response-standards');
    const [all] = await showEveryAgency(page, 'Attendance standard met — by station', SPRING);
    // service, station, category and risk band at All, and the agency in every fact-table read.
    const reads = all?.sql.match(
      /FROM (incident_facts|incident_fact_revisions|fact_anchor_exceptions)\b/g,
    );
    expect(reads?.length).toBeGreaterThanOrEqual(4);
    expect(all?.sql.match(/1=1/g)).toHaveLength(4 + (reads?.length ?? 0));
    expect(all?.sql).not.toMatch(/agency IN/);
    const [chosen] = await show(page, 'Attendance standard met — by station', SPRING);
    expect(chosen?.sql).toContain("agency IN ['staffordshire-control','staffordshire-fire']");
  });

  it('shows each agency on every panel exactly what that panel shows on a database of its own', async () => {
    const range = { from: '2024-03-01T00:00:00Z', to: T1 };
    const same: string[] = [];
    let panels = 0;
    for (const dashboard of dashboards) {
      for (const target of dashboard.panels) {
        const what = `${dashboard.title}: ${target.title}`;
        const run = (client: ClickHouseClient, agency: string[]) =>
          showOn(client, dashboard, target.title, range, { agency }).then((results) =>
            results.map((result) => result.rows.map(withoutIngestTimes)),
          );
        const oursShared = await run(db.client, OUR_AGENCIES);
        const theirsShared = await run(db.client, [THEIRS]);
        expect(oursShared, `${what}: ours`).toEqual(await run(oursAlone.client, OUR_AGENCIES));
        expect(theirsShared, `${what}: theirs`).toEqual(await run(theirsAlone.client, [THEIRS]));
        panels++;
        if (JSON.stringify(oursShared) === JSON.stringify(theirsShared)) same.push(what);
      }
    }
    expect(panels).toBeGreaterThan(25);
    // The two agencies' figures differ on every panel but the pipeline's dead letters (no agency)
    // and those where neither has data in the range.
    expect(same).toEqual(EXPECTED_SAME);
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
  const ours = { agency: OURS.fire };
  const theirs = { agency: THEIRS };

  it('provisions exactly the rules below, each with a runbook section', () => {
    expect(rules.map((candidate) => candidate.uid)).toEqual([
      'bluelight-999-answer-missed',
      'bluelight-999-answer-at-risk',
      'bluelight-attendance-standard-28d',
      'bluelight-attendance-projected-miss',
      'bluelight-on-call-availability',
      'bluelight-station-without-cover',
      'bluelight-calls-waiting',
      'bluelight-ingestion-delay',
      'bluelight-dead-letters',
    ]);
  });

  it('999 within 10 s, per agency: fires below 90%, silent when met', async () => {
    const missed = await evaluate('bluelight-999-answer-missed', T1);
    // Staffordshire's control room: 6 of 8 answered within 10 s. The neighbour: 5 of 5.
    expect(missed.instances).toEqual([
      { labels: { agency: THEIRS }, value: 1, state: 'Normal' },
      { labels: { agency: OURS.control }, value: 0.75, state: 'Alerting' },
    ]);
    expect(missed.state).toBe('Alerting');
    expect(await state('bluelight-999-answer-missed', T2)).toBe('Normal');
    expect(await state('bluelight-999-answer-missed', T3)).toBe('Normal');
  });

  it('999 about to be missed: fires from 90% to 92%, silent at 100% and once the target is missed', async () => {
    const atRisk = await evaluate('bluelight-999-answer-at-risk', T3);
    expect(atRisk.instances).toEqual([
      { labels: { agency: OURS.control }, value: 10 / 11, state: 'Alerting' },
    ]);
    expect(await state('bluelight-999-answer-at-risk', T2)).toBe('Normal');
    // 6 of 8 (75%): the critical rule fires (above), this one stays quiet — one alert, not two.
    const missed = await evaluate('bluelight-999-answer-at-risk', T1);
    expect(missed.instances).toEqual([
      { labels: { agency: THEIRS }, value: 1, state: 'Normal' },
      { labels: { agency: OURS.control }, value: 0.75, state: 'Normal' },
    ]);
  });

  it('attendance over the last 28 days, per agency and station: each HANLEY judged on its own incidents', async () => {
    // 28 September 12:00: 31 August 12:00 onwards — our HANLEY ✗✗✗ (2–4 Sep) ✓✓✓✓✓ (20–24 Sep);
    // theirs ✗✗✗✗✗ (20–24 Sep), at a station of the same name.
    const missed = await evaluate(
      'bluelight-attendance-standard-28d',
      new Date('2024-09-28T12:00:00Z'),
    );
    expect(missed.instances).toEqual([
      { labels: { ...theirs, station: 'HANLEY' }, value: 0, state: 'Alerting' },
      { labels: { ...ours, station: 'HANLEY' }, value: 5 / 8, state: 'Alerting' },
      { labels: { ...ours, station: 'LEEK' }, value: 1, state: 'Normal' },
    ]);
    expect(missed.state).toBe('Alerting');
    // 4 October 12:00: our HANLEY's misses have left the window — 5 of 5; LEEK 5 of 5. Theirs
    // still 0 of 5: the rule fires for their HANLEY alone.
    const later = await evaluate(
      'bluelight-attendance-standard-28d',
      new Date('2024-10-04T12:00:00Z'),
    );
    expect(later.instances).toEqual([
      { labels: { ...theirs, station: 'HANLEY' }, value: 0, state: 'Alerting' },
      { labels: { ...ours, station: 'HANLEY' }, value: 1, state: 'Normal' },
      { labels: { ...ours, station: 'LEEK' }, value: 1, state: 'Normal' },
    ]);
    // Spring, 5 May: 3 measured at each of our stations, fewer than 5 — no instance, no alarm.
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
    // The neighbour has nothing yet in September or the 28 days before: no instance.
    expect(projected.instances.map((instance) => instance.labels)).toEqual([
      { ...ours, station: 'HANLEY' },
      { ...ours, station: 'LEEK' },
    ]);
    expect(projected.instances[0]?.value).toBeCloseTo(hanley, 12);
    expect(projected.instances[0]?.state).toBe('Alerting');
    expect(projected.instances[1]).toEqual({
      labels: { ...ours, station: 'LEEK' },
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
      { labels: { ...ours, station: 'HANLEY' }, value: 1, state: 'Normal' },
    ]);
    expect(onTrack.state).toBe('Normal');
    // 25 September 12:00, 5 days left. Theirs: 0 of 5 this month and in the last 28 days → 0.
    // Ours: month 5 of 8; last 28 days (from 28 August 12:00) G29 ✓, ✗✗✗, ✓✓✓✓✓ → 6 of 9, so
    // (5 + 6·5/28) / (8 + 9·5/28) = 170/269. LEEK 1; BIDDULPH 2 + 2·5/28 < 5 → no instance.
    const late = await evaluate(
      'bluelight-attendance-projected-miss',
      new Date('2024-09-25T12:00:00Z'),
    );
    expect(late.instances.map(({ labels, state }) => ({ labels, state }))).toEqual([
      { labels: { ...theirs, station: 'HANLEY' }, state: 'Alerting' },
      { labels: { ...ours, station: 'HANLEY' }, state: 'Alerting' },
      { labels: { ...ours, station: 'LEEK' }, state: 'Normal' },
    ]);
    expect(late.instances[0]?.value).toBe(0);
    expect(late.instances[1]?.value).toBeCloseTo(170 / 269, 12);
    expect(late.instances[2]?.value).toBe(1);
  });

  it('on-call availability per agency and station: our LEEK and their HANLEY alert, not the others', async () => {
    const low = await evaluate('bluelight-on-call-availability', T1);
    // 11:45–12:00: our LEEK-P1 on 15 min, LEEK-P2 off 15 min; our HANLEY-P3 off until 11:50,
    // then on. Their HANLEY pump off since 11:40; their LEEK pump on.
    expect(low.instances.map((instance) => instance.labels)).toEqual([
      { ...theirs, station: 'HANLEY' },
      { ...theirs, station: 'LEEK' },
      { ...ours, station: 'HANLEY' },
      { ...ours, station: 'LEEK' },
    ]);
    expect(low.instances[0]).toEqual({
      labels: { ...theirs, station: 'HANLEY' },
      value: 0,
      state: 'Alerting',
    });
    expect(low.instances[1]).toEqual({
      labels: { ...theirs, station: 'LEEK' },
      value: 1,
      state: 'Normal',
    });
    expect(low.instances[2]?.value).toBeCloseTo(10 / 15, 12);
    expect(low.instances[2]?.state).toBe('Normal');
    expect(low.instances[3]).toEqual({
      labels: { ...ours, station: 'LEEK' },
      value: 0.5,
      state: 'Alerting',
    });
    expect(low.state).toBe('Alerting');
    // The next day all of ours are on the run; their HANLEY pump is still off.
    const next = await evaluate('bluelight-on-call-availability', T2);
    expect(next.instances).toEqual([
      { labels: { ...theirs, station: 'HANLEY' }, value: 0, state: 'Alerting' },
      { labels: { ...theirs, station: 'LEEK' }, value: 1, state: 'Normal' },
      { labels: { ...ours, station: 'HANLEY' }, value: 1, state: 'Normal' },
      { labels: { ...ours, station: 'LEEK' }, value: 1, state: 'Normal' },
    ]);
  });

  it('calls waiting per agency: ours fires at 7 (> 5), theirs is silent at 2, and at 0', async () => {
    const busy = await evaluate('bluelight-calls-waiting', T1);
    expect(busy.instances).toEqual([
      { labels: { agency: THEIRS }, value: 2, state: 'Normal' },
      { labels: { agency: OURS.control }, value: 7, state: 'Alerting' },
    ]);
    // The next day: our calls of the last hour all answered (0); the neighbour had none (no instance).
    const calm = await evaluate('bluelight-calls-waiting', T2);
    expect(calm.instances).toEqual([
      { labels: { agency: OURS.control }, value: 0, state: 'Normal' },
    ]);
    expect(calm.state).toBe('Normal');
    expect(rule('bluelight-calls-waiting').noDataState).toBe('OK');
  });

  it('ingestion stalled: silent at 20 s, fires at 320 s — over every agency’s events', async () => {
    const fresh = await evaluate('bluelight-ingestion-delay', T1);
    expect(fresh.instances).toEqual([{ labels: {}, value: 20, state: 'Normal' }]);
    const stale = await evaluate('bluelight-ingestion-delay', new Date(T1.getTime() + 300_000));
    expect(stale.instances).toEqual([{ labels: {}, value: 320, state: 'Alerting' }]);
    expect(stale.state).toBe('Alerting');
    // The pipeline's own health: the neighbour's newest event alone is 100 s old.
    const theirsOnly = await evaluateRule(
      theirsAlone.client,
      rule('bluelight-ingestion-delay'),
      T1,
    );
    expect(theirsOnly.instances).toEqual([{ labels: {}, value: 100, state: 'Alerting' }]);
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

  /** Every instant a rule is evaluated at above. */
  const INSTANTS = [
    T1,
    T2,
    T3,
    DLQ_BURST,
    new Date('2024-05-06T00:00:00Z'),
    new Date('2024-08-30T12:00:00Z'),
    new Date('2024-09-15T12:00:00Z'),
    new Date('2024-09-25T12:00:00Z'),
    new Date('2024-09-28T12:00:00Z'),
    new Date('2024-10-04T12:00:00Z'),
  ];
  const PLATFORM_RULES = ['bluelight-ingestion-delay', 'bluelight-dead-letters'];
  const instancesOf = (evaluation: Evaluation, agencies: readonly string[]) =>
    evaluation.instances.filter((instance) => agencies.includes(instance.labels.agency ?? ''));

  it('labels every instance of every other rule with its agency, and judges each agency on its rows alone', async () => {
    let compared = 0;
    for (const candidate of rules.filter((found) => !PLATFORM_RULES.includes(found.uid))) {
      for (const now of INSTANTS) {
        const what = `${candidate.uid} at ${now.toISOString()}`;
        const shared = await evaluateRule(db.client, candidate, now);
        for (const instance of shared.instances) {
          expect(instance.labels.agency, what).toMatch(/^[a-z][a-z0-9-]+$/);
        }
        // An agency's instances beside another's are exactly its instances on its own.
        const alone = [
          [OUR_AGENCIES, await evaluateRule(oursAlone.client, candidate, now)],
          [[THEIRS], await evaluateRule(theirsAlone.client, candidate, now)],
        ] as const;
        for (const [agencies, evaluation] of alone) {
          expect(instancesOf(shared, agencies), `${what}, ${agencies.join(' ')}`).toEqual(
            evaluation.instances,
          );
          compared += evaluation.instances.length;
        }
        expect(shared.instances.length, what).toBe(
          alone[0][1].instances.length + alone[1][1].instances.length,
        );
      }
    }
    expect(compared).toBeGreaterThan(30);
  });
});
