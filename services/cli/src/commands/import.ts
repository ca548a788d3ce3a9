import { existsSync } from 'node:fs';
import type {
  CompiledMapping,
  EventOutput,
  ImportSummary,
  OutputTarget,
  RowError,
} from '@bluelight/importers';
import { ClickHouseError, ConfigError, createLogger, EXIT_CONFIG } from '@bluelight/service-kit';
import { Argument, type Command, InvalidArgumentError } from 'commander';
import { connectReader } from '../clickhouse-reader.js';
import { ExitCode, loadCommandConfig, UserFacingError } from '../exit-codes.js';
import { MAIN_JOB_DATABASE, MAIN_JOB_STACK } from '../main-job.js';

/** Imported, but some rows were rejected (listed in the summary and the --errors file). */
/** Rejected rows printed in the summary; --errors FILE has all of them. */
const ROWS_SHOWN = 10;

const FORMATS = ['lfb', 'sffd', 'custom'] as const;

const say = (line: string) => process.stdout.write(`${line}\n`);
const warn = (line: string) => process.stderr.write(`${line}\n`);

interface ImportCommandOptions {
  mapping?: string;
  out: string;
  errors?: string;
  agency?: string;
  source?: string;
  timeZone?: string;
  progress: boolean;
  /** Seconds, or true for `--wait` alone. */
  wait?: number | true;
  stack: string;
}

/** Default seconds `--wait` waits for the figures. */
const DEFAULT_WAIT_SECONDS = 300;

function parseWaitSeconds(value: string): number {
  if (!/^\d{1,6}$/.test(value) || Number(value) < 1) {
    throw new InvalidArgumentError('expected a number of seconds, at least 1');
  }
  return Number(value);
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

function describeRowError(error: RowError): string {
  const where = [error.event_type, error.field].filter(Boolean).join(' ');
  const cell = error.column ? `${error.column}="${error.value ?? ''}"` : '';
  return `  ${error.file}:${error.line}  ${[where, cell].filter(Boolean).join('  ')}: ${error.reason}`;
}

function printSummary(summary: ImportSummary, errorsFile: string | undefined): void {
  for (const file of summary.files) {
    say(`${file.path}: ${file.record}, ${plural(file.rows, 'row')}`);
  }
  say(
    `${plural(summary.rowsRead, 'row')} read: ${summary.rowsImported} imported, ${summary.rowsRejected} rejected → ${plural(summary.eventsWritten, 'event')} to ${summary.output} in ${(summary.durationMs / 1000).toFixed(1)} s`,
  );
  const byType = Object.entries(summary.eventsByType).map(([type, count]) => `${type} ${count}`);
  if (byType.length > 0) say(`  ${byType.join(', ')}`);
  if (summary.rowsUnmatched > 0) {
    say(
      `${plural(summary.rowsUnmatched, 'row')} left out: their key is in none of the imported files they join (see docs/importing.md)`,
    );
  }
  if (summary.rowsRejected === 0) return;
  warn(
    `${plural(summary.rowsRejected, 'row')} rejected; ${errorsFile ? `all are in ${errorsFile}` : 'add --errors FILE to list them all'}:`,
  );
  for (const error of summary.firstErrors.slice(0, ROWS_SHOWN)) warn(describeRowError(error));
}

/** `--wait`: polls the figures until they hold every imported entity, with progress on stderr. */
async function waitForFigures(
  importers: typeof import('@bluelight/importers'),
  entities: InstanceType<typeof import('@bluelight/importers').ImportedEntities>,
  options: ImportCommandOptions,
): Promise<void> {
  const seconds = typeof options.wait === 'number' ? options.wait : DEFAULT_WAIT_SECONDS;
  const { client, where } = await connectReader(options.stack, 'bluelight-import');
  let shown = '';
  try {
    const done = await importers.waitForFigures(client, entities, {
      timeoutMs: seconds * 1000,
      onProgress: (progress) => {
        const line = importers.describeWait(progress);
        if (line !== shown) warn(`waiting: ${line} (${Math.round(progress.elapsedMs / 1000)} s)`);
        shown = line;
      },
    });
    say(`in the figures: ${importers.describeWait(done).replace(/ in the figures$/, '')}`);
  } catch (error) {
    if (error instanceof importers.WaitTimeoutError) {
      throw new UserFacingError(
        `${error.message} (${where}); is the sink running and writing there (npm start)?`,
        ExitCode.waitTimedOut,
      );
    }
    if (
      error instanceof ClickHouseError ||
      (error as NodeJS.ErrnoException).code === 'ECONNREFUSED'
    ) {
      throw new UserFacingError(
        `--wait cannot read ${where}: ${(error as Error).message.split('\n')[0]}`,
      );
    }
    throw error;
  } finally {
    await client.close();
  }
}

export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description(
      'import CAD exports (CSV, or .csv.gz) as events: LFB incidents and mobilisations, SFFD calls for service, or any CSV through a YAML mapping (see docs/importing.md)',
    )
    .addArgument(new Argument('<format>', 'lfb, sffd, or custom (with --mapping)').choices(FORMATS))
    .argument(
      '<files...>',
      'the CSV files; each is recognised by its header (lfb: incident and mobilisation files)',
    )
    .option('--mapping <file>', 'the YAML mapping for format custom')
    .option(
      '--out <target>',
      'kafka (KAFKA_BROKERS, KAFKA_TOPIC_PREFIX) or a FILE.ndjson path',
      'kafka',
    )
    .option(
      '--errors <file>',
      'write every rejected row to FILE: CSV if it ends in .csv, else NDJSON',
    )
    .option('--agency <code>', "the events' agency instead of the mapping's")
    .option('--source <id>', "the events' source instead of the mapping's")
    .option('--time-zone <zone>', "the export's IANA time zone instead of the mapping's")
    .option('--no-progress', 'no progress bar (it is only drawn on a terminal anyway)')
    .option(
      '--wait [seconds]',
      `after writing, wait until the imported events are in the figures (ClickHouse's facts), at most this long (default ${DEFAULT_WAIT_SECONDS})`,
      parseWaitSeconds,
    )
    .option(
      '--stack <name>',
      'with --wait and without CLICKHOUSE_URL: the local stack whose ClickHouse to read (as bluelight run --name)',
      MAIN_JOB_STACK,
    )
    .addHelpText(
      'after',
      `
Rows that cannot be mapped, or whose events the contract refuses, are rejected and reported by
file and line; every other row is still imported. Importing a file again writes the same event
ids, so the sink's de-duplication makes re-imports harmless.

At the end, a warning (stderr) says when rows gave no measurable figure: incidents without an
arrival time (no attendance can be measured), calls without an answer time.

--wait polls ClickHouse at $CLICKHOUSE_URL (or the local stack's), database $CLICKHOUSE_DATABASE
(default ${MAIN_JOB_DATABASE}), until every imported incident, call and appliance is in the facts
with its latest imported event, printing progress on stderr.

Exit codes: 0 every row imported; ${ExitCode.rowsRejected} imported, but some rows rejected; 1 failed (bad mapping,
a file the mapping does not recognise, Kafka unreachable); 2 usage; ${EXIT_CONFIG} invalid KAFKA_* variables;
${ExitCode.waitTimedOut} --wait timed out before the figures had every imported event.`,
    )
    .action(
      async (format: (typeof FORMATS)[number], files: string[], options: ImportCommandOptions) => {
        if (format === 'custom' && !options.mapping) {
          throw new UserFacingError('format custom needs --mapping FILE', ExitCode.usage);
        }
        if (format !== 'custom' && options.mapping) {
          throw new UserFacingError(
            `--mapping goes with format custom; ${format} uses its built-in mapping (copy services/importers/mappings/${format}.yaml to change it)`,
            ExitCode.usage,
          );
        }
        const missing = [...files, ...(options.mapping ? [options.mapping] : [])].filter(
          (file) => !existsSync(file),
        );
        if (missing.length > 0) {
          throw new UserFacingError(`no such file: ${missing.join(', ')}`, ExitCode.usage);
        }

        // Loaded on use: the importers' module graph would slow every other command's start.
        const importers = await import('@bluelight/importers');
        const config = loadCommandConfig(importers.importerConfigSchema);
        const overrides = {
          ...(options.agency === undefined ? {} : { agency: options.agency }),
          ...(options.source === undefined ? {} : { source: options.source }),
          ...(options.timeZone === undefined ? {} : { timeZone: options.timeZone }),
        };
        let target: OutputTarget;
        let mapping: CompiledMapping;
        try {
          target = importers.outputTargetFor(options.out);
          if (options.wait !== undefined && target.kind === 'file') {
            throw new UserFacingError(
              '--wait waits for the figures in ClickHouse; events written to a file never reach them (use --out kafka)',
              ExitCode.usage,
            );
          }
          mapping =
            format === 'custom'
              ? await importers.loadMappingFile(options.mapping ?? '', overrides)
              : await importers.loadBuiltInMapping(format, overrides);
        } catch (error) {
          if (error instanceof ConfigError) throw new UserFacingError(error.message, EXIT_CONFIG);
          if (
            error instanceof importers.OutputChoiceError ||
            error instanceof importers.OverrideError
          ) {
            throw new UserFacingError(error.message, ExitCode.usage);
          }
          if (error instanceof importers.MappingError) throw new UserFacingError(error.message);
          throw error;
        }

        // A connection failure ends the command with its own message; the client's retries
        // would only repeat it as JSON log lines.
        const logger = createLogger({ service: 'bluelight-import', level: 'fatal' });
        let output: EventOutput;
        try {
          output = await importers.openEventOutput(target, logger);
        } catch (error) {
          const destination =
            target.kind === 'kafka'
              ? `Kafka at ${target.brokers.join(',')}`
              : target.kind === 'gateway'
                ? `the gateway at ${target.url}`
                : target.path;
          throw new UserFacingError(
            `cannot write to ${destination}: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
        const errorReport = options.errors
          ? await importers.openRowErrorFile(options.errors)
          : undefined;
        const bar =
          options.progress && process.stderr.isTTY ? importers.createProgressBar() : undefined;
        const entities = new importers.ImportedEntities();
        let summary: ImportSummary;
        try {
          summary = await importers.importFiles({
            mapping,
            files,
            output,
            entities,
            earliestEventTime: config.EARLIEST_EVENT_TIME,
            ...(errorReport ? { errorReport } : {}),
            ...(bar ? { onProgress: bar.update } : {}),
          });
        } catch (error) {
          if (
            error instanceof importers.ImportInputError ||
            error instanceof importers.OutputError
          ) {
            throw new UserFacingError(error.message);
          }
          throw error;
        } finally {
          bar?.stop();
          await output.close();
          await errorReport?.close();
        }
        printSummary(summary, options.errors);
        for (const line of importers.measurabilityWarnings(entities.measurability())) {
          warn(`warning: ${line}`);
        }
        if (summary.rowsRejected > 0) process.exitCode = ExitCode.rowsRejected;
        if (options.wait !== undefined) await waitForFigures(importers, entities, options);
      },
    );
}
