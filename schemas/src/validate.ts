import type { z } from 'zod';
import { DEFAULT_EARLIEST_EVENT_TIME, withEarliestEventTime } from './common.js';
import { acceptWithoutZod } from './fast-validate.js';

export { prepareFastValidation } from './fast-validate.js';

import { anyEvent, type BluelightEvent, eventDefinitions } from './registry.js';

/** One reason an event was refused: where (a dotted field path) and what. */
export interface FieldError {
  path: string;
  message: string;
}

export type ValidationResult =
  | { ok: true; event: BluelightEvent }
  | { ok: false; errors: FieldError[]; eventId?: string; eventType?: string };

const knownTypes = eventDefinitions.map((definition) => definition.type);

function formatPath(path: PropertyKey[]): string {
  if (path.length === 0) return '(event)';
  return path
    .map((part, index) =>
      typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`,
    )
    .join('');
}

function describeIssue(issue: z.core.$ZodIssue): FieldError[] {
  // A discriminated union that found no branch: say which values are allowed.
  if (issue.code === 'invalid_union' && issue.errors.length === 0) {
    const where = formatPath(issue.path);
    if (where === '(event)' || where === 'event_type') {
      return [{ path: 'event_type', message: `must be one of: ${knownTypes.join(', ')}` }];
    }
    return [{ path: where, message: issue.message }];
  }
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) {
    return [
      {
        path: formatPath(issue.path),
        message: `is required (${issue.message.replace('Invalid input: ', '').replace(', received undefined', '')})`,
      },
    ];
  }
  return [{ path: formatPath(issue.path), message: issue.message }];
}

export interface ValidateOptions {
  /**
   * The earliest instant any event time may hold (EARLIEST_EVENT_TIME, read by the caller's
   * configuration); DEFAULT_EARLIEST_EVENT_TIME when not given.
   */
  earliestEventTime?: Date;
}

const DEFAULT_EARLIEST = new Date(DEFAULT_EARLIEST_EVENT_TIME);

/**
 * Checks one event against the contract. Never throws for bad input: a refused event comes back
 * with every problem found, each naming its field path, plus its id and type when they are known
 * (so a producer can match the answer to what it sent). Reads no configuration: the earliest
 * event time is passed in.
 *
 * The fast path (fast-validate.ts: Ajv on the generated JSON Schema, then the same contextual
 * rules) answers for a valid event in a third to a half of zod's time; whatever it does not
 * vouch for is parsed by zod, so a refusal is exactly validateEventWithZod's.
 */
export function validateEvent(input: unknown, options: ValidateOptions = {}): ValidationResult {
  const event = acceptWithoutZod(input, options.earliestEventTime ?? DEFAULT_EARLIEST);
  if (event !== undefined) return { ok: true, event };
  return validateEventWithZod(input, options);
}

/** validateEvent by zod alone: the reference the fast path is tested against (and the refusals). */
export function validateEventWithZod(
  input: unknown,
  options: ValidateOptions = {},
): ValidationResult {
  const result = withEarliestEventTime(options.earliestEventTime ?? DEFAULT_EARLIEST, () =>
    anyEvent.safeParse(input),
  );
  if (result.success) return { ok: true, event: result.data };
  const record = (typeof input === 'object' && input !== null ? input : {}) as Record<
    string,
    unknown
  >;
  const errors = result.error.issues.flatMap(describeIssue);
  return {
    ok: false,
    errors,
    ...(typeof record.event_id === 'string' ? { eventId: record.event_id } : {}),
    ...(typeof record.event_type === 'string' ? { eventType: record.event_type } : {}),
  };
}
