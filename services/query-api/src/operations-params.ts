import {
  APPLIANCE_GROUPINGS,
  COMMITTED_ELSEWHERE_GROUPINGS,
  CONCURRENCY_BUCKETS,
  CONCURRENCY_GROUPINGS,
  FIRST_ARRIVAL_GROUPINGS,
  type StandardDefinition,
  UTILISATION_GROUPINGS,
} from '@bluelight/standards';
import { z } from 'zod';
import { agencyParam, checkPeriod, listParam, period, textError } from './params.js';

const keysOf = (object: object) => Object.keys(object) as [string, ...string[]];

/** A `true` / `false` query parameter (default false). */
const flag = (description: string) =>
  z
    .enum(['true', 'false'], { error: textError('true or false') })
    .optional()
    .transform((value) => value === 'true')
    .describe(description);

const wholeNumber = (min: number, max: number, description: string) =>
  z
    .string({ error: textError(`a whole number from ${min} to ${max}`) })
    .regex(/^\d{1,7}$/, `expected a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(
      z.int().min(min, `expected a whole number from ${min} to ${max}`).max(max, `at most ${max}`),
    )
    .optional()
    .describe(description);

export const MAX_SERIES_LIMIT = 10_000;

/**
 * The query-string schemas of the /v1/operations routes (docs/operations.md); built inside a
 * function, from the primitives of params.ts, when the API starts. Unknown parameters are refused.
 */
export function operationsQuerySchemas(standards: StandardDefinition[], maxPeriodDays: number) {
  const groupBy = (groupings: object, fallback: string) => {
    const names = keysOf(groupings);
    return z
      .enum(names, { error: textError(`one of ${names.join(', ')}`) })
      .optional()
      .describe(`Break the figure down (default ${fallback}).`);
  };
  const scope = {
    agency: agencyParam,
    ...period,
    service: listParam.describe('Incident services counted (default fire).'),
    station: listParam.describe('Only incidents in these station grounds.'),
  };
  const appliances = z
    .strictObject({ ...scope, groupBy: groupBy(APPLIANCE_GROUPINGS, 'resource') })
    .superRefine(checkPeriod(maxPeriodDays));
  const applianceRecords = z
    .strictObject({
      ...scope,
      resource: listParam.describe('Only these appliances.'),
      limit: wholeNumber(1, 1_000, 'Records per page (default 100, at most 1000).'),
      cursor: wholeNumber(0, 100_000_000, 'next_cursor of the previous page.'),
    })
    .superRefine(checkPeriod(maxPeriodDays));
  const firstArrivals = z
    .strictObject({ ...scope, groupBy: groupBy(FIRST_ARRIVAL_GROUPINGS, 'none') })
    .superRefine(checkPeriod(maxPeriodDays));
  const concurrency = z
    .strictObject({
      ...scope,
      groupBy: groupBy(CONCURRENCY_GROUPINGS, 'none'),
      bucket: z
        .enum(keysOf(CONCURRENCY_BUCKETS), { error: textError('hour or day') })
        .optional()
        .describe('The series’ buckets: UTC hours or London days (default hour).'),
      limit: wholeNumber(
        1,
        MAX_SERIES_LIMIT,
        `Series rows per page (default 1000, at most ${MAX_SERIES_LIMIT}).`,
      ),
      cursor: wholeNumber(0, 10_000_000, 'next_cursor of the previous page.'),
    })
    .superRefine(checkPeriod(maxPeriodDays));
  const committedElsewhere = z
    .strictObject({ ...scope, groupBy: groupBy(COMMITTED_ELSEWHERE_GROUPINGS, 'station_ground') })
    .superRefine(checkPeriod(maxPeriodDays));
  const utilisation = z
    .strictObject({
      agency: agencyParam,
      ...period,
      groupBy: groupBy(UTILISATION_GROUPINGS, 'resource'),
      byHourOfWeek: flag('Also break each group down by London hour of week (default false).'),
      crewingModel: listParam.describe('Only appliances of these crewing models.'),
    })
    .superRefine(checkPeriod(maxPeriodDays));
  const incidentStandards = standards
    .filter((standard) => standard.subject === 'incidents')
    .map((standard) => standard.id) as [string, ...string[]];
  const cover = z
    .strictObject({
      ...scope,
      standard: z
        .enum(incidentStandards, {
          error: textError(`an incident standard, one of ${incidentStandards.join(', ')}`),
        })
        .optional()
        .describe('The incident standard split by cover (default fire-attendance-standard).'),
      byStation: flag(
        'One split per station ground instead of one over all grounds (default false).',
      ),
      minimumSample: wholeNumber(
        1,
        100_000,
        'Incidents each side needs before a difference is given (default 30; never below the standard’s own minimum sample).',
      ),
    })
    .superRefine(checkPeriod(maxPeriodDays));
  return {
    appliances,
    applianceRecords,
    firstArrivals,
    concurrency,
    committedElsewhere,
    utilisation,
    cover,
  };
}
