import { stat } from 'node:fs/promises';
import type { EventOutput } from '@bluelight/event-output';
import type { BluelightEvent } from '@bluelight/schemas';
import { readHeader, readRows } from './csv-source.js';
import type { ImportedEntities } from './imported.js';
import type { CompiledMapping, CompiledRecord } from './mapping.js';
import type { RowError, RowErrorSink } from './row-errors.js';

/** Events written per `EventOutput.write`: one Kafka produce round of a sensible size. */
const BATCH_SIZE = 2_000;
/** Rejected rows kept for the on-screen summary; the error report file has every one. */
const ERRORS_KEPT_FOR_SUMMARY = 10;

/** A file the mapping cannot read: no record matches its header, or columns are missing. */
export class ImportInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportInputError';
  }
}

/** The destination (Kafka, a file, …) refused or failed to take events. */
export class OutputError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OutputError';
  }
}

export interface ImportProgress {
  bytesRead: number;
  bytesTotal: number;
  file: string;
  rowsRead: number;
  rowsRejected: number;
  eventsWritten: number;
}

export interface ImportSummary {
  mapping: string;
  output: string;
  files: { path: string; record: string; rows: number }[];
  rowsRead: number;
  rowsImported: number;
  rowsRejected: number;
  /** Rows left out by a join: their key is in none of the imported files of the joined record. */
  rowsUnmatched: number;
  eventsWritten: number;
  eventsByType: Record<string, number>;
  firstErrors: RowError[];
  durationMs: number;
}

export interface ImportOptions {
  mapping: CompiledMapping;
  files: readonly string[];
  output: EventOutput;
  errorReport?: RowErrorSink;
  onProgress?: (progress: ImportProgress) => void;
  /** EARLIEST_EVENT_TIME (importerConfigSchema): rows dated before it are rejected, naming the field. */
  earliestEventTime?: Date;
  /** Every entity written is recorded here (end-of-import warnings, `--wait`). */
  entities?: ImportedEntities;
}

interface PlannedFile {
  path: string;
  bytes: number;
  record: CompiledRecord;
  columnIndex: Map<string, number>;
  columnCount: number;
}

function list(items: readonly string[]): string {
  return items.map((item) => `"${item}"`).join(', ');
}

/** Reads each file's header, decides which record it is, and checks it has every column needed. */
async function planFiles(
  mapping: CompiledMapping,
  files: readonly string[],
): Promise<PlannedFile[]> {
  const problems: string[] = [];
  const planned: PlannedFile[] = [];
  for (const file of files) {
    const header = await readHeader(file, mapping.csv);
    if (!header || header.length === 0) {
      problems.push(`${file}: is empty`);
      continue;
    }
    const candidates = mapping.records.filter(
      (record) => !record.detect || record.detect.every((column) => header.includes(column)),
    );
    const [record, ...others] = candidates;
    if (!record) {
      const expected = mapping.records
        .map((each) => `${each.name} (${list(each.detect ?? [])})`)
        .join(' or ');
      problems.push(
        `${file}: matches no record of mapping ${mapping.name}; expected the columns of ${expected}`,
      );
      continue;
    }
    if (others.length > 0) {
      problems.push(
        `${file}: matches several records of mapping ${mapping.name} (${candidates.map((each) => each.name).join(', ')}); make their detect columns distinct`,
      );
      continue;
    }
    const missing = record.requiredColumns.filter((column) => !header.includes(column));
    if (missing.length > 0) {
      problems.push(
        `${file}: lacks ${list(missing)}, which mapping ${mapping.name} reads for ${record.name}`,
      );
      continue;
    }
    planned.push({
      path: file,
      bytes: (await stat(file)).size,
      record,
      columnIndex: new Map(header.map((column, index) => [column, index])),
      columnCount: header.length,
    });
  }
  if (problems.length > 0) throw new ImportInputError(problems.join('\n'));
  // Records in mapping order, so a joined record's files are read before the files that join it.
  const order = (file: PlannedFile) => mapping.records.indexOf(file.record);
  return planned.sort((a, b) => order(a) - order(b));
}

/**
 * Imports CSV files through a mapping: rows are read as a stream, mapped to events, each event
 * validated against the contract, and written in batches. A row that cannot be mapped or yields
 * an invalid event is rejected as a whole (reported, none of its events written); the other rows
 * are still imported.
 */
export async function importFiles(options: ImportOptions): Promise<ImportSummary> {
  const started = Date.now();
  const { mapping, output } = options;
  const planned = await planFiles(mapping, options.files);
  const recordsWithFiles = new Set(planned.map((file) => file.record.name));
  // Each join whose two records both have files here, with the keys of the joined record's
  // accepted rows (filled as its files are read, before the joining record's).
  const joins = mapping.records.flatMap(({ name, join }) =>
    join && recordsWithFiles.has(name) && recordsWithFiles.has(join.record)
      ? [{ joiner: name, ...join, keys: new Set<string>() }]
      : [],
  );

  const summary: ImportSummary = {
    mapping: mapping.name,
    output: output.description,
    files: [],
    rowsRead: 0,
    rowsImported: 0,
    rowsRejected: 0,
    rowsUnmatched: 0,
    eventsWritten: 0,
    eventsByType: {},
    firstErrors: [],
    durationMs: 0,
  };
  const bytesTotal = planned.reduce((total, file) => total + file.bytes, 0);
  let bytesRead = 0;
  let currentFile = '';
  const report = () =>
    options.onProgress?.({
      bytesRead,
      bytesTotal,
      file: currentFile,
      rowsRead: summary.rowsRead,
      rowsRejected: summary.rowsRejected,
      eventsWritten: summary.eventsWritten,
    });

  let batch: BluelightEvent[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const events = batch;
    batch = [];
    try {
      await output.write(events);
    } catch (error) {
      throw new OutputError(
        `writing to ${output.description} failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    summary.eventsWritten += events.length;
    for (const event of events) {
      summary.eventsByType[event.event_type] = (summary.eventsByType[event.event_type] ?? 0) + 1;
      options.entities?.add(event);
    }
    report();
  };
  /** One rejected row, reported once per problem it has. */
  const reject = async (errors: RowError[]) => {
    summary.rowsRejected += 1;
    for (const error of errors) {
      if (summary.firstErrors.length < ERRORS_KEPT_FOR_SUMMARY) summary.firstErrors.push(error);
      await options.errorReport?.add(error);
    }
  };

  for (const file of planned) {
    currentFile = file.path;
    const { record, columnIndex } = file;
    const cellOf = (cells: readonly string[], column: string) =>
      cells[columnIndex.get(column) ?? -1] ?? '';
    const joining = joins.find((join) => join.joiner === record.name);
    const joinedBy = joins.filter((join) => join.record === record.name);
    let rows = 0;
    const onBytes = (count: number) => {
      bytesRead += count;
      report();
    };
    for await (const item of readRows(file.path, mapping.csv, onBytes)) {
      rows += 1;
      summary.rowsRead += 1;
      const where = { file: file.path, line: item.line, record: record.name };
      if (item.kind === 'malformed') {
        await reject([{ ...where, reason: `unreadable CSV: ${item.reason}` }]);
        continue;
      }
      const { cells } = item;
      if (cells.length !== file.columnCount) {
        await reject([
          {
            ...where,
            reason: `has ${cells.length} cells where the header has ${file.columnCount}`,
          },
        ]);
        continue;
      }
      if (joining && !joining.keys.has(cellOf(cells, joining.column))) {
        summary.rowsUnmatched += 1;
        continue;
      }
      const outcome = record.mapRow(
        { cells, columnIndex },
        options.earliestEventTime === undefined
          ? {}
          : { earliestEventTime: options.earliestEventTime },
      );
      if (!outcome.ok) {
        await reject(
          outcome.problems.map((problem) => ({
            ...where,
            ...(problem.eventType === undefined ? {} : { event_type: problem.eventType }),
            ...(problem.field === undefined ? {} : { field: problem.field }),
            ...(problem.column === undefined ? {} : { column: problem.column }),
            ...(problem.value === undefined ? {} : { value: problem.value }),
            reason: problem.reason,
          })),
        );
        continue;
      }
      outcome.accept();
      summary.rowsImported += 1;
      for (const join of joinedBy) join.keys.add(cellOf(cells, join.on));
      batch.push(...outcome.events);
      if (batch.length >= BATCH_SIZE) await flush();
    }
    summary.files.push({ path: file.path, record: record.name, rows });
  }
  await flush();
  summary.durationMs = Date.now() - started;
  return summary;
}
