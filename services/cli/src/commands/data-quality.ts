import { ClickHouseError } from '@bluelight/service-kit';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { commaList } from '../arguments.js';
import { connectReader } from '../clickhouse-reader.js';
import { ExitCode, UserFacingError } from '../exit-codes.js';
import { MAIN_JOB_DATABASE, MAIN_JOB_STACK } from '../main-job.js';
import { recordsTable } from './operations.js';
import { collectAgencies, parseLondonDate } from './report.js';

/** The checks, as `@bluelight/standards` names them (kept here so --help loads nothing). */
export const CHECKS = [
  'out_of_sequence',
  'missing_mobilisation',
  'missing_arrival',
  'no_clock_stop',
  'clock_skew',
  'late_ingest',
] as const;
type Check = (typeof CHECKS)[number];

/** Records read per query when listing them. */
const PAGE = 1_000;

interface DataQualityOptions {
  from: string;
  to: string;
  agency: string[];
  check?: Check[];
  records?: boolean;
  limit: number;
  format: 'table' | 'json' | 'csv';
  stack: string;
}

function collectChecks(value: string, previous: Check[] = []): Check[] {
  const given = commaList(value);
  for (const check of given) {
    if (!(CHECKS as readonly string[]).includes(check)) {
      throw new InvalidArgumentError(`"${check}" is not a check; use ${CHECKS.join(', ')}`);
    }
  }
  return [...new Set([...previous, ...(given as Check[])])];
}

function parseLimit(value: string): number {
  if (!/^\d{1,7}$/.test(value) || Number(value) < 1) {
    throw new InvalidArgumentError('expected a whole number of at least 1');
  }
  return Number(value);
}

export function registerDataQualityCommand(program: Command): void {
  program
    .command('data-quality')
    .description(
      'What the sources got wrong over a period: records out of sequence, missing mobilisations or arrivals, no clock stop, clock skew between systems, events received late — counts per check and source, or the records (see docs/data-quality.md)',
    )
    .requiredOption('--from <date>', 'first London day of the period, YYYY-MM-DD', parseLondonDate)
    .requiredOption(
      '--to <date>',
      'last London day of the period (inclusive), YYYY-MM-DD',
      parseLondonDate,
    )
    .requiredOption(
      '--agency <codes>',
      'the agencies to check (repeat or comma-separate); calls link to incidents of the agencies named only',
      collectAgencies,
    )
    .option(`--check <names>`, `only these checks: ${CHECKS.join(', ')}`, collectChecks)
    .option('--records', 'list the flagged records instead of the counts')
    .option(
      '--limit <n>',
      'with --records: at most this many records (default 1000)',
      parseLimit,
      1_000,
    )
    .addOption(
      new Option('--format <format>', 'table, json or csv')
        .choices(['table', 'json', 'csv'])
        .default('table'),
    )
    .option(
      '--stack <name>',
      'without CLICKHOUSE_URL: the local stack whose ClickHouse to read (as bluelight run --name)',
      MAIN_JOB_STACK,
    )
    .addHelpText(
      'after',
      `
Examples:
  npx bluelight data-quality --from 2024-04-01 --to 2024-04-30 --agency staffordshire-fire
  npx bluelight data-quality --from 2024-04-01 --to 2024-04-30 --agency staffordshire-fire \\
    --check out_of_sequence --records --format csv > out-of-sequence.csv

Reads ClickHouse at $CLICKHOUSE_URL, or else the local stack's, database $CLICKHOUSE_DATABASE
(default ${MAIN_JOB_DATABASE}). Exit codes: 0 the report was made (findings or none); 1 ClickHouse
could not be read; 2 usage.`,
    )
    .action(async (options: DataQualityOptions) => {
      if (options.to < options.from) {
        throw new UserFacingError('--to: must not be before --from', ExitCode.usage);
      }
      const standards = await import('@bluelight/standards');
      for (const option of ['from', 'to'] as const) {
        if (!standards.isPeriodDay(options[option])) {
          throw new UserFacingError(
            `--${option}: ${standards.PERIOD_DAY_RANGE_MESSAGE}`,
            ExitCode.usage,
          );
        }
      }
      const { flatten, toCsv } = await import('@bluelight/query-api');
      const checks = options.check ?? [...CHECKS];
      const request = { agencies: options.agency, from: options.from, to: options.to };
      const { client, where } = await connectReader(options.stack, 'bluelight-data-quality');
      try {
        if (options.records) {
          const records: Awaited<ReturnType<typeof standards.dataQualityRecords>>['records'] = [];
          let offset: number | null = 0;
          while (offset !== null && records.length < options.limit) {
            const page: Awaited<ReturnType<typeof standards.dataQualityRecords>> =
              await standards.dataQualityRecords(client, {
                ...request,
                checks,
                limit: Math.min(PAGE, options.limit - records.length),
                offset,
              });
            records.push(...page.records);
            offset = page.nextOffset;
          }
          if (options.format === 'json') {
            process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
          } else if (options.format === 'csv') {
            process.stdout.write(
              toCsv(
                records as unknown as Record<string, unknown>[],
                standards.DATA_QUALITY_CSV_COLUMNS,
              ),
            );
          } else if (records.length === 0) {
            process.stdout.write(`no records flagged by ${checks.join(', ')}\n`);
          } else {
            process.stdout.write(
              recordsTable(records as unknown as Record<string, unknown>[], flatten),
            );
          }
          if (offset !== null) {
            process.stderr.write(
              `showing the first ${records.length} records; more remain (--limit to see more)\n`,
            );
          }
          return;
        }
        const summary = await standards.dataQualitySummary(client, request);
        const shown = (counts: Record<Check, number>) =>
          Object.fromEntries(checks.map((check) => [check, counts[check]]));
        if (options.format === 'json') {
          process.stdout.write(
            `${JSON.stringify({ ...summary, checks: standards.DATA_QUALITY_CHECK_DESCRIPTIONS }, null, 2)}\n`,
          );
          return;
        }
        const rows = summary.sources.map((entry) => ({
          agency: entry.agency,
          source: entry.source,
          ...shown(entry.checks),
        }));
        if (options.format === 'csv') {
          process.stdout.write(toCsv(rows, ['agency', 'source', ...checks]));
          return;
        }
        process.stdout.write(
          recordsTable(
            [...rows, { agency: 'total', source: '', ...shown(summary.totals) }],
            flatten,
          ),
        );
        const thresholds = summary.thresholds;
        process.stdout.write(
          `\n${options.from} – ${options.to}, ${summary.agencies.join(', ')}; clock skew over ${thresholds.clockSkewSeconds} s, late ingest over ${thresholds.lateIngestSeconds} s. The records: add --records (and --check NAME).\n`,
        );
      } catch (error) {
        if (error instanceof UserFacingError) throw error;
        if (
          error instanceof ClickHouseError ||
          (error as NodeJS.ErrnoException).code === 'ECONNREFUSED'
        ) {
          throw new UserFacingError(
            `cannot read ${where}: ${(error as Error).message.split('\n')[0]} (is the stack up and migrated? npm start, or npx bluelight migrate)`,
          );
        }
        throw error;
      } finally {
        await client.close();
      }
    });
}
