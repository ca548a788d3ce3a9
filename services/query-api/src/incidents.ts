import type { ClickHouseClient } from '@bluelight/service-kit';
import {
  INCIDENT_FILTERS,
  incidentFactsSql,
  nextDay,
  SEGMENTS,
  type Segment,
  segmentSql,
} from '@bluelight/standards';
import {
  DEFAULT_LIMIT,
  encodeCursor,
  type INCIDENT_SEARCH_FILTERS,
  type IncidentCursor,
} from './params.js';

export interface IncidentSearch {
  /** The agencies whose incidents are searched (at least one): never every agency's by default. */
  agencies: readonly string[];
  /** First London day (YYYY-MM-DD). */
  from: string;
  /** Last London day, inclusive. */
  to: string;
  filters?: Partial<Record<(typeof INCIDENT_SEARCH_FILTERS)[number], string[]>>;
  q?: string;
  limit?: number;
  cursor?: IncidentCursor;
}

/** The times an incident carries, in the order they happen. */
const INCIDENT_TIMES = [
  'call_received_at',
  'created_at',
  'first_mobilised_at',
  'first_mobile_at',
  'first_arrival_at',
  'second_arrival_at',
  'closed_at',
] as const;

const SEGMENT_NAMES = Object.keys(SEGMENTS) as Segment[];

/** Columns of the CSV, in order (the JSON has the same fields, times and segments nested). */
export const INCIDENT_CSV_COLUMNS = [
  'incident_id',
  'day',
  'agency',
  'service',
  'category',
  'category_subtype',
  'risk_band',
  'life_risk',
  'police_grading',
  'area_type',
  'station',
  'area',
  'cancelled',
  'stop_code',
  ...INCIDENT_TIMES.map((time) => `times.${time}`),
  ...SEGMENT_NAMES.map((segment) => `segments_seconds.${segment}`),
];

/**
 * The search as SQL and parameters. The SQL is fixed text chosen by which filters are present;
 * every value from the request (agencies, dates, filter values, q, the cursor, the limit) is a
 * query parameter. Ordered by the call time (the creation time when there was no call), then the
 * id, then the agency — two agencies may have an incident of the same id at the same instant, and
 * a page must not end between them and skip one — so pages are stable; one row more than the
 * limit is read to know whether a next page exists.
 */
export function incidentSearchQuery(search: IncidentSearch) {
  const limit = search.limit ?? DEFAULT_LIMIT;
  if (search.agencies.length === 0) throw new Error('an incident search needs at least one agency');
  const params: Record<string, unknown> = {
    agencies: [...search.agencies],
    from: search.from,
    to: nextDay(search.to),
    limit: limit + 1,
  };
  const where = ['day >= {from:Date}', 'day < {to:Date}'];
  for (const [name, column] of Object.entries(INCIDENT_FILTERS)) {
    const values = search.filters?.[name as keyof typeof INCIDENT_FILTERS];
    if (values === undefined) continue;
    params[`filter_${name}`] = values;
    where.push(`${column} IN {filter_${name}:Array(String)}`);
  }
  if (search.q !== undefined) {
    params.q = search.q;
    where.push(
      '(startsWith(incident_id, {q:String}) OR startsWith(lowerUTF8(station_ground), lowerUTF8({q:String})) OR startsWith(lowerUTF8(area), lowerUTF8({q:String})))',
    );
  }
  if (search.cursor !== undefined) {
    params.after_ms = search.cursor.afterMs;
    params.after_id = search.cursor.afterId;
    if (search.cursor.afterAgency === undefined) {
      // A position from an earlier API (no agency): after every agency's incident there.
      where.push('(sort_ms, incident_id) > ({after_ms:Int64}, {after_id:String})');
    } else {
      params.after_agency = search.cursor.afterAgency;
      where.push(
        '(sort_ms, incident_id, row_agency) > ({after_ms:Int64}, {after_id:String}, {after_agency:String})',
      );
    }
  }
  const segments = SEGMENT_NAMES.map((segment) => `${segmentSql(segment)} AS seg_${segment}`).join(
    ',\n  ',
  );
  const query = `
SELECT
  incident_id, agency, service, category, category_subtype, risk_band, life_risk,
  police_grading, area_type, station_ground, area, cancelled, stop_code,
  toString(day) AS day_text,
  ${INCIDENT_TIMES.join(', ')},
  ${segments},
  toUnixTimestamp64Milli(assumeNotNull(coalesce(call_received_at, created_at))) AS sort_ms,
  CAST(agency AS String) AS row_agency
FROM (${incidentFactsSql({ from: '{from:Date}', to: '{to:Date}' }, '{agencies:Array(String)}')}) AS incident_facts
WHERE ${where.join('\n  AND ')}
ORDER BY sort_ms, incident_id, row_agency
LIMIT {limit:UInt32}`;
  return { query, params, limit };
}

interface IncidentRow {
  incident_id: string;
  agency: string;
  service: string;
  category: string;
  category_subtype: string;
  risk_band: string;
  life_risk: number;
  police_grading: string;
  area_type: string;
  station_ground: string;
  area: string;
  cancelled: number;
  stop_code: string;
  day_text: string;
  sort_ms: number;
  [column: string]: string | number | null;
}

/** ClickHouse's `2024-03-31 10:00:00.000` (UTC) as ISO 8601, or null. */
function isoUtc(value: string | number | null | undefined): string | null {
  return typeof value === 'string' ? `${value.replace(' ', 'T')}Z` : null;
}

function incidentOf(row: IncidentRow) {
  return {
    incident_id: row.incident_id,
    day: row.day_text,
    agency: row.agency,
    service: row.service,
    category: row.category,
    category_subtype: row.category_subtype,
    risk_band: row.risk_band,
    life_risk: row.life_risk === 1,
    police_grading: row.police_grading,
    area_type: row.area_type,
    station: row.station_ground,
    area: row.area,
    cancelled: row.cancelled === 1,
    stop_code: row.stop_code,
    times: Object.fromEntries(INCIDENT_TIMES.map((time) => [time, isoUtc(row[time])])) as Record<
      (typeof INCIDENT_TIMES)[number],
      string | null
    >,
    segments_seconds: Object.fromEntries(
      SEGMENT_NAMES.map((segment) => {
        const value = row[`seg_${segment}`];
        return [segment, typeof value === 'number' ? value : null];
      }),
    ) as Record<Segment, number | null>,
  };
}

/** One page of incidents and the cursor of the next (null on the last page). */
export async function searchIncidents(client: ClickHouseClient, search: IncidentSearch) {
  const { query, params, limit } = incidentSearchQuery(search);
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  const rows = await result.json<IncidentRow>();
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    incidents: page.map(incidentOf),
    next_cursor:
      rows.length > limit && last
        ? encodeCursor(Number(last.sort_ms), last.incident_id, last.agency)
        : null,
  };
}
