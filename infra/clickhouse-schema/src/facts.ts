/**
 * Where every figure reads its facts from: SQL sources with the columns of one incident, one call
 * or one availability interval per row, built from the tables ClickHouse keeps
 * (migrations/0006_derived_facts.sql). Each source reads only the anchor months
 * that can hold the period's entities, merging with FINAL within those partitions, and takes the
 * recomputed facts of revised entities (corrections, retractions) instead of their aggregates.
 *
 * Every argument is SQL text: a query parameter placeholder (`{from:Date}`) from the query
 * builders, or a Grafana macro or expression from the dashboards. Values are never inlined here.
 */

/** London days [from, to) as SQL Date expressions; `to` is exclusive. */
export interface DaysSql {
  from: string;
  to: string;
}

/** Instants [from, to) as SQL DateTime expressions. */
export interface InstantsSql {
  from: string;
  to: string;
}

/** FINAL merges only within a partition: an entity's rows all share its anchor's partition. */
export const WITHIN_PARTITIONS = 'SETTINGS do_not_merge_across_partitions_select_final = 1';

/** The anchor months an entity whose London day lies in `days` can have: those months and the next. */
export function anchorWindow(days: DaysSql): string {
  return `anchor >= toStartOfMonth(${days.from})
      AND anchor <= addMonths(toStartOfMonth(${days.to} - 1), 1)`;
}

/**
 * Which agencies a source reads: SQL for an Array(String) (a query parameter placeholder, a
 * Grafana variable), or EVERY_AGENCY for tools and tests that read the whole database.
 */
export type AgenciesSql = string | typeof EVERY_AGENCY;
export const EVERY_AGENCY = null;

export function agencyFilter(agencies: AgenciesSql): string {
  return agencies === EVERY_AGENCY ? '' : ` AND agency IN ${agencies}`;
}

interface FactTables {
  family: 'incidents' | 'calls';
  idColumn: string;
  facts: string;
  revisions: string;
  /** The aggregate-shaped columns both tables have. */
  columns: string[];
}

const INCIDENT_TABLES: FactTables = {
  family: 'incidents',
  idColumn: 'incident_id',
  facts: 'incident_facts',
  revisions: 'incident_fact_revisions',
  columns: [
    'agency',
    'incident_id',
    'anchor',
    'call_received_at',
    'created_at',
    'first_mobilised_at',
    'first_mobile_at',
    'arrivals',
    'closed_at',
    'cancelled',
    'details',
    'placement',
    'closure',
    'last_event_at',
    'last_ingested_at',
  ],
};

const CALL_TABLES: FactTables = {
  family: 'calls',
  idColumn: 'call_id',
  facts: 'call_facts',
  revisions: 'call_fact_revisions',
  columns: [
    'agency',
    'call_id',
    'anchor',
    'presented_at',
    'answered_at',
    'abandoned_at',
    'closed_at',
    'presentation',
    'closure',
    'last_event_at',
    'last_ingested_at',
  ],
};

/**
 * The rows of a family's entities that can have a London day in `days`, by anchor: the anchor
 * months of the period (partition pruning) or the rare entity anchored far from its day, by key.
 */
export function anchoredWhere(
  family: 'incidents' | 'calls',
  idColumn: string,
  days: DaysSql,
  agencies: AgenciesSql,
): string {
  const exceptions = `SELECT agency, anchor, entity_id FROM fact_anchor_exceptions
        WHERE family = '${family}' AND day >= ${days.from} AND day < ${days.to}${agencyFilter(agencies)}`;
  return `(${anchorWindow(days)}
        OR (agency, anchor, ${idColumn}) IN (${exceptions}))`;
}

/**
 * The aggregate-shaped fact rows of a family's entities that can have a London day in `days`:
 * aggregates of entities never revised and the latest recomputation of revised ones, each read
 * from the anchor months of the period (partition pruning) plus the rare entities anchored far
 * from their day (fact_anchor_exceptions), found by key in the same read. Two reads, not four:
 * each FINAL read costs its own plan and pipeline, and the exceptions' key set prunes partitions
 * as well as the anchor window does (EXPLAIN indexes=1 shows both in the Min-Max condition).
 */
function factRowsSql(tables: FactTables, days: DaysSql, agencies: AgenciesSql): string {
  const columns = tables.columns.join(', ');
  const agency = agencyFilter(agencies);
  const wanted = anchoredWhere(tables.family, tables.idColumn, days, agencies);
  return `
    SELECT ${columns} FROM ${tables.facts} FINAL
    WHERE ${wanted}${agency} AND revised = 0
    ${WITHIN_PARTITIONS}
    UNION ALL
    SELECT ${columns} FROM ${tables.revisions} FINAL
    WHERE ${wanted}${agency}
    ${WITHIN_PARTITIONS}`;
}

/**
 * One row per incident that can have a London day in `days` (callers filter on `day`), with the
 * columns the figures use: times, the first two arrivals, classification, closure, exclusions.
 */
export function incidentFactsSql(days: DaysSql, agencies: AgenciesSql): string {
  return `
  SELECT
    agency,
    incident_id,
    details.service AS service,
    call_received_at,
    created_at,
    first_mobilised_at,
    first_mobile_at,
    -- The first and second arrivals: each appliance's first arrival, earliest first (equal
    -- times: by appliance id). Written without sorting tuples where a time is enough, which
    -- keeps every figure's expressions (and the engine's planning of them) small.
    if(empty(arrivals), NULL, toNullable(arrayMin(mapValues(arrivals)))) AS first_arrival_at,
    if(empty(arrivals), '', arraySort((resource, at) -> (at, resource), mapKeys(arrivals), mapValues(arrivals))[1]) AS first_arrival_resource_id,
    if(length(arrivals) >= 2, toNullable(arraySort(mapValues(arrivals))[2]), NULL) AS second_arrival_at,
    closed_at,
    cancelled,
    details.category AS category,
    details.category_subtype AS category_subtype,
    details.risk_band AS risk_band,
    details.life_risk AS life_risk,
    details.police_grading AS police_grading,
    details.area_type AS area_type,
    placement.station_ground AS station_ground,
    placement.area AS area,
    closure.stop_code AS stop_code,
    closure.late_call AS excluded_late_call,
    closure.derelict_property AS excluded_derelict_property,
    closure.abandoned_road_vehicle AS excluded_abandoned_road_vehicle,
    closure.delay_reason AS delay_reason,
    -- A clock stop before its start (e.g. arrival before mobilisation): a Home Office exclusion.
    toUInt8(
      ifNull(first_mobilised_at < call_received_at, 0)
      OR ifNull(first_mobile_at < first_mobilised_at, 0)
      OR ifNull(first_arrival_at < first_mobilised_at, 0)
      OR ifNull(first_arrival_at < call_received_at, 0)
    ) AS out_of_sequence,
    last_event_at,
    last_ingested_at,
    -- The Europe/London day of the call (or of creation when the call time is missing).
    toDate(coalesce(call_received_at, created_at), 'Europe/London') AS day
  FROM (${factRowsSql(INCIDENT_TABLES, days, agencies)}
  )`;
}

/** One row per call that can have been presented on a London day in `days`. */
export function callFactsSql(days: DaysSql, agencies: AgenciesSql): string {
  return `
  SELECT
    agency,
    call_id,
    presentation.line AS line,
    presentation.service AS service,
    presentation.queue AS queue,
    presented_at,
    -- An answer without a presentation, or before it, is kept but measures nothing.
    answered_at,
    -- A caller who hung up after being answered did not abandon the call.
    if(answered_at IS NULL, abandoned_at, NULL) AS abandoned_at,
    closed_at,
    if(answered_at >= presented_at, dateDiff('millisecond', presented_at, answered_at) / 1000, NULL) AS answer_seconds,
    closure.outcome AS outcome,
    closure.incident_id AS incident_id,
    last_event_at,
    last_ingested_at,
    toDate(presented_at, 'Europe/London') AS day
  FROM (${factRowsSql(CALL_TABLES, days, agencies)}
  )`;
}

/** How far back the last change before a period is first looked for. */
const RECENT_CARRY_IN = 'INTERVAL 35 DAY';

const CHANGE_COLUMNS = [
  'home_station',
  'appliance_type',
  'crewing_model',
  'status',
  'unavailable_reason',
  'committed_incident_id',
  'available',
  'event_id',
];

/**
 * The last change before `before` of each appliance whose changes `where` selects, spread back
 * into the change columns.
 */
function lastChangesSql(where: string, agencies: AgenciesSql): string {
  const unpacked = CHANGE_COLUMNS.map((column, index) => `last.${index + 2} AS ${column}`).join(
    ', ',
  );
  return `
      SELECT agency, resource_id, last.1 AS start_at, ${unpacked}
      FROM (
        SELECT agency, resource_id, argMax((start_at, ${CHANGE_COLUMNS.join(', ')}), start_at) AS last
        FROM resource_changes FINAL
        WHERE ${where}${agencyFilter(agencies)}
        GROUP BY agency, resource_id
      )`;
}

/**
 * Availability intervals that overlap the instants [from, to): every status change in the
 * period, plus each appliance's last change before it (its status when the period began); an
 * interval ends at the appliance's next change, or is open (end_at NULL) while it has none.
 */
export function resourceIntervalsSql(instants: InstantsSql, agencies: AgenciesSql): string {
  const from = `toDateTime64(${instants.from}, 3, 'UTC')`;
  const to = `toDateTime64(${instants.to}, 3, 'UTC')`;
  const recentFrom = `${from} - ${RECENT_CARRY_IN}`;
  const agency = agencyFilter(agencies);
  const columns = `agency, resource_id, start_at, ${CHANGE_COLUMNS.join(', ')}`;
  return `
  SELECT
    agency, resource_id, start_at,
    leadInFrame(toNullable(start_at)) OVER (
      PARTITION BY agency, resource_id ORDER BY start_at
      ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING
    ) AS end_at,
    ${CHANGE_COLUMNS.join(', ')}
  FROM (
    SELECT ${columns} FROM resource_changes FINAL
    WHERE start_at >= ${from} AND start_at < ${to}${agency}
    UNION ALL
    ${lastChangesSql(`start_at >= ${recentFrom} AND start_at < ${from}`, agencies)}
    UNION ALL
    -- Appliances with no change in the weeks before the period but some before that. The set
    -- is chosen in the subquery, so that the read of older changes is narrowed by the primary
    -- key to those appliances alone — usually none: a busy fleet changes every few days.
    ${lastChangesSql(
      `start_at < ${recentFrom}
        AND (agency, resource_id) IN (
          SELECT agency, resource_id FROM resource_registry
          WHERE first_change_at < ${recentFrom}${agency}
            AND (agency, resource_id) NOT IN (
              SELECT agency, resource_id FROM resource_changes FINAL
              WHERE start_at >= ${recentFrom} AND start_at < ${from}${agency}
            )
        )`,
      agencies,
    )}
  )`;
}
