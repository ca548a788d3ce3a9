import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { callFixtureEvents, landEvents } from '@bluelight/clickhouse-sink/testing/events';
import { SHIPPED_STANDARDS_DIR } from '@bluelight/standards';
import { migratedDatabase, testEndpoints } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/bluelight.mjs');
let db: Awaited<ReturnType<typeof migratedDatabase>>;
/** A database holding one agency's facts alone. */
let single: Awaited<ReturnType<typeof migratedDatabase>>;

const OURS = 'staffordshire-control';
const THEIRS = 'cheshire-control';

/** Runs the CLI against the test's database; an `env` value of undefined unsets the variable. */
function bluelight(args: string[], env: Record<string, string | undefined> = {}) {
  const endpoints = testEndpoints();
  const merged: NodeJS.ProcessEnv = {
    ...process.env,
    CLICKHOUSE_URL: endpoints.clickhouseUrl,
    CLICKHOUSE_USER: endpoints.clickhouseUser,
    CLICKHOUSE_PASSWORD: endpoints.clickhousePassword,
    CLICKHOUSE_DATABASE: db.database,
    ...env,
  };
  for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name];
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      {
        env: merged,
      },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

/** A 999 call answered after `wait` seconds. */
const call999 = (id: string, presented: string, wait: number, agency: string = OURS) =>
  callFixtureEvents({
    id,
    agency,
    presentedAt: presented,
    line: '999',
    service: 'fire',
    queue: '999-fire',
    answeredAfter: wait,
  });

/** Ours: 2023-24 4 of 5 within 10 s, mean 8 s; 2022-23 1 of 2, mean 11 s. */
const OUR_CALLS = () =>
  [
    call999('a', '2023-04-01T08:00:00Z', 5),
    call999('b', '2023-09-01T08:00:00Z', 6),
    call999('c', '2023-12-01T08:00:00Z', 7),
    call999('d', '2024-03-31T08:00:00Z', 10),
    call999('e', '2024-03-31T22:59:59Z', 12),
    // 00:00:01 BST on 1 April 2024: the next year in London.
    call999('f', '2024-03-31T23:00:01Z', 60),
    call999('g', '2022-06-01T08:00:00Z', 2),
    call999('h', '2023-01-01T08:00:00Z', 20),
  ].flat();

/**
 * A neighbouring control room's 999 calls in the same year (their own ids): 3, 4, 15, 30, 40 and
 * 50 s → 2 of 6 within 10 s, mean 142 / 6 s; none the year before.
 */
const THEIR_CALLS = () =>
  [3, 4, 15, 30, 40, 50].flatMap((wait, index) =>
    call999(`n${index}`, `2023-0${index + 4}-15T12:00:00Z`, wait, THEIRS),
  );

beforeAll(async () => {
  db = await migratedDatabase('report_cli');
  await landEvents(db.client, [...OUR_CALLS(), ...THEIR_CALLS()]);
  single = await migratedDatabase('report_cli_one');
  await landEvents(single.client, OUR_CALLS());
});
afterAll(async () => {
  await db?.drop();
  await single?.drop();
});

const YEAR = ['--from', '2023-04-01', '--to', '2024-03-31'];

describe('bluelight report (real ClickHouse)', { timeout: 60_000 }, () => {
  it('prints the year as JSON with the previous year beside it', async () => {
    const { code, stdout, stderr } = await bluelight([
      'report',
      ...YEAR,
      '--agency',
      OURS,
      '--format',
      'json',
      '--compare-previous',
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.agencies).toEqual([OURS]);
    expect(report.current.period).toEqual({ from: '2023-04-01', to: '2024-03-31' });
    expect(report.current.calls999).toMatchObject({
      calls: 5,
      answered: 5,
      withinTenSecondsShare: 0.8,
      meanWaitSeconds: 8,
      // The first band (≤ 10 s) is the 4 within 10 s, 10.0 s among them.
      bands: [4, 1, 0],
    });
    expect(report.previous.period).toEqual({ from: '2022-04-01', to: '2023-03-31' });
    // Two calls are below the standard's minimum sample of 5: no figure, and it says why.
    expect(report.previous.calls999).toMatchObject({
      calls: 2,
      answered: 2,
      withinTenSecondsShare: null,
      insufficientData: true,
    });
    // No incidents loaded: counts are zero and figures are absent, not invented.
    expect(report.current.fireIncidents.total).toBe(0);
    expect(report.current.attendanceStandard).toMatchObject({
      n: 0,
      share: null,
      insufficientData: true,
    });
  });

  it('prints a table and CSV with the same figures', async () => {
    const table = await bluelight(['report', ...YEAR, '--agency', OURS]);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toBe(`agencies: ${OURS}`);
    expect(table.stdout).toMatch(/999 calls answered within 10 s\s+80\.0%\s+90\.0%/);
    expect(table.stdout).toMatch(/average wait\s+8\.00 s/);
    const csv = await bluelight(['report', ...YEAR, '--agency', OURS, '--format', 'csv']);
    expect(csv.code).toBe(0);
    expect(csv.stdout.split('\r\n')).toContain(
      'calls_999_within_10s,999 calls answered within 10 s,share,0.8,,0.9',
    );
  });

  it('reports another agency apart, and both together, with --agency', async () => {
    const theirs = JSON.parse(
      (await bluelight(['report', ...YEAR, '--agency', THEIRS, '--format', 'json'])).stdout,
    );
    expect(theirs.agencies).toEqual([THEIRS]);
    expect(theirs.current.calls999).toMatchObject({
      calls: 6,
      answered: 6,
      withinTenSecondsShare: 2 / 6,
      meanWaitSeconds: 142 / 6,
      bands: [2, 4, 0],
    });
    // Together, comma-separated or repeated: 4 + 2 of 5 + 6 within 10 s, mean (40 + 142) / 11.
    for (const agency of [
      ['--agency', `${OURS},${THEIRS}`],
      ['--agency', THEIRS, '--agency', OURS],
    ]) {
      const { code, stdout } = await bluelight(['report', ...YEAR, ...agency, '--format', 'json']);
      expect(code).toBe(0);
      const both = JSON.parse(stdout);
      expect(both.agencies).toEqual([THEIRS, OURS]);
      expect(both.current.calls999).toMatchObject({
        calls: 11,
        answered: 11,
        withinTenSecondsShare: 6 / 11,
        meanWaitSeconds: 182 / 11,
        bands: [6, 5, 0],
      });
    }
  });

  it('needs --agency when the database holds several agencies, and reads the one there is otherwise', async () => {
    const several = await bluelight(['report', ...YEAR]);
    expect(several.code).toBe(2);
    expect(several.stderr).toContain(
      `--agency: the database holds several agencies (${THEIRS}, ${OURS}); say which to report on`,
    );
    expect(several.stdout).toBe('');
    const one = await bluelight(['report', ...YEAR, '--format', 'json'], {
      CLICKHOUSE_DATABASE: single.database,
    });
    expect(one.code, one.stderr).toBe(0);
    const report = JSON.parse(one.stdout);
    expect(report.agencies).toEqual([OURS]);
    expect(report.current.calls999).toMatchObject({ calls: 5, withinTenSecondsShare: 0.8 });
    const bad = await bluelight(['report', ...YEAR, '--agency', 'Staffs Control']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"Staffs Control" must be 2–32 lower-case letters');
  });

  it('exits 2 on a bad period and 1 when ClickHouse cannot be reached', async () => {
    const backwards = await bluelight(['report', '--from', '2024-03-31', '--to', '2023-04-01']);
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toContain('--to: must not be before --from');
    const badDate = await bluelight(['report', '--from', '2023-02-30', '--to', '2023-04-01']);
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain('expected a date YYYY-MM-DD');
    // A day ClickHouse's Date cannot hold is refused before any query, naming the option.
    const farFuture = await bluelight(['report', '--from', '2024-04-01', '--to', '9999-12-31']);
    expect(farFuture.code).toBe(2);
    expect(farFuture.stderr).toBe(
      "bluelight: --to: must be a London day from 1970-01-01 to 2149-06-05 (the days ClickHouse's Date type holds)\n",
    );
    const beforeEpoch = await bluelight([
      'report',
      '--from',
      '1970-01-01',
      '--to',
      '1970-12-31',
      '--compare-previous',
    ]);
    expect(beforeEpoch.code).toBe(2);
    expect(beforeEpoch.stderr).toContain(
      '--compare-previous: the previous period would start on 1969-01-01',
    );
    // The charts' series go with the JSON (the document draws them itself), not the table.
    const charts = await bluelight(['report', ...YEAR, '--agency', OURS, '--charts']);
    expect(charts.code).toBe(2);
    expect(charts.stderr).toBe(
      'bluelight: --charts: goes with --format json (html and pdf always draw them), not table\n',
    );
    const down = await bluelight(['report', ...YEAR], { CLICKHOUSE_URL: 'http://127.0.0.1:9' });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('cannot read ClickHouse at http://127.0.0.1:9');
  });

  it('reads what the main job writes by default: database bluelight on its local stack’s ClickHouse', async () => {
    const { clickhouseUrl } = testEndpoints();
    const url = new URL(clickhouseUrl);
    // A local stack as `npm start` leaves it, its ClickHouse on the test engine's port.
    const home = mkdtempSync(path.join(tmpdir(), 'report-home-'));
    try {
      mkdirSync(path.join(home, 'stacks', 'default'), { recursive: true });
      writeFileSync(
        path.join(home, 'stacks', 'default', 'stack.json'),
        JSON.stringify({
          name: 'default',
          brokers: 1,
          kafkaPort: 9092,
          controllerPort: 10092,
          clickhousePort: Number(url.port),
          components: ['clickhouse'],
          clusterId: 'x',
          kafkaVersion: '4.4.0',
        }),
      );
      const result = await bluelight(['report', '--from', '2023-04-01', '--to', '2024-03-31'], {
        BLUELIGHT_HOME: home,
        CLICKHOUSE_URL: undefined,
        CLICKHOUSE_DATABASE: undefined,
      });
      // The test engine has no database bluelight (tests never use shared names): the report looked
      // there, at the stack's URL, and says so instead of "is the stack up?".
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `database bluelight at http://127.0.0.1:${url.port} (the local stack "default" (CLICKHOUSE_URL is not set)) has no Bluelight tables`,
      );
      expect(result.stderr).toContain('npx bluelight migrate');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('exits 6 with a clear message when the period holds no data at all', async () => {
    const empty = await bluelight([
      'report',
      '--from',
      '2021-04-01',
      '--to',
      '2022-03-31',
      '--agency',
      OURS,
    ]);
    expect(empty.code).toBe(6);
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toContain(
      `bluelight: no data for 2021-04-01 – 2022-03-31 of ${OURS} in database ${db.database} at ${testEndpoints().clickhouseUrl} (CLICKHOUSE_URL): no incidents, calls or appliance time`,
    );
    // A database holding nothing of any agency: the same, not a question about --agency.
    const blank = await migratedDatabase('report_cli_blank');
    try {
      const none = await bluelight(['report', ...YEAR], { CLICKHOUSE_DATABASE: blank.database });
      expect(none.code).toBe(6);
      expect(none.stderr).toContain(
        `bluelight: no data of any agency in database ${blank.database}`,
      );
    } finally {
      await blank.drop();
    }
  });

  it('reads a user standards folder over the shipped ones, warning of each it replaces', async () => {
    // The user's 999 standard: first in force on 1 October 2023, any sample size.
    const dir = mkdtempSync(path.join(tmpdir(), 'report-user-standards-'));
    try {
      writeFileSync(
        path.join(dir, 'our-999.yaml'),
        readFileSync(path.join(SHIPPED_STANDARDS_DIR, 'calls-999-answer.yaml'), 'utf8')
          .replace('effective_from: "2015-04-01"', 'effective_from: "2023-10-01"')
          .replace('bands_seconds: [10, 60]', 'bands_seconds: [10, 60]\n    minimum_sample: 1'),
      );
      const args = ['report', '--from', '2023-04-01', '--to', '2024-03-31', '--agency', OURS];
      const warning = `warning: standard calls-999-answer from ${dir} overrides the shipped one\n`;
      const byOption = await bluelight([...args, '--format', 'json', '--user-standards', dir]);
      expect(byOption.stderr).toBe(warning);
      expect(byOption.code).toBe(0);
      // Calls c (7 s), d (10 s) and e (12 s) from 1 October on, by the user's definition.
      expect(JSON.parse(byOption.stdout).current.calls999).toMatchObject({
        covers: { from: '2023-10-01', to: '2024-03-31' },
        calls: 3,
      });
      const byVariable = await bluelight([...args, '--format', 'json'], {
        STANDARDS_USER_DIR: dir,
      });
      expect(byVariable).toEqual(byOption);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shows the figure for the part of the period a standard was in force, and says the rest precedes it', async () => {
    // The shipped standards, but the 999 standard first in force on 1 October 2023 (any sample
    // size) and the falls standard only from April 2024.
    const dir = mkdtempSync(path.join(tmpdir(), 'report-standards-'));
    try {
      cpSync(SHIPPED_STANDARDS_DIR, dir, { recursive: true });
      const edit = (file: string, change: (text: string) => string) =>
        writeFileSync(path.join(dir, file), change(readFileSync(path.join(dir, file), 'utf8')));
      edit('calls-999-answer.yaml', (text) =>
        text
          .replace('effective_from: "2015-04-01"', 'effective_from: "2023-10-01"')
          .replace('bands_seconds: [10, 60]', 'bands_seconds: [10, 60]\n    minimum_sample: 1'),
      );
      edit('falls-response.yaml', (text) =>
        text.replace('effective_from: "2020-04-01"', 'effective_from: "2024-04-01"'),
      );
      const args = [
        'report',
        '--from',
        '2023-04-01',
        '--to',
        '2024-03-31',
        '--agency',
        OURS,
        '--standards',
        dir,
      ];
      const json = await bluelight([...args, '--format', 'json']);
      expect(json.stderr).toBe('');
      expect(json.code).toBe(0);
      const { current } = JSON.parse(json.stdout);
      // Calls c (7 s), d (10 s) and e (12 s) from 1 October on; a and b (April, September) precede it.
      expect(current.calls999).toMatchObject({
        covers: { from: '2023-10-01', to: '2024-03-31' },
        uncovered: [
          {
            from: '2023-04-01',
            to: '2023-09-30',
            reason: 'precedes the standard calls-999-answer (in force from 2023-10-01)',
          },
        ],
        calls: 3,
        withinTenSecondsShare: 2 / 3,
        meanWaitSeconds: (7 + 10 + 12) / 3,
      });
      // Wholly before its standard: no figure (it used to fail the whole report), and it says so.
      expect(current.falls).toMatchObject({
        covers: null,
        uncovered: [
          {
            from: '2023-04-01',
            to: '2024-03-31',
            reason: 'precedes the standard falls-response (in force from 2024-04-01)',
          },
        ],
        versions: [],
        mobilisations: 0,
        meanAttendanceMinutes: null,
      });
      expect(current.attendanceStandard.covers).toEqual({ from: '2023-04-01', to: '2024-03-31' });
      expect(current.attendanceStandard.uncovered).toEqual([]);

      const table = await bluelight(args);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/999 calls answered within 10 s\s+66\.7%/);
      expect(table.stdout).toContain(
        '* 999 calls answered within 10 s, 2023-04-01 – 2024-03-31: covers 2023-10-01 – 2024-03-31 only; 2023-04-01 – 2023-09-30 precedes the standard calls-999-answer (in force from 2023-10-01)',
      );
      expect(table.stdout).toContain(
        '* Falls-response mobilisations and attendance, 2023-04-01 – 2024-03-31: no figure; 2023-04-01 – 2024-03-31 precedes the standard falls-response (in force from 2024-04-01)',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
