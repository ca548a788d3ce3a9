import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { landEvents } from '@bluelight/clickhouse-sink/testing/events';
import { CALL_RECORD_COLUMNS, INCIDENT_RECORD_COLUMNS } from '@bluelight/standards';
import {
  NEIGHBOUR_INCIDENTS,
  RECORDS_AGENCY,
  RECORDS_NEIGHBOUR,
  recordsScenarioEvents,
  SCENARIO_CALLS,
  SCENARIO_INCIDENTS,
} from '@bluelight/standards/testing/records';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestQueryApi } from './testing/harness.js';
import type { TestKey } from './testing/keys.js';

// The records behind a figure (GET /v1/kpis/records) over a hand-built day with every exclusion
// reason: each record says what the scenario says of its incident or call, and counting the
// records — in plain TypeScript, or in a spreadsheet from the CSV — gives GET /v1/kpis's figure.

let api: Awaited<ReturnType<typeof startTestQueryApi>>;

beforeAll(async () => {
  api = await startTestQueryApi('qrecords');
  await landEvents(api.db.client, recordsScenarioEvents());
});
afterAll(async () => {
  await api?.cleanup();
});

const DAY = 'from=2025-05-14&to=2025-05-14';
const ATTENDANCE = `standard=fire-attendance-standard&${DAY}`;
const CALLS = `standard=calls-999-answer&${DAY}`;
const THRESHOLDS = { high: 480, medium: 600, low: 1080 } as const;

type Row = Record<string, unknown>;

/** Excel's PERCENTILE.INC (the standards' default method), from its definition. */
function percentileInc(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * p + 1;
  const k = Math.floor(h);
  const low = sorted[k - 1] as number;
  return k >= sorted.length ? low : low + (h - k) * ((sorted[k] as number) - low);
}
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

/** Every record of a selection, read a page of `limit` at a time through next_cursor. */
async function everyRecord(query: string, key: TestKey = 'dashboards', limit = 4) {
  const records: Row[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const response = await api.get(
      `/v1/kpis/records?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
      {},
      key,
    );
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json() as { records: Row[]; next_cursor: string | null; total: number };
    expect(body.records.length).toBeLessThanOrEqual(limit);
    expect(response.headers['x-next-cursor']).toBe(body.next_cursor ?? undefined);
    records.push(...body.records);
    cursor = body.next_cursor;
    pages++;
    if (cursor === null) expect(records).toHaveLength(body.total);
  } while (cursor !== null && pages < 100);
  return records;
}

async function figure(query: string, key: TestKey = 'dashboards') {
  const response = await api.get(`/v1/kpis?${query}`, {}, key);
  expect(response.statusCode, response.body).toBe(200);
  const rows = response.json().rows as Row[];
  expect(rows).toHaveLength(1);
  return rows[0] as Row;
}

/** The scenario's incidents in scope (cancelled ones too), in the records' order: by call time. */
const inScope = SCENARIO_INCIDENTS.filter((incident) => incident.state !== 'out_of_scope');
const callOrder = (id: string) =>
  // R07 was received at 23:30 UTC the evening before (00:30 BST): the first record of the day.
  id === 'R07' ? -1 : SCENARIO_INCIDENTS.findIndex((incident) => incident.id === id);
const expectedOrder = [...inScope].sort((a, b) => callOrder(a.id) - callOrder(b.id));

/** What a record must say of a scenario incident, by hand from its state. */
function expectedRecord(incident: (typeof SCENARIO_INCIDENTS)[number], agency = RECORDS_AGENCY) {
  const state = incident.state;
  return {
    agency,
    incident_id: incident.id,
    day: '2025-05-14',
    version: 1,
    risk_band: incident.band,
    in_scope: state !== 'cancelled',
    cancelled: state === 'cancelled',
    measured: state === 'included' || state === 'excluded',
    seconds: state === 'included' || state === 'excluded' ? incident.seconds : null,
    threshold_seconds: THRESHOLDS[incident.band],
    excluded: state === 'excluded',
    primary_reason: incident.reasons[0] ?? null,
    exclusion_reasons: incident.reasons,
    included: state === 'included',
    met: state === 'included' && incident.met === true,
    with_outcome: null,
  };
}

const pick = (record: Row, columns: string[]) =>
  Object.fromEntries(columns.map((column) => [column, record[column]]));

describe('GET /v1/kpis/records of an incident standard (real ClickHouse)', () => {
  it('lists every incident in the standard’s scope, each judged as worked out by hand', async () => {
    const records = await everyRecord(ATTENDANCE);
    const wanted = expectedOrder.map((incident) => expectedRecord(incident));
    expect(records.map((record) => pick(record, Object.keys(wanted[0] ?? {})))).toEqual(wanted);
    // Every column, in the documented order.
    for (const record of records) expect(Object.keys(record)).toEqual([...INCIDENT_RECORD_COLUMNS]);
    const r07 = records.find((record) => record.incident_id === 'R07');
    expect(r07).toMatchObject({
      call_received_at: '2025-05-13T23:30:00.000Z',
      station_ground: 'HANLEY',
      area: 'Stoke-on-Trent',
      service: 'fire',
      category: 'primary_fire',
    });
    expect(records.find((record) => record.incident_id === 'R03')?.station_ground).toBe('LEEK');
  });

  it('lists exactly the excluded incidents with their reasons, and the reason table adds up', async () => {
    const excluded = await everyRecord(`${ATTENDANCE}&only=excluded`);
    expect(
      excluded.map((record) => [
        record.incident_id,
        record.primary_reason,
        record.exclusion_reasons,
      ]),
    ).toEqual([
      ['X1', 'late_call', ['late_call']],
      ['X2', 'derelict_property', ['derelict_property']],
      ['X3', 'abandoned_road_vehicle', ['abandoned_road_vehicle']],
      ['X4', 'out_of_sequence', ['out_of_sequence']],
      ['X5', 'total_over', ['total_over']],
      ['X6', 'total_under', ['total_under']],
      // A late call that also took over an hour: primary late_call, also total_over.
      ['X7', 'late_call', ['late_call', 'total_over']],
    ]);
    const row = await figure(ATTENDANCE);
    const reasons = Object.keys(row.excludedByPrimaryReason as Row);
    const count = (test: (record: Row) => boolean) => excluded.filter(test).length;
    const primary = Object.fromEntries(
      reasons.map((reason) => [reason, count((record) => record.primary_reason === reason)]),
    );
    const also = Object.fromEntries(
      reasons.map((reason) => [
        reason,
        count(
          (record) =>
            (record.exclusion_reasons as string[]).includes(reason) &&
            record.primary_reason !== reason,
        ),
      ]),
    );
    const matched = Object.fromEntries(
      reasons.map((reason) => [
        reason,
        count((record) => (record.exclusion_reasons as string[]).includes(reason)),
      ]),
    );
    expect(row.excludedByPrimaryReason).toEqual(primary);
    expect(row.excludedAlsoMatched).toEqual(also);
    expect(row.excluded).toEqual({ total: excluded.length, ...matched });
    // The primary reasons add up to the total excluded: 2 + 1 + 1 + 1 + 1 + 1 = 7.
    const sum = Object.values(row.excludedByPrimaryReason as Record<string, number>).reduce(
      (total, value) => total + value,
      0,
    );
    expect(sum).toBe(7);
    expect((row.excluded as Row).total).toBe(7);
    expect(row.excludedAlsoMatched).toMatchObject({ total_over: 1 });
  });

  it('counted in plain TypeScript, the records give the figure /v1/kpis gives', async () => {
    const records = await everyRecord(ATTENDANCE, 'dashboards', 1000);
    const row = await figure(ATTENDANCE);
    const countOf = (test: (record: Row) => boolean) => records.filter(test).length;
    const included = records.filter((record) => record.included === true);
    const seconds = included.map((record) => record.seconds as number);
    const met = countOf((record) => record.met === true);
    // By hand: 7 included (R01–R07), 5 within their band's time; 7 excluded, 1 not measured.
    expect([included.length, met]).toEqual([7, 5]);
    expect(row).toMatchObject({
      incidents: countOf((record) => record.in_scope === true),
      cancelled: countOf((record) => record.cancelled === true),
      n: included.length,
      met,
      value: met / included.length,
      notMeasured: countOf(
        (record) => record.in_scope === true && !record.measured && !record.excluded,
      ),
    });
    expect(row.incidents).toBe(15);
    expect(row.meanSeconds as number).toBeCloseTo(mean(seconds), 9);
    expect(row.percentileSeconds as number).toBeCloseTo(percentileInc(seconds, 0.9), 9);
    // 300 420 480 540 590 610 1000: h = 6 × 0.9 + 1 = 6.4, 610 + 0.4 × 390 = 766.
    expect(row.percentileSeconds as number).toBeCloseTo(766, 9);
    // The "no exclusions" companion: every measured record with a time that is not negative.
    const companion = records.filter(
      (record) => record.measured === true && (record.seconds as number) >= 0,
    );
    expect((row.withoutExclusions as Row).n).toBe(companion.length);
    expect((row.withoutExclusions as Row).value).toBe(
      companion.filter(
        (record) => (record.seconds as number) <= (record.threshold_seconds as number),
      ).length / companion.length,
    );
  });

  it('gives each selection (only=…) as the subset of every record it names', async () => {
    const all = await everyRecord(ATTENDANCE, 'dashboards', 1000);
    const ids = (records: Row[]) => records.map((record) => record.incident_id);
    const selections: Record<string, (record: Row) => boolean> = {
      all: () => true,
      included: (record) => record.included === true,
      measured: (record) => record.measured === true,
      not_measured: (record) => record.in_scope === true && !record.measured && !record.excluded,
      excluded: (record) => record.excluded === true,
      cancelled: (record) => record.cancelled === true,
      met: (record) => record.met === true,
      not_met: (record) => record.included === true && record.met === false,
    };
    for (const [only, test] of Object.entries(selections)) {
      const selected = await everyRecord(`${ATTENDANCE}&only=${only}`, 'dashboards', 1000);
      expect(ids(selected), only).toEqual(ids(all.filter(test)));
    }
    expect(ids(await everyRecord(`${ATTENDANCE}&only=not_measured`))).toEqual(['N1']);
    expect(ids(await everyRecord(`${ATTENDANCE}&only=cancelled`))).toEqual(['C1']);
    // The figure's filters narrow the records as they narrow the figure.
    const leek = await everyRecord(`${ATTENDANCE}&station=LEEK`);
    expect(ids(leek)).toEqual(['R03', 'R04', 'R05']);
    expect((await figure(`${ATTENDANCE}&station=LEEK`)).incidents).toBe(3);
  });

  it('answers CSV with fixed columns, whose numbers recount to the same figure', async () => {
    const response = await api.get(`/v1/kpis/records?${ATTENDANCE}&limit=1000`, {
      accept: 'text/csv',
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toBe(
      'inline; filename="fire-attendance-standard-records.csv"',
    );
    const lines = parse(response.body, { columns: false }) as string[][];
    expect(lines[0]).toEqual([...INCIDENT_RECORD_COLUMNS]);
    const rows = parse(response.body, { columns: true }) as Record<string, string>[];
    expect(rows.map((row) => row.incident_id)).toEqual(
      expectedOrder.map((incident) => incident.id),
    );
    const x7 = rows.find((row) => row.incident_id === 'X7');
    expect(x7).toMatchObject({
      excluded: 'true',
      primary_reason: 'late_call',
      exclusion_reasons: 'late_call;total_over',
      included: 'false',
      seconds: '3900',
    });
    expect(rows.find((row) => row.incident_id === 'N1')).toMatchObject({
      seconds: '',
      met: 'false',
    });
    const included = rows.filter((row) => row.included === 'true');
    const seconds = included.map((row) => Number(row.seconds));
    const row = await figure(ATTENDANCE);
    expect(included.filter((line) => line.met === 'true').length / included.length).toBe(row.value);
    expect(row.meanSeconds as number).toBeCloseTo(mean(seconds), 9);
    expect(row.percentileSeconds as number).toBeCloseTo(percentileInc(seconds, 0.9), 9);
    // An empty page still has its header.
    const empty = await api.get(`/v1/kpis/records?${ATTENDANCE}&cursor=500`, {
      accept: 'text/csv',
    });
    expect(empty.body).toBe(`${INCIDENT_RECORD_COLUMNS.join(',')}\r\n`);
  });
});

describe('GET /v1/kpis/records of a call standard (real ClickHouse)', () => {
  it('lists every call in scope; counting them gives the figure', async () => {
    const records = await everyRecord(CALLS);
    // In presentation order: K7 at 23:30 UTC on the 13th (the 14th in London) first; not K9 (101).
    const wanted = ['K7', 'K1', 'K2', 'K3', 'K4', 'K5', 'K6', 'K8'].map((id) => {
      const call = SCENARIO_CALLS.find((candidate) => candidate.id === id);
      const answered = call?.wait !== null && call?.wait !== undefined;
      return {
        agency: RECORDS_AGENCY,
        call_id: id,
        day: '2025-05-14',
        line: '999',
        abandoned: !answered,
        measured: answered,
        seconds: answered ? call?.wait : null,
        threshold_seconds: 10,
        included: answered,
        met: answered && (call?.wait as number) <= 10,
        outcome: answered ? 'incident_created' : 'no_further_action',
      };
    });
    expect(records.map((record) => pick(record, Object.keys(wanted[0] ?? {})))).toEqual(wanted);
    for (const record of records) expect(Object.keys(record)).toEqual([...CALL_RECORD_COLUMNS]);
    const row = await figure(CALLS);
    const included = records.filter((record) => record.included === true);
    const seconds = included.map((record) => record.seconds as number);
    expect(row).toMatchObject({
      calls: records.length,
      abandoned: records.filter((record) => record.abandoned === true).length,
      n: included.length,
      met: records.filter((record) => record.met === true).length,
    });
    // By hand: 3, 5, 8 and exactly 10 s within 10 s, of 7 answered.
    expect([row.n, row.met, row.value]).toEqual([7, 4, 4 / 7]);
    expect(row.meanSeconds as number).toBeCloseTo(mean(seconds), 9);
    expect(row.percentileSeconds as number).toBeCloseTo(percentileInc(seconds, 0.9), 9);
    expect(row.percentileSeconds as number).toBeCloseTo(57, 9);

    const csv = await api.get(`/v1/kpis/records?${CALLS}&limit=1000`, { accept: 'text/csv' });
    const rows = parse(csv.body, { columns: true }) as Record<string, string>[];
    const answered = rows.filter((line) => line.included === 'true');
    expect(answered.filter((line) => line.met === 'true').length / answered.length).toBe(row.value);
    expect(mean(answered.map((line) => Number(line.seconds)))).toBeCloseTo(
      row.meanSeconds as number,
      9,
    );

    const abandoned = await everyRecord(`${CALLS}&only=abandoned`);
    expect(abandoned.map((record) => record.call_id)).toEqual(['K8']);
  });
});

describe('GET /v1/kpis/records: agencies and bad requests (real ClickHouse)', () => {
  const ids = (records: Row[]) => records.map((record) => `${record.agency}/${record.incident_id}`);

  it('reads only the agencies the key may read, as every data route does', async () => {
    // Staffordshire's key: its own records alone, though the neighbour has the same ids that day.
    const ours = await everyRecord(ATTENDANCE, 'dashboards');
    expect(new Set(ours.map((record) => record.agency))).toEqual(new Set([RECORDS_AGENCY]));
    const theirs = await everyRecord(ATTENDANCE, 'neighbour');
    expect(theirs.map((record) => pick(record, ['agency', 'incident_id', 'seconds']))).toEqual(
      NEIGHBOUR_INCIDENTS.map((incident) => ({
        agency: RECORDS_NEIGHBOUR,
        incident_id: incident.id,
        seconds: incident.seconds,
      })),
    );
    // A key of several agencies must say which; it may ask for both, and gets both.
    expect((await api.get(`/v1/kpis/records?${ATTENDANCE}`, {}, 'regional')).statusCode).toBe(400);
    const both = await everyRecord(
      `${ATTENDANCE}&agency=${RECORDS_AGENCY},${RECORDS_NEIGHBOUR}`,
      'regional',
    );
    expect(ids(both).sort()).toEqual([...ids(ours), ...ids(theirs)].sort());
    // Asking for an agency the key may not read is refused before any query.
    for (const [key, agency] of [
      ['neighbour', RECORDS_AGENCY],
      ['dashboards', RECORDS_NEIGHBOUR],
    ] as const) {
      const before = api.sent.length;
      const refused = await api.get(`/v1/kpis/records?${ATTENDANCE}&agency=${agency}`, {}, key);
      expect(refused.statusCode, refused.body).toBe(403);
      expect(refused.json().error).toBe('forbidden_agency');
      expect(api.sent.length).toBe(before);
    }
  });

  it('refuses what it cannot answer, naming the parameter', async () => {
    const cases: [string, string][] = [
      [`standard=appliance-availability-wholetime&${DAY}`, 'standard'],
      [`${CALLS}&only=excluded`, 'only'],
      [`${ATTENDANCE}&only=abandoned`, 'only'],
      [`standard=fire-average-attendance&${DAY}&only=not_met`, 'only'],
      [`${ATTENDANCE}&only=everything`, 'only'],
      [`${ATTENDANCE}&cursor=abc`, 'cursor'],
      [`${ATTENDANCE}&limit=0`, 'limit'],
      [`${ATTENDANCE}&limit=10001`, 'limit'],
      [`${ATTENDANCE}&queue=999-fire`, 'queue'],
      [`${ATTENDANCE}&groupBy=station`, 'groupBy'],
      ['standard=fire-attendance-standard&from=2025-05-14&to=2025-05-13', 'to'],
    ];
    for (const [query, parameter] of cases) {
      const response = await api.get(`/v1/kpis/records?${query}`);
      expect(response.statusCode, `${query}: ${response.body}`).toBe(400);
      expect(
        response.json().problems.map((problem: { parameter: string }) => problem.parameter),
        query,
      ).toContain(parameter);
    }
  });
});

/** docs/report.md's worked example: its records table and its spreadsheet formulas, run as written. */
const docs = readFileSync(
  fileURLToPath(new URL('../../../docs/report.md', import.meta.url)),
  'utf8',
);

/** The markdown table between `<!-- name -->` and `<!-- /name -->`, as rows of cells. */
function docsTable(name: string): string[][] {
  const match = docs.match(new RegExp(`<!-- ${name} -->\\n([\\s\\S]*?)<!-- /${name} -->`));
  if (!match?.[1]) throw new Error(`docs/report.md has no ${name} block`);
  return match[1]
    .trim()
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|[\s|:-]+\|$/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim().replaceAll('`', '')),
    );
}

/**
 * The few spreadsheet functions the docs use, over CSV rows by column letter (A = the first
 * column): COUNTIFS and AVERAGEIFS with TRUE / FALSE criteria, PERCENTILE.INC of a FILTER, and
 * one division.
 */
function spreadsheet(formula: string, header: string[], rows: Record<string, string>[]): number {
  const column = (letter: string) => header[letter.charCodeAt(0) - 'A'.charCodeAt(0)] as string;
  const matches = (row: Record<string, string>, criteria: string[]) => {
    for (let index = 0; index < criteria.length; index += 2) {
      const [range, value] = [criteria[index] as string, criteria[index + 1] as string];
      if (row[column(range.slice(0, 1))] !== value.toLowerCase()) return false;
    }
    return true;
  };
  const call = (text: string): number => {
    const countifs = text.match(/^COUNTIFS\((.*)\)$/);
    if (countifs) {
      const criteria = (countifs[1] ?? '').split(',');
      return rows.filter((row) => matches(row, criteria)).length;
    }
    const averageifs = text.match(/^AVERAGEIFS\(([A-Z]):[A-Z],(.*)\)$/);
    if (averageifs) {
      const [, values = '', criteria = ''] = averageifs;
      return mean(
        rows
          .filter((row) => matches(row, criteria.split(',')))
          .map((row) => Number(row[column(values)])),
      );
    }
    const percentile = text.match(
      /^PERCENTILE\.INC\(FILTER\(([A-Z]):[A-Z],([A-Z]):[A-Z]=(TRUE|FALSE)\),([0-9.]+)\)$/,
    );
    if (percentile) {
      const [, values = '', range = '', value = '', p = ''] = percentile;
      const kept = rows.filter((row) => row[column(range)] === value.toLowerCase());
      return percentileInc(
        kept.map((row) => Number(row[column(values)])),
        Number(p),
      );
    }
    throw new Error(`the test's spreadsheet does not know ${text}`);
  };
  const body = formula.replace(/^=/, '');
  const division = body.match(/^(\w+(?:\.\w+)?\(.*?\))\/(\w+\(.*\))$/);
  return division?.[1] && division[2] ? call(division[1]) / call(division[2]) : call(body);
}

describe('docs/report.md, "Reproducing a figure in a spreadsheet"', () => {
  it('shows the records the API gives, and formulas that give the figure over its CSV', async () => {
    const response = await api.get(`/v1/kpis/records?${ATTENDANCE}&limit=1000`, {
      accept: 'text/csv',
    });
    const rows = parse(response.body, { columns: true }) as Record<string, string>[];
    const [shownHeader, ...shown] = docsTable('records-example');
    expect(shownHeader).toBeDefined();
    expect(
      shown.map((cells) => Object.fromEntries(cells.map((cell, i) => [shownHeader?.[i], cell]))),
    ).toEqual(
      rows.map((row) =>
        Object.fromEntries((shownHeader ?? []).map((name) => [name, row[name] ?? '(missing)'])),
      ),
    );
    const row = await figure(ATTENDANCE);
    const [, ...formulas] = docsTable('records-formulas');
    const expected: Record<string, number> = {
      n: row.n as number,
      met: row.met as number,
      value: row.value as number,
      meanSeconds: row.meanSeconds as number,
      percentileSeconds: row.percentileSeconds as number,
    };
    expect(formulas.map((cells) => cells[0])).toEqual(Object.keys(expected));
    for (const [field, formula, gives] of formulas) {
      const value = spreadsheet(formula as string, [...INCIDENT_RECORD_COLUMNS], rows);
      expect(value, `${field}: ${formula}`).toBeCloseTo(expected[field as string] as number, 9);
      // The value the docs print is the figure, to the decimals printed.
      const decimals = (gives as string).split('.')[1]?.length ?? 0;
      expect(Number(gives), `${field} as printed`).toBeCloseTo(
        expected[field as string] as number,
        decimals,
      );
    }
  });
});
