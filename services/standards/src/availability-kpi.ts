import type { z } from 'zod';
import type { availabilityVersion } from './definition.js';

export type AvailabilityStandardVersion = z.infer<typeof availabilityVersion>;

export const AVAILABILITY_GROUPINGS = {
  none: `'all'`,
  station: 'home_station',
  resource: 'resource_id',
} as const;
export type AvailabilityGrouping = keyof typeof AVAILABILITY_GROUPINGS;

/**
 * The SQL for an availability standard over London days [from, to): time on the run (available
 * or committed) over all time, from the resources' status intervals clipped to the period; an
 * interval still open ends now. Off-run time is broken down by reason.
 */
export function availabilityKpiQuery(
  version: AvailabilityStandardVersion,
  period: { from: string; to: string },
  groupBy: AvailabilityGrouping = 'none',
) {
  const params = { from: period.from, to: period.to, crewing: version.applies_to.crewing_models };
  const query = `
WITH
  toDateTime64({from:Date}, 3, 'Europe/London') AS period_start,
  toDateTime64({to:Date}, 3, 'Europe/London') AS period_end
SELECT
  grp AS group,
  sum(span_ms) AS total_ms,
  sumIf(span_ms, available = 1) AS available_ms,
  sumMapIf(map(unavailable_reason, span_ms), available = 0) AS off_run_ms_by_reason
FROM (
  SELECT
    ${AVAILABILITY_GROUPINGS[groupBy]} AS grp,
    available,
    unavailable_reason,
    toInt64(dateDiff(
      'millisecond',
      greatest(start_at, period_start),
      least(ifNull(end_at, now64(3)), period_end)
    )) AS span_ms
  FROM resource_intervals FINAL
  WHERE crewing_model IN {crewing:Array(String)}
    AND start_at < period_end
    AND ifNull(end_at, now64(3)) > period_start
)
WHERE span_ms > 0
GROUP BY grp
ORDER BY grp`;
  return { query, params };
}

export interface AvailabilityKpiRow {
  group: string;
  total_ms: number;
  available_ms: number;
  off_run_ms_by_reason: Record<string, number>;
}

export function availabilityKpiResult(
  version: AvailabilityStandardVersion,
  row: AvailabilityKpiRow,
) {
  const total = Number(row.total_ms);
  return {
    group: row.group,
    version: version.version,
    hours: total / 3_600_000,
    value: total > 0 ? Number(row.available_ms) / total : null,
    offRunHoursByReason: Object.fromEntries(
      Object.entries(row.off_run_ms_by_reason).map(([reason, ms]) => [
        reason,
        Number(ms) / 3_600_000,
      ]),
    ),
  };
}
