import { performance } from 'node:perf_hooks';
import { type ClickHouseClient, ClickHouseError } from '@clickhouse/client';
import { MigrationError } from './errors.js';
import { loadMigrations } from './load.js';
import { fillPlaceholders, type Migration, type Statement } from './migration-file.js';

/** Where each database records its migrations; one row per change, the newest one counts. */
export const STATUS_TABLE = 'bluelight_schema_migrations';

const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface RunnerOptions {
  /** The folder of NNNN_name.sql files; Bluelight's own migrations when not given. */
  migrationsDir?: string;
  /** Cluster mode: DDL runs ON CLUSTER and engines are Replicated. Single-node when undefined. */
  cluster?: string;
  /** Receives one line per migration applied or rolled back, with how long it took. */
  log?: (line: string) => void;
}

export interface MigrateUpOptions extends RunnerOptions {
  /** Apply pending migrations up to and including this version (default: all). */
  to?: number;
  /** Only return the statements that would run; change nothing. */
  dryRun?: boolean;
}

export interface MigrateDownOptions extends RunnerOptions {
  /** Roll back every applied migration newer than this version (0: all of them). */
  to: number;
  /** Only return the statements that would run; change nothing. */
  dryRun?: boolean;
}

/**
 * - applied: applied, and the file is as it was then
 * - pending: never applied
 * - rolled back: applied once, then rolled back (up applies it again)
 * - edited: applied, but the file has changed since, which stops up and down
 * - missing: applied, but there is no file for it, which stops up and down
 */
export type MigrationState = 'applied' | 'pending' | 'rolled back' | 'edited' | 'missing';

export interface MigrationStatus {
  version: number;
  name: string;
  state: MigrationState;
  /** When it was last applied or rolled back (ISO 8601, UTC); null when never applied. */
  changedAt: string | null;
}

/** One migration that ran (or would run, in a dry run), with its statements as sent. */
export interface MigrationStep {
  version: number;
  name: string;
  statements: string[];
}

interface StatusRecord {
  version: number;
  name: string;
  checksum: string;
  applied: boolean;
  changedAtMs: number;
}

/**
 * Creates the database the migrations go into. Run it with a client that selects no database
 * (the server refuses every request naming a database that does not exist yet).
 */
export async function createDatabaseIfMissing(
  serverClient: ClickHouseClient,
  database: string,
  options: Pick<RunnerOptions, 'cluster'> = {},
): Promise<void> {
  if (!DATABASE_NAME.test(database)) {
    throw new MigrationError(`invalid database name "${database}": expected a plain identifier`);
  }
  await serverClient.command({
    query: fillPlaceholders(
      `CREATE DATABASE IF NOT EXISTS ${database}{{ON_CLUSTER}}`,
      options.cluster,
    ),
  });
}

function isUnknownDatabase(error: unknown): boolean {
  return error instanceof ClickHouseError && error.type === 'UNKNOWN_DATABASE';
}

/** The current row of each version, read with FINAL so it never depends on background merges. */
async function readStatusRecords(client: ClickHouseClient): Promise<Map<number, StatusRecord>> {
  const records = new Map<number, StatusRecord>();
  try {
    const tables = await client.query({
      query: `SELECT count() AS n FROM system.tables
              WHERE database = currentDatabase() AND name = {table:String}`,
      query_params: { table: STATUS_TABLE },
      format: 'JSONEachRow',
    });
    const [found] = await tables.json<{ n: number | string }>();
    if (Number(found?.n) === 0) return records;
  } catch (error) {
    // A database that does not exist yet has nothing applied (dry runs and status say so).
    if (isUnknownDatabase(error)) return records;
    throw error;
  }
  const result = await client.query({
    query: `SELECT version, name, checksum, applied, toUnixTimestamp64Milli(changed_at) AS changed_at_ms
            FROM ${STATUS_TABLE} FINAL
            ORDER BY version`,
    format: 'JSONEachRow',
  });
  const rows = await result.json<{
    version: number;
    name: string;
    checksum: string;
    applied: number;
    changed_at_ms: number | string;
  }>();
  for (const row of rows) {
    records.set(Number(row.version), {
      version: Number(row.version),
      name: row.name,
      checksum: row.checksum,
      applied: Number(row.applied) === 1,
      changedAtMs: Number(row.changed_at_ms),
    });
  }
  return records;
}

function statusOf(migrations: Migration[], records: Map<number, StatusRecord>): MigrationStatus[] {
  const statuses: MigrationStatus[] = migrations.map((migration) => {
    const record = records.get(migration.version);
    const changedAt = record ? new Date(record.changedAtMs).toISOString() : null;
    let state: MigrationState = 'pending';
    if (record?.applied) state = record.checksum === migration.checksum ? 'applied' : 'edited';
    else if (record) state = 'rolled back';
    return { version: migration.version, name: migration.name, state, changedAt };
  });
  const known = new Set(migrations.map((migration) => migration.version));
  for (const record of records.values()) {
    if (record.applied && !known.has(record.version)) {
      statuses.push({
        version: record.version,
        name: record.name,
        state: 'missing',
        changedAt: new Date(record.changedAtMs).toISOString(),
      });
    }
  }
  return statuses.sort((a, b) => a.version - b.version);
}

/** Every migration in the folder with its state in the client's database. */
export async function migrationStatus(
  client: ClickHouseClient,
  options: Pick<RunnerOptions, 'migrationsDir'> = {},
): Promise<MigrationStatus[]> {
  const migrations = await loadMigrations(options.migrationsDir);
  return statusOf(migrations, await readStatusRecords(client));
}

interface CheckedState {
  migrations: Migration[];
  records: Map<number, StatusRecord>;
  statuses: MigrationStatus[];
}

/** Loads and checks everything before any change: files, sequence, and drift from the database. */
async function loadAndCheck(
  client: ClickHouseClient,
  options: RunnerOptions,
): Promise<CheckedState> {
  const migrations = await loadMigrations(options.migrationsDir);
  const records = await readStatusRecords(client);
  const statuses = statusOf(migrations, records);
  const problems = statuses.flatMap((status) => {
    if (status.state === 'edited') {
      return [
        `${status.name}.sql was edited after it was applied; add a new migration instead (and restore the file as it was applied)`,
      ];
    }
    if (status.state === 'missing') {
      return [
        `the database has ${status.name} applied, but there is no ${status.name}.sql here; these migrations are older than the database`,
      ];
    }
    return [];
  });
  if (problems.length === 1) throw new MigrationError(problems[0] ?? '');
  if (problems.length > 1) {
    throw new MigrationError(
      `the database and the migrations disagree:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  return { migrations, records, statuses };
}

function checkTarget(to: number, migrations: Migration[], lowest: number): void {
  const latest = migrations.at(-1)?.version ?? 0;
  if (!Number.isInteger(to) || to < lowest || to > latest) {
    throw new MigrationError(
      `--to ${to} is not a migration here: expected a whole number from ${lowest} to ${latest}`,
    );
  }
}

function firstLine(sql: string): string {
  const line = sql.split('\n')[0] ?? '';
  return line.length > 80 || sql.includes('\n') ? `${line.slice(0, 80)} …` : line;
}

function describeFailure(error: unknown): string {
  if (error instanceof ClickHouseError) {
    return `${error.message.trim()} (${error.type}, code ${error.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Runs one section's statements in order, naming the file and statement when one fails. */
async function runStatements(
  client: ClickHouseClient,
  migration: Migration,
  direction: 'up' | 'down',
  statements: Statement[],
  cluster: string | undefined,
): Promise<void> {
  for (const [index, statement] of statements.entries()) {
    const sql = fillPlaceholders(statement.sql, cluster);
    try {
      await client.command({ query: sql });
    } catch (error) {
      const reason = describeFailure(error);
      // ClickHouse DDL is not transactional: say what already took effect.
      const effect = [
        'Nothing of it took effect.',
        'Statement 1 of it took effect and was not undone.',
        `Statements 1–${index} of it took effect and were not undone.`,
      ][Math.min(index, 2)];
      const recorded = direction === 'up' ? 'not recorded as applied' : 'still recorded as applied';
      throw new MigrationError(
        `${migration.fileName}: ${direction} statement ${index + 1} of ${statements.length} ` +
          `(line ${statement.line}: ${firstLine(sql)}) failed: ${reason}\n` +
          `${effect} The migration is ${recorded}.`,
        { cause: error },
      );
    }
  }
}

/** Each change gets a changed_at later than the version's previous one, so FINAL picks it. */
function nextChangedAt(previous: StatusRecord | undefined): number {
  return Math.max(Date.now(), (previous?.changedAtMs ?? 0) + 1);
}

async function record(
  client: ClickHouseClient,
  migration: Migration,
  applied: boolean,
  previous: StatusRecord | undefined,
): Promise<void> {
  const changedAt = new Date(nextChangedAt(previous)).toISOString();
  await client.insert({
    table: STATUS_TABLE,
    values: [
      {
        version: migration.version,
        name: migration.name,
        checksum: migration.checksum,
        applied: applied ? 1 : 0,
        changed_at: changedAt.replace('T', ' ').replace('Z', ''),
      },
    ],
    format: 'JSONEachRow',
  });
}

async function createStatusTable(client: ClickHouseClient, cluster: string | undefined) {
  try {
    await client.command({
      query: fillPlaceholders(
        `CREATE TABLE IF NOT EXISTS ${STATUS_TABLE}{{ON_CLUSTER}}
         (
             version UInt32,
             name String,
             checksum String,
             applied UInt8,
             changed_at DateTime64(3, 'UTC')
         )
         ENGINE = {{REPLICATED}}ReplacingMergeTree(changed_at)
         ORDER BY version`,
        cluster,
      ),
    });
  } catch (error) {
    if (!isUnknownDatabase(error)) throw error;
    throw new MigrationError(
      `${(error as Error).message}\nCreate the database first: createDatabaseIfMissing(), or \`bluelight migrate\`, which does.`,
      { cause: error },
    );
  }
}

const elapsedSince = (started: number) => Math.round(performance.now() - started);
const statementCount = (count: number) => `${count} statement${count === 1 ? '' : 's'}`;

/**
 * Applies the pending migrations in order (up to `to`), recording each one as soon as its
 * statements have succeeded, so a failure leaves every earlier migration recorded. A second run
 * finds nothing pending and does nothing.
 */
export async function migrateUp(
  client: ClickHouseClient,
  options: MigrateUpOptions = {},
): Promise<MigrationStep[]> {
  const { migrations, records, statuses } = await loadAndCheck(client, options);
  const to = options.to ?? migrations.at(-1)?.version ?? 0;
  if (options.to !== undefined) checkTarget(options.to, migrations, 1);

  const pendingVersions = new Set(
    statuses
      .filter((status) => status.state === 'pending' || status.state === 'rolled back')
      .map((status) => status.version),
  );
  const pending = migrations.filter(
    (migration) => pendingVersions.has(migration.version) && migration.version <= to,
  );
  const latestApplied = statuses.findLast((status) => status.state === 'applied');
  const outOfOrder = pending.find((migration) => migration.version < (latestApplied?.version ?? 0));
  if (outOfOrder && latestApplied) {
    throw new MigrationError(
      `${outOfOrder.name} is not applied but the later ${latestApplied.name} is; migrations apply in order, so roll back to ${outOfOrder.version - 1} first`,
    );
  }

  const steps = pending.map((migration) => ({
    version: migration.version,
    name: migration.name,
    statements: migration.up.map((statement) => fillPlaceholders(statement.sql, options.cluster)),
  }));
  if (options.dryRun || pending.length === 0) return steps;

  await createStatusTable(client, options.cluster);
  for (const migration of pending) {
    const started = performance.now();
    await runStatements(client, migration, 'up', migration.up, options.cluster);
    await record(client, migration, true, records.get(migration.version));
    options.log?.(
      `applied ${migration.name} (${statementCount(migration.up.length)}) in ${elapsedSince(started)} ms`,
    );
  }
  return steps;
}

/**
 * Rolls back, newest first, every applied migration newer than `to`. Refuses before changing
 * anything when one of them is irreversible.
 */
export async function migrateDown(
  client: ClickHouseClient,
  options: MigrateDownOptions,
): Promise<MigrationStep[]> {
  const { migrations, records, statuses } = await loadAndCheck(client, options);
  checkTarget(options.to, migrations, 0);

  const appliedVersions = new Set(
    statuses.filter((status) => status.state === 'applied').map((status) => status.version),
  );
  const toRollBack = migrations
    .filter((migration) => appliedVersions.has(migration.version) && migration.version > options.to)
    .reverse();
  const irreversible = toRollBack.find((migration) => migration.irreversible);
  if (irreversible) {
    throw new MigrationError(
      `${irreversible.fileName} is irreversible (-- migrate:down irreversible), so nothing was rolled back; --to can go no lower than ${irreversible.version}`,
    );
  }

  const steps = toRollBack.map((migration) => ({
    version: migration.version,
    name: migration.name,
    statements: migration.down.map((statement) => fillPlaceholders(statement.sql, options.cluster)),
  }));
  if (options.dryRun) return steps;

  for (const migration of toRollBack) {
    const started = performance.now();
    await runStatements(client, migration, 'down', migration.down, options.cluster);
    await record(client, migration, false, records.get(migration.version));
    options.log?.(
      `rolled back ${migration.name} (${statementCount(migration.down.length)}) in ${elapsedSince(started)} ms`,
    );
  }
  return steps;
}
