import { z } from 'zod';
import { type CodeTable, compileCodeTable } from './code-tables.js';
import { type PathPart, readableZodMessage, template } from './mapping-schema.js';
import { type LostDigits, nextOccurrence, toInstant, type WallTimeFormat } from './time.js';

/**
 * Templates: what each field of an event is made of. A template is
 * - a constant (string, number, boolean),
 * - a nested object of templates (fields that come out empty are left out; an object whose
 *   fields are all empty is itself empty), or
 * - an expression: an object with one of the operator keys below.
 * Empty cells are "no value", never an empty string.
 */

/** One CSV row as the templates see it. */
export interface RowContext {
  /** The cell's text, trimmed; undefined when the cell is empty. */
  cell(column: string): string | undefined;
  /** A named value of the record (`values:`), computed earlier for this row. Throws FailedValueError. */
  value(name: string): unknown;
}

/** A cell that cannot be turned into what the mapping asks for. */
export class CellError extends Error {
  /** The field it was for, inside the template being evaluated (filled in on the way out). */
  readonly path: PathPart[] = [];

  constructor(
    message: string,
    readonly column?: string,
    readonly value?: string,
  ) {
    super(message);
    this.name = 'CellError';
  }
}

/**
 * Thrown when a template uses a named value that failed for this row: the row is rejected for
 * that value's problem already, so nothing more is reported.
 */
export class FailedValueError extends Error {
  constructor(valueName: string) {
    super(`value ${valueName} failed`);
    this.name = 'FailedValueError';
  }
}

export interface CompiledTemplate {
  /** The value for this row; undefined when there is none. Throws CellError. */
  evaluate(row: RowContext): unknown;
  /** Every column the template reads. */
  readonly columns: readonly string[];
  /** The columns that make the field at `path` inside this template (for error reports). */
  columnsAt(path: readonly PathPart[]): readonly string[];
}

/** What templates may refer to, and where compile problems go. */
export interface CompileScope {
  timeZone: string;
  formats: ReadonlyMap<string, WallTimeFormat>;
  /** The mapping's `tables:`, compiled; undefined for a table that had a problem (reported). */
  tables: ReadonlyMap<string, CodeTable | undefined>;
  /** Named values defined so far in this record, in order. */
  values: ReadonlyMap<string, CompiledTemplate>;
  problem(path: readonly PathPart[], message: string): void;
}

const columnName = z.string().min(1);
const scalar = z.union([z.string(), z.number(), z.boolean()]);

const operators = {
  column: z.strictObject({
    column: columnName,
    transform: z.enum(['upper', 'lower', 'station_code', 'number']).optional(),
    /** Placeholder texts that mean "no value" in this column, e.g. a latitude of 0. */
    treat_as_empty: z.array(scalar).min(1).optional(),
  }),
  lookup: z.strictObject({
    lookup: columnName,
    table: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
    default: z.unknown().optional(),
  }),
  timestamp: z.strictObject({
    timestamp: z.union([columnName, z.array(columnName).min(1)]),
    format: z.string().min(1),
    not_before: template.optional(),
  }),
  time: z.strictObject({
    time: columnName,
    format: z.string().min(1),
    after: template,
  }),
  cases: z.strictObject({
    cases: z
      .array(
        z.strictObject({
          when: z
            .record(z.string(), z.union([scalar, z.array(scalar).min(1)]))
            .refine((when) => Object.keys(when).length > 0, 'needs at least one column'),
          // biome-ignore lint/suspicious/noThenProperty: the mapping language's word; never awaited.
          then: template,
        }),
      )
      .min(1),
    default: template.optional(),
  }),
  ref: z.strictObject({ ref: z.string().min(1) }),
  first_of: z.strictObject({ first_of: z.array(template).min(2) }),
};

type OperatorName = keyof typeof operators;
const operatorNames = Object.keys(operators) as OperatorName[];

/** The operator of an expression node, or undefined for a constant or a nested object. */
export function operatorOf(node: unknown): OperatorName | undefined {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
  return operatorNames.find((name) => name in node);
}

/** Nothing to evaluate: a placeholder for a template that had a problem (already reported). */
const broken: CompiledTemplate = {
  evaluate: () => undefined,
  columns: [],
  columnsAt: () => [],
};

function leaf(
  columns: readonly string[],
  evaluate: (row: RowContext) => unknown,
): CompiledTemplate {
  const unique = [...new Set(columns)];
  return { evaluate, columns: unique, columnsAt: () => unique };
}

function constant(value: unknown): CompiledTemplate {
  return leaf([], () => value);
}

export function compileTemplate(
  node: unknown,
  path: readonly PathPart[],
  scope: CompileScope,
): CompiledTemplate {
  if (node === null || node === undefined) {
    scope.problem(path, 'is empty');
    return broken;
  }
  if (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') {
    return constant(node);
  }
  if (Array.isArray(node)) {
    scope.problem(path, 'a list is not a value here (to try several, use { first_of: [...] })');
    return broken;
  }
  if (typeof node !== 'object') {
    scope.problem(path, `unsupported value ${String(node)}`);
    return broken;
  }
  const record = node as Record<string, unknown>;
  const present = operatorNames.filter((name) => name in record);
  if (present.length > 1) {
    scope.problem(path, `has ${present.join(' and ')}: an expression uses one of them`);
    return broken;
  }
  const [operator] = present;
  if (operator === undefined) return compileObject(record, path, scope);
  const parsed = operators[operator].safeParse(record);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      scope.problem([...path, ...(issue.path as PathPart[])], readableZodMessage(issue.message));
    }
    return broken;
  }
  return compileOperator(operator, parsed.data, path, scope);
}

function compileObject(
  record: Record<string, unknown>,
  path: readonly PathPart[],
  scope: CompileScope,
): CompiledTemplate {
  const fields = new Map(
    Object.entries(record).map(([key, child]) => [
      key,
      compileTemplate(child, [...path, key], scope),
    ]),
  );
  const columns = [...new Set([...fields.values()].flatMap((field) => field.columns))];
  return {
    columns,
    columnsAt: ([first, ...rest]) => {
      const field = first === undefined ? undefined : fields.get(String(first));
      return field ? field.columnsAt(rest) : columns;
    },
    evaluate: (row) => {
      const result: Record<string, unknown> = {};
      let empty = true;
      for (const [key, field] of fields) {
        try {
          const value = field.evaluate(row);
          if (value !== undefined) {
            result[key] = value;
            empty = false;
          }
        } catch (error) {
          if (error instanceof CellError) error.path.unshift(key);
          throw error;
        }
      }
      return empty ? undefined : result;
    },
  };
}

function formatOf(
  name: string,
  path: readonly PathPart[],
  scope: CompileScope,
): WallTimeFormat | undefined {
  const format = scope.formats.get(name);
  if (!format) {
    const known = [...scope.formats.keys()];
    scope.problem(
      path,
      `no timestamp format named ${name} (timestamp_formats has: ${known.join(', ') || 'none'})`,
    );
  }
  return format;
}

/** A fraction of a second that milliseconds cannot hold: rejected rather than cut. */
function subMillisecondError({ lostDigits }: LostDigits, column: string, text: string): CellError {
  return new CellError(
    `has a fraction of a second, .${lostDigits}, finer than the millisecond the contract holds (it would be cut to .${lostDigits.slice(0, 3)})`,
    column,
    text,
  );
}

function describeFormat(name: string, format: WallTimeFormat): string {
  return `${name} (${format.patterns.join(' or ')})`;
}

/** The contract's longest station code (`stationCode` in schemas/src/common.ts). */
const STATION_CODE_MAX = 16;

/** Upper case, runs of anything else than A–Z and 0–9 made one "-" (none at either end). */
function toStationCode(text: string): string {
  return text
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '-')
    .replace(/^-+/, '')
    .replace(/-+$/, '');
}

/** A plain decimal, as exports print numbers: no hex, binary, `Infinity` or thousands separators. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Every transform gives the value whole or rejects the row (naming the column and cell): none
 * shortens or rounds a value without saying so.
 */
const transforms = {
  upper: (text: string) => text.toUpperCase(),
  lower: (text: string) => text.toLowerCase(),
  station_code: (text: string, column: string) => {
    const code = toStationCode(text);
    if (code === '')
      throw new CellError('has no letters or digits for a station code', column, text);
    if (code.length > STATION_CODE_MAX) {
      // Cutting it could make two stations one (and no longer matches the source's name).
      throw new CellError(
        `makes station code ${code}, ${code.length} characters; the contract allows at most ${STATION_CODE_MAX} (map the names to shorter codes with a { lookup } table)`,
        column,
        text,
      );
    }
    return code;
  },
  number: (text: string, column: string) => {
    if (!DECIMAL.test(text)) throw new CellError('is not a number', column, text);
    const value = Number(text);
    if (!Number.isFinite(value)) throw new CellError('is too large a number', column, text);
    // A whole number past 2^53 loses its last digits (an id read as a number, say).
    if (!/[.eE]/.test(text) && !Number.isSafeInteger(value)) {
      throw new CellError(
        `has more digits than a number holds exactly (it would be read as ${BigInt(value)}); read it as text ({ column } without transform)`,
        column,
        text,
      );
    }
    return value;
  },
} satisfies Record<string, (text: string, column: string) => unknown>;

function compileOperator(
  operator: OperatorName,
  spec: unknown,
  path: readonly PathPart[],
  scope: CompileScope,
): CompiledTemplate {
  switch (operator) {
    case 'column': {
      const { column, transform, treat_as_empty } = spec as z.infer<typeof operators.column>;
      const apply = transform ? transforms[transform] : undefined;
      const placeholders = new Set((treat_as_empty ?? []).map(String));
      return leaf([column], (row) => {
        const text = row.cell(column);
        if (text === undefined || placeholders.has(text)) return undefined;
        return apply ? apply(text, column) : text;
      });
    }
    case 'lookup': {
      const lookup = spec as z.infer<typeof operators.lookup>;
      const tableName = typeof lookup.table === 'string' ? lookup.table : 'given inline';
      if (typeof lookup.table === 'string' && !scope.tables.has(lookup.table)) {
        scope.problem([...path, 'table'], `no table named ${lookup.table} in tables`);
        return broken;
      }
      const table =
        typeof lookup.table === 'string'
          ? scope.tables.get(lookup.table)
          : compileCodeTable(lookup.table, [...path, 'table'], scope.problem);
      // A table with a problem has been reported already.
      if (!table) return broken;
      return leaf([lookup.lookup], (row) => {
        const code = row.cell(lookup.lookup);
        const found = code === undefined ? undefined : table.match(code);
        if (found) return found.value;
        if (lookup.default !== undefined || code === undefined) return lookup.default;
        throw new CellError(`code "${code}" is not in table ${tableName}`, lookup.lookup, code);
      });
    }
    case 'timestamp': {
      const timestamp = spec as z.infer<typeof operators.timestamp>;
      const columns =
        typeof timestamp.timestamp === 'string' ? [timestamp.timestamp] : timestamp.timestamp;
      const format = formatOf(timestamp.format, [...path, 'format'], scope);
      const notBefore =
        timestamp.not_before === undefined
          ? undefined
          : compileTemplate(timestamp.not_before, [...path, 'not_before'], scope);
      if (!format) return broken;
      const label = columns.join(' + ');
      return leaf([...columns, ...(notBefore?.columns ?? [])], (row) => {
        const parts = columns.map((column) => row.cell(column));
        if (parts.every((part) => part === undefined)) return undefined;
        const missing = columns.filter((_, index) => parts[index] === undefined);
        if (missing.length > 0) {
          throw new CellError(`${missing.join(', ')} is empty`, label, parts.join(' '));
        }
        const text = parts.join(' ');
        const wall = format.parse(text);
        if (wall && 'lostDigits' in wall) throw subMillisecondError(wall, label, text);
        if (!wall) {
          throw new CellError(
            `is not a timestamp in format ${describeFormat(timestamp.format, format)}`,
            label,
            text,
          );
        }
        const reference = notBefore?.evaluate(row);
        const notBeforeMs = typeof reference === 'string' ? Date.parse(reference) : undefined;
        return new Date(toInstant(wall, scope.timeZone, notBeforeMs)).toISOString();
      });
    }
    case 'time': {
      const time = spec as z.infer<typeof operators.time>;
      const format = formatOf(time.format, [...path, 'format'], scope);
      const after = compileTemplate(time.after, [...path, 'after'], scope);
      if (!format) return broken;
      return leaf([time.time, ...after.columns], (row) => {
        const text = row.cell(time.time);
        if (text === undefined) return undefined;
        const wall = format.parse(text);
        if (wall && 'lostDigits' in wall) throw subMillisecondError(wall, time.time, text);
        if (!wall) {
          throw new CellError(
            `is not a time in format ${describeFormat(time.format, format)}`,
            time.time,
            text,
          );
        }
        const reference = after.evaluate(row);
        const referenceMs = typeof reference === 'string' ? Date.parse(reference) : Number.NaN;
        if (Number.isNaN(referenceMs)) {
          throw new CellError(
            'has no reference timestamp to follow (after: is empty)',
            time.time,
            text,
          );
        }
        const { hour, minute, second, millisecond } = wall;
        return new Date(
          nextOccurrence({ hour, minute, second, millisecond }, referenceMs, scope.timeZone),
        ).toISOString();
      });
    }
    case 'cases': {
      const { cases, default: fallback } = spec as z.infer<typeof operators.cases>;
      const compiled = cases.map((entry, index) => ({
        when: Object.entries(entry.when).map(
          ([column, accepted]) =>
            [column, (Array.isArray(accepted) ? accepted : [accepted]).map(String)] as const,
        ),
        result: compileTemplate(entry.then, [...path, 'cases', index, 'then'], scope),
      }));
      const otherwise =
        fallback === undefined ? undefined : compileTemplate(fallback, [...path, 'default'], scope);
      const tested = [
        ...new Set(compiled.flatMap((entry) => entry.when.map(([column]) => column))),
      ];
      const columns = [
        ...tested,
        ...compiled.flatMap((entry) => entry.result.columns),
        ...(otherwise?.columns ?? []),
      ];
      return leaf(columns, (row) => {
        const match = compiled.find((entry) =>
          entry.when.every(([column, accepted]) => accepted.includes(row.cell(column) ?? '')),
        );
        if (match) return match.result.evaluate(row);
        if (otherwise) return otherwise.evaluate(row);
        const seen = tested.map((column) => `${column}="${row.cell(column) ?? ''}"`).join(', ');
        throw new CellError(`no case matches ${seen}`, tested.join(', '), seen);
      });
    }
    case 'ref': {
      const { ref } = spec as z.infer<typeof operators.ref>;
      const value = scope.values.get(ref);
      if (!value) {
        const known = [...scope.values.keys()];
        scope.problem(
          [...path, 'ref'],
          `no value named ${ref} defined before this point (values: ${known.join(', ') || 'none'})`,
        );
        return broken;
      }
      return leaf(value.columns, (row) => row.value(ref));
    }
    case 'first_of': {
      const { first_of: choices } = spec as z.infer<typeof operators.first_of>;
      const compiled = choices.map((choice, index) =>
        compileTemplate(choice, [...path, 'first_of', index], scope),
      );
      return leaf(
        compiled.flatMap((choice) => choice.columns),
        (row) => {
          for (const choice of compiled) {
            const value = choice.evaluate(row);
            if (value !== undefined) return value;
          }
          return undefined;
        },
      );
    }
  }
}
