import {
  canControlEngines,
  clickhouseFor,
  startPrivateStack,
  testEndpoints,
  uniqueName,
} from '@bluelight/test/harness';
import { afterAll, describe, expect, it } from 'vitest';
import { ClickHouseError } from './clickhouse.js';

const client = () => clickhouseFor(testEndpoints());

/** Attendance records for two stations, written out by hand so expected figures are independent. */
const ATTENDANCES = [
  { incident_id: 'INC-1', station: 'Hanley', arrived_at: '2024-03-30 23:10:00.000', seconds: 420 },
  { incident_id: 'INC-2', station: 'Hanley', arrived_at: '2024-03-31 00:30:00.000', seconds: 610 },
  // 01:30 UTC on 31 March 2024 is 02:30 BST: after the clocks went forward at 01:00 UTC.
  { incident_id: 'INC-3', station: 'Hanley', arrived_at: '2024-03-31 01:30:00.000', seconds: 300 },
  { incident_id: 'INC-4', station: 'Leek', arrived_at: '2024-03-31 12:00:00.250', seconds: 900 },
  // 23:30 UTC on 31 March is 00:30 on 1 April in London: it belongs to April there.
  {
    incident_id: 'INC-5',
    station: "Stoke 'Central'",
    arrived_at: '2024-03-31 23:30:00.000',
    seconds: 480,
  },
];

async function createAttendanceTable(table: string) {
  const ch = client();
  await ch.command({
    query: `CREATE TABLE ${table} (
      incident_id String,
      station LowCardinality(String),
      arrived_at DateTime64(3, 'UTC'),
      seconds UInt32
    ) ENGINE = MergeTree
    PARTITION BY toYYYYMM(arrived_at)
    ORDER BY (station, arrived_at)`,
  });
  return ch;
}

describe('ClickHouse through @clickhouse/client (real engine)', () => {
  const tables: string[] = [];
  afterAll(async () => {
    const ch = client();
    for (const table of tables) await ch.command({ query: `DROP TABLE IF EXISTS ${table}` });
    await ch.close();
  });

  it('creates a MergeTree table, inserts JSONEachRow and answers parameterised queries exactly', async () => {
    const table = uniqueName('kit_attendance');
    tables.push(table);
    const ch = await createAttendanceTable(table);
    await ch.insert({ table, values: ATTENDANCES, format: 'JSONEachRow' });

    const hanley = await ch.query({
      query: `SELECT count() AS n, avg(seconds) AS mean, countIf(seconds <= {limit:UInt32}) AS within
              FROM ${table} WHERE station = {station:String}`,
      query_params: { station: 'Hanley', limit: 480 },
      format: 'JSONEachRow',
    });
    // Hanley: 420, 610, 300 → n 3, mean 443.33…, within 8 min: 2.
    expect(await hanley.json()).toEqual([{ n: 3, mean: 1330 / 3, within: 2 }]);

    // A value with quotes and a backslash goes through as data, never as SQL.
    const quoted = await ch.query({
      query: `SELECT incident_id FROM ${table} WHERE station = {station:String}`,
      query_params: { station: "Stoke 'Central'" },
      format: 'JSONEachRow',
    });
    expect(await quoted.json()).toEqual([{ incident_id: 'INC-5' }]);
    const injection = await ch.query({
      query: `SELECT count() AS n FROM ${table} WHERE station = {station:String}`,
      query_params: { station: "x' OR 1=1 --\\" },
      format: 'JSONEachRow',
    });
    expect(await injection.json()).toEqual([{ n: 0 }]);
  });

  it('buckets UTC timestamps into Europe/London days across the spring clocks change', async () => {
    const table = uniqueName('kit_london_days');
    tables.push(table);
    const ch = await createAttendanceTable(table);
    await ch.insert({ table, values: ATTENDANCES, format: 'JSONEachRow' });
    const days = await ch.query({
      query: `SELECT toString(toDate(arrived_at, {tz:String})) AS day, count() AS n
              FROM ${table}
              WHERE arrived_at >= {from:DateTime64(3, 'UTC')}
              GROUP BY day ORDER BY day`,
      query_params: { tz: 'Europe/London', from: '2024-03-30 00:00:00.000' },
      format: 'JSONEachRow',
    });
    // In London: INC-1 30 Mar (GMT), INC-2/3/4 31 Mar, INC-5 1 Apr (00:30 BST).
    expect(await days.json()).toEqual([
      { day: '2024-03-30', n: 1 },
      { day: '2024-03-31', n: 3 },
      { day: '2024-04-01', n: 1 },
    ]);
    const stored = await ch.query({
      query: `SELECT toString(arrived_at) AS utc FROM ${table} WHERE incident_id = {id:String}`,
      query_params: { id: 'INC-4' },
      format: 'JSONEachRow',
    });
    expect(await stored.json()).toEqual([{ utc: '2024-03-31 12:00:00.250' }]);
  });

  it('raises ClickHouseError with the server code for a bad query and an unknown table', async () => {
    const ch = client();
    const syntax = await ch.query({ query: 'SELEC 1' }).catch((error: unknown) => error);
    expect(syntax).toBeInstanceOf(ClickHouseError);
    expect((syntax as ClickHouseError).code).toBe('62');
    expect((syntax as ClickHouseError).message).toContain('Syntax error');

    const missing = await ch
      .query({ query: `SELECT * FROM ${uniqueName('no_such_table')}` })
      .catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(ClickHouseError);
    expect((missing as ClickHouseError).code).toBe('60');
    expect((missing as ClickHouseError).type).toBe('UNKNOWN_TABLE');

    const badValue = await ch
      .query({ query: 'SELECT {n:UInt8} AS n', query_params: { n: 'not a number' } })
      .catch((error: unknown) => error);
    expect(badValue).toBeInstanceOf(ClickHouseError);
  });

  it.skipIf(!canControlEngines())('keeps inserted data across a ClickHouse restart', async () => {
    const { stack, cleanup } = await startPrivateStack({ components: ['clickhouse'] });
    try {
      const endpoints = {
        clickhouseUrl: stack.clickhouseUrl,
        clickhouseUser: 'default',
        clickhousePassword: '',
      };
      const table = uniqueName('kit_restart');
      const before = clickhouseFor(endpoints);
      await before.command({
        query: `CREATE TABLE ${table} (incident_id String, arrived_at DateTime64(3, 'UTC'), seconds UInt32)
                ENGINE = MergeTree ORDER BY incident_id`,
      });
      await before.insert({
        table,
        values: ATTENDANCES.map(({ incident_id, arrived_at, seconds }) => ({
          incident_id,
          arrived_at,
          seconds,
        })),
        format: 'JSONEachRow',
      });
      await before.close();

      await stack.stop('clickhouse');
      expect((await stack.status()).find((c) => c.id === 'clickhouse')?.running).toBe(false);
      await stack.start('clickhouse');

      const after = clickhouseFor(endpoints);
      const rows = await after.query({
        query: `SELECT incident_id, seconds FROM ${table} ORDER BY incident_id`,
        format: 'JSONEachRow',
      });
      expect(await rows.json()).toEqual(
        ATTENDANCES.map(({ incident_id, seconds }) => ({ incident_id, seconds })),
      );
      await after.close();
    } finally {
      await cleanup();
    }
  });
});
