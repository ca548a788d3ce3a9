import { type ClickHouseClient, ClickHouseError } from '@bluelight/service-kit';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { commaList } from '../arguments.js';
import { connectReader } from '../clickhouse-reader.js';
import { ExitCode, UserFacingError } from '../exit-codes.js';
import { MAIN_JOB_DATABASE, MAIN_JOB_STACK } from '../main-job.js';
import { collectAgencies, parseLondonDate } from './report.js';

interface CommonOptions {
  from: string;
  to: string;
  agency: string[];
  service?: string[];
  station?: string[];
  groupBy?: string;
  format: 'table' | 'json' | 'csv';
  stack: string;
}

const collectList = (value: string, previous: string[] = []) => [
  ...new Set([...previous, ...commaList(value)]),
];

/** A figure's answer as JSON (everything) and as flat records (table and CSV lines). */
interface Answer {
  json: unknown;
  records: Record<string, unknown>[];
}

/** The figures, each with its groupings and the options it adds. */
interface Figure {
  name: string;
  groupings: string[];
  defaultGrouping: string;
  incidentScope: boolean;
  run: (
    client: ClickHouseClient,
    options: CommonOptions & Record<string, unknown>,
  ) => Promise<Answer>;
}

/** Records as an aligned table: numbers right-aligned, fractions to 3 places. */
export function recordsTable(
  records: Record<string, unknown>[],
  flat: typeof import('@bluelight/query-api').flatten,
): string {
  const rows = records.map((record) => flat(record));
  const header = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cell = (value: unknown) =>
    value === null || value === undefined
      ? ''
      : typeof value === 'number'
        ? Number.isInteger(value)
          ? String(value)
          : value.toFixed(3)
        : String(value);
  const body = rows.map((row) => header.map((column) => cell(row[column])));
  const widths = header.map((name, column) =>
    Math.max(name.length, ...body.map((row) => (row[column] ?? '').length)),
  );
  const render = (row: string[]) =>
    row
      .map((text, column) =>
        column === 0 ? text.padEnd(widths[column] ?? 0) : text.padStart(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [render(header), render(widths.map((width) => '-'.repeat(width))), ...body.map(render)]
    .join('\n')
    .concat('\n');
}

function parseWholeNumber(value: string): number {
  if (!/^\d{1,7}$/.test(value) || Number(value) < 1) {
    throw new InvalidArgumentError('expected a whole number of at least 1');
  }
  return Number(value);
}

async function figures(): Promise<Figure[]> {
  const standards = await import('@bluelight/standards');
  const scope = (options: CommonOptions) => ({
    agencies: options.agency,
    from: options.from,
    to: options.to,
    ...(options.service ? { services: options.service } : {}),
    ...(options.station ? { stations: options.station } : {}),
  });
  return [
    {
      name: 'appliances',
      groupings: Object.keys(standards.APPLIANCE_GROUPINGS),
      defaultGrouping: 'resource',
      incidentScope: true,
      run: async (client, options) => {
        const result = await standards.computeApplianceSegments(client, {
          ...scope(options),
          groupBy: options.groupBy as never,
        });
        return { json: result, records: result.rows };
      },
    },
    {
      name: 'first-arrivals',
      groupings: Object.keys(standards.FIRST_ARRIVAL_GROUPINGS),
      defaultGrouping: 'none',
      incidentScope: true,
      run: async (client, options) => {
        const result = await standards.computeFirstArrivals(client, {
          ...scope(options),
          groupBy: options.groupBy as never,
        });
        return { json: result, records: result.rows };
      },
    },
    {
      name: 'concurrency',
      groupings: Object.keys(standards.CONCURRENCY_GROUPINGS),
      defaultGrouping: 'none',
      incidentScope: true,
      run: async (client, options) => {
        const result = await standards.computeConcurrency(client, {
          ...scope(options),
          groupBy: options.groupBy as never,
          bucket: options.bucket as never,
        });
        return {
          json: result,
          records: options.series ? result.series : result.distribution,
        };
      },
    },
    {
      name: 'committed-elsewhere',
      groupings: Object.keys(standards.COMMITTED_ELSEWHERE_GROUPINGS),
      defaultGrouping: 'station_ground',
      incidentScope: true,
      run: async (client, options) => {
        const result = await standards.computeCommittedElsewhere(client, {
          ...scope(options),
          groupBy: options.groupBy as never,
        });
        return { json: result, records: result.rows };
      },
    },
    {
      name: 'utilisation',
      groupings: Object.keys(standards.UTILISATION_GROUPINGS),
      defaultGrouping: 'resource',
      incidentScope: false,
      run: async (client, options) => {
        const result = await standards.computeUtilisation(client, {
          agencies: options.agency,
          from: options.from,
          to: options.to,
          groupBy: options.groupBy as never,
          byHourOfWeek: options.byHourOfWeek === true,
          ...(options.crewingModel ? { crewingModels: options.crewingModel as string[] } : {}),
        });
        return { json: result, records: result.rows };
      },
    },
    {
      name: 'cover',
      groupings: [],
      defaultGrouping: '',
      incidentScope: true,
      run: async (client, options) => {
        const result = await standards.computeCoverAttendance(client, standards.loadStandards(), {
          ...scope(options),
          ...(options.standard ? { standard: options.standard as string } : {}),
          byStation: options.byStation === true,
          ...(options.minimumSample ? { minimumSample: options.minimumSample as number } : {}),
        });
        return { json: result, records: standards.coverRecords(result.differences) };
      },
    },
  ];
}

/** The figure names, known without loading the standards (for --help). */
const FIGURES = [
  'appliances',
  'first-arrivals',
  'concurrency',
  'committed-elsewhere',
  'utilisation',
  'cover',
];

export function registerOperationsCommand(program: Command): void {
  const operations = program
    .command('operations')
    .description(
      'operational figures: per-appliance segments, first arrivals, concurrency, utilisation and on-call cover against attendance (see docs/operations.md)',
    )
    .addHelpText(
      'after',
      `\nFigures: ${FIGURES.join(', ')}. Run npx bluelight operations <figure> --help.`,
    );
  for (const name of FIGURES) {
    const command = operations
      .command(name)
      .requiredOption(
        '--from <date>',
        'first London day of the period, YYYY-MM-DD',
        parseLondonDate,
      )
      .requiredOption(
        '--to <date>',
        'last London day of the period (inclusive), YYYY-MM-DD',
        parseLondonDate,
      )
      .requiredOption(
        '--agency <codes>',
        'the agencies whose figures to compute, together (repeat or comma-separate)',
        collectAgencies,
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
      );
    if (name !== 'utilisation') {
      command
        .option('--service <services>', 'incident services counted (default fire)', collectList)
        .option('--station <grounds>', 'only incidents in these station grounds', collectList);
    }
    if (name !== 'cover') command.option('--group-by <grouping>', 'break the figure down');
    command.addHelpText(
      'after',
      `\nExample:\n  npx bluelight operations ${name} --from 2023-04-01 --to 2024-03-31 --agency staffordshire-fire\n\nReads ClickHouse at $CLICKHOUSE_URL (else the local stack's), database $CLICKHOUSE_DATABASE (default ${MAIN_JOB_DATABASE}). Exit 2 for a bad option, 6 when the figure has no rows.`,
    );
    // What the figure gives, and the options of its own.
    const describe = {
      appliances:
        "each appliance's own segments, first arrivals and border crossings; --group-by resource (default), station, station_ground, crewing_model, appliance_type, agency, none",
      'first-arrivals':
        'the crewing model of the first appliance to arrive; --group-by none (default), agency, station_ground',
      concurrency:
        'incidents in progress at once; --group-by none (default), agency, station_ground, service; --series, --bucket hour|day',
      'committed-elsewhere':
        "incidents begun while the station's own appliances were committed elsewhere; --group-by station_ground (default), none, agency, service",
      utilisation:
        'unit-hour utilisation; --group-by resource (default), station, crewing_model, agency, none; --by-hour-of-week, --crewing-model',
      cover:
        'an incident standard split by on-call cover at the call; --standard, --by-station, --minimum-sample',
    }[name] as string;
    command.description(describe);
    if (name === 'concurrency') {
      command
        .option('--series', 'print the peak per bucket instead of the hours at each level')
        .addOption(
          new Option('--bucket <bucket>', 'the series buckets: UTC hours or London days')
            .choices(['hour', 'day'])
            .default('hour'),
        );
    }
    if (name === 'utilisation') {
      command
        .option('--by-hour-of-week', 'break each group down by London hour of week')
        .option(
          '--crewing-model <models>',
          'only appliances of these crewing models (repeat or comma-separate)',
          collectList,
        );
    }
    if (name === 'cover') {
      command
        .option('--standard <id>', 'the incident standard (default fire-attendance-standard)')
        .option('--by-station', 'one split per station ground instead of one over all grounds')
        .option(
          '--minimum-sample <n>',
          "incidents each side needs before a difference is given (default 30; never below the standard's own)",
          parseWholeNumber,
        );
    }
    command.action(async (options: CommonOptions & Record<string, unknown>) => {
      if (options.to < options.from) {
        throw new UserFacingError('--to: must not be before --from', ExitCode.usage);
      }
      const figure = (await figures()).find((candidate) => candidate.name === name) as Figure;
      const groupBy = options.groupBy ?? figure.defaultGrouping;
      if (figure.groupings.length > 0 && !figure.groupings.includes(groupBy)) {
        throw new UserFacingError(
          `--group-by: "${groupBy}" is not a grouping of ${name}; use one of ${figure.groupings.join(', ')}`,
          ExitCode.usage,
        );
      }
      const { KpiRequestError } = await import('@bluelight/standards');
      const { flatten, toCsv } = await import('@bluelight/query-api');
      const { client, where } = await connectReader(options.stack, 'bluelight-operations');
      try {
        const answer = await figure.run(client, { ...options, groupBy });
        if (answer.records.length === 0 && options.format !== 'json') {
          throw new UserFacingError(
            `${name}: no rows for ${options.from} – ${options.to} of ${options.agency.join(', ')} in ${where}`,
            ExitCode.noData,
          );
        }
        if (options.format === 'json') {
          process.stdout.write(`${JSON.stringify(answer.json, null, 2)}\n`);
        } else if (options.format === 'csv') {
          process.stdout.write(toCsv(answer.records));
        } else {
          process.stdout.write(recordsTable(answer.records, flatten));
        }
      } catch (error) {
        if (error instanceof UserFacingError) throw error;
        if (error instanceof KpiRequestError)
          throw new UserFacingError(error.message, ExitCode.usage);
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
}
