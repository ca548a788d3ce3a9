import type { ClickHouseClient } from '@bluelight/service-kit';
import type { StandardDefinition } from '../definition.js';
import { KpiRequestError, planKpi } from '../engine.js';
import type { IncidentStandardVersion, KpiRow } from '../incident-kpi.js';
import type { KpiQuery, VersionPart } from '../kpi-common.js';
import {
  APPLIANCE_RECORD_COLUMNS,
  APPLIANCE_SEGMENTS,
  type ApplianceGrouping,
  applianceRecordsQuery,
  applianceSegmentsQuery,
  type FirstArrivalGrouping,
  firstArrivalsQuery,
} from './appliances.js';
import type { OperationsPeriod } from './common.js';
import {
  type CommittedElsewhereGrouping,
  type ConcurrencyBucket,
  type ConcurrencyGrouping,
  committedElsewhereQuery,
  concurrencyQuery,
} from './concurrency.js';
import { coverAttendanceQuery, coverDifferences } from './cover.js';
import {
  type UtilisationGrouping,
  type UtilisationRow,
  utilisationQuery,
  utilisationResult,
} from './utilisation.js';

export * from './appliances.js';
export * from './common.js';
export * from './concurrency.js';
export * from './cover.js';
export * from './station-cover.js';
export * from './utilisation.js';

/** Operational figures (docs/operations.md): what each one computes from the facts. */

async function rows<Row>(client: ClickHouseClient, { query, params }: KpiQuery): Promise<Row[]> {
  // 64-bit integers arrive quoted (the read-only API may not change settings): every count is
  // turned into a number below.
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<Row>();
}

export interface OperationsRequest extends OperationsPeriod {
  agencies: readonly string[];
}

function checked(request: OperationsRequest): OperationsRequest & { agencies: string[] } {
  if (request.to < request.from) throw new KpiRequestError('to', 'must not be before from');
  if (request.agencies.length === 0) {
    throw new KpiRequestError('agency', 'give at least one agency whose figures to compute');
  }
  return { ...request, agencies: [...new Set(request.agencies)].sort() };
}

function header(request: OperationsRequest & { agencies: string[] }) {
  return {
    period: { from: request.from, to: request.to },
    agencies: request.agencies,
    services: request.services ?? ['fire'],
    ...(request.stations ? { stations: request.stations } : {}),
  };
}

const seconds = (value: unknown) => (value === null || value === undefined ? null : Number(value));

/** Per-appliance segments, grouped by appliance, station of deployment, crewing model, … */
export async function computeApplianceSegments(
  client: ClickHouseClient,
  request: OperationsRequest & { groupBy?: ApplianceGrouping },
) {
  const ok = checked(request);
  const groupBy = request.groupBy ?? 'resource';
  const found = await rows<Record<string, number | string>>(
    client,
    applianceSegmentsQuery(ok, ok.agencies, groupBy),
  );
  return {
    ...header(ok),
    groupBy,
    rows: found.map((row) => ({
      group: String(row.group),
      mobilisations: Number(row.mobilisations_count),
      arrivals: Number(row.arrivals_count),
      notArrived: Number(row.not_arrived_count),
      stoodDown: Number(row.stood_down_count),
      firstArrivals: Number(row.first_arrivals_count),
      crossedBorder: Number(row.crossed_border_count),
      segments: Object.fromEntries(
        APPLIANCE_SEGMENTS.map((segment) => {
          const n = Number(row[`${segment}_n`]);
          return [
            segment,
            {
              n,
              meanSeconds: n > 0 ? seconds(row[`${segment}_mean`]) : null,
              p90Seconds: n > 0 ? seconds(row[`${segment}_p90`]) : null,
            },
          ];
        }),
      ),
    })),
  };
}

/** The first-arriving appliance's crewing model, per group. */
export async function computeFirstArrivals(
  client: ClickHouseClient,
  request: OperationsRequest & { groupBy?: FirstArrivalGrouping },
) {
  const ok = checked(request);
  const groupBy = request.groupBy ?? 'none';
  const found = await rows<Record<string, number | string>>(
    client,
    firstArrivalsQuery(ok, ok.agencies, groupBy),
  );
  const totals = new Map<string, number>();
  for (const row of found) {
    totals.set(String(row.group), (totals.get(String(row.group)) ?? 0) + Number(row.incidents));
  }
  return {
    ...header(ok),
    groupBy,
    rows: found.map((row) => {
      const n = Number(row.attendance_n);
      return {
        group: String(row.group),
        crewingModel: String(row.crewing_model),
        incidents: Number(row.incidents),
        share: Number(row.incidents) / (totals.get(String(row.group)) ?? 1),
        crossedBorder: Number(row.crossed_border_count),
        attendance: {
          n,
          meanSeconds: n > 0 ? seconds(row.attendance_mean) : null,
          p90Seconds: n > 0 ? seconds(row.attendance_p90) : null,
        },
      };
    }),
  };
}

/** Incidents in progress at once: time at each level, and the peak per hour or day. */
export async function computeConcurrency(
  client: ClickHouseClient,
  request: OperationsRequest & { groupBy?: ConcurrencyGrouping; bucket?: ConcurrencyBucket },
) {
  const ok = checked(request);
  const groupBy = request.groupBy ?? 'none';
  const bucket = request.bucket ?? 'hour';
  const found = await rows<{
    group: string;
    bucket: string;
    peak: number;
    ms_by_level: Record<string, number>;
    period_ms: number;
  }>(client, concurrencyQuery(ok, ok.agencies, groupBy, bucket));
  const groups = new Map<string, { peak: number; ms: Map<string, number>; period: number }>();
  for (const row of found) {
    const group = groups.get(row.group) ?? {
      peak: 0,
      ms: new Map(),
      period: Number(row.period_ms),
    };
    group.peak = Math.max(group.peak, Number(row.peak));
    for (const [level, ms] of Object.entries(row.ms_by_level)) {
      group.ms.set(level, (group.ms.get(level) ?? 0) + Number(ms));
    }
    groups.set(row.group, group);
  }
  return {
    ...header(ok),
    groupBy,
    bucket,
    distribution: [...groups.entries()].map(([group, { peak, ms, period }]) => {
      const busy = [...ms.values()].reduce((sum, value) => sum + value, 0);
      const hoursByLevel: Record<string, number> = { '0': (period - busy) / 3_600_000 };
      for (const [level, value] of ms) hoursByLevel[level] = value / 3_600_000;
      return {
        group,
        peak,
        hoursByLevel,
        shareByLevel: Object.fromEntries(
          Object.entries(hoursByLevel).map(([level, hours]) => [
            level,
            (hours * 3_600_000) / period,
          ]),
        ),
      };
    }),
    series: found.map((row) => ({ group: row.group, bucket: row.bucket, peak: Number(row.peak) })),
  };
}

/** Incidents that began while the station's own appliances were committed elsewhere. */
export async function computeCommittedElsewhere(
  client: ClickHouseClient,
  request: OperationsRequest & { groupBy?: CommittedElsewhereGrouping },
) {
  const ok = checked(request);
  const groupBy = request.groupBy ?? 'station_ground';
  const found = await rows<Record<string, number | string>>(
    client,
    committedElsewhereQuery(ok, ok.agencies, groupBy),
  );
  return {
    ...header(ok),
    groupBy,
    rows: found.map((row) => {
      const withOwn = Number(row.with_own_appliances);
      return {
        group: String(row.group),
        incidents: Number(row.incidents),
        withOwnAppliances: withOwn,
        anyCommittedElsewhere: Number(row.any_committed_elsewhere),
        allCommittedElsewhere: Number(row.all_committed_elsewhere),
        shareAnyCommittedElsewhere:
          withOwn > 0 ? Number(row.any_committed_elsewhere) / withOwn : null,
        shareAllCommittedElsewhere:
          withOwn > 0 ? Number(row.all_committed_elsewhere) / withOwn : null,
      };
    }),
  };
}

/** Unit-hour utilisation per appliance, station or crewing model, optionally by hour of week. */
export async function computeUtilisation(
  client: ClickHouseClient,
  request: Omit<OperationsRequest, 'services' | 'stations'> & {
    groupBy?: UtilisationGrouping;
    byHourOfWeek?: boolean;
    crewingModels?: string[];
  },
) {
  const ok = checked(request);
  const groupBy = request.groupBy ?? 'resource';
  const found = await rows<UtilisationRow>(
    client,
    utilisationQuery(ok, ok.agencies, groupBy, {
      ...(request.byHourOfWeek ? { byHourOfWeek: true } : {}),
      ...(request.crewingModels ? { crewingModels: request.crewingModels } : {}),
    }),
  );
  return {
    period: { from: ok.from, to: ok.to },
    agencies: ok.agencies,
    groupBy,
    byHourOfWeek: request.byHourOfWeek ?? false,
    rows: found.map(utilisationResult),
  };
}

/** The smallest side a difference is reported for, unless the standard asks for more. */
export const COVER_MINIMUM_SAMPLE = 30;

/** The smallest side of the cover split a difference is given for: as asked, never below the standard's. */
export function coverMinimumSample(version: IncidentStandardVersion, requested?: number): number {
  return Math.max(requested ?? COVER_MINIMUM_SAMPLE, version.minimum_sample);
}

/**
 * An incident standard split by whether the station's on-call appliance was on the run at the
 * call, with the difference between the sides and their sample sizes.
 */
export async function computeCoverAttendance(
  client: ClickHouseClient,
  standards: StandardDefinition[],
  request: OperationsRequest & { standard?: string; byStation?: boolean; minimumSample?: number },
) {
  const ok = checked(request);
  const standardId = request.standard ?? 'fire-attendance-standard';
  const plan = planKpi(standards, {
    standard: standardId,
    agencies: ok.agencies,
    from: ok.from,
    to: ok.to,
  });
  if (plan.standard.subject !== 'incidents') {
    throw new KpiRequestError('standard', `${standardId} is not an incident standard`);
  }
  const parts = plan.parts as VersionPart<IncidentStandardVersion>[];
  const version = plan.last.version as IncidentStandardVersion;
  const minimumSample = coverMinimumSample(version, request.minimumSample);
  const found = await rows<KpiRow>(
    client,
    coverAttendanceQuery(parts, ok, ok.agencies, request.byStation ?? false),
  );
  return {
    ...header(ok),
    standard: plan.header.standard,
    versions: plan.header.versions,
    target: plan.header.target,
    byStation: request.byStation ?? false,
    minimumSample,
    differences: coverDifferences(version, found, minimumSample),
  };
}

/**
 * The per-appliance records of the period, a page at a time: `next` is the offset of the next
 * page, or null on the last.
 */
export async function computeApplianceRecords(
  client: ClickHouseClient,
  request: OperationsRequest & { offset?: number; limit?: number; resources?: string[] },
) {
  const ok = checked(request);
  const offset = request.offset ?? 0;
  const limit = request.limit ?? 100;
  // One row more than the page tells whether there is a next page.
  const found = await rows<Record<string, unknown>>(
    client,
    applianceRecordsQuery(ok, ok.agencies, {
      offset,
      limit: limit + 1,
      ...(request.resources ? { resources: request.resources } : {}),
    }),
  );
  const records = found.slice(0, limit).map((row) =>
    Object.fromEntries(
      APPLIANCE_RECORD_COLUMNS.map((column) => {
        const value = row[column];
        // ClickHouse's `2024-03-31 10:00:00.000` (UTC) as ISO 8601.
        if (column.endsWith('_at')) {
          return [column, typeof value === 'string' ? `${value.replace(' ', 'T')}Z` : null];
        }
        return [column, value];
      }),
    ),
  );
  return {
    ...header(ok),
    limit,
    records,
    next: found.length > limit ? offset + limit : null,
  };
}
