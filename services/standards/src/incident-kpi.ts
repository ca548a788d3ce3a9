import { incidentFactsSql } from '@bluelight/clickhouse-schema';
import type { z } from 'zod';
import type { incidentVersion } from './definition.js';
import {
  agencyLayout,
  agencyList,
  instantBounds,
  type KpiQuery,
  type KpiQueryOptions,
  nullableNumber,
  parameterBinder,
  percentileAggregate,
  statisticValue,
  type VersionPart,
} from './kpi-common.js';

export type IncidentStandardVersion = z.infer<typeof incidentVersion>;

/** How results are broken down; each is a fixed SQL expression over incident_facts. */
export const INCIDENT_GROUPINGS = {
  none: `'all'`,
  agency: 'CAST(agency AS String)',
  day: 'toString(day)',
  week: 'toString(toMonday(day))',
  month: `formatDateTime(day, '%Y-%m')`,
  station: 'station_ground',
  category: 'category',
  risk_band: 'risk_band',
  // The incident's local authority area or district (location.area in the contract).
  area: 'area',
  // The contract's other categorical attributes, each filled by a mapping from a source column:
  // the category's subtype (location type, special service type, false-alarm class), the
  // police grading and area type, and the closing stop code.
  service: 'service',
  subtype: 'category_subtype',
  police_grading: 'police_grading',
  area_type: 'area_type',
  stop_code: 'stop_code',
  // ISO day of week (1 = Monday) and hour of the call, London time: "1-08" is Monday 08:00–09:00.
  hour_of_week: `formatDateTime(ifNull(call_received_at, created_at), '%u-%H', 'Europe/London')`,
} as const;
export type IncidentGrouping = keyof typeof INCIDENT_GROUPINGS;

/** Filters a KPI request may add to a standard's own scope; each is a fact column. */
export const INCIDENT_FILTERS = {
  station: 'station_ground',
  category: 'category',
  risk_band: 'risk_band',
  area: 'area',
  service: 'service',
} as const;
export type IncidentFilters = Partial<Record<keyof typeof INCIDENT_FILTERS, string[]>>;

/** The fact column each clock event is read from. */
const CLOCK_COLUMNS: Record<IncidentStandardVersion['clock']['start'], string> = {
  call_received: 'call_received_at',
  incident_created: 'created_at',
  first_mobilised: 'first_mobilised_at',
  first_mobile: 'first_mobile_at',
  first_arrival: 'first_arrival_at',
  second_arrival: 'second_arrival_at',
};

/**
 * The response segments of an incident, in seconds: call handling (call received to first
 * mobilised), turnout (mobilised to first mobile), travel (mobile to first arrival) and total.
 */
export const SEGMENTS = {
  call_handling: ['call_received_at', 'first_mobilised_at'],
  turnout: ['first_mobilised_at', 'first_mobile_at'],
  travel: ['first_mobile_at', 'first_arrival_at'],
  total: ['call_received_at', 'first_arrival_at'],
} as const;
export type Segment = keyof typeof SEGMENTS;

/** SQL for one segment's length in seconds (NULL when either end is missing). */
export function segmentSql(segment: Segment): string {
  const [start, stop] = SEGMENTS[segment];
  return `dateDiff('millisecond', ${start}, ${stop}) / 1000`;
}

/**
 * The exclusion reasons, in their precedence: an excluded incident's primary reason is the first
 * of these it matched (the order of `exclusions` in a definition), so the primary reasons add up
 * to the total excluded; the others it matched are counted as "also matched".
 */
export const EXCLUSION_REASONS = [
  'late_call',
  'derelict_property',
  'abandoned_road_vehicle',
  'out_of_sequence',
  'total_over',
  'total_under',
] as const;

/**
 * A standard's version parts in a query that computes several standards in one scan of their
 * facts (the annual report: every incident standard in one query). `key` prefixes the
 * standard's result columns and parameters; a query of one standard uses the key ''.
 */
export interface KeyedParts<Version> {
  key: string;
  parts: VersionPart<Version>[];
}

/**
 * The London days [from, to) that the parts of all the standards span (and `also`, when given):
 * what the scan reads.
 */
export function spannedDays(
  standards: KeyedParts<unknown>[],
  also?: { from: string; to: string },
): { from: string; to: string } {
  const parts: { from: string; to: string }[] = standards.flatMap((standard) => standard.parts);
  if (also) parts.push(also);
  // ISO dates order as text.
  const froms = parts.map((part) => part.from).sort();
  const tos = parts.map((part) => part.to).sort();
  const from = froms[0];
  const to = tos.at(-1);
  if (from === undefined || to === undefined) {
    throw new Error('a KPI query needs at least one version part');
  }
  return { from, to };
}

/**
 * Picks a per-version value for a row: with one part, that part's SQL; with several, the one of
 * the part the row falls in (`<key>part_index`, its index; -1 in none), else `otherwise`.
 */
export function partPicker(key: string, count: number) {
  return (values: string[], otherwise: string): string => {
    if (count === 1) return values[0] as string;
    const branches = values
      .map((value, index) => `${key}part_index = ${index}, ${value}`)
      .join(', ');
    return `multiIf(${branches}, ${otherwise})`;
  };
}

/**
 * Which part a row belongs to and whether it is in the standard's scope at all: `<key>in_scope`
 * (and `<key>part_index` when there are several parts), from each part's condition.
 */
export function partColumns(key: string, conditions: string[]): string[] {
  if (conditions.length === 1) return [`${conditions[0]} AS ${key}in_scope`];
  const branches = conditions.map((condition, index) => `${condition}, ${index}`).join(', ');
  return [
    `multiIf(${branches}, -1) AS ${key}part_index`,
    `${key}part_index >= 0 AS ${key}in_scope`,
  ];
}

/**
 * An incident standard's columns in a scan of incident facts: which part a row is judged by,
 * its measured seconds and threshold, whether it is measured and each exclusion.
 */
function judgedIncidentColumns(
  standard: KeyedParts<IncidentStandardVersion>,
  params: Record<string, unknown>,
): { scope: string; judged: string[]; combined: string[] } {
  const { key, parts } = standard;
  const pick = partPicker(key, parts.length);
  const conditions: string[] = [];
  const scopes: string[] = [];
  const seconds: string[] = [];
  const thresholds: string[] = [];
  const notMeasured: string[] = [];
  const switches: Record<string, string[]> = {};
  const switchOn = (name: string, sql: string) => {
    switches[name] ??= [];
    switches[name].push(sql);
  };
  const outcomes: string[] = [];
  parts.forEach((part, index) => {
    const { version } = part;
    const scope = version.applies_to;
    const p = parameterBinder(params, `${key}p${index}_`);
    const where = [
      `day >= ${p('from', part.from, 'Date')}`,
      `day < ${p('to', part.to, 'Date')}`,
      `service IN ${p('services', scope.services, 'Array(String)')}`,
    ];
    const inList = (column: string, name: string, values: string[] | undefined, negate = false) => {
      if (values === undefined) return;
      where.push(`${column} ${negate ? 'NOT IN' : 'IN'} ${p(name, values, 'Array(String)')}`);
    };
    inList('category', 'categories', scope.categories);
    inList('category_subtype', 'special_service_types', scope.special_service_types);
    inList(
      'category_subtype',
      'exclude_special_service_types',
      scope.exclude_special_service_types,
      true,
    );
    inList('risk_band', 'risk_bands', scope.risk_bands);
    inList('police_grading', 'police_gradings', scope.police_gradings);
    inList('area_type', 'area_types', scope.area_types);
    if (scope.life_risk !== undefined)
      where.push(`life_risk = ${p('life_risk', scope.life_risk ? 1 : 0, 'UInt8')}`);
    scopes.push(`(${where.join(' AND ')})`);
    // A cancelled incident was never attended: out of the figure, counted as `cancelled`.
    conditions.push(`(${where.join(' AND ')} AND cancelled = 0)`);

    const start = CLOCK_COLUMNS[version.clock.start];
    const stop = CLOCK_COLUMNS[version.clock.stop];
    seconds.push(`dateDiff('millisecond', ${start}, ${stop}) / 1000`);
    const statistic = version.statistic;
    let threshold = 'CAST(NULL AS Nullable(Float64))';
    if (statistic.kind === 'share_within') {
      const value = statistic.threshold_seconds;
      if (typeof value === 'number') {
        threshold = `toNullable(${p('threshold', value, 'Float64')})`;
      } else if ('by_risk_band' in value) {
        const bands = value.by_risk_band;
        threshold = `multiIf(risk_band = 'high', ${p('t_high', bands.high, 'Float64')}, risk_band = 'medium', ${p('t_medium', bands.medium, 'Float64')}, risk_band = 'low', ${p('t_low', bands.low, 'Float64')}, NULL)`;
      } else {
        const areas = value.by_area_type;
        threshold = `multiIf(area_type = 'urban', ${p('t_urban', areas.urban, 'Float64')}, area_type = 'rural', ${p('t_rural', areas.rural, 'Float64')}, NULL)`;
      }
    }
    thresholds.push(threshold);
    // An outcome is known once the incident is closed with a stop code; a time once both clocks ran.
    notMeasured.push(
      statistic.kind === 'share_with_outcome'
        ? `stop_code = ''`
        : statistic.kind === 'share_within'
          ? `${key}seconds IS NULL OR ${key}threshold IS NULL`
          : `${key}seconds IS NULL`,
    );
    const x = version.exclusions;
    const on = (name: string, value: boolean) => `${p(`x_${name}`, value ? 1 : 0, 'UInt8')} = 1`;
    switchOn('late_call', on('late_call', x.late_call));
    switchOn('derelict_property', on('derelict_property', x.derelict_property));
    switchOn('abandoned_road_vehicle', on('abandoned_road_vehicle', x.abandoned_road_vehicle));
    switchOn('out_of_sequence', on('out_of_sequence', x.out_of_sequence));
    switchOn(
      'total_over',
      `${on('total_over', x.total_over_seconds !== null)} AND ifNull(seg_total > ${p('total_over_seconds', x.total_over_seconds ?? 0, 'Float64')}, 0)`,
    );
    switchOn(
      'total_under',
      `${on('total_under', x.total_under_seconds !== null)} AND ifNull(seg_total >= 0 AND seg_total < ${p('total_under_seconds', x.total_under_seconds ?? 0, 'Float64')}, 0)`,
    );
    outcomes.push(
      `${p('has_outcome', statistic.kind === 'share_with_outcome' ? 1 : 0, 'UInt8')} = 1
        AND stop_code = ${p('outcome', statistic.kind === 'share_with_outcome' ? statistic.outcome : '', 'String')}`,
    );
  });
  const switched = (name: string) => pick(switches[name] as string[], '0');
  const judged = [
    ...partColumns(key, conditions),
    `cancelled = 1 AND (${scopes.join(' OR ')}) AS ${key}cancelled_in_scope`,
    `${pick(seconds, 'NULL')} AS ${key}seconds`,
    `${pick(thresholds, 'NULL')} AS ${key}threshold`,
    `${key}in_scope AND (${pick(notMeasured, '1')}) AS ${key}not_measured`,
    `${key}in_scope AND (${switched('late_call')}) AND excluded_late_call = 1 AS ${key}ex_late_call`,
    `${key}in_scope AND (${switched('derelict_property')}) AND excluded_derelict_property = 1 AS ${key}ex_derelict_property`,
    `${key}in_scope AND (${switched('abandoned_road_vehicle')}) AND excluded_abandoned_road_vehicle = 1 AS ${key}ex_abandoned_road_vehicle`,
    `${key}in_scope AND (${switched('out_of_sequence')}) AND (out_of_sequence = 1 OR ifNull(${key}seconds < 0, 0)) AS ${key}ex_out_of_sequence`,
    `${key}in_scope AND (${switched('total_over')}) AS ${key}ex_total_over`,
    `${key}in_scope AND (${switched('total_under')}) AS ${key}ex_total_under`,
    `${key}in_scope AND (${pick(outcomes, '0')}) AS ${key}has_outcome`,
  ];
  const combined = [
    // The "no exclusions" companion: every measured incident in scope, whatever it matched
    // (a negative time is still no measurement).
    `${key}in_scope AND NOT ${key}not_measured AND NOT ifNull(${key}seconds < 0, 0) AS ${key}all_measured`,
    `${EXCLUSION_REASONS.map((reason) => `${key}ex_${reason}`).join(' OR ')} AS ${key}excluded`,
    `${key}in_scope AND NOT ${key}not_measured AND NOT ${key}excluded AS ${key}included`,
    `${key}included AND ifNull(${key}seconds <= ${key}threshold, 0) AS ${key}met`,
    `${key}included AND ${key}has_outcome AS ${key}with_outcome`,
  ];
  return { scope: scopes.join(' OR '), judged, combined };
}

/** The aggregates of one incident standard's judged columns (the KpiRow columns, prefixed). */
function incidentAggregates(
  key: string,
  percentile: string,
  method: IncidentStandardVersion['percentile_method'],
  withPercentile: boolean,
): string[] {
  const k = key;
  const segments = (Object.keys(SEGMENTS) as Segment[]).flatMap((segment) => {
    const has = `${k}included AND seg_${segment} >= 0`;
    return [
      `countIf(${has}) AS ${k}seg_${segment}_n`,
      `avgIf(seg_${segment}, ${has}) AS ${k}seg_${segment}_mean`,
      `${percentileAggregate(method, '0.9', `seg_${segment}`, has)} AS ${k}seg_${segment}_p90`,
    ];
  });
  // Primary reason: the first in EXCLUSION_REASONS an incident matched; "also matched": the others.
  const exclusionTable = EXCLUSION_REASONS.flatMap((reason, index) => {
    const earlier = EXCLUSION_REASONS.slice(0, index).map((before) => `${k}ex_${before}`);
    const before = earlier.length > 0 ? earlier.join(' OR ') : '0';
    return [
      `countIf(${k}ex_${reason} AND NOT (${before})) AS ${k}primary_${reason}`,
      `countIf(${k}ex_${reason} AND (${before})) AS ${k}also_${reason}`,
    ];
  });
  return [
    `countIf(${k}in_scope) AS ${k}incidents`,
    `countIf(${k}cancelled_in_scope) AS ${k}cancelled`,
    ...exclusionTable,
    `countIf(${k}not_measured AND NOT ${k}excluded) AS ${k}not_measured_count`,
    `countIf(${k}excluded) AS ${k}excluded_total`,
    ...EXCLUSION_REASONS.map((reason) => `countIf(${k}ex_${reason}) AS ${k}excluded_${reason}`),
    `countIf(${k}included) AS ${k}n`,
    `countIf(${k}met) AS ${k}met`,
    `countIf(${k}with_outcome) AS ${k}with_outcome`,
    `avgIf(${k}seconds, ${k}included) AS ${k}mean_seconds`,
    `${percentileAggregate(method, percentile, `${k}seconds`, `${k}included`)} AS ${k}percentile_seconds`,
    ...segments,
    `countIf(${k}all_measured) AS ${k}all_n`,
    `countIf(${k}all_measured AND ifNull(${k}seconds <= ${k}threshold, 0)) AS ${k}all_met`,
    `countIf(${k}all_measured AND ${k}has_outcome) AS ${k}all_with_outcome`,
    `avgIf(${k}seconds, ${k}all_measured) AS ${k}all_mean_seconds`,
    // Only a percentile standard's companion needs its percentile (another pass over the values).
    `${withPercentile ? percentileAggregate(method, percentile, `${k}seconds`, `${k}all_measured`) : 'CAST(NULL AS Nullable(Float64))'} AS ${k}all_percentile_seconds`,
  ];
}

/** The fact columns an incident standard is judged on (see judgedIncidentColumns). */
const JUDGED_INCIDENT_FACTS = [
  'day',
  'cancelled',
  'service',
  'category',
  'category_subtype',
  'risk_band',
  'life_risk',
  'police_grading',
  'area_type',
  'stop_code',
  'excluded_late_call',
  'excluded_derelict_property',
  'excluded_abandoned_road_vehicle',
  'out_of_sequence',
  ...new Set(Object.values(CLOCK_COLUMNS)),
];

/** Extra columns a scan may compute beside the standards (fixed SQL over the facts, no values). */
export interface ExtraColumns {
  /** Aggregates over the scan's rows, e.g. `countIf(category = 'primary_fire') AS primary_fires`. */
  aggregates: string[];
  /** The fact columns they read. */
  facts: string[];
  /** London days [from, to) the scan must read besides the standards' parts. */
  days?: { from: string; to: string };
}

/** What a scan of incident facts reads besides the standards' own columns and scope. */
export interface IncidentScan {
  /** More fact columns to keep on each row (fixed names: the record's columns, an extra's). */
  facts?: string[];
  /** London days [from, to) the scan must read besides the standards' parts. */
  days?: { from: string; to: string };
  /** Keep every row of the days, not only those some standard's scope takes. */
  everyRow?: boolean;
}

/**
 * The rows of one scan of incident facts, each with every standard's judged columns (see
 * judgedIncidentColumns): the FROM of the figures (incidentKpisQuery) and of the records behind
 * them (incidentRecordsQuery), so both judge an incident by the same SQL. Binds its values into
 * `params`. The request's filters and instants apply to the scan; cancelled incidents are read
 * too (each standard counts those in its scope, apart).
 */
export function judgedIncidentsSql(
  standards: KeyedParts<IncidentStandardVersion>[],
  agencies: readonly string[],
  params: Record<string, unknown>,
  groupBy: IncidentGrouping = 'none',
  filters: IncidentFilters = {},
  options: KpiQueryOptions = {},
  scan: IncidentScan = {},
): string {
  const shared = parameterBinder(params, '');
  const span = spannedDays(standards, scan.days);
  const days = {
    from: shared('days_from', span.from, 'Date'),
    to: shared('days_to', span.to, 'Date'),
  };
  const where = [`day >= ${days.from}`, `day < ${days.to}`];
  for (const [name, column] of Object.entries(INCIDENT_FILTERS)) {
    const values = filters[name as keyof IncidentFilters];
    if (values !== undefined)
      where.push(`${column} IN ${shared(`filter_${name}`, values, 'Array(String)')}`);
  }
  const instants = instantBounds(shared, options);
  if (instants) {
    const time = 'ifNull(call_received_at, created_at)';
    where.push(`${time} >= ${instants.from}`, `${time} <= ${instants.to}`);
  }
  const columns = standards.map((standard) => judgedIncidentColumns(standard, params));
  if (!scan.everyRow) where.push(`(${columns.map((column) => column.scope).join(' OR ')})`);
  const facts = [...new Set([...JUDGED_INCIDENT_FACTS, ...(scan.facts ?? [])])];
  const segments = (Object.keys(SEGMENTS) as Segment[]).map(
    (segment) => `${segmentSql(segment)} AS seg_${segment}`,
  );
  return `
  SELECT *, ${columns.flatMap((column) => column.combined).join(',\n    ')}
  FROM (
    SELECT *, ${columns.flatMap((column) => column.judged).join(',\n      ')}
    FROM (
      SELECT
        ${options.joinedGroup ? options.joinedGroup.group : INCIDENT_GROUPINGS[groupBy]} AS grp,
        CAST(agency AS String) AS row_agency,
        ${[...facts, ...segments].join(', ')}
      FROM (${incidentFactsSql(days, agencyList(shared, agencies))}) AS incident_facts${
        options.joinedGroup ? `\n      ${options.joinedGroup.join}` : ''
      }
      WHERE ${where.join('\n        AND ')}
    )
  )`;
}

/**
 * The SQL that computes incident standards over their version parts in one scan of the facts,
 * one row per group: each standard's columns prefixed by its key ('' for one standard). Each
 * part is judged by its own version's scope, clock, threshold and exclusions (so a period across
 * a change of standard is computed with the definitions in force on each day); the counts,
 * means and exact percentiles are then taken over all parts together.
 *
 * Shape, and why: the facts of the days the parts span are read once (the sources read only
 * their anchor months); each standard adds columns, not another read; the request's filters and
 * instants apply to the scan. Without extra columns, the scan keeps only rows some standard's
 * scope takes, so a group without any has no row, as for a single standard. Only fixed
 * fragments chosen from the definitions are put together; every value (dates, scope,
 * thresholds, switches, filters, agencies) is a query parameter.
 */
export function incidentKpisQuery(
  standards: KeyedParts<IncidentStandardVersion>[],
  agencies: readonly string[],
  groupBy: IncidentGrouping = 'none',
  filters: IncidentFilters = {},
  options: KpiQueryOptions = {},
  extra?: ExtraColumns,
): KpiQuery {
  const params: Record<string, unknown> = {};
  const judged = judgedIncidentsSql(standards, agencies, params, groupBy, filters, options, {
    ...(extra ? { facts: extra.facts, everyRow: true } : {}),
    ...(extra?.days ? { days: extra.days } : {}),
  });
  const shared = parameterBinder(params, '');
  const aggregates = standards.flatMap((standard) => {
    const last = standard.parts.at(-1)?.version as IncidentStandardVersion;
    const percentile = shared(
      `${standard.key}percentile`,
      last.statistic.kind === 'percentile' ? last.statistic.percentile : 0.9,
      'Float64',
    );
    return incidentAggregates(
      standard.key,
      percentile,
      last.percentile_method,
      last.statistic.kind === 'percentile',
    );
  });
  const layout = agencyLayout(options);
  // The scan reads a standard's cancelled incidents too (to count them): a group whose only
  // incidents in scope were cancelled still has no row, as before they were counted.
  const having = extra
    ? ''
    : `\nHAVING ${standards.map((standard) => `countIf(${standard.key}in_scope) > 0`).join(' OR ')}`;
  const query = `
SELECT
  ${layout.column}grp AS group,
  ${[...(extra?.aggregates ?? []), ...aggregates].join(',\n  ')}
FROM (${judged}
)
GROUP BY ${layout.groupBy}${having}
ORDER BY ${layout.orderBy}`;
  return { query, params };
}

/** The SQL that computes an incident standard over the given version parts, one row per group. */
export function incidentKpiQueryOver(
  parts: VersionPart<IncidentStandardVersion>[],
  agencies: readonly string[],
  groupBy: IncidentGrouping = 'none',
  filters: IncidentFilters = {},
  options: KpiQueryOptions = {},
): KpiQuery {
  if (parts.length === 0) throw new Error('incidentKpiQueryOver needs at least one version part');
  return incidentKpisQuery([{ key: '', parts }], agencies, groupBy, filters, options);
}

/** The SQL for one version of an incident standard over London days [from, to). */
export function incidentKpiQuery(
  version: IncidentStandardVersion,
  period: { from: string; to: string },
  agencies: readonly string[],
  groupBy: IncidentGrouping = 'none',
  filters: IncidentFilters = {},
  options: KpiQueryOptions = {},
): KpiQuery {
  return incidentKpiQueryOver([{ version, ...period }], agencies, groupBy, filters, options);
}

/** The columns of one standard (its key's prefix taken off) of a row of a query of several. */
export function standardColumns(
  row: Record<string, unknown>,
  key: string,
): Record<string, unknown> {
  if (key === '') return row;
  const own: Record<string, unknown> = { group: row.group };
  if ('agency' in row) own.agency = row.agency;
  for (const [column, value] of Object.entries(row)) {
    if (column.startsWith(key)) own[column.slice(key.length)] = value;
  }
  return own;
}

export interface KpiRow {
  group: string;
  incidents: number;
  cancelled: number;
  n: number;
  met: number;
  not_measured_count: number;
  excluded_total: number;
  with_outcome: number;
  mean_seconds: number;
  percentile_seconds: number | null;
  [column: `excluded_${string}` | `seg_${string}` | `primary_${string}` | `also_${string}`]: number;
  [column: `all_${string}`]: number | null;
}

type ExclusionCounts = Record<(typeof EXCLUSION_REASONS)[number], number>;

/** One response segment over the included incidents: how many had it, its mean and p90. */
export interface SegmentSummary {
  n: number;
  meanSeconds: number | null;
  p90Seconds: number | null;
}

export interface KpiResult {
  group: string;
  version: number;
  /** Incidents in the standard's scope (excluded and not measured included). */
  incidents: number;
  n: number;
  /** The statistic's value, or null when n is below the minimum sample ("insufficient data"). */
  value: number | null;
  insufficientData: boolean;
  met?: number;
  withOutcome?: number;
  meanSeconds: number | null;
  percentileSeconds: number | null;
  notMeasured: number;
  segments: Record<Segment, SegmentSummary>;
  /** Per reason, every incident that matched it (one may match several), and `total`. */
  excluded: ExclusionCounts & { total: number };
  /**
   * Each excluded incident under its primary reason — the first it matched in EXCLUSION_REASONS'
   * order — so these add up to `excluded.total`.
   */
  excludedByPrimaryReason: ExclusionCounts;
  /** Per reason, excluded incidents that matched it but under an earlier primary reason. */
  excludedAlsoMatched: ExclusionCounts;
  /** In the standard's scope but cancelled: never attended, in no other count. */
  cancelled: number;
  /**
   * The "no exclusions" companion: the same statistic over every measured incident in scope,
   * none excluded (`n` incidents, `value` null below the minimum sample).
   */
  withoutExclusions: { n: number; value: number | null; insufficientData: boolean };
}

const exclusionCounts = (row: KpiRow, prefix: 'primary_' | 'also_') =>
  Object.fromEntries(
    EXCLUSION_REASONS.map((reason) => [reason, Number(row[`${prefix}${reason}`] ?? 0)]),
  ) as ExclusionCounts;

/** Turns a query row into the figure the standard defines, honouring the minimum sample. */
export function kpiResult(version: IncidentStandardVersion, row: KpiRow): KpiResult {
  const percentileSeconds = row.n > 0 ? nullableNumber(row.percentile_seconds) : null;
  // An exclusive percentile of too few values is undefined (docs/standards.md): no figure.
  const insufficientData =
    row.n < version.minimum_sample ||
    (version.statistic.kind === 'percentile' && percentileSeconds === null);
  const value = insufficientData ? null : statisticValue(version.statistic, row);
  return {
    group: row.group,
    version: version.version,
    incidents: row.incidents,
    n: row.n,
    value,
    insufficientData,
    ...(version.statistic.kind === 'share_within' ? { met: row.met } : {}),
    ...(version.statistic.kind === 'share_with_outcome' ? { withOutcome: row.with_outcome } : {}),
    meanSeconds: row.n > 0 ? row.mean_seconds : null,
    percentileSeconds,
    notMeasured: row.not_measured_count,
    segments: Object.fromEntries(
      (Object.keys(SEGMENTS) as Segment[]).map((segment) => {
        const n = Number(row[`seg_${segment}_n`] ?? 0);
        return [
          segment,
          {
            n,
            meanSeconds: n > 0 ? Number(row[`seg_${segment}_mean`]) : null,
            p90Seconds: n > 0 ? nullableNumber(row[`seg_${segment}_p90`]) : null,
          },
        ];
      }),
    ) as Record<Segment, SegmentSummary>,
    excluded: {
      total: row.excluded_total,
      late_call: row.excluded_late_call,
      derelict_property: row.excluded_derelict_property,
      abandoned_road_vehicle: row.excluded_abandoned_road_vehicle,
      out_of_sequence: row.excluded_out_of_sequence,
      total_over: row.excluded_total_over,
      total_under: row.excluded_total_under,
    } as KpiResult['excluded'],
    excludedByPrimaryReason: exclusionCounts(row, 'primary_'),
    excludedAlsoMatched: exclusionCounts(row, 'also_'),
    cancelled: Number(row.cancelled ?? 0),
    withoutExclusions: companion(version, row),
  };
}

/** The standard's statistic over all measured incidents in scope, without exclusions. */
function companion(version: IncidentStandardVersion, row: KpiRow): KpiResult['withoutExclusions'] {
  const n = Number(row.all_n ?? 0);
  const counts = {
    n,
    met: Number(row.all_met ?? 0),
    with_outcome: Number(row.all_with_outcome ?? 0),
    mean_seconds: Number(row.all_mean_seconds),
    percentile_seconds: nullableNumber(row.all_percentile_seconds),
  };
  const value = n < version.minimum_sample ? null : statisticValue(version.statistic, counts);
  return { n, value, insufficientData: value === null };
}
