import type { ClickHouseClient } from '@clickhouse/client';
import type { StandardDefinition, StandardVersion } from './definition.js';
import { computeKpi, KpiRequestError, type KpiResponse, nextDay, planKpi } from './engine.js';
import {
  type IncidentStandardVersion,
  incidentKpisQuery,
  type KpiRow,
  kpiResult,
} from './incident-kpi.js';
import type { VersionPart } from './kpi-common.js';
import { versionsDuring } from './load.js';
import { ATTENDED_FIRE, type ReportCharts, reportCharts } from './report-charts.js';
import { operationsSection } from './report-operations.js';

/** The standards each line of the annual report is computed from (ids of shipped standards). */
export const REPORT_STANDARDS = {
  attendanceStandard: 'fire-attendance-standard',
  averageFireAttendance: 'fire-average-attendance',
  wholetimeAvailability: 'appliance-availability-wholetime',
  onCallAvailability: 'appliance-availability-on-call',
  fallsAttendance: 'falls-response',
  fallsOutcome: 'falls-response-outcome',
  policeEmergency: 'police-emergency-attendance',
  calls999: 'calls-999-answer',
  calls101: 'calls-101-triage',
} as const;

export interface ReportPeriod {
  /** First London day, YYYY-MM-DD. */
  from: string;
  /** Last London day, inclusive. */
  to: string;
}

/** The period of the same length ending the day before `period` starts (a year before a year). */
export function previousPeriod(period: ReportPeriod): ReportPeriod {
  const from = new Date(`${period.from}T00:00:00Z`);
  const to = new Date(`${period.to}T00:00:00Z`);
  const wholeYears =
    from.getUTCMonth() === new Date(`${nextDay(period.to)}T00:00:00Z`).getUTCMonth() &&
    from.getUTCDate() === new Date(`${nextDay(period.to)}T00:00:00Z`).getUTCDate();
  if (wholeYears) {
    // A period of whole years (e.g. a financial year): the same dates one year earlier.
    const years =
      new Date(`${nextDay(period.to)}T00:00:00Z`).getUTCFullYear() - from.getUTCFullYear();
    const shift = (date: Date) => {
      const shifted = new Date(date);
      shifted.setUTCFullYear(date.getUTCFullYear() - years);
      return shifted.toISOString().slice(0, 10);
    };
    return { from: shift(from), to: shift(to) };
  }
  const days = Math.round((to.getTime() - from.getTime()) / 86_400_000) + 1;
  const previousTo = new Date(from.getTime() - 86_400_000);
  const previousFrom = new Date(previousTo.getTime() - (days - 1) * 86_400_000);
  return {
    from: previousFrom.toISOString().slice(0, 10),
    to: previousTo.toISOString().slice(0, 10),
  };
}

interface CategoryCounts {
  total: number;
  primary_fire: number;
  secondary_fire: number;
  chimney_fire: number;
  special_service: number;
  road_traffic_collision: number;
  false_alarm: number;
  cancelled: number;
}

/** Days of a period a figure does not cover, and why. */
export interface UncoveredDays {
  from: string;
  to: string;
  reason: string;
}

/** Which days of the period a standard had a version in force on (inclusive London days). */
export interface Coverage {
  /** The days the figure is computed over; null when no version was in force on any day. */
  covers: { from: string; to: string } | null;
  /** The rest of the period: before the standard's first version, or after its last ended. */
  uncovered: UncoveredDays[];
}

const dayBefore = (date: string) =>
  new Date(Date.parse(`${date}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);

/**
 * The part of the period a standard's versions cover. Versions follow one another without a gap
 * (load.ts checks), so what is not covered is a stretch before the first version and/or after
 * the last one ended.
 */
export function standardCoverage(standard: StandardDefinition, period: ReportPeriod): Coverage {
  const versions = standard.versions as StandardVersion[];
  const first = versions[0]?.effective_from ?? '9999-12-31';
  const end = versions.at(-1)?.effective_to;
  const before = (to: string): UncoveredDays => ({
    from: period.from,
    to,
    reason: `precedes the standard ${standard.id} (in force from ${first})`,
  });
  const after = (from: string): UncoveredDays => ({
    from,
    to: period.to,
    reason: `follows the standard ${standard.id} (its last version ended ${end})`,
  });
  const parts = versionsDuring(standard, period.from, nextDay(period.to));
  const start = parts[0]?.from;
  const stop = parts.at(-1)?.to;
  if (start === undefined || stop === undefined) {
    return {
      covers: null,
      uncovered: [first > period.to ? before(period.to) : after(period.from)],
    };
  }
  const covers = { from: start, to: dayBefore(stop) };
  return {
    covers,
    uncovered: [
      ...(covers.from > period.from ? [before(dayBefore(covers.from))] : []),
      ...(covers.to < period.to ? [after(nextDay(covers.to))] : []),
    ],
  };
}

/** A report figure: a standard's single (ungrouped) result and the days it covers. */
interface Figure {
  id: string;
  response: KpiResponse | undefined;
  row: KpiResponse['rows'][number] | undefined;
  versions: number[];
  coverage: Coverage;
}

const standardOf = (standards: StandardDefinition[], id: string) =>
  standards.find((candidate) => candidate.id === id) as StandardDefinition;

const figureOf = (id: string, coverage: Coverage, response?: KpiResponse): Figure => ({
  id,
  response,
  row: response?.rows[0],
  versions: response?.versions.map((part) => part.version) ?? [],
  coverage,
});

/**
 * The standard's single (ungrouped) result over the days a version of it was in force (none
 * when no day was: a period before the standard existed has no figure, and says so).
 */
async function overall(
  client: ClickHouseClient,
  standards: StandardDefinition[],
  id: string,
  period: ReportPeriod,
  agencies: readonly string[],
): Promise<Figure> {
  const coverage = standardCoverage(standardOf(standards, id), period);
  if (coverage.covers === null) return figureOf(id, coverage);
  return figureOf(
    id,
    coverage,
    await computeKpi(client, standards, { standard: id, ...period, agencies }),
  );
}

/**
 * Fire incidents attended by Home Office category (RTCs apart from other special services):
 * cancelled incidents were not attended and are left out, counted apart (`cancelled`).
 */
const CATEGORY_COUNTS = {
  aggregates: [
    `countIf(${ATTENDED_FIRE}) AS total`,
    `countIf(${ATTENDED_FIRE} AND category = 'primary_fire') AS primary_fire`,
    `countIf(${ATTENDED_FIRE} AND category = 'secondary_fire') AS secondary_fire`,
    `countIf(${ATTENDED_FIRE} AND category = 'chimney_fire') AS chimney_fire`,
    `countIf(${ATTENDED_FIRE} AND category = 'special_service' AND category_subtype != 'road_traffic_collision') AS special_service`,
    `countIf(${ATTENDED_FIRE} AND category = 'special_service' AND category_subtype = 'road_traffic_collision') AS road_traffic_collision`,
    `countIf(${ATTENDED_FIRE} AND category = 'false_alarm') AS false_alarm`,
    `countIf(service = 'fire' AND cancelled = 1) AS cancelled_fire`,
  ],
  facts: ['service', 'category', 'category_subtype', 'cancelled'],
};

/**
 * The report's incident figures — the attended fire incidents by category and every incident
 * standard of `ids` — in one scan of the period's incident facts: each standard adds columns
 * (prefixed `s<i>_`), not a read. Each figure equals computeKpi's for its standard alone.
 */
async function incidentFigures(
  client: ClickHouseClient,
  standards: StandardDefinition[],
  ids: string[],
  period: ReportPeriod,
  agencies: readonly string[],
): Promise<{ categories: CategoryCounts; figures: Figure[] }> {
  const planned = ids.map((id, index) => {
    const coverage = standardCoverage(standardOf(standards, id), period);
    const plan =
      coverage.covers === null
        ? undefined
        : planKpi(standards, { standard: id, ...period, agencies });
    return { id, key: `s${index}_`, coverage, plan };
  });
  const scanned = planned.flatMap(({ key, plan }) =>
    plan ? [{ key, parts: plan.parts as VersionPart<IncidentStandardVersion>[] }] : [],
  );
  const { query, params } = incidentKpisQuery(
    scanned,
    [...new Set(agencies)].sort(),
    'none',
    {},
    {},
    { ...CATEGORY_COUNTS, days: { from: period.from, to: nextDay(period.to) } },
  );
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  // No row when the period has no incident facts at all (the scan is grouped).
  const [row] = await result.json<Record<string, string | number | null>>();
  const count = (column: string) => Number(row?.[column] ?? 0);
  const categories: CategoryCounts = {
    total: count('total'),
    primary_fire: count('primary_fire'),
    secondary_fire: count('secondary_fire'),
    chimney_fire: count('chimney_fire'),
    special_service: count('special_service'),
    road_traffic_collision: count('road_traffic_collision'),
    false_alarm: count('false_alarm'),
    cancelled: count('cancelled_fire'),
  };
  const figures = planned.map(({ id, key, coverage, plan }) => {
    if (!plan) return figureOf(id, coverage);
    // As for the standard alone: a row only when some incident was in its scope.
    const inScope = row !== undefined && count(`${key}incidents`) > 0;
    const own = inScope
      ? (Object.fromEntries(
          Object.entries(row)
            .filter(([column]) => column.startsWith(key))
            .map(([column, value]) => [column.slice(key.length), value]),
        ) as unknown as KpiRow)
      : undefined;
    const version = plan.last.version as IncidentStandardVersion;
    const rows = own ? [kpiResult(version, { ...own, group: String(row?.group ?? '') })] : [];
    return figureOf(id, coverage, { ...plan.header, rows });
  });
  return { categories, figures };
}

const minutes = (seconds: number | null | undefined) =>
  seconds === null || seconds === undefined ? null : seconds / 60;

/** The report's standards are all loaded and an agency is given, before any query is sent. */
function checkReportRequest(standards: StandardDefinition[], agencies: readonly string[]): void {
  for (const id of Object.values(REPORT_STANDARDS)) {
    if (!standards.some((standard) => standard.id === id)) {
      throw new KpiRequestError('standards', `the report needs the standard "${id}"`);
    }
  }
  if (agencies.length === 0) {
    throw new KpiRequestError('agency', 'give at least one agency whose report to compute');
  }
}

/**
 * The annual report's figures for one period, each from the standard that defines it, over the
 * rows of the agencies given (together: a county's fire service, police force and control room).
 */
export async function reportFigures(
  client: ClickHouseClient,
  standards: StandardDefinition[],
  period: ReportPeriod,
  agencies: readonly string[],
) {
  const ids = REPORT_STANDARDS;
  checkReportRequest(standards, agencies);
  const figure = (id: string) => overall(client, standards, id, period, agencies);
  // One scan of the incident facts for every incident figure, beside the call and availability
  // figures (the server answers several queries at once).
  const [scan, wholetime, onCall, calls999, calls101] = await Promise.all([
    incidentFigures(
      client,
      standards,
      [
        ids.attendanceStandard,
        ids.averageFireAttendance,
        ids.fallsAttendance,
        ids.fallsOutcome,
        ids.policeEmergency,
      ],
      period,
      agencies,
    ),
    figure(ids.wholetimeAvailability),
    figure(ids.onCallAvailability),
    figure(ids.calls999),
    figure(ids.calls101),
  ]);
  const incidents = scan.categories;
  const [sas, average, falls, fallsOutcome, police] = scan.figures as [
    Figure,
    Figure,
    Figure,
    Figure,
    Figure,
  ];

  const asIncident = (found: Figure) =>
    found.row as
      | {
          incidents: number;
          n: number;
          met?: number;
          withOutcome?: number;
          value: number | null;
          meanSeconds: number | null;
          insufficientData: boolean;
          notMeasured: number;
          excluded: Record<string, number>;
          excludedByPrimaryReason: Record<string, number>;
          excludedAlsoMatched: Record<string, number>;
          cancelled: number;
          withoutExclusions: { n: number; value: number | null; insufficientData: boolean };
        }
      | undefined;
  /** How an incident figure's in-scope incidents were counted: what a reader checks it adds up. */
  const accounting = (row: ReturnType<typeof asIncident>) => ({
    notMeasured: row?.notMeasured ?? 0,
    cancelled: row?.cancelled ?? 0,
    excluded: row?.excluded ?? {},
    excludedByPrimaryReason: row?.excludedByPrimaryReason ?? {},
    excludedAlsoMatched: row?.excludedAlsoMatched ?? {},
    withoutExclusions: row?.withoutExclusions ?? { n: 0, value: null, insufficientData: true },
  });
  const asCalls = (found: Figure) =>
    found.row as
      | {
          calls: number;
          abandoned: number;
          n: number;
          value: number | null;
          meanSeconds: number | null;
          insufficientData: boolean;
          bands: number[];
        }
      | undefined;
  const asAvailability = (found: Figure) =>
    found.row as
      | { hours: number; value: number | null; offRunHoursByReason: Record<string, number> }
      | undefined;

  const attendance = asIncident(sas);
  const averageRow = asIncident(average);
  const fallsRow = asIncident(falls);
  const fallsOutcomeRow = asIncident(fallsOutcome);
  const policeRow = asIncident(police);
  const row999 = asCalls(calls999);
  const row101 = asCalls(calls101);
  const targetShare = (found: Figure) =>
    (found.response?.target as { targetShare?: number | null } | undefined)?.targetShare ?? null;
  const availability = (found: Figure) => {
    const row = asAvailability(found);
    return {
      standard: found.id,
      versions: found.versions,
      ...found.coverage,
      share: row?.value ?? null,
      target: targetShare(found),
      hours: row?.hours ?? 0,
      offRunHoursByReason: row?.offRunHoursByReason ?? {},
    };
  };
  return {
    period,
    // As computeKpi names them (each once, sorted), also when no standard had a version in force.
    agencies: [...new Set(agencies)].sort(),
    fireIncidents: {
      total: incidents.total,
      primaryFires: incidents.primary_fire,
      secondaryFires: incidents.secondary_fire,
      chimneyFires: incidents.chimney_fire,
      specialServices: incidents.special_service,
      roadTrafficCollisions: incidents.road_traffic_collision,
      falseAlarms: incidents.false_alarm,
      /** Fire incidents cancelled before attendance: not in `total` (nor any figure). */
      cancelled: incidents.cancelled,
    },
    attendanceStandard: {
      standard: sas.id,
      versions: sas.versions,
      ...sas.coverage,
      share: attendance?.value ?? null,
      target: targetShare(sas),
      n: attendance?.n ?? 0,
      met: attendance?.met ?? 0,
      insufficientData: attendance?.insufficientData ?? true,
      ...accounting(attendance),
    },
    averageFireAttendance: {
      standard: average.id,
      versions: average.versions,
      ...average.coverage,
      minutes: minutes(averageRow?.value),
      n: averageRow?.n ?? 0,
      insufficientData: averageRow?.insufficientData ?? true,
      ...accounting(averageRow),
    },
    wholetimeAvailability: availability(wholetime),
    onCallAvailability: availability(onCall),
    falls: {
      standard: falls.id,
      versions: falls.versions,
      ...falls.coverage,
      mobilisations: fallsRow?.incidents ?? 0,
      meanAttendanceMinutes: minutes(fallsRow?.value),
      n: fallsRow?.n ?? 0,
      insufficientData: fallsRow?.insufficientData ?? true,
      outcomeStandard: fallsOutcome.id,
      outcomeCovers: fallsOutcome.coverage.covers,
      outcomeUncovered: fallsOutcome.coverage.uncovered,
      noFurtherHelpShare: fallsOutcomeRow?.value ?? null,
      closed: fallsOutcomeRow?.n ?? 0,
    },
    policeEmergency: {
      standard: police.id,
      versions: police.versions,
      ...police.coverage,
      meanMinutes: minutes(policeRow?.meanSeconds),
      withinStandardShare: policeRow?.value ?? null,
      target: targetShare(police),
      n: policeRow?.n ?? 0,
      insufficientData: policeRow?.insufficientData ?? true,
      ...accounting(policeRow),
    },
    calls999: {
      standard: calls999.id,
      versions: calls999.versions,
      ...calls999.coverage,
      calls: row999?.calls ?? 0,
      answered: row999?.n ?? 0,
      abandoned: row999?.abandoned ?? 0,
      withinTenSecondsShare: row999?.value ?? null,
      insufficientData: row999?.insufficientData ?? true,
      target: targetShare(calls999),
      meanWaitSeconds: row999?.meanSeconds ?? null,
      bandsSeconds:
        calls999.response && 'bandsSeconds' in calls999.response
          ? calls999.response.bandsSeconds
          : [],
      bands: row999?.bands ?? [],
    },
    calls101: {
      standard: calls101.id,
      versions: calls101.versions,
      ...calls101.coverage,
      calls: row101?.calls ?? 0,
      answered: row101?.n ?? 0,
      resolvedAtTriageShare: row101?.value ?? null,
      insufficientData: row101?.insufficientData ?? true,
      meanTriageMinutes: minutes(row101?.meanSeconds),
    },
  };
}

export type ReportFigures = Awaited<ReturnType<typeof reportFigures>>;

/**
 * The annual report of the agencies given: the period's figures and, when asked, the previous
 * period's beside them.
 */
export async function annualReport(
  client: ClickHouseClient,
  standards: StandardDefinition[],
  period: ReportPeriod,
  agencies: readonly string[],
  options: { comparePrevious?: boolean; charts?: boolean } = {},
) {
  checkReportRequest(standards, agencies);
  const [current, previous, operations, charts] = await Promise.all([
    reportFigures(client, standards, period, agencies),
    options.comparePrevious
      ? reportFigures(client, standards, previousPeriod(period), agencies)
      : null,
    // The period's "Appliances and cover" section (report-operations.ts).
    operationsSection(client, standards, period, agencies),
    options.charts
      ? reportCharts(client, standards, REPORT_STANDARDS, period, agencies)
      : undefined,
  ]);
  // `charts` only when asked for (the document's series): the table's JSON stays as it was.
  return {
    agencies: current.agencies,
    current,
    previous,
    operations,
    ...(charts ? { charts: charts as ReportCharts } : {}),
  };
}

export type AnnualReport = Awaited<ReturnType<typeof annualReport>>;

export interface ReportLine {
  key: string;
  label: string;
  unit: 'count' | 'share' | 'minutes' | 'seconds';
  value: number | null;
  previous: number | null;
  target: number | null;
}

const groupDigits = new Intl.NumberFormat('en-GB');

/** One report value as people read it: 8,203 · 80.7% · 9.34 min · 9.40 s · n/a. */
export function formatReportValue(unit: ReportLine['unit'], value: number | null): string {
  if (value === null) return 'n/a';
  switch (unit) {
    case 'count':
      return groupDigits.format(value);
    case 'share':
      return `${(value * 100).toFixed(1)}%`;
    case 'minutes':
      return `${value.toFixed(2)} min`;
    default:
      return `${value.toFixed(2)} s`;
  }
}

/** The report as table lines, in the order of the published annual table. */
export function reportLines(report: AnnualReport): ReportLine[] {
  const lines: ReportLine[] = [];
  const add = (
    key: string,
    label: string,
    unit: ReportLine['unit'],
    pick: (figures: ReportFigures) => number | null,
    target: number | null = null,
  ) =>
    lines.push({
      key,
      label,
      unit,
      value: pick(report.current),
      previous: report.previous ? pick(report.previous) : null,
      target,
    });
  const c = report.current;
  add('fire_incidents', 'Fire incidents attended', 'count', (f) => f.fireIncidents.total);
  add('primary_fires', '  primary fires', 'count', (f) => f.fireIncidents.primaryFires);
  add('secondary_fires', '  secondary fires', 'count', (f) => f.fireIncidents.secondaryFires);
  add('chimney_fires', '  chimney fires', 'count', (f) => f.fireIncidents.chimneyFires);
  add(
    'special_services',
    '  special services (not RTC)',
    'count',
    (f) => f.fireIncidents.specialServices,
  );
  add(
    'road_traffic_collisions',
    '  road traffic collisions',
    'count',
    (f) => f.fireIncidents.roadTrafficCollisions,
  );
  add('false_alarms', '  false alarms', 'count', (f) => f.fireIncidents.falseAlarms);
  add(
    'attendance_standard_met',
    'Service Attendance Standard met',
    'share',
    (f) => f.attendanceStandard.share,
    c.attendanceStandard.target,
  );
  add(
    'average_fire_attendance',
    'Average fire attendance',
    'minutes',
    (f) => f.averageFireAttendance.minutes,
  );
  add(
    'wholetime_availability',
    'Whole-time appliance availability',
    'share',
    (f) => f.wholetimeAvailability.share,
    c.wholetimeAvailability.target,
  );
  add(
    'on_call_availability',
    'On-call appliance availability',
    'share',
    (f) => f.onCallAvailability.share,
    c.onCallAvailability.target,
  );
  add('falls_mobilisations', 'Falls-response mobilisations', 'count', (f) => f.falls.mobilisations);
  add(
    'falls_attendance',
    '  average falls attendance',
    'minutes',
    (f) => f.falls.meanAttendanceMinutes,
  );
  add(
    'falls_no_further_help',
    '  needing no further NHS help',
    'share',
    (f) => f.falls.noFurtherHelpShare,
  );
  add(
    'police_emergency_attendance',
    'Police emergency attendance (mean)',
    'minutes',
    (f) => f.policeEmergency.meanMinutes,
  );
  add(
    'police_emergency_within_standard',
    '  within 15 / 20 min (urban/rural)',
    'share',
    (f) => f.policeEmergency.withinStandardShare,
    c.policeEmergency.target,
  );
  add(
    'calls_999_within_10s',
    '999 calls answered within 10 s',
    'share',
    (f) => f.calls999.withinTenSecondsShare,
    c.calls999.target,
  );
  add('calls_999_mean_wait', '  average wait', 'seconds', (f) => f.calls999.meanWaitSeconds);
  add(
    'calls_101_resolved_at_triage',
    '101 calls resolved at triage',
    'share',
    (f) => f.calls101.resolvedAtTriageShare,
  );
  add(
    'calls_101_triage_time',
    '  average triage time',
    'minutes',
    (f) => f.calls101.meanTriageMinutes,
  );
  return lines;
}

/** The figures of the report that come from a standard, as the notes name them. */
const COVERED_FIGURES: [label: string, coverage: (figures: ReportFigures) => Coverage][] = [
  ['Service Attendance Standard met', (f) => f.attendanceStandard],
  ['Average fire attendance', (f) => f.averageFireAttendance],
  ['Whole-time appliance availability', (f) => f.wholetimeAvailability],
  ['On-call appliance availability', (f) => f.onCallAvailability],
  ['Falls-response mobilisations and attendance', (f) => f.falls],
  [
    'Falls needing no further NHS help',
    (f) => ({ covers: f.falls.outcomeCovers, uncovered: f.falls.outcomeUncovered }),
  ],
  ['Police emergency attendance', (f) => f.policeEmergency],
  ['999 calls answered within 10 s', (f) => f.calls999],
  ['101 calls resolved at triage', (f) => f.calls101],
];

/**
 * One line per figure that does not cover its whole period, saying which days it covers and why
 * the rest has none (e.g. the days before the standard was first in force); none when every
 * figure covers every day.
 */
export function coverageNotes(report: AnnualReport): string[] {
  const notes: string[] = [];
  for (const figures of [report.current, report.previous]) {
    if (!figures) continue;
    const { from, to } = figures.period;
    for (const [label, coverageOf] of COVERED_FIGURES) {
      const { covers, uncovered } = coverageOf(figures);
      if (uncovered.length === 0) continue;
      const rest = uncovered.map((days) => `${days.from} – ${days.to} ${days.reason}`).join('; ');
      notes.push(
        covers
          ? `${label}, ${from} – ${to}: covers ${covers.from} – ${covers.to} only; ${rest}`
          : `${label}, ${from} – ${to}: no figure; ${rest}`,
      );
    }
  }
  return notes;
}

/** True when the period holds no data at all: no incident, no call, no appliance time. */
export function reportIsEmpty(figures: ReportFigures): boolean {
  const counts = [
    figures.fireIncidents.total,
    figures.attendanceStandard.n + figures.attendanceStandard.notMeasured,
    figures.averageFireAttendance.n,
    figures.wholetimeAvailability.hours,
    figures.onCallAvailability.hours,
    figures.falls.mobilisations,
    figures.falls.closed,
    figures.policeEmergency.n,
    figures.calls999.calls,
    figures.calls101.calls,
  ];
  return counts.every((count) => count === 0);
}
