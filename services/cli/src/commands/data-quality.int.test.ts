import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { landEvents } from '@bluelight/clickhouse-sink/testing/events';
import { dataQualityScenario, expectedCounts } from '@bluelight/standards/testing/data-quality';
import { migratedDatabase, testEndpoints } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBluelight } from '../testing/run-cli.js';

const FIRE = 'staffordshire-fire';
const CONTROL = 'staffordshire-control';
const scenario = dataQualityScenario({
  fire: FIRE,
  calls: CONTROL,
  neighbour: 'cheshire-fire',
});
const ours = scenario.expected.filter((record) => record.agency !== 'cheshire-fire');

let db: Awaited<ReturnType<typeof migratedDatabase>>;
let home: string;
beforeAll(async () => {
  db = await migratedDatabase('cliquality');
  await landEvents(db.client, scenario.events);
  home = await mkdtemp(path.join(os.tmpdir(), 'bluelight-dq-'));
});
afterAll(async () => {
  await db?.drop();
  await rm(home, { recursive: true, force: true });
});

function bluelight(...args: string[]) {
  const endpoints = testEndpoints();
  return runBluelight(home, ['data-quality', ...args], {
    CLICKHOUSE_URL: endpoints.clickhouseUrl,
    CLICKHOUSE_USER: endpoints.clickhouseUser,
    CLICKHOUSE_PASSWORD: endpoints.clickhousePassword,
    CLICKHOUSE_DATABASE: db.database,
  });
}
const PERIOD = ['--from', scenario.from, '--to', scenario.to, '--agency', `${FIRE},${CONTROL}`];

describe('bluelight data-quality (real ClickHouse)', { timeout: 180_000 }, () => {
  it('prints the counts per check and source as CSV, equal to the hand counts', async () => {
    const result = await bluelight(...PERIOD, '--format', 'csv');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [header, ...lines] = result.stdout.trim().split('\r\n');
    const checks = Object.keys(expectedCounts([]));
    expect(header).toBe(['agency', 'source', ...checks].join(','));
    const expected = new Map<string, typeof ours>();
    for (const record of ours) {
      const at = `${record.agency},${record.source}`;
      expected.set(at, [...(expected.get(at) ?? []), record]);
    }
    expect(lines.sort()).toEqual(
      [...expected]
        .map(([at, records]) => {
          const counts = expectedCounts(records);
          return `${at},${checks.map((check) => counts[check as keyof typeof counts]).join(',')}`;
        })
        .sort(),
    );
  });

  it('lists the records of one check', async () => {
    const result = await bluelight(
      ...PERIOD,
      '--check',
      'clock_skew',
      '--records',
      '--format',
      'json',
    );
    expect(result.code).toBe(0);
    const records = JSON.parse(result.stdout) as { id: string; check: string }[];
    expect(records.map((record) => record.id).sort()).toEqual(
      ours
        .filter((record) => record.check === 'clock_skew')
        .map((record) => record.id)
        .sort(),
    );
    const table = await bluelight(...PERIOD);
    expect(table.code).toBe(0);
    const total = table.stdout.split('\n').find((line) => line.startsWith('total'));
    expect(total?.trim().split(/\s+/).slice(1).map(Number)).toEqual(
      Object.values(expectedCounts(ours)),
    );
  });

  it('explains itself and refuses a check it does not have (exit 2)', async () => {
    const help = await bluelight('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: bluelight data-quality');
    const bad = await bluelight(...PERIOD, '--check', 'typo');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"typo" is not a check');
  });
});
