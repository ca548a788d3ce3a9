import { callFactsSql, incidentFactsSql } from '@bluelight/clickhouse-schema';
import type { ClickHouseClient } from '@clickhouse/client';
import { nextDay } from './engine.js';

/**
 * The data-quality report (docs/data-quality.md): checks over the incident and call facts that
 * show an analyst which records a source got wrong — times out of order, clock events missing,
 * clocks of two systems that disagree, events delivered long after they happened — so they can
 * be fixed where they were recorded. Computed in ClickHouse over the facts of the period's anchor
 * months (the facts sources prune partitions); every value is a query parameter.
 */
export const DATA_QUALITY_CHECKS = [
  'out_of_sequence',
  'missing_mobilisation',
  'missing_arrival',
  'no_clock_stop',
  'clock_skew',
  'late_ingest',
] as const;
export type DataQualityCheck = (typeof DATA_QUALITY_CHECKS)[number];

/** What each check flags, in a line (the API's /v1/data-quality and the CLI print it). */
export const DATA_QUALITY_CHECK_DESCRIPTIONS: Record<DataQualityCheck, string> = {
  out_of_sequence:
    'a time before the one it follows (mobilised before the call, arrived before mobilised, a call answered before it was presented, …)',
  missing_mobilisation: 'an appliance arrived but none was recorded as mobilised',
  missing_arrival:
    'an appliance was mobilised but none was recorded as arriving (finished incident)',
  no_clock_stop:
    'a finished incident with no mobilisation and no arrival at all: nothing to measure an attendance by',
  clock_skew:
    "two systems' clocks disagree: the incident created before its call was received, or a linked call presented far from the incident's call time",
  late_ingest: 'events that reached Bluelight long after they happened',
};

/** The thresholds of the checks, in seconds (documented in docs/data-quality.md). */
export interface DataQualityThresholds {
  /** Clock skew: a disagreement of more than this many seconds between two systems' times. */
  clockSkewSeconds: number;
  /** Late ingest: the entity's events reached Bluelight more than this long after its latest event. */
  lateIngestSeconds: number;
  /** An incident with no closure is finished (for the missing-time checks) once quiet this long. */
  finishedAfterSeconds: number;
}

export const DEFAULT_DATA_QUALITY_THRESHOLDS: DataQualityThresholds = {
  clockSkewSeconds: 60,
  lateIngestSeconds: 3_600,
  finishedAfterSeconds: 86_400,
};

export interface DataQualityRequest {
  /** The agencies whose records are checked (at least one). */
  agencies: readonly string[];
  /** First London day (YYYY-MM-DD). */
  from: string;
  /** Last London day, inclusive. */
  to: string;
  thresholds?: Partial<DataQualityThresholds>;
}

export interface DataQualityRecordsRequest extends DataQualityRequest {
  /** Only these checks (default every check). */
  checks?: readonly DataQualityCheck[];
  limit: number;
  offset?: number;
  /** Latest day first (a dashboard's "recent records"); default oldest first. */
  newestFirst?: boolean;
}

/** One record a check flagged. */
export interface DataQualityRecord {
  check: DataQualityCheck;
  agency: string;
  /** The system that sent the entity's first event (its creation), '' when unknown. */
  source: string;
  entity: 'incident' | 'call';
  id: string;
  /** The entity's London day. */
  day: string;
  /** When the call was received (incident) or presented (call), ISO 8601 UTC; null if not known. */
  at: string | null;
  /** What is wrong, in words, with the times involved. */
  detail: string;
  /** How far out, in seconds (the gap, the skew, the delay); null where there is no measure. */
  seconds: number | null;
}

/** A request the report cannot answer, naming the parameter (the API answers 400 with it). */
export class DataQualityRequestError extends Error {
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(`${parameter}: ${message}`);
    this.name = 'DataQualityRequestError';
  }
}

const seconds = (from: string, to: string) => `dateDiff('millisecond', ${from}, ${to}) / 1000`;
const text = (time: string) => `ifNull(toString(${time}), '—')`;

/**
 * Pairs [later, earlier] of times that should come in that order: the later one before the
 * earlier (both present) is out of sequence. The first pair that is, in this order, is named.
 */
const INCIDENT_SEQUENCE: [later: string, earlier: string][] = [
  ['first_mobilised_at', 'call_received_at'],
  ['first_mobile_at', 'first_mobilised_at'],
  ['first_arrival_at', 'first_mobilised_at'],
  ['first_arrival_at', 'call_received_at'],
  ['closed_at', 'first_arrival_at'],
];
const CALL_SEQUENCE: [later: string, earlier: string][] = [
  ['answered_at', 'presented_at'],
  ['closed_at', 'presented_at'],
  ['closed_at', 'answered_at'],
];

/** The first pair of times out of order, as a multiIf over `pairs` giving `what(pair)`. */
function firstOutOfOrder(pairs: [string, string][], what: (early: string, late: string) => string) {
  const branches = pairs.flatMap(([early, late]) => [
    `ifNull(${early} < ${late}, 0)`,
    what(early, late),
  ]);
  return `multiIf(${branches.join(', ')}, NULL)`;
}

const sequenceDetail = (early: string, late: string) =>
  `concat('${early} ', ${text(early)}, ' is before ${late} ', ${text(late)})`;
const sequenceGap = (early: string, late: string) => seconds(early, late);

/** A finding as one typed tuple (check, detail, seconds), so every branch of the array agrees. */
const FINDING_TYPE = 'Tuple(String, String, Nullable(Float64))';
const finding = (check: string, detail: string, gap: string | null) =>
  `CAST(tuple('${check}', ifNull(${detail}, ''), ${gap === null ? 'NULL' : `toFloat64(${gap})`}) AS ${FINDING_TYPE})`;
const NO_FINDING = `CAST(tuple('', '', NULL) AS ${FINDING_TYPE})`;

/** One finding if `condition` holds (NULL counts as not), as an element of the findings array. */
const when = (condition: string, found: string) =>
  `if(ifNull(${condition}, 0), ${found}, ${NO_FINDING})`;

/**
 * Every flagged record of the period, one row per (check, entity): each source read once — the
 * incidents and the calls of the period, pruned to its anchor months — every check an element of
 * one array per row, ARRAY JOINed into a row per finding; plus the linked-call skew, a join of
 * the period's calls to the incidents their closure names.
 */
function flaggedSql(): string {
  const days = { from: '{from:Date}', to: '{to:Date}' };
  // Calls a day either side, so a call linked to an incident just across midnight is found.
  const callDays = { from: '{from:Date} - 1', to: '{to:Date} + 1' };
  const agencies = '{agencies:Array(String)}';
  const inPeriod = 'day >= {from:Date} AND day < {to:Date}';
  const incidents = `(SELECT * FROM (${incidentFactsSql(days, agencies)}) WHERE ${inPeriod})`;
  const calls = `(SELECT * FROM (${callFactsSql(days, agencies)}) WHERE ${inPeriod})`;
  // Closed, or quiet for long enough that no more events are expected (an import without closures).
  const finished = `(closed_at IS NOT NULL OR last_event_at < now64(3) - toIntervalSecond({finished_after:UInt32}))`;
  const quietSince = `concat(if(closed_at IS NULL, 'not closed, no event since ', 'closed_at '), toString(ifNull(closed_at, last_event_at)))`;
  const outOfOrder = (pairs: [string, string][]) =>
    pairs.map(([early, late]) => `ifNull(${early} < ${late}, 0)`).join(' OR ');
  const lateIngest = when(
    `${seconds('last_event_at', 'last_ingested_at')} > {late_ingest:UInt32}`,
    finding(
      'late_ingest',
      `concat('latest event ', toString(last_event_at), ', received ', toString(last_ingested_at))`,
      seconds('last_event_at', 'last_ingested_at'),
    ),
  );
  const incidentFindings = [
    when(
      outOfOrder(INCIDENT_SEQUENCE),
      finding(
        'out_of_sequence',
        firstOutOfOrder(INCIDENT_SEQUENCE, sequenceDetail),
        firstOutOfOrder(INCIDENT_SEQUENCE, sequenceGap),
      ),
    ),
    when(
      'cancelled = 0 AND first_arrival_at IS NOT NULL AND first_mobilised_at IS NULL',
      finding(
        'missing_mobilisation',
        `concat('first_arrival_at ', toString(first_arrival_at), ' with no mobilisation recorded')`,
        null,
      ),
    ),
    when(
      `cancelled = 0 AND first_mobilised_at IS NOT NULL AND first_arrival_at IS NULL AND ${finished}`,
      finding(
        'missing_arrival',
        `concat('first_mobilised_at ', toString(first_mobilised_at), ' with no arrival recorded; ', ${quietSince})`,
        null,
      ),
    ),
    when(
      `cancelled = 0 AND first_mobilised_at IS NULL AND first_arrival_at IS NULL AND ${finished}`,
      finding(
        'no_clock_stop',
        `concat('no mobilisation and no arrival recorded; ', ${quietSince})`,
        null,
      ),
    ),
    when(
      `${seconds('created_at', 'call_received_at')} > {clock_skew:UInt32}`,
      finding(
        'clock_skew',
        `concat('created_at ', toString(created_at), ' is before call_received_at ', toString(call_received_at))`,
        seconds('created_at', 'call_received_at'),
      ),
    ),
    lateIngest,
  ];
  const callFindings = [
    when(
      outOfOrder(CALL_SEQUENCE),
      finding(
        'out_of_sequence',
        firstOutOfOrder(CALL_SEQUENCE, sequenceDetail),
        firstOutOfOrder(CALL_SEQUENCE, sequenceGap),
      ),
    ),
    lateIngest,
  ];
  const findingsOf = (findings: string[]) =>
    `arrayFilter(found -> found.1 != '', [\n      ${findings.join(',\n      ')}])`;
  const linkedSkew = seconds('c.presented_at', 'i.call_received_at');
  return `
  SELECT found.1 AS quality_check, agency, entity, entity_id, day, at, found.2 AS detail, found.3 AS seconds
  FROM (
    SELECT CAST(agency AS String) AS agency, 'incident' AS entity, incident_id AS entity_id, day,
      coalesce(call_received_at, created_at) AS at,
      ${findingsOf(incidentFindings)} AS findings
    FROM ${incidents}
    UNION ALL
    SELECT CAST(agency AS String), 'call', call_id, day, presented_at,
      ${findingsOf(callFindings)}
    FROM ${calls}
  )
  ARRAY JOIN findings AS found
  UNION ALL
  SELECT 'clock_skew', CAST(i.agency AS String), 'incident', i.incident_id, i.day,
    coalesce(i.call_received_at, i.created_at),
    concat('call ', c.call_id, ' of ', CAST(c.agency AS String), ' presented at ', toString(c.presented_at),
      ', the incident''s call_received_at is ', toString(i.call_received_at)),
    toNullable(toFloat64(abs(${linkedSkew})))
  FROM ${incidents} AS i
  INNER JOIN (SELECT * FROM (${callFactsSql(callDays, agencies)}) WHERE incident_id != '') AS c
    ON c.incident_id = i.incident_id
  WHERE ifNull(abs(${linkedSkew}) > {clock_skew:UInt32}, 0)`;
}

/** Each flagged record with its source: the system of its entity's creation (else its first event). */
function recordsSql(): string {
  const flagged = flaggedSql();
  const sourceOf = (table: string, entity: string, idColumn: string, firstType: string) => `
    SELECT '${entity}' AS entity, CAST(agency AS String) AS agency, ${idColumn} AS entity_id,
      argMin(CAST(source AS String), (event_type != '${firstType}', occurred_at)) AS source
    FROM ${table}
    WHERE agency IN {agencies:Array(String)}
      AND (agency, ${idColumn}) IN (SELECT agency, entity_id FROM flagged WHERE entity = '${entity}')
    GROUP BY agency, ${idColumn}`;
  return `
WITH flagged AS (${flagged}
)
SELECT f.quality_check AS quality_check, f.agency AS agency, s.source AS source,
  f.entity AS entity, f.entity_id AS entity_id, f.day AS day, f.at AS at, f.detail AS detail, f.seconds AS seconds
FROM flagged AS f
LEFT JOIN (${sourceOf('incidents_raw', 'incident', 'incident_id', 'incident.created')}
  UNION ALL${sourceOf('calls_raw', 'call', 'call_id', 'call.presented')}
) AS s ON s.entity = f.entity AND s.agency = f.agency AND s.entity_id = f.entity_id`;
}

function baseParams(request: DataQualityRequest): Record<string, unknown> {
  if (request.agencies.length === 0) {
    throw new DataQualityRequestError(
      'agency',
      'the data-quality report needs at least one agency',
    );
  }
  if (request.to < request.from) {
    throw new DataQualityRequestError('to', 'must not be before from');
  }
  const thresholds = { ...DEFAULT_DATA_QUALITY_THRESHOLDS, ...request.thresholds };
  return {
    agencies: [...request.agencies],
    from: request.from,
    to: nextDay(request.to),
    clock_skew: thresholds.clockSkewSeconds,
    late_ingest: thresholds.lateIngestSeconds,
    finished_after: thresholds.finishedAfterSeconds,
  };
}

/** The summary query: records per check, agency and source. */
export function dataQualitySummaryQuery(request: DataQualityRequest) {
  const query = `
SELECT quality_check, agency, source, count() AS records
FROM (${recordsSql()})
GROUP BY quality_check, agency, source
ORDER BY agency, source, quality_check`;
  return { query, params: baseParams(request) };
}

/** A page of records, ordered by day, call time, entity, id, agency and check (stable pages). */
export function dataQualityRecordsQuery(request: DataQualityRecordsRequest) {
  const params = {
    ...baseParams(request),
    checks: [...(request.checks ?? DATA_QUALITY_CHECKS)],
    limit: request.limit,
    offset: request.offset ?? 0,
  };
  const query = `
SELECT quality_check, agency, source, entity, entity_id, ifNull(toString(day), '') AS day_text, at, detail, seconds
FROM (${recordsSql()})
WHERE quality_check IN {checks:Array(String)}
ORDER BY ${request.newestFirst ? 'day DESC, at DESC' : 'day, at'}, entity, entity_id, agency, quality_check
LIMIT {limit:UInt32} OFFSET {offset:UInt64}`;
  return { query, params };
}

export interface DataQualitySourceSummary {
  agency: string;
  source: string;
  /** Records flagged by each check (every check named, 0 when none). */
  checks: Record<DataQualityCheck, number>;
}

export interface DataQualitySummary {
  period: { from: string; to: string };
  agencies: string[];
  thresholds: DataQualityThresholds;
  /** Records flagged by each check, over every source. */
  totals: Record<DataQualityCheck, number>;
  /** Per agency and source (only those with a flagged record), sorted. */
  sources: DataQualitySourceSummary[];
}

const noChecks = () =>
  Object.fromEntries(DATA_QUALITY_CHECKS.map((check) => [check, 0])) as Record<
    DataQualityCheck,
    number
  >;

/** The summary: counts per check, in total and per agency and source. */
export async function dataQualitySummary(
  client: ClickHouseClient,
  request: DataQualityRequest,
): Promise<DataQualitySummary> {
  const { query, params } = dataQualitySummaryQuery(request);
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  const rows = await result.json<{
    quality_check: DataQualityCheck;
    agency: string;
    source: string;
    records: string | number;
  }>();
  const totals = noChecks();
  const sources = new Map<string, DataQualitySourceSummary>();
  for (const row of rows) {
    const count = Number(row.records);
    totals[row.quality_check] += count;
    const key = JSON.stringify([row.agency, row.source]);
    let entry = sources.get(key);
    if (!entry) {
      entry = { agency: row.agency, source: row.source, checks: noChecks() };
      sources.set(key, entry);
    }
    entry.checks[row.quality_check] += count;
  }
  return {
    period: { from: request.from, to: request.to },
    agencies: [...request.agencies].sort(),
    thresholds: { ...DEFAULT_DATA_QUALITY_THRESHOLDS, ...request.thresholds },
    totals,
    sources: [...sources.values()],
  };
}

/** ClickHouse's `2024-03-31 10:00:00.000` (UTC) as ISO 8601, or null. */
function isoUtc(value: string | null): string | null {
  return typeof value === 'string' ? `${value.replace(' ', 'T')}Z` : null;
}

/** A page of flagged records and the offset of the next page (null on the last). */
export async function dataQualityRecords(
  client: ClickHouseClient,
  request: DataQualityRecordsRequest,
): Promise<{ records: DataQualityRecord[]; nextOffset: number | null }> {
  const { query, params } = dataQualityRecordsQuery({ ...request, limit: request.limit + 1 });
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  const rows = await result.json<{
    quality_check: DataQualityCheck;
    agency: string;
    source: string;
    entity: 'incident' | 'call';
    entity_id: string;
    day_text: string;
    at: string | null;
    detail: string | null;
    seconds: number | null;
  }>();
  const offset = request.offset ?? 0;
  return {
    records: rows.slice(0, request.limit).map((row) => ({
      check: row.quality_check,
      agency: row.agency,
      source: row.source,
      entity: row.entity,
      id: row.entity_id,
      day: row.day_text,
      at: isoUtc(row.at),
      detail: row.detail ?? '',
      seconds: row.seconds === null ? null : Number(row.seconds),
    })),
    nextOffset: rows.length > request.limit ? offset + request.limit : null,
  };
}

/** The CSV columns of a record, in order. */
export const DATA_QUALITY_CSV_COLUMNS = [
  'check',
  'agency',
  'source',
  'entity',
  'id',
  'day',
  'at',
  'detail',
  'seconds',
];
