import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  agencyCode,
  type BluelightEvent,
  correlation,
  eventDefinition,
  instant,
  sourceId,
  type ValidateOptions,
  validateEvent,
} from '@bluelight/schemas';
import { type CodeTable, compileCodeTable } from './code-tables.js';
import { deterministicUuidV7, eventIdentity } from './event-id.js';
import {
  CellError,
  type CompiledTemplate,
  type CompileScope,
  compileTemplate,
  FailedValueError,
  type RowContext,
} from './expressions.js';
import {
  type CsvOptionsSpec,
  MappingError,
  type MappingProblem,
  type PathPart,
  parseMapping,
  problemAt,
} from './mapping-schema.js';
import { checkTemplateShape } from './template-shape.js';
import { isValidTimeZone, WallTimeFormat } from './time.js';

/** The built-in formats: each is a mapping in services/importers/mappings/<name>.yaml. */
export const BUILT_IN_FORMATS = ['lfb', 'sffd'] as const;
export type BuiltInFormat = (typeof BUILT_IN_FORMATS)[number];

const mappingsDirectory = fileURLToPath(new URL('../mappings/', import.meta.url));

function builtInMappingPath(format: BuiltInFormat): string {
  return path.join(mappingsDirectory, `${format}.yaml`);
}

/** Settings given on the command line that win over the mapping's own. */
export interface MappingOverrides {
  agency?: string;
  source?: string;
  timeZone?: string;
}

/** An override given on the command line that is not a valid agency, source or time zone. */
export class OverrideError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OverrideError';
  }
}

function checkOverrides(overrides: MappingOverrides): void {
  const problems: string[] = [];
  const check = (option: string, value: string | undefined, schema: typeof agencyCode) => {
    const result = value === undefined ? undefined : schema.safeParse(value);
    if (result && !result.success) {
      problems.push(`${option} ${value}: ${result.error.issues[0]?.message}`);
    }
  };
  check('--agency', overrides.agency, agencyCode);
  check('--source', overrides.source, sourceId);
  if (overrides.timeZone !== undefined && !isValidTimeZone(overrides.timeZone)) {
    problems.push(
      `--time-zone ${overrides.timeZone}: must be an IANA time zone, e.g. Europe/London`,
    );
  }
  if (problems.length > 0) throw new OverrideError(problems.join('\n'));
}

/** Why a row was not imported: which event and field, from which column, and what is wrong. */
interface RowProblem {
  eventType?: string;
  field?: string;
  column?: string;
  value?: string;
  reason: string;
}

export type RowOutcome =
  | {
      ok: true;
      events: BluelightEvent[];
      /** Records the row's `once_per` keys as seen; call it once the row is accepted. */
      accept(): void;
    }
  | { ok: false; problems: RowProblem[] };

/** One row as read from a file: its cells, looked up by the file's header. */
export interface SourceRow {
  cells: readonly string[];
  columnIndex: ReadonlyMap<string, number>;
}

export interface CompiledRecord {
  readonly name: string;
  readonly detect?: readonly string[];
  readonly join?: { record: string; column: string; on: string };
  /** Every column a file of this record must have. */
  readonly requiredColumns: readonly string[];
  /** The row's events, checked against the contract (`validation`: the caller's bounds, e.g. EARLIEST_EVENT_TIME). */
  mapRow(row: SourceRow, validation?: ValidateOptions): RowOutcome;
}

export interface CompiledMapping {
  readonly name: string;
  readonly origin: string;
  readonly source: string;
  readonly agency: string;
  readonly timeZone: string;
  readonly csv: CsvOptionsSpec;
  /** In processing order: a record comes after the record it joins. */
  readonly records: readonly CompiledRecord[];
}

interface CompiledEvent {
  type: string;
  needs: readonly string[];
  oncePer?: CompiledTemplate;
  parts: {
    occurred_at: CompiledTemplate;
    correlation?: CompiledTemplate;
    payload: CompiledTemplate;
  };
}

/** Field paths as validateEvent prints them ("payload.location.station_ground") → parts. */
function pathParts(field: string): PathPart[] {
  return field
    .split(/\.|\[(\d+)\]/)
    .filter((part) => part !== undefined && part !== '')
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

function describeColumns(
  columns: readonly string[],
  row: RowContext,
): Pick<RowProblem, 'column' | 'value'> {
  const [only, ...others] = columns;
  if (only === undefined) return {};
  if (others.length === 0) return { column: only, value: row.cell(only) ?? '' };
  return { column: columns.join(', ') };
}

class RecordMapper implements CompiledRecord {
  readonly requiredColumns: string[] = [];
  /** `once_per` keys of rows already accepted: each such event is emitted once per import. */
  readonly #seen = new Set<string>();

  constructor(
    readonly name: string,
    readonly detect: readonly string[] | undefined,
    readonly join: { record: string; column: string; on: string } | undefined,
    private readonly settings: { source: string; agency: string },
    private readonly rowKey: readonly string[] | undefined,
    private readonly values: ReadonlyMap<string, CompiledTemplate>,
    private readonly events: readonly CompiledEvent[],
  ) {}

  mapRow(source: SourceRow, validation: ValidateOptions = {}): RowOutcome {
    const computed = new Map<string, unknown>();
    const failedValues = new Set<string>();
    const row: RowContext = {
      cell: (column) => {
        const index = source.columnIndex.get(column);
        const text = index === undefined ? undefined : source.cells[index];
        return text === undefined || text === '' ? undefined : text;
      },
      value: (name) => {
        if (failedValues.has(name)) throw new FailedValueError(name);
        return computed.get(name);
      },
    };
    const problems: RowProblem[] = [];
    for (const [name, value] of this.values) {
      try {
        computed.set(name, value.evaluate(row));
      } catch (error) {
        failedValues.add(name);
        if (error instanceof FailedValueError) continue;
        if (!(error instanceof CellError)) throw error;
        problems.push({
          field: ['values', name, ...error.path].join('.'),
          column: error.column,
          value: error.value,
          reason: error.message,
        });
      }
    }
    if (problems.length > 0) return { ok: false, problems };

    const rowKey = this.#rowKey(row, source);
    const events: BluelightEvent[] = [];
    const onceKeys: string[] = [];
    this.events.forEach((event, index) => {
      const built = this.#buildEvent(event, index, row, rowKey, problems, validation);
      if (built) {
        events.push(built.event);
        if (built.onceKey !== undefined) onceKeys.push(built.onceKey);
      }
    });
    if (problems.length > 0) return { ok: false, problems };
    return {
      ok: true,
      events,
      accept: () => {
        for (const key of onceKeys) this.#seen.add(key);
      },
    };
  }

  #rowKey(row: RowContext, source: SourceRow): string {
    const cells = this.rowKey ? this.rowKey.map((column) => row.cell(column) ?? '') : source.cells;
    return cells.join('\u001f');
  }

  #buildEvent(
    event: CompiledEvent,
    index: number,
    row: RowContext,
    rowKey: string,
    problems: RowProblem[],
    validation: ValidateOptions,
  ): { event: BluelightEvent; onceKey?: string } | undefined {
    const failed = (problem: Omit<RowProblem, 'eventType'>) => {
      problems.push({ eventType: event.type, ...problem });
      return undefined;
    };
    if (event.needs.some((column) => row.cell(column) === undefined)) return undefined;
    const evaluated: Record<string, unknown> = {};
    let onceKey: string | undefined;
    try {
      if (event.oncePer) {
        const key = event.oncePer.evaluate(row);
        if (key === undefined) {
          return failed({
            field: 'once_per',
            ...describeColumns(event.oncePer.columns, row),
            reason: 'is empty',
          });
        }
        onceKey = `${index}\u001f${String(key)}`;
        if (this.#seen.has(onceKey)) return undefined;
      }
      for (const [field, template] of Object.entries(event.parts)) {
        try {
          const value = template?.evaluate(row);
          if (value !== undefined) evaluated[field] = value;
        } catch (error) {
          if (error instanceof CellError) error.path.unshift(field);
          throw error;
        }
      }
    } catch (error) {
      if (error instanceof FailedValueError) return undefined;
      if (!(error instanceof CellError)) throw error;
      return failed({
        field: error.path.join('.'),
        column: error.column,
        value: error.value,
        reason: error.message,
      });
    }
    const occurredAt = evaluated.occurred_at;
    if (occurredAt === undefined) {
      return failed({
        field: 'occurred_at',
        ...describeColumns(event.parts.occurred_at.columns, row),
        reason: 'is empty (list its columns in needs: to leave the event out instead)',
      });
    }
    const occurredMs = typeof occurredAt === 'string' ? Date.parse(occurredAt) : Number.NaN;
    const identity = eventIdentity({
      ...this.settings,
      record: this.name,
      // An event emitted once per key is the same event whichever row of the key came first.
      rowKey: onceKey ?? rowKey,
      eventType: event.type,
    });
    const candidate = {
      event_id: deterministicUuidV7(Number.isNaN(occurredMs) ? 0 : occurredMs, identity),
      event_type: event.type,
      schema_version: 1,
      occurred_at: occurredAt,
      source: this.settings.source,
      agency: this.settings.agency,
      ...(evaluated.correlation === undefined ? {} : { correlation: evaluated.correlation }),
      payload: evaluated.payload,
    };
    const result = validateEvent(candidate, validation);
    if (!result.ok) {
      for (const error of result.errors) {
        const [part, ...rest] = pathParts(error.path);
        const template = event.parts[part as keyof CompiledEvent['parts']];
        failed({
          field: error.path,
          ...describeColumns(template?.columnsAt(rest) ?? [], row),
          reason: error.message,
        });
      }
      return undefined;
    }
    return { event: result.event, ...(onceKey === undefined ? {} : { onceKey }) };
  }
}

/** Reads, validates and compiles a mapping; every problem is reported at once with its path. */
export function compileMapping(
  text: string,
  origin: string,
  overrides: MappingOverrides = {},
): CompiledMapping {
  checkOverrides(overrides);
  const { spec, locate } = parseMapping(text, origin);
  const problems: MappingProblem[] = [];
  const problem = (at: readonly PathPart[], message: string) => {
    problems.push(problemAt(locate, at, message));
  };
  const formats = new Map(
    Object.entries(spec.timestamp_formats).map(([name, patterns]) => [
      name,
      new WallTimeFormat(typeof patterns === 'string' ? [patterns] : patterns),
    ]),
  );
  const tables = new Map<string, CodeTable | undefined>(
    Object.entries(spec.tables).map(([name, table]) => [
      name,
      compileCodeTable(table, ['tables', name], problem),
    ]),
  );
  const settings = {
    source: overrides.source ?? spec.source,
    agency: overrides.agency ?? spec.agency,
  };
  const timeZone = overrides.timeZone ?? spec.time_zone;
  const recordNames = Object.keys(spec.records);
  const records: RecordMapper[] = [];

  for (const [name, record] of Object.entries(spec.records)) {
    const at = (...parts: PathPart[]) => ['records', name, ...parts];
    const values = new Map<string, CompiledTemplate>();
    const scope: CompileScope = {
      timeZone,
      formats,
      tables,
      values,
      problem,
    };
    for (const [valueName, template] of Object.entries(record.values)) {
      values.set(valueName, compileTemplate(template, at('values', valueName), scope));
    }
    const events = record.events.map((event, index): CompiledEvent => {
      const compile = (field: string, template: unknown) =>
        compileTemplate(template, at('events', index, field), scope);
      const payloadSchema = eventDefinition(event.type)?.payload;
      if (payloadSchema) {
        checkTemplateShape(event.payload, payloadSchema, at('events', index, 'payload'), problem);
      }
      checkTemplateShape(event.occurred_at, instant, at('events', index, 'occurred_at'), problem);
      if (event.correlation !== undefined) {
        checkTemplateShape(
          event.correlation,
          correlation,
          at('events', index, 'correlation'),
          problem,
        );
      }
      return {
        type: event.type,
        needs: event.needs ?? [],
        ...(event.once_per === undefined ? {} : { oncePer: compile('once_per', event.once_per) }),
        parts: {
          occurred_at: compile('occurred_at', event.occurred_at),
          ...(event.correlation === undefined
            ? {}
            : { correlation: compile('correlation', event.correlation) }),
          payload: compile('payload', event.payload),
        },
      };
    });
    if (recordNames.length > 1 && record.detect === undefined) {
      problem(at(), 'needs detect: (header columns) when a mapping has several records');
    }
    if (record.join) {
      const joined = recordNames.indexOf(record.join.record);
      if (joined < 0 || joined >= recordNames.indexOf(name)) {
        problem(
          at('join', 'record'),
          `must name a record listed before ${name} (its files are read first)`,
        );
      }
    }
    const mapper = new RecordMapper(
      name,
      record.detect,
      record.join,
      settings,
      record.row_key,
      values,
      events,
    );
    const templates = [
      ...values.values(),
      ...events.flatMap((event) => [
        ...(event.oncePer ? [event.oncePer] : []),
        ...Object.values(event.parts),
      ]),
    ];
    mapper.requiredColumns.push(
      ...new Set([
        ...(record.detect ?? []),
        ...(record.row_key ?? []),
        ...(record.join ? [record.join.column] : []),
        ...record.events.flatMap((event) => event.needs ?? []),
        ...templates.flatMap((template) => template.columns),
      ]),
    );
    records.push(mapper);
  }
  // A record that others join on must have the column they match against.
  for (const record of records) {
    const joined = record.join && records.find((other) => other.name === record.join?.record);
    if (joined && record.join && !joined.requiredColumns.includes(record.join.on)) {
      joined.requiredColumns.push(record.join.on);
    }
  }
  if (problems.length > 0) throw new MappingError(origin, problems);
  return {
    name: spec.name,
    origin,
    source: settings.source,
    agency: settings.agency,
    timeZone,
    csv: spec.csv,
    records,
  };
}

export async function loadMappingFile(
  file: string,
  overrides: MappingOverrides = {},
): Promise<CompiledMapping> {
  return compileMapping(await readFile(file, 'utf8'), file, overrides);
}

export function loadBuiltInMapping(
  format: BuiltInFormat,
  overrides: MappingOverrides = {},
): Promise<CompiledMapping> {
  return loadMappingFile(builtInMappingPath(format), overrides);
}
