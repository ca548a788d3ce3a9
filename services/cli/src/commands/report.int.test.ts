import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { callFixtureEvents, landEvents } from '@bluelight/clickhouse-sink/testing/events';
import { migratedDatabase, testEndpoints } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/bluelight.mjs');
let db: Awaited<ReturnType<typeof migratedDatabase>>;
/** A database holding one agency's facts alone. */
let single: Awaited<ReturnType<typeof migratedDatabase>>;

const OURS = 'staffordshire-control';
const THEIRS = 'cheshire-control';

function bluelight(args: string[], env: Record<string, string> = {}) {
  const endpoints = testEndpoints();
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      {
        env: {
          ...process.env,
          CLICKHOUSE_URL: endpoints.clickhouseUrl,
          CLICKHOUSE_USER: endpoints.clickhouseUser,
          CLICKHOUSE_PASSWORD: endpoints.clickhousePassword,
          CLICKHOUSE_DATABASE: db.database,
          ...env,
        },
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
      bands: [3, 2, 0],
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
        bands: [5, 6, 0],
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
    const down = await bluelight(['report', ...YEAR], { CLICKHOUSE_URL: 'http://127.0.0.1:9' });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('cannot read ClickHouse at http://127.0.0.1:9');
  });
});
