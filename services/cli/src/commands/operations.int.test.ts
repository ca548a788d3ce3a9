import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { landEvents } from '@bluelight/clickhouse-sink/testing/events';
import {
  operationsScenario,
  refApplianceSegments,
  refUtilisation,
} from '@bluelight/standards/testing/operations';
import { migratedDatabase, testEndpoints } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/bluelight.mjs');
const AGENCY = 'staffordshire-fire';
const SCENARIO = operationsScenario(AGENCY, '2024-10-26T23:00:00Z', 'CLI-');
const PERIOD = ['--from', SCENARIO.period.from, '--to', SCENARIO.period.to, '--agency', AGENCY];

let db: Awaited<ReturnType<typeof migratedDatabase>>;
beforeAll(async () => {
  db = await migratedDatabase('cliops');
  await landEvents(db.client, SCENARIO.events);
});
afterAll(async () => {
  await db.drop();
});

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

describe('bluelight operations (real ClickHouse)', () => {
  it('prints utilisation as JSON equal to a plain recomputation', async () => {
    const run = await bluelight([
      'operations',
      'utilisation',
      ...PERIOD,
      '--group-by',
      'station',
      '--format',
      'json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const expected = refUtilisation(
      SCENARIO.events,
      [AGENCY],
      SCENARIO.period,
      (c) => c.station,
      false,
    );
    const rows = JSON.parse(run.stdout).rows as { group: string; utilisation: number }[];
    expect(rows.map((row) => row.group)).toEqual(expected.map((row) => row.group));
    rows.forEach((row, index) => {
      expect(row.utilisation).toBeCloseTo(expected[index]?.utilisation ?? 0, 9);
    });
  });

  it('prints per-appliance segments as CSV and as a table', async () => {
    const csv = await bluelight(['operations', 'appliances', ...PERIOD, '--format', 'csv']);
    expect(csv.code, csv.stderr).toBe(0);
    const expected = refApplianceSegments(
      SCENARIO.events,
      [AGENCY],
      SCENARIO.period,
      (r) => r.resource,
    );
    const lines = csv.stdout.trimEnd().split('\r\n');
    expect(lines[0]?.split(',').slice(0, 3)).toEqual(['group', 'mobilisations', 'arrivals']);
    expect(lines.slice(1).map((line) => line.split(',').slice(0, 2).join(','))).toEqual(
      expected.map((row) => `${row.group},${row.mobilisations}`),
    );
    const table = await bluelight(['operations', 'appliances', ...PERIOD]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^group\s+mobilisations/);
  });

  it('exits 2 for a grouping the figure has not, 6 when the period has no rows', async () => {
    const bad = await bluelight(['operations', 'concurrency', ...PERIOD, '--group-by', 'resource']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--group-by: "resource" is not a grouping of concurrency/);
    const empty = await bluelight([
      'operations',
      'appliances',
      '--from',
      '2020-01-01',
      '--to',
      '2020-01-02',
      '--agency',
      AGENCY,
    ]);
    expect(empty.code).toBe(6);
  });
});
