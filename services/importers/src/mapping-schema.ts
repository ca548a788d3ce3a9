import { agencyCode, eventDefinitions, sourceId } from '@bluelight/schemas';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { isValidTimeZone } from './time.js';

/**
 * The mapping language's outer structure (validated with zod). Templates — what a field of an
 * event is made of — are checked when they are compiled (expressions.ts), with the same paths.
 */

export type PathPart = string | number;

/** One thing wrong with a mapping, named by its YAML path (and line, when known). */
export interface MappingProblem {
  path: string;
  line?: number;
  column?: number;
  message: string;
}

export class MappingError extends Error {
  readonly problems: MappingProblem[];

  constructor(origin: string, problems: MappingProblem[]) {
    const lines = problems.map(
      (problem) =>
        `  ${problem.line === undefined ? '' : `line ${problem.line}: `}${problem.path}: ${problem.message}`,
    );
    super(`invalid mapping ${origin}:\n${lines.join('\n')}`);
    this.name = 'MappingError';
    this.problems = problems;
  }
}

/** `records.incidents.events[0].payload["Call Type"]` */
function formatPath(path: readonly PathPart[]): string {
  if (path.length === 0) return '(mapping)';
  return path
    .map((part, index) => {
      if (typeof part === 'number') return `[${part}]`;
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) return index === 0 ? part : `.${part}`;
      return `[${JSON.stringify(part)}]`;
    })
    .join('');
}

const identifier = z
  .string()
  .regex(/^[a-z][a-z0-9_]*$/, 'must be lower-case letters, digits and _ (starting with a letter)');

/** Where a template goes: checked when compiled; here only that something is there. */
export const template = z.custom<unknown>((value) => value !== undefined && value !== null, {
  error: 'is required (a constant, a nested object or an expression such as { column: Name })',
});

const eventTypes = eventDefinitions.map((definition) => definition.type) as [string, ...string[]];

const eventSpec = z.strictObject({
  type: z.enum(eventTypes, { error: `must be one of: ${eventTypes.join(', ')}` }),
  /** Columns that must have a value for the event to be emitted (e.g. a unit's arrival time). */
  needs: z.array(z.string().min(1)).min(1).optional(),
  /** Emitted only for the first row with each value of this key (e.g. one incident.created). */
  once_per: template.optional(),
  occurred_at: template,
  correlation: template.optional(),
  payload: template,
});

const recordSpec = z.strictObject({
  /** Header columns that identify a file as this record (needed when a mapping has several). */
  detect: z.array(z.string().min(1)).min(1).optional(),
  /** Columns that identify a row across exports, for deterministic event ids; default: the whole row. */
  row_key: z.array(z.string().min(1)).min(1).optional(),
  /** Keep only rows whose `column` value is in the `on` column of an imported `record` file. */
  join: z
    .strictObject({
      record: identifier,
      column: z.string().min(1),
      on: z.string().min(1),
    })
    .optional(),
  /** Named values computed once per row, in order; later ones and events use them via { ref }. */
  values: z.record(identifier, template).default({}),
  events: z.array(eventSpec).min(1, 'a record needs at least one event'),
});

const csvSpec = z.strictObject({
  delimiter: z.string().min(1).default(','),
  quote: z.string().length(1).default('"'),
  encoding: z.enum(['utf8', 'latin1', 'utf16le']).default('utf8'),
  /** true: the first line names the columns; a list: the file has no header and these are they. */
  header: z.union([z.literal(true), z.array(z.string().min(1)).min(1)]).default(true),
});

const formatPatterns = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

const mappingSpecSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be lower-case letters, digits and -'),
  description: z.string().optional(),
  source: sourceId,
  agency: agencyCode,
  time_zone: z
    .string()
    .refine(isValidTimeZone, 'must be an IANA time zone, e.g. Europe/London or America/New_York'),
  csv: csvSpec.prefault({}),
  timestamp_formats: z.record(identifier, formatPatterns).default({}),
  tables: z.record(identifier, z.record(z.string(), z.unknown())).default({}),
  records: z
    .record(identifier, recordSpec)
    .refine((records) => Object.keys(records).length > 0, 'a mapping needs at least one record'),
});

type MappingSpec = z.infer<typeof mappingSpecSchema>;
export type CsvOptionsSpec = MappingSpec['csv'];

/** Finds the line of a path in the YAML source (the deepest part of the path that exists). */
export type Locate = (path: readonly PathPart[]) => { line: number; column: number } | undefined;

export interface ParsedMapping {
  spec: MappingSpec;
  locate: Locate;
}

/** Parses and validates a mapping's YAML; every problem is reported at once, with its path. */
export function parseMapping(text: string, origin: string): ParsedMapping {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new MappingError(
      origin,
      document.errors.map((error) => {
        const position = error.linePos?.[0];
        return {
          path: '(yaml)',
          ...(position ? { line: position.line, column: position.col } : {}),
          message: error.message.split('\n')[0] ?? error.message,
        };
      }),
    );
  }
  const locate: Locate = (path) => {
    for (let length = path.length; length >= 0; length -= 1) {
      const node = document.getIn(path.slice(0, length), true);
      if (isNode(node) && node.range) {
        const position = lineCounter.linePos(node.range[0]);
        return { line: position.line, column: position.col };
      }
    }
    return undefined;
  };
  const result = mappingSpecSchema.safeParse(document.toJS());
  if (!result.success) {
    throw new MappingError(
      origin,
      result.error.issues.map((issue) =>
        problemAt(locate, issue.path as PathPart[], readableZodMessage(issue.message)),
      ),
    );
  }
  return { spec: result.data, locate };
}

/** zod's "Invalid input: expected string, received undefined" reads better as "is required". */
export function readableZodMessage(message: string): string {
  const missing = /^Invalid input: expected (.+), received undefined$/.exec(message);
  return missing ? `is required (${missing[1]})` : message;
}

export function problemAt(
  locate: Locate,
  path: readonly PathPart[],
  message: string,
): MappingProblem {
  const position = locate(path);
  return {
    path: formatPath(path),
    ...(position ? { line: position.line, column: position.column } : {}),
    message,
  };
}
