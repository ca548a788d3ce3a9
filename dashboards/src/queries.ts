/**
 * Hand-written SQL for figures that are counts, not a standard's statistic (calls waiting,
 * appliances on the run, ingestion delay, dead letters). Shared by panels and alert rules so a
 * panel and its alert always show the same number. A panel narrows them to the `agency`
 * variable; an alert rule counts each agency apart, or (the pipeline's own health) every row.
 */
import { INCIDENT_BEGINS, inProgressAtWhere, stationsWithoutCoverSql } from '@bluelight/standards';
import {
  type AgencyReach,
  callFactsFrom,
  daysOf,
  END_OF_RANGE,
  incidentFactsFrom,
  resourceIntervalsFrom,
} from './facts.js';
import { agencyFilter } from './panels.js';

/** Raw event tables, one per family. */
const RAW_TABLES = {
  calls: 'calls_raw',
  incidents: 'incidents_raw',
  resources: 'resources_raw',
};

/** A call presented longer ago than this and still open is taken as lost, not waiting. */
const WAITING_HORIZON = 'INTERVAL 1 HOUR';
const HORIZON_DAYS = daysOf({ from: `$__toTime - ${WAITING_HORIZON}`, to: '$__toTime' });

/**
 * Calls presented, not yet answered, abandoned or closed at the end of the range ("now"): of
 * the agencies in the `agency` variable (a panel), or per agency (an alert rule's instances).
 */
export function callsWaitingSql(scope: 'variable' | 'per agency', groupByLine: boolean): string {
  const waiting = `presented_at <= $__toTime
  AND ifNull(answered_at > $__toTime, 1)
  AND ifNull(abandoned_at > $__toTime, 1)
  AND ifNull(closed_at > $__toTime, 1)`;
  if (scope === 'per agency') {
    // Every agency with a call in the horizon gets a row, 0 when none is waiting, so its alert
    // instance resolves instead of going missing.
    const line = groupByLine ? 'CAST(line AS String) AS line, ' : '';
    return `
SELECT CAST(agency AS String) AS agency, ${line}countIf(${waiting.replaceAll('\n  ', ' ')}) AS waiting
FROM ${callFactsFrom(HORIZON_DAYS, 'per agency')}
WHERE presented_at <= $__toTime
  AND presented_at > $__toTime - ${WAITING_HORIZON}
GROUP BY agency${groupByLine ? ', line' : ''}
ORDER BY agency${groupByLine ? ', line' : ''}`;
  }
  return `
SELECT ${groupByLine ? 'CAST(line AS String) AS line, ' : ''}count() AS waiting
FROM ${callFactsFrom(HORIZON_DAYS)}
WHERE ${waiting}
  AND presented_at > $__toTime - ${WAITING_HORIZON}${groupByLine ? '\nGROUP BY line\nORDER BY line' : ''}`;
}

/** Seconds since the newest event of any family (and any agency) was ingested, at the end of the range. */
export const ingestionDelaySql = () => `
SELECT dateDiff('millisecond', max(newest), toDateTime64($__toTime, 3)) / 1000 AS delay_seconds
FROM (
${Object.values(RAW_TABLES)
  .map(
    (table) =>
      `  SELECT max(_ingested_at) AS newest FROM ${table} WHERE _ingested_at <= $__toTime AND _ingested_at > $__toTime - INTERVAL 1 DAY`,
  )
  .join('\n  UNION ALL\n')}
)`;

/** The same per family, of the agencies chosen (a family silent for a day shows a day). */
export const ingestionDelayByFamilySql = () => `
SELECT family, dateDiff('millisecond', newest, toDateTime64($__toTime, 3)) / 1000 AS delay_seconds
FROM (
${Object.entries(RAW_TABLES)
  .map(
    ([family, table]) =>
      `  SELECT '${family}' AS family, max(_ingested_at) AS newest FROM ${table} WHERE _ingested_at <= $__toTime AND _ingested_at > $__toTime - INTERVAL 1 DAY AND ${agencyFilter()}`,
  )
  .join('\n  UNION ALL\n')}
)
ORDER BY family`;

/**
 * Messages dead-lettered within the range. Dead letters are the pipeline's, not an agency's: a
 * refused message may have no readable agency at all, so these count every one.
 */
export const deadLettersSql = () => `
SELECT count() AS dead_letters
FROM dead_letters FINAL
WHERE $__timeFilter(failed_at)`;

/** Dead letters per minute over the range, per source topic (no row: none). */
export const deadLetterRateSql = () => `
SELECT CAST(original_topic AS String) AS topic,
  count() * 60 / dateDiff('second', $__fromTime, $__toTime) AS per_minute
FROM dead_letters FINAL
WHERE $__timeFilter(failed_at)
GROUP BY topic
ORDER BY topic`;

/** Every family's raw events of the agencies chosen, as (family, event time, ingestion time, correction flags). */
export const rawEventsSql = (where: string) =>
  Object.entries(RAW_TABLES)
    .map(
      ([family, table]) =>
        `  SELECT '${family}' AS family, event_type, occurred_at, _ingested_at, corrects_event_id FROM ${table} WHERE ${where} AND ${agencyFilter()}`,
    )
    .join('\n  UNION ALL\n');

/** The end of the range ("now" on a wall screen, the evaluation instant of a rule). */
const NOW = 'toDateTime64($__toTime, 3)';
/** How far back a station's run without a free appliance is looked for (longer: "at least" this). */
export const WITHOUT_COVER_LOOKBACK = 'INTERVAL 1 DAY';

/**
 * Every station with appliances, at the end of the range: how many of its appliances are free to
 * send, and for how many minutes none has been (0 when one is) — `stationsWithoutCoverSql` over
 * the last day's status intervals. One row per agency and station, so the alert's instances
 * resolve (0) rather than go missing.
 */
export function withoutCoverSql(reach: AgencyReach): string {
  const intervals = resourceIntervalsFrom(
    { from: `${NOW} - ${WITHOUT_COVER_LOOKBACK}`, to: END_OF_RANGE },
    reach,
  );
  return stationsWithoutCoverSql(`SELECT * FROM ${intervals}`, NOW);
}

/** How long incidents stay in progress at most for "now" (the incident facts read before it). */
const IN_PROGRESS_HORIZON = 'INTERVAL 2 DAY';

/** Incidents in progress at the end of the range (`inProgressAtWhere`), of the agencies chosen. */
export const incidentsInProgressSql = () => `
SELECT count() AS in_progress
FROM ${incidentFactsFrom(daysOf({ from: `$__toTime - ${IN_PROGRESS_HORIZON}`, to: '$__toTime' }))}
WHERE ${inProgressAtWhere(NOW).join('\n  AND ')}
  AND service = 'fire'
  AND ${INCIDENT_BEGINS} > $__toTime - ${IN_PROGRESS_HORIZON}`;
