import {
  checkClusterName,
  createDatabaseIfMissing,
  MigrationError,
  type MigrationStatus,
  type MigrationStep,
  migrateDown,
  migrateUp,
  migrationStatus,
} from '@bluelight/clickhouse-schema';
import { recomputeRevised } from '@bluelight/clickhouse-sink';
import {
  type ClickHouseClient,
  ClickHouseError,
  clickhouseConnectionFrom,
  createClickHouse,
  EXIT_CONFIG,
  platformConfigSchema,
} from '@bluelight/service-kit';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ExitCode, loadCommandConfig, UserFacingError } from '../exit-codes.js';
import { rebuildProgressReporter } from './facts.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

/**
 * Migrations that move raw rows or backfill facts from them: revised entities' facts are
 * recomputed after them.
 */
const RECOMPUTE_AFTER = new Set(['0007_move_raw_v1', '0008_appliance_facts']);

const clickhouseConfigSchema = platformConfigSchema.pick({
  CLICKHOUSE_URL: true,
  CLICKHOUSE_USER: true,
  CLICKHOUSE_PASSWORD: true,
  CLICKHOUSE_DATABASE: true,
  CLICKHOUSE_CA_FILE: true,
});

function parseVersion(value: string): number {
  if (!/^\d{1,4}$/.test(value)) {
    throw new InvalidArgumentError('expected a migration number, e.g. 3 or 0003');
  }
  return Number(value);
}

function parseCluster(value: string): string {
  try {
    return checkClusterName(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

const clusterOption = () =>
  new Option(
    '--cluster <name>',
    'cluster mode: DDL runs ON CLUSTER <name> with Replicated engines (default: $CLICKHOUSE_CLUSTER; unset: single node)',
  ).argParser(parseCluster);

const fourDigits = (version: number) => String(version).padStart(4, '0');
const migrations = (count: number) => `${count} migration${count === 1 ? '' : 's'}`;

/** Where the migrations go, from the same environment variables every service reads. */
function migrationTarget(clusterFromOption: string | undefined) {
  const config = loadCommandConfig(clickhouseConfigSchema);
  let cluster = clusterFromOption;
  if (cluster === undefined && process.env.CLICKHOUSE_CLUSTER) {
    try {
      cluster = checkClusterName(process.env.CLICKHOUSE_CLUSTER);
    } catch (error) {
      throw new UserFacingError(`CLICKHOUSE_CLUSTER: ${(error as Error).message}`, EXIT_CONFIG);
    }
  }
  // The kit's client never logs failures itself; this command reports each one.
  const clientFor = (database?: string) =>
    createClickHouse({
      ...clickhouseConnectionFrom(config),
      database,
      application: 'bluelight-migrate',
    });
  return { database: config.CLICKHOUSE_DATABASE, url: config.CLICKHOUSE_URL, cluster, clientFor };
}

type Target = ReturnType<typeof migrationTarget>;

/** Runs `work` with a client, closing it afterwards and turning known failures into messages. */
async function withClient<T>(
  target: Target,
  client: ClickHouseClient,
  work: (client: ClickHouseClient) => Promise<T>,
): Promise<T> {
  try {
    return await work(client);
  } catch (error) {
    if (error instanceof MigrationError) throw new UserFacingError(error.message);
    if (error instanceof ClickHouseError) {
      throw new UserFacingError(`ClickHouse at ${target.url}: ${error.message.trim()}`);
    }
    if (error instanceof Error && 'code' in error && typeof error.code === 'string') {
      throw new UserFacingError(`cannot reach ClickHouse at ${target.url}: ${error.message}`);
    }
    throw error;
  } finally {
    await client.close();
  }
}

/** A dry run prints a SQL script: the statements as they would be sent, one migration a block. */
function printPlan(steps: MigrationStep[], verb: string): void {
  for (const step of steps) {
    say(`-- ${verb} ${step.name}`);
    for (const statement of step.statements) say(`${statement};`);
    say('');
  }
}

function printStatus(database: string, statuses: MigrationStatus[]): void {
  const width = Math.max(0, ...statuses.map((status) => status.name.length));
  for (const status of statuses) {
    say(
      `${status.name.padEnd(width)}  ${status.state.padEnd(11)}  ${status.changedAt ?? ''}`.trimEnd(),
    );
  }
  const counts = new Map<string, number>();
  for (const status of statuses) counts.set(status.state, (counts.get(status.state) ?? 0) + 1);
  const summary = [...counts].map(([state, count]) => `${count} ${state}`).join(', ');
  say(`database ${database}: ${summary || 'no migrations'}`);
}

async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await prompt.question(question);
  prompt.close();
  return /^y(es)?$/i.test(answer.trim());
}

export function registerMigrateCommand(program: Command): void {
  const migrate = program
    .command('migrate')
    .description(
      'apply the ClickHouse schema migrations (infra/clickhouse-schema/migrations) to $CLICKHOUSE_DATABASE; see docs/migrations.md',
    )
    .addHelpText(
      'after',
      '\n`bluelight migrate [--dry-run] [--to N] [--cluster NAME]` is short for `bluelight migrate up …`.\nConnection: CLICKHOUSE_URL, CLICKHOUSE_USER, CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE.',
    );

  migrate
    .command('up', { isDefault: true })
    .description(
      'apply the pending migrations in order, creating the database if missing (what `bluelight migrate` alone does)',
    )
    .option('--dry-run', 'print the statements that would run; change nothing')
    .option('--to <N>', 'apply up to and including migration N', parseVersion)
    .addOption(clusterOption())
    .action(async (options: { dryRun?: boolean; to?: number; cluster?: string }) => {
      const target = migrationTarget(options.cluster);
      const { database, cluster } = target;
      const upOptions = { to: options.to, cluster };
      // Every check runs before anything changes, even before the database is created.
      const planned = await withClient(target, target.clientFor(database), (client) =>
        migrateUp(client, { ...upOptions, dryRun: true }),
      );
      if (options.dryRun) {
        printPlan(planned, 'would apply');
        say(
          `dry run: ${migrations(planned.length)} would be applied to ${database}; nothing changed.`,
        );
        return;
      }
      if (planned.length === 0) {
        say(
          options.to === undefined
            ? `nothing to apply: database ${database} is up to date.`
            : `nothing to apply: migrations up to ${fourDigits(options.to)} are already applied in ${database}.`,
        );
        return;
      }
      await withClient(target, target.clientFor(), (server) =>
        createDatabaseIfMissing(server, database, { cluster }),
      );
      const steps = await withClient(target, target.clientFor(database), (client) =>
        migrateUp(client, { ...upOptions, log: say }),
      );
      say(`applied ${migrations(steps.length)}; database ${database} is at ${steps.at(-1)?.name}.`);
      if (steps.some((step) => RECOMPUTE_AFTER.has(step.name))) {
        // Moved raw rows built their facts through the views; revised entities need the sink's
        // recompute, which no SQL migration can run.
        const progress = await rebuildProgressReporter();
        const revised = await withClient(target, target.clientFor(database), (client) =>
          recomputeRevised(client, (step) => progress.report(step)),
        ).finally(() => progress.stop());
        say(`recomputed the facts of ${revised} revised entities.`);
      }
    });

  migrate
    .command('status')
    .description(
      'list every migration as applied, pending, rolled back, edited or missing; exit code 1 when one is edited or missing',
    )
    .option('--json', 'print machine-readable JSON')
    .action(async (options: { json?: boolean }) => {
      const target = migrationTarget(undefined);
      const statuses = await withClient(target, target.clientFor(target.database), (client) =>
        migrationStatus(client),
      );
      if (options.json) {
        say(JSON.stringify({ database: target.database, migrations: statuses }, null, 2));
      } else {
        printStatus(target.database, statuses);
      }
      const drifted = statuses.filter(
        (status) => status.state === 'edited' || status.state === 'missing',
      );
      if (drifted.length > 0) {
        process.stderr.write(
          `bluelight: ${drifted.map((status) => `${status.name} is ${status.state}`).join('; ')}: migrate refuses to run until this is fixed (see docs/migrations.md)\n`,
        );
        process.exitCode = ExitCode.failure;
      }
    });

  migrate
    .command('down')
    .description('roll back, newest first, every applied migration newer than --to')
    .requiredOption(
      '--to <N>',
      'the migration to stop at, which stays applied (0: roll back all)',
      parseVersion,
    )
    .option('--dry-run', 'print the statements that would run; change nothing')
    .option('--yes', 'do not ask; required when not run from a terminal')
    .addOption(clusterOption())
    .action(async (options: { to: number; dryRun?: boolean; yes?: boolean; cluster?: string }) => {
      if (!options.dryRun && !options.yes && !process.stdin.isTTY) {
        throw new UserFacingError('refusing to roll back without --yes', ExitCode.usage);
      }
      const target = migrationTarget(options.cluster);
      const { database, cluster } = target;
      await withClient(target, target.clientFor(database), async (client) => {
        const planned = await migrateDown(client, { to: options.to, cluster, dryRun: true });
        if (planned.length === 0) {
          say(
            `nothing to roll back: no migration newer than ${fourDigits(options.to)} is applied.`,
          );
          return;
        }
        if (options.dryRun) {
          printPlan(planned, 'would roll back');
          say(`dry run: ${migrations(planned.length)} would be rolled back; nothing changed.`);
          return;
        }
        if (
          !options.yes &&
          !(await confirm(
            `Roll back ${planned.map((step) => step.name).join(', ')} in database ${database}? Their down sections drop what they created, data included. [y/N] `,
          ))
        ) {
          say('nothing rolled back.');
          return;
        }
        const steps = await migrateDown(client, { to: options.to, cluster, log: say });
        say(
          `rolled back ${migrations(steps.length)}; database ${database} is at ${options.to === 0 ? 'no migration' : fourDigits(options.to)}.`,
        );
      });
    });
}
