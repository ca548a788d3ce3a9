import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { ensureChromium, printPdf } from '@bluelight/local-stack';
import { agencyCode } from '@bluelight/schemas';
import { type ClickHouseClient, ClickHouseError, csvRecord } from '@bluelight/service-kit';
import type {
  AnnualReport,
  formatReportValue,
  ReportLine,
  StandardDefinition,
} from '@bluelight/standards';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { commaList } from '../arguments.js';
import { connectReader } from '../clickhouse-reader.js';
import { ExitCode, UserFacingError } from '../exit-codes.js';
import { MAIN_JOB_DATABASE, MAIN_JOB_STACK } from '../main-job.js';

/** ClickHouse's answer when the database or its tables are not there (codes 81 and 60). */
function isMissingSchema(error: unknown): boolean {
  if (!(error instanceof ClickHouseError)) return false;
  return ['60', '81', 'UNKNOWN_TABLE', 'UNKNOWN_DATABASE'].some(
    (code) => error.code === code || error.type === code,
  );
}

/** A calendar date YYYY-MM-DD that exists (2023-02-30 does not). */
export function parseLondonDate(value: string): string {
  const date = new Date(`${value}T00:00:00Z`);
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(value) ||
    Number.isNaN(date.getTime()) ||
    date.toISOString().slice(0, 10) !== value
  ) {
    throw new InvalidArgumentError('expected a date YYYY-MM-DD (a London calendar day)');
  }
  return value;
}

/**
 * `--agency a,b` and/or `--agency a --agency b`, each an agency code: the values so far and this
 * option's, as one list.
 */
export function collectAgencies(value: string, previous: string[] = []): string[] {
  const given = commaList(value);
  if (given.length === 0)
    throw new InvalidArgumentError('give an agency code, e.g. staffordshire-fire');
  for (const agency of given) {
    const checked = agencyCode.safeParse(agency);
    if (!checked.success) {
      throw new InvalidArgumentError(
        `"${agency}" ${checked.error.issues[0]?.message ?? 'is not an agency code'}`,
      );
    }
  }
  return [...new Set([...previous, ...given])];
}

/** Every agency with facts in the database (incidents, calls or appliances), sorted. */
async function agenciesInData(client: ClickHouseClient): Promise<string[]> {
  // fact_entities has every entity of every family once (unmerged rows agree on the agency).
  const result = await client.query({
    query: 'SELECT DISTINCT toString(agency) AS agency FROM fact_entities ORDER BY agency',
    format: 'JSONEachRow',
  });
  return (await result.json<{ agency: string }>()).map((row) => row.agency);
}

/**
 * The agencies to report on, as the query API decides for a key that may read all of them: the
 * ones asked for; otherwise the one agency the data holds; several (or none) must be named.
 */
export function reportAgencies(asked: string[] | undefined, inData: string[]): string[] {
  if (asked && asked.length > 0) return [...asked].sort();
  if (inData.length === 1) return inData;
  if (inData.length === 0) {
    throw new UserFacingError(
      '--agency: the database holds no facts of any agency yet; say which agency to report on (--agency <code>)',
      ExitCode.usage,
    );
  }
  throw new UserFacingError(
    `--agency: the database holds several agencies (${inData.join(', ')}); say which to report on, one or several (--agency ${inData[0]} or --agency ${inData.join(',')})`,
    ExitCode.usage,
  );
}

/**
 * The report as an aligned text table: the agencies it covers, then figure, this period,
 * previous period, target.
 */
function reportTable(
  report: AnnualReport,
  lines: ReportLine[],
  formatValue: typeof formatReportValue,
): string {
  const { current, previous } = report;
  const header = [
    'figure',
    `${current.period.from} – ${current.period.to}`,
    ...(previous ? [`${previous.period.from} – ${previous.period.to}`] : []),
    'target',
  ];
  const rows = lines.map((line) => [
    line.label,
    formatValue(line.unit, line.value),
    ...(previous ? [formatValue(line.unit, line.previous)] : []),
    line.target === null ? '' : formatValue(line.unit, line.target),
  ]);
  const widths = header.map((_, column) =>
    Math.max(...[header, ...rows].map((row) => (row[column] ?? '').length)),
  );
  const render = (row: string[]) =>
    row
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [
    `agencies: ${report.agencies.join(', ')}`,
    '',
    render(header),
    render(widths.map((width) => '-'.repeat(width))),
    ...rows.map(render),
  ]
    .join('\n')
    .concat('\n');
}

/**
 * The report lines as CSV: key, label, unit, value, previous, target (raw numbers, shares 0–1),
 * fields written by the kit's csvRecord (quoted when needed, formulas defused).
 */
export function reportCsv(lines: ReportLine[]): string {
  const header = csvRecord(['key', 'label', 'unit', 'value', 'previous', 'target']);
  const body = lines.map((line) =>
    csvRecord([line.key, line.label.trim(), line.unit, line.value, line.previous, line.target]),
  );
  return `${[header, ...body].join('\r\n')}\r\n`;
}

const groupDigits = new Intl.NumberFormat('en-GB');

/** The file `--format pdf` writes without `--out`: in the working directory, named by the period. */
export const defaultPdfName = (from: string, to: string) => `annual-report-${from}-${to}.pdf`;

/**
 * Standard output, or the file named: written beside it and renamed once complete (as the
 * records are), so a reader never opens half a report; its folder must exist.
 */
function writeOutput(file: string | undefined, content: string | Uint8Array): void {
  if (file === undefined) {
    process.stdout.write(content);
    return;
  }
  const partial = `${file}.partial`;
  try {
    writeFileSync(partial, content);
    renameSync(partial, file);
  } catch (error) {
    rmSync(partial, { force: true });
    throw new UserFacingError(`--out: cannot write ${file}: ${(error as Error).message}`);
  }
}

/**
 * The Chromium that prints the PDF: found, or installed (Debian's package, with progress on
 * stderr) where this process may; otherwise what to install, with exit code 8.
 */
async function chromiumForPdf(): Promise<string> {
  try {
    return await ensureChromium((line) => process.stderr.write(`${line}\n`));
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'MissingPrerequisiteError' || name === 'CommandFailedError') {
      throw new UserFacingError(
        `--format pdf needs headless Chromium: ${(error as Error).message}`,
        ExitCode.missingPrerequisite,
      );
    }
    throw error;
  }
}

interface ReportOptions {
  from: string;
  to: string;
  agency?: string[];
  format: 'table' | 'json' | 'csv' | 'html' | 'pdf';
  out?: string;
  charts?: boolean;
  comparePrevious?: boolean;
  standards?: string;
  userStandards?: string;
  stack: string;
  records?: string;
  only?: string;
  filter?: Record<string, string[]>;
}

/** `--filter station=LEEK,HANLEY` (repeatable): the figure's filters, as /v1/kpis takes them. */
export function collectFilter(
  value: string,
  previous: Record<string, string[]> = {},
): Record<string, string[]> {
  const match = value.match(/^([a-z_]+)=(.+)$/);
  const values = match?.[2] ? commaList(match[2]) : [];
  if (!match?.[1] || values.length === 0) {
    throw new InvalidArgumentError('expected NAME=VALUE[,VALUE…], e.g. station=LEEK');
  }
  return { ...previous, [match[1]]: [...new Set([...(previous[match[1]] ?? []), ...values])] };
}

/** Records read from ClickHouse per query: a county's year in a few reads. */
const RECORDS_PAGE = 5_000;

/** Where records go: stdout, or FILE (written beside it and renamed once complete). */
async function recordsOutput(out: string | undefined) {
  if (out === undefined) {
    return {
      stream: process.stdout as NodeJS.WritableStream,
      done: async () => {},
      fail: async () => {},
    };
  }
  const { createWriteStream } = await import('node:fs');
  const partial = `${out}.partial`;
  const stream = createWriteStream(partial);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (error) =>
      reject(new UserFacingError(`--out: cannot write ${partial}: ${error.message}`)),
    );
  });
  const closed = () => new Promise<void>((resolve) => stream.end(() => resolve()));
  return {
    stream: stream as NodeJS.WritableStream,
    done: async () => {
      await closed();
      await rename(partial, out);
    },
    fail: async () => {
      await closed();
      await rm(partial, { force: true });
    },
  };
}

/** Writes text, waiting while the stream's buffer is full (a slow pipe, a large year). */
async function writeText(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await new Promise<void>((resolve) => stream.once('drain', resolve));
}

/** `records: N of TOTAL` on stderr: rewritten in place on a terminal, a line each otherwise. */
function progressLine(written: number, total: number): void {
  const last = written >= total;
  process.stderr.write(
    `records: ${groupDigits.format(written)} of ${groupDigits.format(total)}${process.stderr.isTTY && !last ? '\r' : '\n'}`,
  );
}

/** What `--records` is asked for: the standard, period, agencies and selection. */
export type RecordsOptions = Pick<ReportOptions, 'from' | 'to' | 'only' | 'filter' | 'out'> & {
  records: string;
};

/**
 * `--records STANDARD`: the records behind the standard's figure as CSV (the columns of
 * GET /v1/kpis/records), `pageSize` at a time, telling `progress` (a line on stderr by default)
 * after each page once there is more than one. Returns how many records were written.
 */
export async function writeRecords(
  client: ClickHouseClient,
  standards: StandardDefinition[],
  agencies: string[],
  options: RecordsOptions,
  pageSize = RECORDS_PAGE,
  progress: (written: number, total: number) => void = progressLine,
): Promise<number> {
  const { computeKpiRecords, RECORD_SELECTIONS } = await import('@bluelight/standards');
  const { flatten } = await import('@bluelight/query-api');
  const only = RECORD_SELECTIONS.find((selection) => selection === (options.only ?? 'all'));
  if (only === undefined) {
    throw new UserFacingError(
      `--only: "${options.only}" is not one of ${RECORD_SELECTIONS.join(', ')}`,
      ExitCode.usage,
    );
  }
  const output = await recordsOutput(options.out);
  let written = 0;
  try {
    let offset: number | null = 0;
    let total = 0;
    while (offset !== null) {
      const page = await computeKpiRecords(client, standards, {
        standard: options.records,
        agencies,
        from: options.from,
        to: options.to,
        filters: options.filter ?? {},
        only,
        offset,
        limit: pageSize,
      });
      if (offset === 0) {
        total = page.total;
        await writeText(output.stream, `${csvRecord(page.columns)}\r\n`);
      }
      const lines = page.records.map(
        (record) => `${csvRecord(page.columns.map((column) => flatten(record)[column]))}\r\n`,
      );
      if (lines.length > 0) await writeText(output.stream, lines.join(''));
      written += page.records.length;
      if (total > pageSize) {
        progress(written, total);
      }
      offset = page.next;
    }
    await output.done();
  } catch (error) {
    await output.fail();
    throw error;
  }
  return written;
}

/** --only and --filter go with --records; --records writes CSV, not the report's formats. */
function checkRecordsOptions(options: ReportOptions, command: Command): void {
  if (options.records === undefined) {
    for (const [option, given] of [
      ['--only', options.only],
      ['--filter', options.filter],
    ] as const) {
      if (given !== undefined) {
        throw new UserFacingError(`${option}: goes with --records <standard>`, ExitCode.usage);
      }
    }
    return;
  }
  if (command.getOptionValueSource('format') === 'cli' && options.format !== 'csv') {
    throw new UserFacingError(
      `--format ${options.format}: --records writes CSV (leave --format out)`,
      ExitCode.usage,
    );
  }
  if (options.comparePrevious) {
    throw new UserFacingError(
      '--compare-previous: the records are of one period; run --records once per period',
      ExitCode.usage,
    );
  }
}

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      'The annual figures (attendance standard, availability, falls, police, 999 and 101) from ClickHouse, each from its standard, then the Appliances and cover section (see docs/report.md)',
    )
    .requiredOption('--from <date>', 'first London day of the period, YYYY-MM-DD', parseLondonDate)
    .requiredOption(
      '--to <date>',
      'last London day of the period (inclusive), YYYY-MM-DD',
      parseLondonDate,
    )
    .option(
      '--agency <codes>',
      'the agencies to report on, together (repeat or comma-separate); needed when the database holds more than one',
      collectAgencies,
    )
    .addOption(
      new Option(
        '--format <format>',
        'table, json, csv, html (a printable A4 document with charts) or pdf (that document printed by headless Chromium)',
      )
        .choices(['table', 'json', 'csv', 'html', 'pdf'])
        .default('table'),
    )
    .option(
      '--out <file>',
      'write the report (or the --records CSV) to this file instead of standard output (pdf: default annual-report-FROM-TO.pdf)',
    )
    .option(
      '--charts',
      'json: add the series the document draws its charts from (`charts`); html and pdf always draw them',
    )
    .option('--compare-previous', 'the previous period beside it (the same dates a year earlier)')
    .option(
      '--records <standard>',
      "instead of the report: the records behind one incident or call standard's figure, as CSV (see docs/report.md)",
    )
    .option(
      '--only <selection>',
      'with --records: which records — all (default), included, measured, not_measured, excluded, cancelled, abandoned, met, not_met',
    )
    .option(
      '--filter <name=values>',
      'with --records: narrow as /v1/kpis does, e.g. station=LEEK,HANLEY (repeatable)',
      collectFilter,
    )
    .option('--standards <dir>', 'a folder of standards YAML instead of the shipped ones')
    .option(
      '--user-standards <dir>',
      'a folder of your own standards YAML layered over them (same id overrides, with a warning; default: STANDARDS_USER_DIR)',
    )
    .option(
      '--stack <name>',
      'without CLICKHOUSE_URL: the local stack whose ClickHouse to read (as bluelight run --name)',
      MAIN_JOB_STACK,
    )
    .addHelpText(
      'after',
      `\nExample:\n  npx bluelight report --from 2023-04-01 --to 2024-03-31 --compare-previous \\\n    --agency staffordshire-control,staffordshire-fire,staffordshire-police\n  npx bluelight report --from 2023-04-01 --to 2024-03-31 --format pdf --out report-2023-24.pdf \\\n    --agency staffordshire-control,staffordshire-fire,staffordshire-police\n\nhtml and pdf put the previous period beside the period. pdf needs Chromium (installed where missing and possible; exit 8 where not). Reads what the main job (npm start) writes: ClickHouse at $CLICKHOUSE_URL, or else the local stack's, database $CLICKHOUSE_DATABASE (default ${MAIN_JOB_DATABASE}). Exit 6 when the period holds no data at all.\n\nThe records behind a figure (CSV; a header alone and exit 6 when none match):\n  npx bluelight report --records fire-attendance-standard --from 2024-04-01 --to 2025-03-31 \\\n    --agency staffordshire-fire --only excluded --out excluded.csv`,
    )
    .action(async (options: ReportOptions, command: Command) => {
      if (options.to < options.from) {
        throw new UserFacingError('--to: must not be before --from', ExitCode.usage);
      }
      checkRecordsOptions(options, command);
      if (options.charts && (options.format === 'table' || options.format === 'csv')) {
        throw new UserFacingError(
          `--charts: goes with --format json (html and pdf always draw them), not ${options.format}`,
          ExitCode.usage,
        );
      }
      const {
        annualReport,
        FIRST_PERIOD_DAY,
        isPeriodDay,
        loadLayeredStandards,
        PERIOD_DAY_RANGE_MESSAGE,
        previousPeriod,
        coverageNotes,
        formatReportValue,
        reportIsEmpty,
        reportLines,
        operationsSectionText,
        StandardsError,
        KpiRequestError,
      } = await import('@bluelight/standards');
      for (const option of ['from', 'to'] as const) {
        if (!isPeriodDay(options[option])) {
          throw new UserFacingError(`--${option}: ${PERIOD_DAY_RANGE_MESSAGE}`, ExitCode.usage);
        }
      }
      // The document (html, pdf) has the previous period beside the period wherever there is one.
      const documentFormat = options.format === 'html' || options.format === 'pdf';
      const previousFrom = previousPeriod(options).from;
      const comparePrevious =
        options.comparePrevious === true || (documentFormat && isPeriodDay(previousFrom));
      if (options.comparePrevious && !isPeriodDay(previousFrom)) {
        throw new UserFacingError(
          `--compare-previous: the previous period would start on ${previousFrom}, before ${FIRST_PERIOD_DAY} (the first day ClickHouse's Date type holds)`,
          ExitCode.usage,
        );
      }
      let standards: ReturnType<typeof loadLayeredStandards>;
      try {
        standards = loadLayeredStandards({
          baseDir: options.standards,
          userDir: options.userStandards ?? (process.env.STANDARDS_USER_DIR || undefined),
          onOverride: (message) => process.stderr.write(`warning: ${message}\n`),
        });
      } catch (error) {
        if (error instanceof StandardsError) throw new UserFacingError(error.message);
        throw error;
      }
      // Chromium first, so a machine without it is told before the report is computed.
      const chromium = options.format === 'pdf' ? await chromiumForPdf() : undefined;
      const {
        client,
        url,
        database,
        source: where,
      } = await connectReader(options.stack, 'bluelight-report');
      try {
        const inData = options.agency ? [] : await agenciesInData(client);
        const noData = `in database ${database} at ${url} (${where}): no incidents, calls or appliance time; is it the database and ClickHouse the pipeline writes to (npm start writes ${MAIN_JOB_DATABASE} on the local stack)? Set CLICKHOUSE_DATABASE and CLICKHOUSE_URL`;
        if (!options.agency && inData.length === 0) {
          throw new UserFacingError(`no data of any agency ${noData}`, ExitCode.noData);
        }
        const agencies = reportAgencies(options.agency, inData);
        if (options.records !== undefined) {
          const records = options.records;
          const written = await writeRecords(client, standards, agencies, { ...options, records });
          const what = `records${options.only ? ` (${options.only})` : ''} of ${records}, ${options.from} – ${options.to}, ${agencies.join(', ')}`;
          if (written === 0) {
            throw new UserFacingError(
              `no ${what} in database ${database} at ${url} (${where})`,
              ExitCode.noData,
            );
          }
          process.stderr.write(
            `${groupDigits.format(written)} ${what}${options.out ? ` written to ${options.out}` : ''}\n`,
          );
          return;
        }
        const report = await annualReport(
          client,
          standards,
          { from: options.from, to: options.to },
          agencies,
          { comparePrevious, charts: documentFormat || options.charts === true },
        );
        if (reportIsEmpty(report.current)) {
          throw new UserFacingError(
            `no data for ${options.from} – ${options.to} of ${agencies.join(', ')} ${noData}`,
            ExitCode.noData,
          );
        }
        const lines = reportLines(report);
        // Figures that cover only part of the period (before a standard existed) say so.
        const notes = coverageNotes(report).map((note) => `* ${note}`);
        if (documentFormat) {
          const { productVersion, reportDocument } = await import(
            '@bluelight/dashboards/report-document'
          );
          const html = await reportDocument(report as Parameters<typeof reportDocument>[0], {
            standards,
            generatedAt: new Date(),
            productVersion: productVersion(),
          });
          if (options.format === 'html') {
            writeOutput(options.out, html);
          } else {
            const file = options.out ?? defaultPdfName(options.from, options.to);
            writeOutput(file, await printPdf(html, { executablePath: chromium }));
            process.stderr.write(`report: ${file}\n`);
          }
        } else if (options.format === 'json') {
          writeOutput(options.out, `${JSON.stringify(report, null, 2)}\n`);
        } else if (options.format === 'csv') {
          writeOutput(options.out, reportCsv(lines));
          for (const note of notes) process.stderr.write(`${note}\n`);
        } else {
          const table = reportTable(report, lines, formatReportValue);
          const operations = `\n${operationsSectionText(report.operations).join('\n')}\n`;
          writeOutput(
            options.out,
            `${table}${operations}${notes.length > 0 ? `\n${notes.join('\n')}\n` : ''}`,
          );
        }
      } catch (error) {
        if (error instanceof UserFacingError) throw error;
        if (error instanceof KpiRequestError)
          throw new UserFacingError(error.message, ExitCode.usage);
        if (isMissingSchema(error)) {
          throw new UserFacingError(
            `database ${database} at ${url} (${where}) has no Bluelight tables: ${(error as Error).message.split('\n')[0]} (npm start writes database ${MAIN_JOB_DATABASE}; set CLICKHOUSE_DATABASE, or apply the migrations: npx bluelight migrate)`,
          );
        }
        if (
          error instanceof ClickHouseError ||
          (error as NodeJS.ErrnoException).code === 'ECONNREFUSED'
        ) {
          throw new UserFacingError(
            `cannot read ClickHouse at ${url} (${where}): ${(error as Error).message} (is the stack up? npm start, or npx bluelight stack up)`,
          );
        }
        throw error;
      } finally {
        await client.close();
      }
    });
}
