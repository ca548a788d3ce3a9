import type { ClickHouseClient } from '@clickhouse/client';
import type { StandardDefinition } from './definition.js';
import { computeKpi, type KpiRequest, type KpiResponse, nextDay, planKpi } from './engine.js';
import {
  type IncidentStandardVersion,
  incidentKpisQuery,
  type KpiResult,
  type Segment,
} from './incident-kpi.js';
import { agencyList, parameterBinder, type VersionPart } from './kpi-common.js';
import { versionsDuring } from './load.js';

/**
 * The series behind the annual report's charts (the HTML and PDF document), each computed in
 * ClickHouse by the same standards as the report's table: the attendance standard by month (with
 * its response segments) and by station, the distribution of its measured times by risk band,
 * the 999 answer bands by month, availability by station and the demand of each hour of the
 * week. The document draws these numbers and nothing else.
 */

/** Fire incidents attended (not cancelled): the table's `fireIncidents.total`. */
export const ATTENDED_FIRE = `service = 'fire' AND cancelled = 0`;

/** Whole minutes in the attendance distribution; a last bin holds everything from here on. */
export const DISTRIBUTION_MINUTES = 30;

interface ChartsIds {
  attendanceStandard: string;
  wholetimeAvailability: string;
  onCallAvailability: string;
  calls999: string;
}

type Period = { from: string; to: string };

const inForce = (standards: StandardDefinition[], id: string, period: Period) => {
  const standard = standards.find((candidate) => candidate.id === id);
  return (
    standard !== undefined && versionsDuring(standard, period.from, nextDay(period.to)).length > 0
  );
};

/** The standard's rows grouped as asked; none when no version was in force in the period. */
async function grouped(
  client: ClickHouseClient,
  standards: StandardDefinition[],
  request: KpiRequest,
): Promise<KpiResponse | undefined> {
  if (!inForce(standards, request.standard, request)) return undefined;
  return computeKpi(client, standards, request);
}

const targetShareOf = (response: KpiResponse | undefined) =>
  (response?.target as { targetShare?: number } | undefined)?.targetShare ?? null;

const SEGMENTS_DRAWN: Segment[] = ['call_handling', 'turnout', 'travel'];

/** The attendance standard's measured times in whole minutes, per risk band, with its threshold. */
async function attendanceDistribution(
  client: ClickHouseClient,
  standards: StandardDefinition[],
  id: string,
  period: Period,
  agencies: readonly string[],
) {
  if (!inForce(standards, id, period)) return { standard: id, bands: [] };
  const plan = planKpi(standards, { standard: id, ...period, agencies, groupBy: 'risk_band' });
  const parts = plan.parts as VersionPart<IncidentStandardVersion>[];
  // `included` and `seconds` are the standard's own columns (key ''): measured, not excluded.
  const bins = Array.from({ length: DISTRIBUTION_MINUTES + 1 }, (_, minute) =>
    minute < DISTRIBUTION_MINUTES
      ? `countIf(included AND seconds >= ${minute * 60} AND seconds < ${(minute + 1) * 60}) AS bin_${minute}`
      : `countIf(included AND seconds >= ${minute * 60}) AS bin_${minute}`,
  );
  const { query, params } = incidentKpisQuery(
    [{ key: '', parts }],
    plan.agencies,
    'risk_band',
    {},
    {},
    { aggregates: bins, facts: [] },
  );
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  const rows = await result.json<Record<string, string | number>>();
  const statistic = (plan.last.version as IncidentStandardVersion).statistic;
  const thresholds =
    statistic.kind === 'share_within' &&
    typeof statistic.threshold_seconds === 'object' &&
    'by_risk_band' in statistic.threshold_seconds
      ? statistic.threshold_seconds.by_risk_band
      : undefined;
  const order = ['high', 'medium', 'low'];
  return {
    standard: id,
    binSeconds: 60,
    bands: rows
      .filter((row) => Number(row.n) > 0)
      .map((row) => ({
        riskBand: String(row.group),
        thresholdSeconds: thresholds?.[row.group as keyof typeof thresholds] ?? null,
        n: Number(row.n),
        met: Number(row.met),
        counts: Array.from({ length: DISTRIBUTION_MINUTES + 1 }, (_, minute) =>
          Number(row[`bin_${minute}`] ?? 0),
        ),
      }))
      .sort((a, b) => order.indexOf(a.riskBand) - order.indexOf(b.riskBand)),
  };
}

/**
 * Fire incidents attended in each hour of the week (London time of the call: ISO day 1 = Monday,
 * hour 0–23), every one of the 168 hours, so they add up to the table's attended total.
 */
async function demandByHourOfWeek(
  client: ClickHouseClient,
  standards: StandardDefinition[],
  id: string,
  period: Period,
  agencies: readonly string[],
) {
  const counts = new Map<string, number>();
  if (inForce(standards, id, period)) {
    // The scan needs a standard's columns to be built; its own figures are not used here.
    const plan = planKpi(standards, { standard: id, ...period, agencies });
    const { query, params } = incidentKpisQuery(
      [{ key: 's_', parts: plan.parts as VersionPart<IncidentStandardVersion>[] }],
      plan.agencies,
      'hour_of_week',
      {},
      {},
      {
        aggregates: [`countIf(${ATTENDED_FIRE}) AS attended`],
        facts: ['service', 'cancelled'],
        days: { from: period.from, to: nextDay(period.to) },
      },
    );
    const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
    for (const row of await result.json<{ group: string; attended: string | number }>()) {
      counts.set(row.group, Number(row.attended));
    }
  }
  const rows: { dayOfWeek: number; hour: number; incidents: number }[] = [];
  for (let day = 1; day <= 7; day++) {
    for (let hour = 0; hour < 24; hour++) {
      const incidents = counts.get(`${day}-${String(hour).padStart(2, '0')}`) ?? 0;
      rows.push({ dayOfWeek: day, hour, incidents });
    }
  }
  return { rows };
}

const byShareThenName = (
  a: { share: number | null; station: string },
  b: { share: number | null; station: string },
) =>
  (b.share ?? Number.NEGATIVE_INFINITY) - (a.share ?? Number.NEGATIVE_INFINITY) ||
  a.station.localeCompare(b.station);

/** Each station's share of appliance time on the run, ranked. */
function availabilityByStation(response: KpiResponse | undefined, id: string) {
  const rows = (response?.rows ?? []) as { group: string; value: number | null; hours: number }[];
  return {
    standard: id,
    target: targetShareOf(response),
    rows: rows
      .map((row) => ({ station: row.group, share: row.value, hours: row.hours }))
      .sort(byShareThenName),
  };
}

/** The series of every chart of the annual report document, for one period. */
export async function reportCharts(
  client: ClickHouseClient,
  standards: StandardDefinition[],
  ids: ChartsIds,
  period: Period,
  agencies: readonly string[],
) {
  const request = (standard: string, groupBy: string): KpiRequest => ({
    standard,
    ...period,
    agencies,
    groupBy,
  });
  const [byMonth, byStation, distribution, calls, wholetime, onCall, demand, asOf] =
    await Promise.all([
      grouped(client, standards, request(ids.attendanceStandard, 'month')),
      grouped(client, standards, request(ids.attendanceStandard, 'station')),
      attendanceDistribution(client, standards, ids.attendanceStandard, period, agencies),
      grouped(client, standards, request(ids.calls999, 'month')),
      grouped(client, standards, request(ids.wholetimeAvailability, 'station')),
      grouped(client, standards, request(ids.onCallAvailability, 'station')),
      demandByHourOfWeek(client, standards, ids.attendanceStandard, period, agencies),
      dataAsOf(client, agencies),
    ]);
  const incidentRows = (response: KpiResponse | undefined) => (response?.rows ?? []) as KpiResult[];
  const callRows = (calls?.rows ?? []) as {
    group: string;
    calls: number;
    n: number;
    value: number | null;
    meanSeconds: number | null;
    bands: number[];
  }[];
  return {
    asOf,
    attendanceByMonth: {
      standard: ids.attendanceStandard,
      target: targetShareOf(byMonth),
      rows: incidentRows(byMonth).map((row) => ({
        month: row.group,
        share: row.value,
        n: row.n,
        met: row.met ?? 0,
        insufficientData: row.insufficientData,
        // Mean seconds of each response segment over the month's measured incidents.
        segments: Object.fromEntries(
          SEGMENTS_DRAWN.map((segment) => [segment, row.segments[segment].meanSeconds]),
        ) as Record<'call_handling' | 'turnout' | 'travel', number | null>,
      })),
    },
    attendanceByStation: {
      standard: ids.attendanceStandard,
      target: targetShareOf(byStation),
      rows: incidentRows(byStation)
        .map((row) => ({
          station: row.group,
          share: row.value,
          n: row.n,
          met: row.met ?? 0,
          insufficientData: row.insufficientData,
        }))
        .sort(byShareThenName),
    },
    attendanceDistribution: distribution,
    calls999ByMonth: {
      standard: ids.calls999,
      target: targetShareOf(calls),
      bandsSeconds: calls && 'bandsSeconds' in calls ? calls.bandsSeconds : [],
      rows: callRows.map((row) => ({
        month: row.group,
        calls: row.calls,
        answered: row.n,
        withinShare: row.value,
        bands: row.bands,
      })),
    },
    wholetimeByStation: availabilityByStation(wholetime, ids.wholetimeAvailability),
    onCallByStation: availabilityByStation(onCall, ids.onCallAvailability),
    demandByHourOfWeek: demand,
  };
}

export type ReportCharts = Awaited<ReturnType<typeof reportCharts>>;

/**
 * When the data was last brought up to date: the newest event of the agencies' calls, incidents
 * and appliances (its event time) and when it was ingested (UTC; null when there is none).
 */
export async function dataAsOf(client: ClickHouseClient, agencies: readonly string[]) {
  const params: Record<string, unknown> = {};
  const list = agencyList(parameterBinder(params, ''), [...new Set(agencies)].sort());
  const query = `
SELECT
  if(count() = 0, NULL, toString(max(occurred_at))) AS newest_event_at,
  if(count() = 0, NULL, toString(max(_ingested_at))) AS ingested_at
FROM (
  ${['calls_raw', 'incidents_raw', 'resources_raw']
    .map(
      (table) =>
        `SELECT occurred_at, _ingested_at FROM ${table} WHERE CAST(agency AS String) IN ${list}`,
    )
    .join('\n  UNION ALL\n  ')}
)`;
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  const [row] = await result.json<{ newest_event_at: string | null; ingested_at: string | null }>();
  const iso = (value: string | null | undefined) =>
    value ? `${value.replace(' ', 'T')}${value.includes('.') ? '' : '.000'}Z` : null;
  return { newestEventAt: iso(row?.newest_event_at), ingestedAt: iso(row?.ingested_at) };
}
