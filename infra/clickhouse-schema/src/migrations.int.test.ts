import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ClickHouseClient, createClickHouse } from '@bluelight/service-kit';
import { clickhouseFor, testEndpoints, uniqueName } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabaseIfMissing,
  MigrationError,
  migrateDown,
  migrateUp,
  migrationStatus,
} from './index.js';

const fixtures = (name: string) =>
  fileURLToPath(new URL(`./__fixtures__/${name}/`, import.meta.url));
const STATIONS = fixtures('stations');

/** A client with no database selected: creates, inspects and drops the tests' databases. */
let server: ClickHouseClient;
const databases: string[] = [];
const clients: ClickHouseClient[] = [];
const folders: string[] = [];

beforeAll(() => {
  server = clickhouseFor(testEndpoints());
});
afterAll(async () => {
  for (const client of clients) await client.close();
  for (const database of databases) {
    await server.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  }
  await server.close();
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

/** A client for a database of the test's own, which exists only if `create` is true. */
async function databaseClient(
  create = true,
): Promise<{ database: string; client: ClickHouseClient }> {
  const database = uniqueName('mig');
  databases.push(database);
  if (create) await createDatabaseIfMissing(server, database);
  const endpoints = testEndpoints();
  const client = createClickHouse({
    url: endpoints.clickhouseUrl,
    username: endpoints.clickhouseUser,
    password: endpoints.clickhousePassword,
    database,
    application: 'bluelight-test',
  });
  clients.push(client);
  return { database, client };
}

/** A copy of a fixture folder that the test may change. */
async function copyOf(fixture: string): Promise<string> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'bluelight-migrations-'));
  folders.push(folder);
  await cp(fixtures(fixture), folder, { recursive: true });
  return folder;
}

async function rows<Row>(query: string, params: Record<string, unknown> = {}): Promise<Row[]> {
  const result = await server.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<Row>();
}

async function tables(database: string): Promise<string[]> {
  const found = await rows<{ name: string }>(
    'SELECT name FROM system.tables WHERE database = {database:String} ORDER BY name',
    { database },
  );
  return found.map((table) => table.name);
}

async function columns(database: string, table: string): Promise<string[]> {
  const found = await rows<{ name: string; type: string }>(
    `SELECT name, type FROM system.columns
     WHERE database = {database:String} AND table = {table:String} ORDER BY position`,
    { database, table },
  );
  return found.map((column) => `${column.name} ${column.type}`);
}

/** Every row ever written to the status table, oldest first: the history, not just the state. */
async function statusHistory(database: string) {
  return rows<{ version: number; name: string; applied: number }>(
    `SELECT version, name, applied FROM ${database}.bluelight_schema_migrations
     ORDER BY changed_at, version`,
  );
}

const withoutTimes = (statuses: Awaited<ReturnType<typeof migrationStatus>>) =>
  statuses.map(({ version, name, state }) => ({ version, name, state }));

describe('the migrations runner (real engine)', () => {
  it('applies the migrations in order, records them, and does nothing the second time', async () => {
    const { database, client } = await databaseClient();
    expect(await migrationStatus(client, { migrationsDir: STATIONS })).toEqual([
      { version: 1, name: '0001_create_stations', state: 'pending', changedAt: null },
      { version: 2, name: '0002_add_appliances', state: 'pending', changedAt: null },
    ]);

    const before = Date.now();
    const log: string[] = [];
    const steps = await migrateUp(client, {
      migrationsDir: STATIONS,
      log: (line) => log.push(line),
    });
    expect(steps.map((step) => step.name)).toEqual(['0001_create_stations', '0002_add_appliances']);
    expect(log).toHaveLength(2);
    expect(log[0]).toMatch(/^applied 0001_create_stations \(1 statement\) in \d+ ms$/);
    expect(log[1]).toMatch(/^applied 0002_add_appliances \(2 statements\) in \d+ ms$/);

    expect(await tables(database)).toEqual([
      'appliance_availability',
      'bluelight_schema_migrations',
      'stations',
    ]);
    expect(await columns(database, 'stations')).toEqual([
      'station_id String',
      'name String',
      'appliances UInt8',
    ]);
    expect(await columns(database, 'bluelight_schema_migrations')).toEqual([
      'version UInt32',
      'name String',
      'checksum String',
      'applied UInt8',
      "changed_at DateTime64(3, 'UTC')",
    ]);

    const status = await migrationStatus(client, { migrationsDir: STATIONS });
    expect(withoutTimes(status)).toEqual([
      { version: 1, name: '0001_create_stations', state: 'applied' },
      { version: 2, name: '0002_add_appliances', state: 'applied' },
    ]);
    for (const { changedAt } of status) {
      expect(Date.parse(changedAt ?? '')).toBeGreaterThanOrEqual(before - 1);
      expect(Date.parse(changedAt ?? '')).toBeLessThanOrEqual(Date.now());
    }
    // The fixture files are already normalised (LF, no trailing spaces), so their checksum is
    // the sha256 of their bytes.
    const stored = await rows<{ version: number; checksum: string }>(
      `SELECT version, checksum FROM ${database}.bluelight_schema_migrations FINAL ORDER BY version`,
    );
    const sha256 = async (file: string) =>
      createHash('sha256')
        .update(await readFile(path.join(STATIONS, file)))
        .digest('hex');
    expect(stored).toEqual([
      { version: 1, checksum: await sha256('0001_create_stations.sql') },
      { version: 2, checksum: await sha256('0002_add_appliances.sql') },
    ]);

    const again: string[] = [];
    expect(
      await migrateUp(client, { migrationsDir: STATIONS, log: (line) => again.push(line) }),
    ).toEqual([]);
    expect(again).toEqual([]);
    expect(await statusHistory(database)).toEqual([
      { version: 1, name: '0001_create_stations', applied: 1 },
      { version: 2, name: '0002_add_appliances', applied: 1 },
    ]);
  });

  it('applies only up to --to', async () => {
    const { database, client } = await databaseClient();
    const steps = await migrateUp(client, { migrationsDir: STATIONS, to: 1 });
    expect(steps.map((step) => step.name)).toEqual(['0001_create_stations']);
    expect(await tables(database)).toEqual(['bluelight_schema_migrations', 'stations']);
    await expect(migrateUp(client, { migrationsDir: STATIONS, to: 3 })).rejects.toThrow(
      '--to 3 is not a migration here: expected a whole number from 1 to 2',
    );
  });

  it('dry-runs with the placeholders filled and changes nothing, even the database', async () => {
    const { database, client } = await databaseClient(false);
    const steps = await migrateUp(client, { migrationsDir: STATIONS, dryRun: true });
    expect(steps).toEqual([
      {
        version: 1,
        name: '0001_create_stations',
        statements: [
          'CREATE TABLE IF NOT EXISTS stations \n(\n    station_id String,\n    name String\n)\nENGINE = MergeTree\nORDER BY station_id',
        ],
      },
      {
        version: 2,
        name: '0002_add_appliances',
        statements: [
          'ALTER TABLE stations  ADD COLUMN IF NOT EXISTS appliances UInt8 DEFAULT 1',
          "CREATE TABLE IF NOT EXISTS appliance_availability \n(\n    station_id String,\n    callsign String,\n    available UInt8,\n    changed_at DateTime64(3, 'UTC')\n)\nENGINE = ReplacingMergeTree(changed_at)\nORDER BY (station_id, callsign)",
        ],
      },
    ]);
    const clustered = await migrateUp(client, {
      migrationsDir: STATIONS,
      dryRun: true,
      cluster: 'bluelight',
      to: 1,
    });
    expect(clustered).toEqual([
      {
        version: 1,
        name: '0001_create_stations',
        statements: [
          "CREATE TABLE IF NOT EXISTS stations  ON CLUSTER 'bluelight'\n(\n    station_id String,\n    name String\n)\nENGINE = ReplicatedMergeTree\nORDER BY station_id",
        ],
      },
    ]);

    expect(
      await rows('SELECT name FROM system.databases WHERE name = {database:String}', { database }),
    ).toEqual([]);
    expect(withoutTimes(await migrationStatus(client, { migrationsDir: STATIONS }))).toEqual([
      { version: 1, name: '0001_create_stations', state: 'pending' },
      { version: 2, name: '0002_add_appliances', state: 'pending' },
    ]);
    // Applying for real needs the database; the runner says how to get it.
    const missing = await migrateUp(client, { migrationsDir: STATIONS }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(MigrationError);
    expect((missing as Error).message).toContain(database);
    expect((missing as Error).message).toContain(
      'Create the database first: createDatabaseIfMissing(), or `bluelight migrate`, which does.',
    );
  });

  it('rolls back down to but excluding --to, and up applies the rolled-back migration again', async () => {
    const { database, client } = await databaseClient();
    await migrateUp(client, { migrationsDir: STATIONS });

    const planned = await migrateDown(client, { migrationsDir: STATIONS, to: 1, dryRun: true });
    expect(planned).toEqual([
      {
        version: 2,
        name: '0002_add_appliances',
        statements: [
          'DROP TABLE IF EXISTS appliance_availability ',
          'ALTER TABLE stations  DROP COLUMN IF EXISTS appliances',
        ],
      },
    ]);
    expect(await tables(database)).toEqual([
      'appliance_availability',
      'bluelight_schema_migrations',
      'stations',
    ]);

    const log: string[] = [];
    await migrateDown(client, { migrationsDir: STATIONS, to: 1, log: (line) => log.push(line) });
    expect(log).toHaveLength(1);
    expect(log[0]).toMatch(/^rolled back 0002_add_appliances \(2 statements\) in \d+ ms$/);
    expect(await tables(database)).toEqual(['bluelight_schema_migrations', 'stations']);
    expect(await columns(database, 'stations')).toEqual(['station_id String', 'name String']);
    expect(withoutTimes(await migrationStatus(client, { migrationsDir: STATIONS }))).toEqual([
      { version: 1, name: '0001_create_stations', state: 'applied' },
      { version: 2, name: '0002_add_appliances', state: 'rolled back' },
    ]);

    const reapplied = await migrateUp(client, { migrationsDir: STATIONS });
    expect(reapplied.map((step) => step.name)).toEqual(['0002_add_appliances']);
    expect(await tables(database)).toEqual([
      'appliance_availability',
      'bluelight_schema_migrations',
      'stations',
    ]);
    expect(withoutTimes(await migrationStatus(client, { migrationsDir: STATIONS }))).toEqual([
      { version: 1, name: '0001_create_stations', state: 'applied' },
      { version: 2, name: '0002_add_appliances', state: 'applied' },
    ]);
    expect(await statusHistory(database)).toEqual([
      { version: 1, name: '0001_create_stations', applied: 1 },
      { version: 2, name: '0002_add_appliances', applied: 1 },
      { version: 2, name: '0002_add_appliances', applied: 0 },
      { version: 2, name: '0002_add_appliances', applied: 1 },
    ]);

    await migrateDown(client, { migrationsDir: STATIONS, to: 0 });
    expect(await tables(database)).toEqual(['bluelight_schema_migrations']);
  });

  it('refuses to run when an applied migration was edited, but not for line endings', async () => {
    const { database, client } = await databaseClient();
    const folder = await copyOf('stations');
    await migrateUp(client, { migrationsDir: folder, to: 1 });
    const file = path.join(folder, '0001_create_stations.sql');
    const original = await readFile(file, 'utf8');

    await writeFile(file, original.replaceAll('\n', '  \r\n'));
    expect(withoutTimes(await migrationStatus(client, { migrationsDir: folder }))[0]).toEqual({
      version: 1,
      name: '0001_create_stations',
      state: 'applied',
    });

    await writeFile(file, original.replace('name String', 'name LowCardinality(String)'));
    const edited =
      '0001_create_stations.sql was edited after it was applied; add a new migration instead (and restore the file as it was applied)';
    await expect(migrateUp(client, { migrationsDir: folder })).rejects.toThrow(
      new MigrationError(edited),
    );
    await expect(migrateDown(client, { migrationsDir: folder, to: 0 })).rejects.toThrow(
      new MigrationError(edited),
    );
    expect(withoutTimes(await migrationStatus(client, { migrationsDir: folder }))).toEqual([
      { version: 1, name: '0001_create_stations', state: 'edited' },
      { version: 2, name: '0002_add_appliances', state: 'pending' },
    ]);
    // Nothing ran: 0002 is not applied and 0001's table is untouched.
    expect(await tables(database)).toEqual(['bluelight_schema_migrations', 'stations']);
    expect(await columns(database, 'stations')).toEqual(['station_id String', 'name String']);
  });

  it('refuses to run when the database has a migration the folder lacks', async () => {
    const { client } = await databaseClient();
    const folder = await copyOf('stations');
    await migrateUp(client, { migrationsDir: folder });
    await rm(path.join(folder, '0002_add_appliances.sql'));

    expect(withoutTimes(await migrationStatus(client, { migrationsDir: folder }))).toEqual([
      { version: 1, name: '0001_create_stations', state: 'applied' },
      { version: 2, name: '0002_add_appliances', state: 'missing' },
    ]);
    await expect(migrateUp(client, { migrationsDir: folder })).rejects.toThrow(
      new MigrationError(
        'the database has 0002_add_appliances applied, but there is no 0002_add_appliances.sql here; these migrations are older than the database',
      ),
    );
  });

  it('names the file and statement that failed, with ClickHouse’s message, and records nothing for it', async () => {
    const { database, client } = await databaseClient();
    const failing = fixtures('failing');
    const error = await migrateUp(client, { migrationsDir: failing }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    const [failure, effect, ...rest] = (error as Error).message.split('\n');
    // ClickHouse words the reason differently across versions ("Table db.no_such_table does not
    // exist", "Could not find table: no_such_table"); the code and type are stable.
    expect(failure).toMatch(
      /^0002_broken_statement\.sql: up statement 2 of 3 \(line 5: ALTER TABLE no_such_table ADD COLUMN priority UInt8\) failed: .*no_such_table.* \(UNKNOWN_TABLE, code 60\)$/,
    );
    expect(effect).toBe(
      'Statement 1 of it took effect and was not undone. The migration is not recorded as applied.',
    );
    expect(rest).toEqual([]);

    expect(withoutTimes(await migrationStatus(client, { migrationsDir: failing }))).toEqual([
      { version: 1, name: '0001_create_stations', state: 'applied' },
      { version: 2, name: '0002_broken_statement', state: 'pending' },
    ]);
    expect(await statusHistory(database)).toEqual([
      { version: 1, name: '0001_create_stations', applied: 1 },
    ]);
    // Statement 1 took effect (ClickHouse DDL is not transactional); statement 3 never ran.
    expect(await tables(database)).toEqual([
      'bluelight_schema_migrations',
      'incidents',
      'stations',
    ]);
  });

  it('refuses to roll back past an irreversible migration, before changing anything', async () => {
    const { database, client } = await databaseClient();
    const irreversible = fixtures('irreversible');
    await migrateUp(client, { migrationsDir: irreversible });

    await expect(migrateDown(client, { migrationsDir: irreversible, to: 0 })).rejects.toThrow(
      new MigrationError(
        '0002_backfill_station_names.sql is irreversible (-- migrate:down irreversible), so nothing was rolled back; --to can go no lower than 2',
      ),
    );
    expect(await tables(database)).toEqual(['bluelight_schema_migrations', 'stations']);
    expect(
      await rows(`SELECT station_id, name FROM ${database}.stations ORDER BY station_id`),
    ).toEqual([
      { station_id: 'HAN', name: 'Hanley' },
      { station_id: 'LEE', name: 'Leek' },
    ]);
    expect(withoutTimes(await migrationStatus(client, { migrationsDir: irreversible }))).toEqual([
      { version: 1, name: '0001_create_stations', state: 'applied' },
      { version: 2, name: '0002_backfill_station_names', state: 'applied' },
    ]);
  });
});
