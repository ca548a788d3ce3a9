import { z } from 'zod';

/** A London calendar date, YYYY-MM-DD: standards change from one day to the next. */
const londonDate = z.iso.date({ error: 'expected a date YYYY-MM-DD (London)' });

/** The instants a clock may start or stop at; which exist depends on what is measured. */
export const incidentClockEvent = z.enum([
  'call_received',
  'incident_created',
  'first_mobilised',
  'first_mobile',
  'first_arrival',
  'second_arrival',
]);
export const callClockEvent = z.enum(['call_presented', 'call_answered', 'call_closed']);

const riskBandSeconds = z.strictObject({
  high: z.number().positive(),
  medium: z.number().positive(),
  low: z.number().positive(),
});
const areaTypeSeconds = z.strictObject({
  urban: z.number().positive(),
  rural: z.number().positive(),
});

/** A threshold: one number, or one per risk band or per police area type. */
const threshold = z.union([
  z.number().positive(),
  z.strictObject({ by_risk_band: riskBandSeconds }),
  z.strictObject({ by_area_type: areaTypeSeconds }),
]);

const share = z.number().gt(0).max(1);

/**
 * How a percentile is read from the sorted measured times (docs/standards.md): `inclusive` is
 * Excel's PERCENTILE.INC (R type 7, numpy's default), `exclusive` PERCENTILE.EXC (R type 6),
 * `nearest_rank` the value at rank ⌈p·n⌉. The default is what a UK analyst's spreadsheet gives.
 */
export const percentileMethod = z.enum(['inclusive', 'nearest_rank', 'exclusive']);
export type PercentileMethod = z.infer<typeof percentileMethod>;

export const statistic = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('share_within'),
    threshold_seconds: threshold,
    target_share: share,
  }),
  z.strictObject({ kind: z.literal('mean'), target_seconds: z.number().positive().optional() }),
  z.strictObject({
    kind: z.literal('percentile'),
    percentile: z.number().gt(0).lt(1),
    target_seconds: z.number().positive().optional(),
  }),
  z.strictObject({
    kind: z.literal('share_with_outcome'),
    outcome: z.string().min(1),
    target_share: share.optional(),
  }),
  z.strictObject({ kind: z.literal('share_available'), target_share: share }),
]);

/** The Home Office exclusions; each is switchable and each excluded incident is counted by reason. */
export const exclusions = z.strictObject({
  late_call: z.boolean().default(true),
  derelict_property: z.boolean().default(true),
  abandoned_road_vehicle: z.boolean().default(true),
  out_of_sequence: z.boolean().default(true),
  total_over_seconds: z.number().positive().nullable().default(3_600),
  total_under_seconds: z.number().nonnegative().nullable().default(60),
});

const incidentScope = z.strictObject({
  services: z.array(z.enum(['fire', 'police'])).min(1),
  categories: z
    .array(
      z.enum(['primary_fire', 'secondary_fire', 'chimney_fire', 'special_service', 'false_alarm']),
    )
    .optional(),
  special_service_types: z.array(z.string().min(1)).optional(),
  exclude_special_service_types: z.array(z.string().min(1)).optional(),
  risk_bands: z.array(z.enum(['high', 'medium', 'low'])).optional(),
  life_risk: z.boolean().optional(),
  police_gradings: z.array(z.enum(['emergency', 'priority', 'scheduled'])).optional(),
  area_types: z.array(z.enum(['urban', 'rural'])).optional(),
});

const versionBase = {
  version: z.number().int().positive(),
  effective_from: londonDate,
  /** Exclusive; absent on the version in force. */
  effective_to: londonDate.optional(),
  minimum_sample: z.number().int().positive().default(5),
  note: z.string().optional(),
};

export const incidentVersion = z.strictObject({
  ...versionBase,
  applies_to: incidentScope,
  clock: z.strictObject({ start: incidentClockEvent, stop: incidentClockEvent }),
  statistic,
  /** Of the statistic (kind percentile), `percentileSeconds` and the segments' p90. */
  percentile_method: percentileMethod.default('inclusive'),
  exclusions: exclusions.default({
    late_call: true,
    derelict_property: true,
    abandoned_road_vehicle: true,
    out_of_sequence: true,
    total_over_seconds: 3_600,
    total_under_seconds: 60,
  }),
});

export const callVersion = z.strictObject({
  ...versionBase,
  applies_to: z.strictObject({
    lines: z.array(z.enum(['999', '101', 'online'])).min(1),
    services: z.array(z.enum(['fire', 'police', 'ambulance'])).optional(),
  }),
  clock: z.strictObject({ start: callClockEvent, stop: callClockEvent }),
  statistic,
  percentile_method: percentileMethod.default('inclusive'),
  /** Reporting bands in seconds, e.g. [10, 60] gives ≤ 10 s, over 10 to 60 s, over 60 s (as `<=`). */
  bands_seconds: z.array(z.number().positive()).optional(),
});

export const availabilityVersion = z.strictObject({
  ...versionBase,
  applies_to: z.strictObject({
    crewing_models: z.array(z.enum(['wholetime', 'on_call', 'day_crewed'])).min(1),
  }),
  statistic,
});

const standardBase = {
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,63}$/, 'lower-case letters, digits and -'),
  name: z.string().min(3),
  description: z.string().min(3),
  /** Where the definition comes from (a published standard, a local policy). */
  source: z.string().min(3),
};

export const standardDefinition = z.discriminatedUnion('subject', [
  z.strictObject({
    ...standardBase,
    subject: z.literal('incidents'),
    versions: z.array(incidentVersion).min(1),
  }),
  z.strictObject({
    ...standardBase,
    subject: z.literal('calls'),
    versions: z.array(callVersion).min(1),
  }),
  z.strictObject({
    ...standardBase,
    subject: z.literal('availability'),
    versions: z.array(availabilityVersion).min(1),
  }),
]);

export type StandardDefinition = z.infer<typeof standardDefinition>;
export type StandardVersion = StandardDefinition['versions'][number];
