import type { ClickHouseClient } from '@clickhouse/client';
import {
  AVAILABILITY_FILTERS,
  AVAILABILITY_GROUPINGS,
  type AvailabilityKpiRow,
  type AvailabilityStandardVersion,
  availabilityKpiQueryOver,
  availabilityKpiResult,
} from './availability-kpi.js';
import {
  CALL_FILTERS,
  CALL_GROUPINGS,
  type CallKpiRow,
  type CallStandardVersion,
  callKpiQueryOver,
  callKpiResult,
} from './call-kpi.js';
import type { StandardDefinition, StandardVersion } from './definition.js';
import {
  INCIDENT_FILTERS,
  INCIDENT_GROUPINGS,
  type IncidentStandardVersion,
  incidentKpiQueryOver,
  type KpiRow,
  kpiResult,
} from './incident-kpi.js';
import type { KpiQuery, VersionPart } from './kpi-common.js';
import { versionsDuring } from './load.js';

/** The groupings and filters each kind of standard can be broken down and narrowed by. */
export const GROUPINGS = {
  incidents: Object.keys(INCIDENT_GROUPINGS),
  calls: Object.keys(CALL_GROUPINGS),
  availability: Object.keys(AVAILABILITY_GROUPINGS),
} as const satisfies Record<StandardDefinition['subject'], string[]>;
export const FILTERS = {
  incidents: Object.keys(INCIDENT_FILTERS),
  calls: Object.keys(CALL_FILTERS),
  availability: Object.keys(AVAILABILITY_FILTERS),
} as const satisfies Record<StandardDefinition['subject'], string[]>;

/** A request that cannot be answered, naming the parameter at fault. */
export class KpiRequestError extends Error {
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(`${parameter}: ${message}`);
    this.name = 'KpiRequestError';
  }
}

export interface KpiRequest {
  standard: string;
  /**
   * The agencies whose rows are counted, together (at least one). Required: several services
   * share a deployment, and a figure read without it would mix them.
   */
  agencies: readonly string[];
  /** First London day of the period (YYYY-MM-DD). */
  from: string;
  /** Last London day of the period, inclusive. */
  to: string;
  groupBy?: string;
  filters?: Record<string, string[]>;
}

/** The day after a London calendar date (date arithmetic only: no clock is involved). */
export function nextDay(date: string): string {
  const next = new Date(`${date}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  return next.toISOString().slice(0, 10);
}

/** The target a standard's statistic is judged against, as configured. */
function targetOf(version: StandardVersion) {
  const statistic = version.statistic;
  switch (statistic.kind) {
    case 'share_within':
      return {
        statistic: statistic.kind,
        targetShare: statistic.target_share,
        thresholdSeconds: statistic.threshold_seconds,
      };
    case 'share_with_outcome':
      return {
        statistic: statistic.kind,
        outcome: statistic.outcome,
        targetShare: statistic.target_share ?? null,
      };
    case 'share_available':
      return { statistic: statistic.kind, targetShare: statistic.target_share };
    case 'percentile':
      return {
        statistic: statistic.kind,
        percentile: statistic.percentile,
        targetSeconds: statistic.target_seconds ?? null,
      };
    default:
      return { statistic: statistic.kind, targetSeconds: statistic.target_seconds ?? null };
  }
}

async function rows<Row>(client: ClickHouseClient, { query, params }: KpiQuery): Promise<Row[]> {
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<Row>();
}

/**
 * A checked KPI request: its standard, the version parts over its days and the response header.
 * Throws KpiRequestError naming a bad parameter.
 */
export function planKpi(standards: StandardDefinition[], request: KpiRequest) {
  const standard = standards.find((candidate) => candidate.id === request.standard);
  if (!standard) {
    throw new KpiRequestError(
      'standard',
      `unknown standard "${request.standard}"; known: ${standards.map((s) => s.id).join(', ')}`,
    );
  }
  if (request.to < request.from) throw new KpiRequestError('to', 'must not be before from');
  if (request.agencies.length === 0) {
    throw new KpiRequestError('agency', 'give at least one agency whose figures to compute');
  }
  const agencies = [...new Set(request.agencies)].sort();
  const groupBy = request.groupBy ?? 'none';
  const groupings: readonly string[] = GROUPINGS[standard.subject];
  if (!groupings.includes(groupBy)) {
    throw new KpiRequestError(
      'groupBy',
      `"${groupBy}" does not apply to ${standard.subject} standards; use one of ${groupings.join(', ')}`,
    );
  }
  const filters = request.filters ?? {};
  const allowedFilters: readonly string[] = FILTERS[standard.subject];
  for (const name of Object.keys(filters)) {
    if (!allowedFilters.includes(name)) {
      throw new KpiRequestError(
        name,
        `is not a filter for ${standard.subject} standards; use ${allowedFilters.join(', ')}`,
      );
    }
  }
  const parts = versionsDuring(standard, request.from, nextDay(request.to));
  const last = parts.at(-1);
  if (!last) {
    throw new KpiRequestError(
      'from',
      `standard ${standard.id} has no version in force between ${request.from} and ${request.to}`,
    );
  }
  const header = {
    standard: {
      id: standard.id,
      name: standard.name,
      subject: standard.subject,
      description: standard.description,
      source: standard.source,
    },
    period: { from: request.from, to: request.to },
    agencies,
    groupBy,
    filters,
    versions: parts.map((part) => ({
      version: part.version.version,
      from: part.from,
      // Inclusive, like the request.
      to: new Date(Date.parse(`${part.to}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10),
    })),
    target: targetOf(last.version),
    minimumSample: last.version.minimum_sample,
  };
  return { standard, agencies, groupBy, filters, parts, last, header };
}

/**
 * Computes one standard over London days [from, to] (inclusive) from the rows of the agencies
 * given, with the versions in force on each day, optionally grouped and filtered. Throws
 * KpiRequestError naming a bad parameter.
 */
export async function computeKpi(
  client: ClickHouseClient,
  standards: StandardDefinition[],
  request: KpiRequest,
) {
  const { standard, agencies, groupBy, filters, parts, last, header } = planKpi(standards, request);
  switch (standard.subject) {
    case 'incidents': {
      const typed = parts as VersionPart<IncidentStandardVersion>[];
      const found = await rows<KpiRow>(
        client,
        incidentKpiQueryOver(typed, agencies, groupBy as keyof typeof INCIDENT_GROUPINGS, filters),
      );
      const version = last.version as IncidentStandardVersion;
      return { ...header, rows: found.map((row) => kpiResult(version, row)) };
    }
    case 'calls': {
      const typed = parts as VersionPart<CallStandardVersion>[];
      const found = await rows<CallKpiRow>(
        client,
        callKpiQueryOver(typed, agencies, groupBy as keyof typeof CALL_GROUPINGS, filters),
      );
      const version = last.version as CallStandardVersion;
      return {
        ...header,
        bandsSeconds: version.bands_seconds ?? [],
        rows: found.map((row) => callKpiResult(version, row)),
      };
    }
    default: {
      const typed = parts as VersionPart<AvailabilityStandardVersion>[];
      const found = await rows<AvailabilityKpiRow>(
        client,
        availabilityKpiQueryOver(
          typed,
          agencies,
          groupBy as keyof typeof AVAILABILITY_GROUPINGS,
          filters,
        ),
      );
      const version = last.version as AvailabilityStandardVersion;
      return { ...header, rows: found.map((row) => availabilityKpiResult(version, row)) };
    }
  }
}

export type KpiResponse = Awaited<ReturnType<typeof computeKpi>>;
