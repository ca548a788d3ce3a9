import { agencyCode } from '@bluelight/schemas';
import {
  DATA_QUALITY_CHECKS,
  FILTERS,
  FIRST_PERIOD_DAY,
  GROUPINGS,
  isPeriodDay,
  PERIOD_DAY_RANGE_MESSAGE,
  previousPeriod,
  RECORD_SELECTIONS,
  type StandardDefinition,
} from '@bluelight/standards';
import { z } from 'zod';
import { operationsQuerySchemas } from './operations-params.js';

/** One parameter of a request that cannot be used, and why. */
export interface Problem {
  parameter: string;
  message: string;
}

/** At most this many characters in one value, and this many values in one list parameter. */
const MAX_VALUE_LENGTH = 200;
const MAX_LIST_VALUES = 100;
export const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1_000;
/** Records of a figure per page: a year of a county's incidents in a few pages. */
export const MAX_RECORDS_LIMIT = 10_000;

const given = (input: unknown) => input !== undefined;

/** True when the text holds a control character (NUL, newline, DEL, …): never part of a name. */
function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
const NO_CONTROL = 'must not contain control characters';

/** A single text value: a parameter given twice is an error, not a silent pick. */
export const textError = (what: string) => (issue: { input?: unknown }) =>
  !given(issue.input)
    ? `required: ${what}`
    : Array.isArray(issue.input)
      ? `give it once: ${what}`
      : `expected ${what}`;

/**
 * A London calendar date, YYYY-MM-DD: a real date (2023-02-29 is refused) that ClickHouse's Date
 * can hold (9999-12-31 is refused), so no request fails in ClickHouse for its dates.
 */
export const londonDate = z.iso
  .date({ error: textError('a London date YYYY-MM-DD') })
  .refine(isPeriodDay, PERIOD_DAY_RANGE_MESSAGE);

/** Repeated (`a=x&a=y`) and/or comma-separated (`a=x,y`) values as one list, blanks dropped. */
const listOf = <Value extends z.ZodType<string, string>>(value: Value) =>
  z
    .union([z.string(), z.array(z.string())], {
      error: 'expected one or more values, repeated or comma-separated',
    })
    .transform((given) =>
      (Array.isArray(given) ? given : [given])
        .flatMap((part) => part.split(','))
        .map((part) => part.trim())
        .filter((part) => part.length > 0),
    )
    .pipe(
      z
        .array(value)
        .min(1, 'give at least one value')
        .max(MAX_LIST_VALUES, `at most ${MAX_LIST_VALUES} values`),
    )
    .optional();

/**
 * A list filter: repeated (`station=A&station=B`) and/or comma-separated (`station=A,B`); blank
 * entries are dropped. Values are data: they reach ClickHouse only as query parameters.
 */
export const listParam = listOf(
  z
    .string()
    .max(MAX_VALUE_LENGTH, `each value at most ${MAX_VALUE_LENGTH} characters`)
    .refine((value) => !hasControlCharacter(value), NO_CONTROL),
);

/**
 * The agencies whose rows to read, as a list filter is given (`agency=a,b`). Which of them the
 * key may read is decided after validation (403 `forbidden_agency`); a code that cannot exist
 * is a 400 like any malformed value.
 */
export const agencyParam = listOf(agencyCode).describe(
  'The agencies whose rows to read (repeat or comma-separate), each one the key may read. Optional for a key of one agency (it reads that one); a key of several must say which.',
);

/** Days from `from` to `to`, both counted. */
function periodDays(from: string, to: string): number {
  return (
    Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1
  );
}

/** `to` must not be before `from`, and the period must not be longer than the limit. */
export function checkPeriod(maxDays: number) {
  return (value: { from: string; to: string }, context: z.RefinementCtx) => {
    // A day out of range is named on its own; its period's length says nothing more.
    if (!isPeriodDay(value.from) || !isPeriodDay(value.to)) return;
    if (value.to < value.from) {
      context.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
      return;
    }
    const days = periodDays(value.from, value.to);
    if (days > maxDays) {
      context.addIssue({
        code: 'custom',
        path: ['to'],
        message: `the period is ${days} days; at most ${maxDays} (to is inclusive)`,
      });
    }
  };
}

export const period = {
  from: londonDate.describe('First London day of the period, YYYY-MM-DD.'),
  to: londonDate.describe('Last London day of the period, YYYY-MM-DD, inclusive.'),
};

/** Filters a KPI request may pass on to the standard (each applies to some subjects only). */
const KPI_FILTERS = [
  ...new Set([...FILTERS.incidents, ...FILTERS.calls, ...FILTERS.availability]),
] as const;
const KPI_GROUPINGS = [
  ...new Set([...GROUPINGS.incidents, ...GROUPINGS.calls, ...GROUPINGS.availability]),
] as [string, ...string[]];

/** Filters of the incident search: the same fact columns the KPI filters use. */
export const INCIDENT_SEARCH_FILTERS = [
  'station',
  'category',
  'risk_band',
  'area',
  'service',
] as const;

/**
 * A page position: base64url of JSON `[sortMillis, incidentId, agency]`, as the previous page
 * gave it. The agency is part of the position because two agencies may have an incident of the
 * same id at the same instant (identity is (agency, id)); a position without it (`[sortMillis,
 * incidentId]`, from a query API before this one) still reads as "after every agency's incident
 * there", so a client paging through an upgrade is not refused.
 */
export interface IncidentCursor {
  afterMs: number;
  afterId: string;
  /** Absent in a position from an earlier query API. */
  afterAgency?: string;
}

const cursorParam = z
  .string({ error: textError('the next_cursor of the previous page') })
  .max(400, 'not a cursor from this API')
  .transform((text, context): IncidentCursor => {
    try {
      if (!/^[A-Za-z0-9_-]+$/.test(text)) throw new Error('not base64url');
      const decoded = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
      const position = z.int().min(0);
      const id = z.string().max(MAX_VALUE_LENGTH);
      const parsed = z
        .union([z.tuple([position, id, agencyCode]), z.tuple([position, id])])
        .parse(decoded);
      const [afterMs, afterId, afterAgency] = parsed;
      return afterAgency === undefined ? { afterMs, afterId } : { afterMs, afterId, afterAgency };
    } catch {
      context.addIssue({
        code: 'custom',
        message: 'not a cursor from this API: pass next_cursor from the previous page',
      });
      return z.NEVER;
    }
  });

/** A page size, 1 to MAX_LIMIT. */
const pageLimit = z
  .string({ error: textError(`a whole number from 1 to ${MAX_LIMIT}`) })
  .regex(/^\d{1,5}$/, `expected a whole number from 1 to ${MAX_LIMIT}`)
  .transform(Number)
  .pipe(
    z
      .int()
      .min(1, `expected a whole number from 1 to ${MAX_LIMIT}`)
      .max(MAX_LIMIT, `at most ${MAX_LIMIT}`),
  )
  .optional();

/** Records to skip: the next_offset of the previous page. */
const pageOffset = z
  .string({ error: textError('a whole number, the next_offset of the previous page') })
  .regex(/^\d{1,9}$/, 'expected a whole number, the next_offset of the previous page')
  .transform(Number)
  .optional();

/** `check=a,b`: data-quality checks by name. */
const checkList = listOf(
  z.enum(DATA_QUALITY_CHECKS, { error: `expected one of ${DATA_QUALITY_CHECKS.join(', ')}` }),
);

export function encodeCursor(sortMs: number, incidentId: string, agency: string): string {
  return Buffer.from(JSON.stringify([sortMs, incidentId, agency]), 'utf8').toString('base64url');
}

/** The query-string schemas of every endpoint; unknown parameters are refused. */
export function querySchemas(standards: StandardDefinition[], maxPeriodDays: number) {
  const ids = standards.map((standard) => standard.id) as [string, ...string[]];
  const kpiFilters = Object.fromEntries(
    KPI_FILTERS.map((name) => [
      name,
      listParam.describe(
        `Only these values (repeat or comma-separate). Applies to ${(
          ['incidents', 'calls', 'availability'] as const
        )
          .filter((subject) => (FILTERS[subject] as readonly string[]).includes(name))
          .join(' and ')} standards.`,
      ),
    ]),
  ) as Record<(typeof KPI_FILTERS)[number], typeof listParam>;

  const kpis = z
    .strictObject({
      agency: agencyParam,
      standard: z
        .enum(ids, { error: textError(`a standard id, one of ${ids.join(', ')}`) })
        .describe('The standard to compute (GET /v1/standards lists them).'),
      ...period,
      groupBy: z
        .enum(KPI_GROUPINGS, { error: textError(`one of ${KPI_GROUPINGS.join(', ')}`) })
        .optional()
        .describe('Break the figure down; which groupings apply depends on the subject.'),
      ...kpiFilters,
    })
    .superRefine(checkPeriod(maxPeriodDays));

  const kpiRecords = z
    .strictObject({
      agency: agencyParam,
      standard: z
        .enum(ids, { error: textError(`a standard id, one of ${ids.join(', ')}`) })
        .describe('The incident or call standard whose records to list (GET /v1/standards).'),
      ...period,
      ...kpiFilters,
      only: z
        .enum(RECORD_SELECTIONS, { error: textError(`one of ${RECORD_SELECTIONS.join(', ')}`) })
        .optional()
        .describe(
          'Which records (default all): included (the figure’s n), measured, not_measured, excluded, cancelled (incidents), abandoned (calls), met, not_met (share_within standards).',
        ),
      limit: z
        .string({ error: textError(`a whole number from 1 to ${MAX_RECORDS_LIMIT}`) })
        .regex(/^\d{1,5}$/, `expected a whole number from 1 to ${MAX_RECORDS_LIMIT}`)
        .transform(Number)
        .pipe(
          z
            .int()
            .min(1, `expected a whole number from 1 to ${MAX_RECORDS_LIMIT}`)
            .max(MAX_RECORDS_LIMIT, `at most ${MAX_RECORDS_LIMIT}`),
        )
        .optional()
        .describe(`Records per page (default ${DEFAULT_LIMIT}, at most ${MAX_RECORDS_LIMIT}).`),
      cursor: z
        .string({ error: textError('the next_cursor of the previous page') })
        .regex(/^\d{1,9}$/, 'not a cursor from this API: pass next_cursor from the previous page')
        .transform(Number)
        .optional()
        .describe('next_cursor from the previous page.'),
    })
    .superRefine(checkPeriod(maxPeriodDays));

  const incidents = z
    .strictObject({
      agency: agencyParam,
      ...period,
      ...Object.fromEntries(
        INCIDENT_SEARCH_FILTERS.map((name) => [
          name,
          listParam.describe('Only these values (repeat or comma-separate).'),
        ]),
      ),
      q: z
        .string({ error: textError('text to search for') })
        .trim()
        .min(1, 'must not be empty')
        .max(100, 'at most 100 characters')
        .refine((value) => !hasControlCharacter(value), NO_CONTROL)
        .optional()
        .describe(
          'Incidents whose id, station ground or area starts with this (case-insensitive for station and area).',
        ),
      limit: pageLimit.describe(
        `Incidents per page (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT}).`,
      ),
      cursor: cursorParam.optional().describe('next_cursor from the previous page.'),
    })
    .superRefine(checkPeriod(maxPeriodDays)) as z.ZodType<
    {
      agency?: string[];
      from: string;
      to: string;
      q?: string;
      limit?: number;
      cursor?: IncidentCursor;
    } & Partial<Record<(typeof INCIDENT_SEARCH_FILTERS)[number], string[]>>,
    Record<string, unknown>
  >;

  const report = z
    .strictObject({
      agency: agencyParam,
      ...period,
      comparePrevious: z
        .enum(['true', 'false'], { error: textError('true or false') })
        .optional()
        .transform((value) => value === 'true')
        .describe('Also compute the previous period of the same length (default false).'),
    })
    .superRefine(checkPeriod(maxPeriodDays))
    .superRefine((value, context) => {
      if (!value.comparePrevious || !isPeriodDay(value.from) || value.to < value.from) return;
      const previous = previousPeriod(value);
      if (!isPeriodDay(previous.from)) {
        context.addIssue({
          code: 'custom',
          path: ['comparePrevious'],
          message: `the previous period would start on ${previous.from}, before ${FIRST_PERIOD_DAY} (the first day ClickHouse's Date type holds)`,
        });
      }
    });

  const dataQuality = z
    .strictObject({ agency: agencyParam, ...period })
    .superRefine(checkPeriod(maxPeriodDays));

  const dataQualityRecords = z
    .strictObject({
      agency: agencyParam,
      ...period,
      check: checkList.describe(
        `Only these checks (repeat or comma-separate): ${DATA_QUALITY_CHECKS.join(', ')}. Default every check.`,
      ),
      limit: pageLimit.describe(
        `Records per page (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT}).`,
      ),
      offset: pageOffset.describe('next_offset from the previous page (default 0).'),
    })
    .superRefine(checkPeriod(maxPeriodDays));

  const none = z.strictObject({});

  return {
    kpis,
    kpiRecords,
    incidents,
    report,
    dataQuality,
    dataQualityRecords,
    none,
    operations: operationsQuerySchemas(standards, maxPeriodDays),
  };
}
