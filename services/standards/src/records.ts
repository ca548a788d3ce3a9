import type { ClickHouseClient } from '@clickhouse/client';
import { type CallStandardVersion, judgedCallsUnion } from './call-kpi.js';
import type { StandardDefinition } from './definition.js';
import { type KpiRequest, KpiRequestError, planKpi } from './engine.js';
import {
  EXCLUSION_REASONS,
  type IncidentStandardVersion,
  judgedIncidentsSql,
} from './incident-kpi.js';
import { type KpiQuery, parameterBinder, type VersionPart } from './kpi-common.js';

/**
 * The records behind a figure (docs/standards.md, "The records behind a figure"): each incident
 * or call a standard judged over the period, with how it was judged — the same judged columns
 * the figure is counted from (judgedIncidentsSql, judgedCallsUnion), so counting the records
 * gives the figure.
 */

/** The columns of an incident standard's records, in order (the CSV's header). */
export const INCIDENT_RECORD_COLUMNS = [
  'agency',
  'incident_id',
  'day',
  'call_received_at',
  'version',
  'service',
  'category',
  'category_subtype',
  'risk_band',
  'police_grading',
  'area_type',
  'station_ground',
  'area',
  'stop_code',
  'in_scope',
  'cancelled',
  'measured',
  'seconds',
  'threshold_seconds',
  'excluded',
  'primary_reason',
  'exclusion_reasons',
  'included',
  'met',
  'with_outcome',
] as const;

/** The columns of a call standard's records, in order (the CSV's header). */
export const CALL_RECORD_COLUMNS = [
  'agency',
  'call_id',
  'day',
  'presented_at',
  'answered_at',
  'version',
  'line',
  'service',
  'queue',
  'abandoned',
  'measured',
  'seconds',
  'threshold_seconds',
  'included',
  'met',
  'outcome',
  'with_outcome',
] as const;

/**
 * Which records to list. Each is a count of the figure: `included` are its `n`, `excluded` its
 * `excluded.total`, `not_measured` its `notMeasured`, `cancelled` its `cancelled`, `met` its
 * `met` (share_within standards); calls: `abandoned` its `abandoned`.
 */
export const RECORD_SELECTIONS = [
  'all',
  'included',
  'measured',
  'not_measured',
  'excluded',
  'cancelled',
  'abandoned',
  'met',
  'not_met',
] as const;
export type RecordSelection = (typeof RECORD_SELECTIONS)[number];

/** Each selection as a condition over the judged incident columns (fixed SQL, no values). */
const INCIDENT_SELECTIONS: Partial<Record<RecordSelection, string>> = {
  all: '1',
  included: 'included',
  measured: 'in_scope AND NOT not_measured',
  not_measured: 'in_scope AND not_measured AND NOT excluded',
  excluded: 'excluded',
  cancelled: 'cancelled_in_scope',
  met: 'met',
  not_met: 'included AND NOT met',
};

/** Each selection as a condition over the judged call columns (fixed SQL, no values). */
const CALL_SELECTIONS: Partial<Record<RecordSelection, string>> = {
  all: '1',
  included: 'measured',
  measured: 'measured',
  not_measured: 'NOT measured',
  abandoned: 'abandoned_at IS NOT NULL',
  met: 'met',
  not_met: 'measured AND NOT met',
};

/** A page of records: `offset` records skipped, at most `limit` given; or only their number. */
export type RecordsPage = { offset: number; limit: number } | 'count';

/** The fact columns an incident record shows besides its judged columns. */
const INCIDENT_RECORD_FACTS = [
  'incident_id',
  'station_ground',
  'area',
  'category_subtype',
  'police_grading',
  'area_type',
  'created_at',
];

/** A record's reasons in precedence order, as SQL: fixed names, no values. */
const REASONS_SQL = `arrayFilter(reason -> reason != '', [${EXCLUSION_REASONS.map(
  (reason) => `if(ex_${reason}, '${reason}', '')`,
).join(', ')}])`;

/** Page or count over the selected rows of a judged scan, ordered by `order`. */
function paged(
  select: string,
  from: string,
  where: string,
  order: string,
  page: RecordsPage,
  params: Record<string, unknown>,
): string {
  if (page === 'count') return `SELECT count() AS records FROM (${from}\n) WHERE ${where}`;
  const p = parameterBinder(params, '');
  return `
SELECT ${select}
FROM (${from}
)
WHERE ${where}
ORDER BY ${order}
LIMIT ${p('limit', page.limit, 'UInt32')} OFFSET ${p('offset', page.offset, 'UInt64')}`;
}

/**
 * The records of an incident standard over its version parts: every incident in its scope,
 * cancelled ones too, judged by the standard's own columns, in a stable order (London day, call
 * time, agency, id). Values only as query parameters.
 */
export function incidentRecordsQuery(
  parts: VersionPart<IncidentStandardVersion>[],
  agencies: readonly string[],
  filters: Record<string, string[]>,
  selection: RecordSelection,
  page: RecordsPage,
): KpiQuery {
  const condition = INCIDENT_SELECTIONS[selection];
  if (condition === undefined) {
    throw new KpiRequestError('only', `"${selection}" does not apply to incident standards`);
  }
  const params: Record<string, unknown> = {};
  const judged = judgedIncidentsSql(
    [{ key: '', parts }],
    agencies,
    params,
    'none',
    filters,
    {},
    {
      facts: INCIDENT_RECORD_FACTS,
    },
  );
  const select = `
  row_agency AS agency, incident_id, day, call_received_at, service, category, category_subtype,
  risk_band, police_grading, area_type, station_ground, area, stop_code,
  in_scope, cancelled_in_scope AS record_cancelled, in_scope AND NOT not_measured AS measured,
  seconds, threshold AS threshold_seconds, excluded, ${REASONS_SQL} AS exclusion_reasons,
  included, met, with_outcome`;
  const query = paged(
    select,
    judged,
    `(in_scope OR cancelled_in_scope) AND (${condition})`,
    'day, ifNull(call_received_at, created_at), agency, incident_id',
    page,
    params,
  );
  return { query, params };
}

/** The fact columns a call record shows besides its judged columns. */
const CALL_RECORD_FACTS = [
  'call_id',
  'day',
  'presented_at',
  'answered_at',
  'line',
  'service',
  'queue',
  'outcome',
];

/**
 * The records of a call standard over its version parts: every call in its scope, in a stable
 * order (presentation, agency, id). Values only as query parameters.
 */
export function callRecordsQuery(
  parts: VersionPart<CallStandardVersion>[],
  agencies: readonly string[],
  filters: Record<string, string[]>,
  selection: RecordSelection,
  page: RecordsPage,
): KpiQuery {
  const condition = CALL_SELECTIONS[selection];
  if (condition === undefined) {
    throw new KpiRequestError(
      'only',
      `"${selection}" does not apply to call standards (calls have no exclusions or cancellations)`,
    );
  }
  const params: Record<string, unknown> = {};
  const judged = judgedCallsUnion(parts, agencies, params, 'none', filters, {}, CALL_RECORD_FACTS);
  const select = `
  row_agency AS agency, call_id, day, presented_at, answered_at, line, service, queue,
  abandoned_at IS NOT NULL AS abandoned, measured, seconds, threshold_seconds,
  measured AS included, met, outcome, with_outcome`;
  const query = paged(select, judged, condition, 'presented_at, agency, call_id', page, params);
  return { query, params };
}

export interface RecordsRequest extends KpiRequest {
  /** Which records (default all). */
  only?: RecordSelection;
  /** Records skipped (default 0). */
  offset?: number;
  /** Records at most (default 100). */
  limit?: number;
}

export type IncidentRecord = Record<(typeof INCIDENT_RECORD_COLUMNS)[number], unknown>;
export type CallRecord = Record<(typeof CALL_RECORD_COLUMNS)[number], unknown>;

/** ClickHouse's `2024-03-31 10:00:00.000` (UTC) as ISO 8601; NULL stays null. */
const isoInstant = (value: unknown) =>
  typeof value === 'string' ? `${value.replace(' ', 'T')}Z` : null;
/** A 0/1 column as a boolean; NULL stays null. */
const truth = (value: unknown) =>
  value === null || value === undefined ? null : Number(value) === 1;
const orNull = (value: unknown) => (value === null || value === undefined ? null : value);

/** The version in force on a record's London day, as the figure judged it. */
function versionOn(parts: VersionPart<{ version: number }>[], day: string): number | null {
  const part = parts.find((candidate) => candidate.from <= day && day < candidate.to);
  return part ? part.version.version : null;
}

/** A count the statistic has, or null: `met` beside share_within, `with_outcome` beside share_with_outcome. */
function statisticColumns(kind: string, row: Record<string, unknown>) {
  return {
    met: kind === 'share_within' ? truth(row.met) : null,
    with_outcome: kind === 'share_with_outcome' ? truth(row.with_outcome) : null,
  };
}

function incidentRecord(
  row: Record<string, unknown>,
  parts: VersionPart<IncidentStandardVersion>[],
  kind: string,
): IncidentRecord {
  const reasons = (row.exclusion_reasons as string[] | undefined) ?? [];
  const day = String(row.day);
  return {
    agency: row.agency,
    incident_id: row.incident_id,
    day,
    call_received_at: isoInstant(row.call_received_at),
    version: versionOn(parts, day),
    service: row.service,
    category: row.category,
    category_subtype: row.category_subtype,
    risk_band: row.risk_band,
    police_grading: row.police_grading,
    area_type: row.area_type,
    station_ground: row.station_ground,
    area: row.area,
    stop_code: row.stop_code,
    in_scope: truth(row.in_scope),
    cancelled: truth(row.record_cancelled),
    measured: truth(row.measured),
    seconds: orNull(row.seconds),
    threshold_seconds: orNull(row.threshold_seconds),
    excluded: truth(row.excluded),
    primary_reason: reasons[0] ?? null,
    exclusion_reasons: reasons,
    included: truth(row.included),
    ...statisticColumns(kind, row),
  };
}

function callRecord(
  row: Record<string, unknown>,
  parts: VersionPart<CallStandardVersion>[],
  kind: string,
): CallRecord {
  const day = String(row.day);
  const { met, with_outcome } = statisticColumns(kind, row);
  return {
    agency: row.agency,
    call_id: row.call_id,
    day,
    presented_at: isoInstant(row.presented_at),
    answered_at: isoInstant(row.answered_at),
    version: versionOn(parts, day),
    line: row.line,
    service: row.service,
    queue: row.queue,
    abandoned: truth(row.abandoned),
    measured: truth(row.measured),
    seconds: orNull(row.seconds),
    threshold_seconds: orNull(row.threshold_seconds),
    included: truth(row.included),
    met,
    outcome: row.outcome === '' ? null : orNull(row.outcome),
    with_outcome,
  };
}

const DEFAULT_RECORDS_LIMIT = 100;

async function rows<Row>(client: ClickHouseClient, { query, params }: KpiQuery): Promise<Row[]> {
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<Row>();
}

/**
 * A page of the records behind a standard's figure over London days [from, to] (inclusive), for
 * the agencies given, with the figure's filters: incidents or calls (an availability standard has
 * no records of this kind), `only` some of them, `limit` at a time from `offset`. `total` is how
 * many records the selection holds; `next` the offset of the next page, or null. Throws
 * KpiRequestError naming a bad parameter.
 */
export async function computeKpiRecords(
  client: ClickHouseClient,
  standards: StandardDefinition[],
  request: RecordsRequest,
) {
  if (request.groupBy !== undefined && request.groupBy !== 'none') {
    throw new KpiRequestError('groupBy', 'records are not grouped; leave groupBy out');
  }
  const plan = planKpi(standards, request);
  const { standard, agencies, filters, parts, last } = plan;
  const { groupBy: _groupBy, ...header } = plan.header;
  const only = request.only ?? 'all';
  const offset = request.offset ?? 0;
  const limit = request.limit ?? DEFAULT_RECORDS_LIMIT;
  const kind = last.version.statistic.kind;
  if ((only === 'met' || only === 'not_met') && kind !== 'share_within') {
    throw new KpiRequestError(
      'only',
      `"${only}" needs a standard with a threshold (share_within); ${standard.id} is ${kind}`,
    );
  }
  const page = { offset, limit: limit + 1 };
  let records: IncidentRecord[] | CallRecord[];
  let columns: readonly string[];
  let count: (page: 'count') => KpiQuery;
  switch (standard.subject) {
    case 'incidents': {
      const typed = parts as VersionPart<IncidentStandardVersion>[];
      count = (page) => incidentRecordsQuery(typed, agencies, filters, only, page);
      const found = await rows<Record<string, unknown>>(
        client,
        incidentRecordsQuery(typed, agencies, filters, only, page),
      );
      records = found.map((row) => incidentRecord(row, typed, kind));
      columns = INCIDENT_RECORD_COLUMNS;
      break;
    }
    case 'calls': {
      const typed = parts as VersionPart<CallStandardVersion>[];
      count = (page) => callRecordsQuery(typed, agencies, filters, only, page);
      const found = await rows<Record<string, unknown>>(
        client,
        callRecordsQuery(typed, agencies, filters, only, page),
      );
      records = found.map((row) => callRecord(row, typed, kind));
      columns = CALL_RECORD_COLUMNS;
      break;
    }
    default:
      throw new KpiRequestError(
        'standard',
        `${standard.id} is an availability standard: its figure is time on the run, not records of incidents or calls`,
      );
  }
  const more = records.length > limit;
  const [counted] = await rows<{ records: number | string }>(client, count('count'));
  return {
    ...header,
    only,
    columns: [...columns],
    total: Number(counted?.records ?? 0),
    offset,
    limit,
    records: records.slice(0, limit),
    next: more ? offset + limit : null,
  };
}

export type KpiRecordsPage = Awaited<ReturnType<typeof computeKpiRecords>>;
