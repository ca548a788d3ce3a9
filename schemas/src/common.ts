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

/** An instant with an explicit UTC offset; a local time without offset is ambiguous and refused. */
export const instant = z.iso
  .datetime({
    offset: true,
    error:
      'expected an ISO 8601 date-time with an offset, e.g. 2024-03-31T01:30:00Z or 2024-03-31T02:30:00+01:00',
  })
  .describe('ISO 8601 date-time with an offset (Z or ±hh:mm); stored as UTC.');

export const service = z
  .enum(['fire', 'police', 'ambulance'])
  .describe('The emergency service the call or incident is for.');

/** Adds an issue when `value` (an ISO instant) lies beyond the tolerated clock skew. */
export function rejectFarFuture(
  value: string | undefined,
  path: (string | number)[],
  context: z.RefinementCtx,
): void {
  if (value === undefined) return;
  const at = Date.parse(value);
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
