import { z } from 'zod';

/**
 * Clock skew tolerated between a producer and Bluelight. A timestamp further in the future than
 * this is a producer's clock or parsing fault (e.g. a date read as month/day), not an event.
 */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;

/** A CAD / telephony / resource identifier as control-room systems print them. */
export const entityId = (what: string, description: string) =>
  z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9/_.:-]{0,63}$/,
      `${what} must be 1–64 characters: letters, digits and / _ . : - (starting with a letter or digit)`,
    )
    .describe(description);

export const callId = entityId(
  'call id',
  'The call’s id as the telephony or control-room system assigns it, e.g. C-20240112-004211.',
);
export const incidentId = entityId(
  'incident id',
  'The incident number as CAD assigns it, e.g. SFRS-2024-000321.',
);
export const resourceId = entityId(
  'resource id (call sign)',
  'The call sign of the appliance or unit, e.g. HAN-P1.',
);
export const stationCode = z
  .string()
  .regex(/^[A-Z0-9][A-Z0-9-]{0,15}$/, 'station code must be 1–16 upper-case letters, digits or -')
  .describe('Station (ground) code, e.g. HANLEY or 01.');

/**
 * The earliest instant an event time may hold, unless the deployment sets another
 * (EARLIEST_EVENT_TIME, read by validateEvent's callers and passed in). Old enough for any
 * back-fill a service will do (CAD and telephony exports go back years, not decades), and later
 * than anything ClickHouse's types cannot hold (DateTime64 from 1900, and the Date of the day
 * buckets from 1970): a 1900 or 1970 date is a producer's parsing fault (an empty or zero date),
 * not an event.
 */
export const DEFAULT_EARLIEST_EVENT_TIME = '2000-01-01T00:00:00Z';

/** The lowest EARLIEST_EVENT_TIME may be: the first instant of the first day ClickHouse's Date holds. */
export const LOWEST_EARLIEST_EVENT_TIME = '1970-01-01T00:00:00Z';

const DATE_TIME_WITH_OFFSET = z.iso.datetime({ offset: true });

/**
 * The earliest event time of the parse running now. validateEvent sets it for the length of its
 * own (synchronous) parse, from its argument; every instant field reads it, so the bound applies
 * to every event time in the contract without each rule naming the field.
 */
let earliestInForce = new Date(DEFAULT_EARLIEST_EVENT_TIME);

/** Runs a synchronous parse with this earliest event time in force (see validateEvent). */
export function withEarliestEventTime<T>(earliest: Date, parse: () => T): T {
  const before = earliestInForce;
  earliestInForce = earliest;
  try {
    return parse();
  } finally {
    earliestInForce = before;
  }
}

/** One issue a rule JSON Schema cannot state found: where (a path from the event's root) and what. */
// A type, not an interface: zod's addIssue takes it only with an implicit index signature.
export type ContextualIssue = {
  code: 'custom';
  path: (string | number)[];
  message: string;
};

/**
 * Where the contract's contextual rules report what they find: zod's refinement context when
 * zod parses, the fast validator's collector otherwise (validate.ts). The rules are plain
 * functions taking one, so both paths run the very same code.
 */
export interface RuleContext {
  addIssue(issue: ContextualIssue): void;
}

/** The last instants parsed and their times: see instantTime. */
const parsedInstants: { value: string; time: number }[] = [
  { value: '', time: Number.NaN },
  { value: '', time: Number.NaN },
];
let nextParsedSlot = 0;

/**
 * Date.parse of an event time. Several rules read each instant (the earliest event time, the
 * clock skew, comparisons between fields) and parsing is the costliest step of checking a valid
 * event, so the last two values parsed are remembered (an event has at most two instants).
 */
export function instantTime(value: string): number {
  for (const slot of parsedInstants) if (slot.value === value) return slot.time;
  const slot = parsedInstants[nextParsedSlot] as { value: string; time: number };
  nextParsedSlot = (nextParsedSlot + 1) % parsedInstants.length;
  slot.value = value;
  slot.time = Date.parse(value);
  return slot.time;
}

/** Adds an issue when `value` (a well-formed instant) lies before the earliest event time. */
export function checkEarliestEventTime(
  value: string,
  earliest: Date,
  path: (string | number)[],
  context: RuleContext,
): void {
  if (instantTime(value) < earliest.getTime()) {
    context.addIssue({
      code: 'custom',
      path,
      message: `is before the earliest event time accepted, ${earliest.toISOString()} (${value}); check the producer's date parsing (EARLIEST_EVENT_TIME sets the bound)`,
    });
  }
}

/**
 * An instant with an explicit UTC offset; a local time without offset is ambiguous and refused.
 * In the generated JSON Schema every instant is a `format: date-time` string; the fast
 * validator finds the instant fields by that format and runs checkEarliestEventTime on each.
 */
export const instant = z.iso
  .datetime({
    offset: true,
    error:
      'expected an ISO 8601 date-time with an offset, e.g. 2024-03-31T01:30:00Z or 2024-03-31T02:30:00+01:00',
  })
  .superRefine((value, context) => {
    // A malformed value has its own issue already.
    if (!DATE_TIME_WITH_OFFSET.safeParse(value).success) return;
    checkEarliestEventTime(value, earliestInForce, [], context);
  })
  .describe('ISO 8601 date-time with an offset (Z or ±hh:mm); stored as UTC.');

/**
 * EARLIEST_EVENT_TIME as the gateway, sink, importer and simulator read it: an ISO date-time
 * with an offset, from 1970-01-01T00:00:00Z up to now; default DEFAULT_EARLIEST_EVENT_TIME.
 */
export const earliestEventTimeSetting = z
  .string()
  .default(DEFAULT_EARLIEST_EVENT_TIME)
  .pipe(
    z.iso.datetime({
      offset: true,
      error: 'expected an ISO 8601 date-time with an offset, e.g. 2000-01-01T00:00:00Z',
    }),
  )
  .transform((value) => new Date(value))
  .refine(
    (earliest) => earliest.getTime() >= Date.parse(LOWEST_EARLIEST_EVENT_TIME),
    `must not be before ${LOWEST_EARLIEST_EVENT_TIME}: ClickHouse's Date (the day of an event) starts there`,
  )
  .refine(
    (earliest) => earliest.getTime() <= Date.now(),
    'must not be in the future: every event would be refused',
  );

export const service = z
  .enum(['fire', 'police', 'ambulance'])
  .describe('The emergency service the call or incident is for.');

/** Adds an issue when `value` (an ISO instant) lies beyond the tolerated clock skew. */
export function rejectFarFuture(
  value: string | undefined,
  path: (string | number)[],
  context: RuleContext,
): void {
  if (value === undefined) return;
  const at = instantTime(value);
  if (Number.isFinite(at) && at > Date.now() + MAX_FUTURE_SKEW_MS) {
    context.addIssue({
      code: 'custom',
      path,
      message: `is more than ${MAX_FUTURE_SKEW_MS / 60_000} minutes in the future (${value}); check the producer's clock and date parsing`,
    });
  }
}

/** The instant as UTC with milliseconds, as ClickHouse's DateTime64(3, 'UTC') stores it. */
export function toUtc(value: string): string {
  return new Date(value).toISOString();
}

/** The configuration of a program that only needs the earliest event time (importer, simulator). */
export const earliestEventTimeConfigSchema = z.object({
  EARLIEST_EVENT_TIME: earliestEventTimeSetting,
});
