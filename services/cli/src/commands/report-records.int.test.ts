import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { landEvents } from '@bluelight/clickhouse-sink/testing/events';
import {
  CALL_RECORD_COLUMNS,
  computeKpi,
  INCIDENT_RECORD_COLUMNS,
  loadStandards,
} from '@bluelight/standards';
import {
  RECORDS_AGENCY,
  RECORDS_NEIGHBOUR,
  recordsScenarioEvents,
} from '@bluelight/standards/testing/records';
import { migratedDatabase, testEndpoints } from '@bluelight/test/harness';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRecords } from './report.js';

// `bluelight report --records`: the records behind a figure as CSV, from the hand-built day of
// @bluelight/standards/testing/records (two fire services, the same ids), recounted here.

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/bluelight.mjs');
let db: Awaited<ReturnType<typeof migratedDatabase>>;
let scratch: string;

function bluelight(args: string[]) {
  const endpoints = testEndpoints();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CLICKHOUSE_URL: endpoints.clickhouseUrl,
    CLICKHOUSE_USER: endpoints.clickhouseUser,
    CLICKHOUSE_PASSWORD: endpoints.clickhousePassword,
    CLICKHOUSE_DATABASE: db.database,
  };
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [bin, ...args], { env }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  db = await migratedDatabase('report_records');
  await landEvents(db.client, recordsScenarioEvents());
  scratch = mkdtempSync(path.join(tmpdir(), 'bluelight-records-'));
});
afterAll(async () => {
  await db?.drop();
  rmSync(scratch, { recursive: true, force: true });
});

const DAY = ['--from', '2025-05-14', '--to', '2025-05-14'];
const rowsOf = (csv: string) => parse(csv, { columns: true }) as Record<string, string>[];

describe('bluelight report --records (real ClickHouse)', { timeout: 60_000 }, () => {
  it('writes every record of the standard as CSV; counting them gives the figure', async () => {
    const { code, stdout, stderr } = await bluelight([
      'report',
      '--records',
      'fire-attendance-standard',
      ...DAY,
      '--agency',
      RECORDS_AGENCY,
    ]);
    expect(code, stderr).toBe(0);
    expect(stdout.split('\r\n')[0]).toBe(INCIDENT_RECORD_COLUMNS.join(','));
    const rows = rowsOf(stdout);
    // 15 in scope and 1 cancelled, of ours alone (the neighbour's same ids are not among them).
    expect(rows).toHaveLength(16);
    expect(new Set(rows.map((row) => row.agency))).toEqual(new Set([RECORDS_AGENCY]));
    expect(stderr).toBe(
      `16 records of fire-attendance-standard, 2025-05-14 – 2025-05-14, ${RECORDS_AGENCY}\n`,
    );
    const [figure] = (
      await computeKpi(db.client, loadStandards(), {
        standard: 'fire-attendance-standard',
        agencies: [RECORDS_AGENCY],
        from: '2025-05-14',
        to: '2025-05-14',
      })
    ).rows as { n: number; met: number; incidents: number; meanSeconds: number }[];
    const included = rows.filter((row) => row.included === 'true');
    expect(included.length).toBe(figure?.n);
    expect(included.filter((row) => row.met === 'true').length).toBe(figure?.met);
    expect(rows.filter((row) => row.in_scope === 'true').length).toBe(figure?.incidents);
    const seconds = included.map((row) => Number(row.seconds));
    expect(seconds.reduce((sum, value) => sum + value, 0) / seconds.length).toBeCloseTo(
      figure?.meanSeconds ?? Number.NaN,
      9,
    );
  });

  it('writes a selection to --out FILE, nothing to stdout, no partial file left', async () => {
    const out = path.join(scratch, 'excluded.csv');
    const { code, stdout, stderr } = await bluelight([
      'report',
      '--records',
      'fire-attendance-standard',
      ...DAY,
      '--agency',
      `${RECORDS_AGENCY},${RECORDS_NEIGHBOUR}`,
      '--only',
      'excluded',
      '--out',
      out,
    ]);
    expect(code, stderr).toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toContain(`written to ${out}`);
    expect(existsSync(`${out}.partial`)).toBe(false);
    const rows = rowsOf(readFileSync(out, 'utf8'));
    // Both agencies: ours X1–X7, the neighbour's X1 (a late call).
    expect(
      rows.map((row) => `${row.agency}/${row.incident_id}/${row.exclusion_reasons}`).sort(),
    ).toEqual(
      [
        `${RECORDS_NEIGHBOUR}/X1/late_call`,
        `${RECORDS_AGENCY}/X1/late_call`,
        `${RECORDS_AGENCY}/X2/derelict_property`,
        `${RECORDS_AGENCY}/X3/abandoned_road_vehicle`,
        `${RECORDS_AGENCY}/X4/out_of_sequence`,
        `${RECORDS_AGENCY}/X5/total_over`,
        `${RECORDS_AGENCY}/X6/total_under`,
        `${RECORDS_AGENCY}/X7/late_call;total_over`,
      ].sort(),
    );
  });

  it('writes a call standard’s records, narrowed by --filter', async () => {
    const { code, stdout, stderr } = await bluelight([
      'report',
      '--records',
      'calls-999-answer',
      ...DAY,
      '--agency',
      RECORDS_AGENCY,
      '--filter',
      'queue=999-fire',
    ]);
    expect(code, stderr).toBe(0);
    expect(stdout.split('\r\n')[0]).toBe(CALL_RECORD_COLUMNS.join(','));
    const rows = rowsOf(stdout);
    expect(rows.map((row) => row.call_id)).toEqual([
      'K7',
      'K1',
      'K2',
      'K3',
      'K4',
      'K5',
      'K6',
      'K8',
    ]);
    expect(rows.filter((row) => row.met === 'true').map((row) => row.call_id)).toEqual([
      'K7',
      'K1',
      'K2',
      'K3',
    ]);
    const none = await bluelight([
      'report',
      '--records',
      'calls-999-answer',
      ...DAY,
      '--agency',
      RECORDS_AGENCY,
      '--filter',
      'queue=101-fire',
    ]);
    // Nothing matches: the header alone, and exit 6.
    expect(none.code).toBe(6);
    expect(none.stdout).toBe(`${CALL_RECORD_COLUMNS.join(',')}\r\n`);
    expect(none.stderr).toContain('no records of calls-999-answer');
  });

  // A dozen runs of the command, each a process of its own.
  it('exits 2 naming the option for what it cannot do, 0 for --help', {
    timeout: 300_000,
  }, async () => {
    const base = ['report', ...DAY, '--agency', RECORDS_AGENCY];
    const cases: [string[], string][] = [
      [['--records', 'no-such-standard'], 'standard'],
      [['--records', 'appliance-availability-wholetime'], 'availability'],
      [['--records', 'fire-attendance-standard', '--only', 'everything'], '--only'],
      [['--records', 'calls-999-answer', '--only', 'excluded'], 'only'],
      [['--records', 'fire-attendance-standard', '--format', 'json'], '--format'],
      [['--records', 'fire-attendance-standard', '--compare-previous'], '--compare-previous'],
      [['--records', 'fire-attendance-standard', '--filter', 'queue=999-fire'], 'queue'],
      [['--records', 'fire-attendance-standard', '--filter', 'station'], '--filter'],
      [['--only', 'excluded'], '--only'],
    ];
    for (const [args, named] of cases) {
      const { code, stdout, stderr } = await bluelight([...base, ...args]);
      expect(code, `${args.join(' ')}: ${stderr}`).toBe(2);
      expect(stderr, args.join(' ')).toContain(named);
      expect(stdout, args.join(' ')).toBe('');
    }
    // Two agencies in the database and none named: exit 2 naming --agency.
    const unnamed = await bluelight(['report', ...DAY, '--records', 'fire-attendance-standard']);
    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toContain('--agency');
    const help = await bluelight(['report', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--records <standard>');
    expect(help.stdout).toContain('--only <selection>');
  });

  it('reads a page at a time and tells its progress once there is more than one page', async () => {
    const out = path.join(scratch, 'paged.csv');
    const told: [number, number][] = [];
    const written = await writeRecords(
      db.client,
      loadStandards(),
      [RECORDS_AGENCY],
      { records: 'fire-attendance-standard', from: '2025-05-14', to: '2025-05-14', out },
      5,
      (written, total) => told.push([written, total]),
    );
    expect(written).toBe(16);
    expect(told).toEqual([
      [5, 16],
      [10, 16],
      [15, 16],
      [16, 16],
    ]);
    const paged = rowsOf(readFileSync(out, 'utf8'));
    const whole = await bluelight([
      'report',
      '--records',
      'fire-attendance-standard',
      ...DAY,
      '--agency',
      RECORDS_AGENCY,
    ]);
    // The pages together are the one-read CSV, line for line.
    expect(paged).toEqual(rowsOf(whole.stdout));
  });
});
