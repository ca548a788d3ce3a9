import { incidentFactsSql } from '@bluelight/clickhouse-schema';
import type { ClickHouseClient } from '@clickhouse/client';
import type { StandardDefinition } from './definition.js';
import { computeKpi, KpiRequestError, nextDay } from './engine.js';

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
}

/** Fire incidents attended (not cancelled) by Home Office category; RTCs apart from other special services. */
async function fireIncidentsByCategory(
  client: ClickHouseClient,
  period: ReportPeriod,
  agencies: readonly string[],
): Promise<CategoryCounts> {
  const result = await client.query({
    query: `
SELECT
  count() AS total,
  countIf(category = 'primary_fire') AS primary_fire,
  countIf(category = 'secondary_fire') AS secondary_fire,
  countIf(category = 'chimney_fire') AS chimney_fire,
  countIf(category = 'special_service' AND category_subtype != 'road_traffic_collision') AS special_service,
  countIf(category = 'special_service' AND category_subtype = 'road_traffic_collision') AS road_traffic_collision,
  countIf(category = 'false_alarm') AS false_alarm
FROM (${incidentFactsSql({ from: '{from:Date}', to: '{to:Date}' }, '{agencies:Array(String)}')}) AS incident_facts
WHERE cancelled = 0 AND service = 'fire'
  AND day >= {from:Date} AND day < {to:Date}`,
    query_params: { from: period.from, to: nextDay(period.to), agencies: [...agencies] },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<CategoryCounts>();
  if (!row) throw new Error('the category count returned no row');
  return row;
}

/** The standard's single (ungrouped) result, or none when nothing was in scope. */
async function overall(
  client: ClickHouseClient,
  standards: StandardDefinition[],
  id: string,
  period: ReportPeriod,
  agencies: readonly string[],
) {
  const response = await computeKpi(client, standards, { standard: id, ...period, agencies });
  const versions = response.versions.map((part) => part.version);
  return { response, row: response.rows[0], versions };
}

const minutes = (seconds: number | null | undefined) =>
  seconds === null || seconds === undefined ? null : seconds / 60;

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
  for (const id of Object.values(ids)) {
    if (!standards.some((standard) => standard.id === id)) {
      throw new KpiRequestError('standards', `the report needs the standard "${id}"`);
    }
  }
  if (agencies.length === 0) {
    throw new KpiRequestError('agency', 'give at least one agency whose report to compute');
  }
  const figure = (id: string) => overall(client, standards, id, period, agencies);
  const incidents = await fireIncidentsByCategory(client, period, agencies);
  const sas = await figure(ids.attendanceStandard);
  const average = await figure(ids.averageFireAttendance);
  const wholetime = await figure(ids.wholetimeAvailability);
  const onCall = await figure(ids.onCallAvailability);
  const falls = await figure(ids.fallsAttendance);
  const fallsOutcome = await figure(ids.fallsOutcome);
  const police = await figure(ids.policeEmergency);
  const calls999 = await figure(ids.calls999);
  const calls101 = await figure(ids.calls101);

  const asIncident = (found: typeof sas) =>
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
        }
      | undefined;
  const asCalls = (found: typeof calls999) =>
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
  const asAvailability = (found: typeof wholetime) =>
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
  const availability = (found: typeof wholetime) => {
    const row = asAvailability(found);
    return {
      standard: found.response.standard.id,
      versions: found.versions,
      share: row?.value ?? null,
      target: found.response.target.targetShare ?? null,
      hours: row?.hours ?? 0,
      offRunHoursByReason: row?.offRunHoursByReason ?? {},
    };
  };
  return {
    period,
    agencies: sas.response.agencies,
    fireIncidents: {
      total: incidents.total,
      primaryFires: incidents.primary_fire,
      secondaryFires: incidents.secondary_fire,
      chimneyFires: incidents.chimney_fire,
      specialServices: incidents.special_service,
      roadTrafficCollisions: incidents.road_traffic_collision,
      falseAlarms: incidents.false_alarm,
    },
    attendanceStandard: {
      standard: sas.response.standard.id,
      versions: sas.versions,
      share: attendance?.value ?? null,
      target: sas.response.target.targetShare ?? null,
      n: attendance?.n ?? 0,
      met: attendance?.met ?? 0,
      insufficientData: attendance?.insufficientData ?? true,
      notMeasured: attendance?.notMeasured ?? 0,
      excluded: attendance?.excluded ?? {},
    },
    averageFireAttendance: {
      standard: average.response.standard.id,
      versions: average.versions,
      minutes: minutes(averageRow?.value),
      n: averageRow?.n ?? 0,
      insufficientData: averageRow?.insufficientData ?? true,
      excluded: averageRow?.excluded ?? {},
    },
    wholetimeAvailability: availability(wholetime),
    onCallAvailability: availability(onCall),
    falls: {
      standard: falls.response.standard.id,
      versions: falls.versions,
      mobilisations: fallsRow?.incidents ?? 0,
      meanAttendanceMinutes: minutes(fallsRow?.value),
      n: fallsRow?.n ?? 0,
      insufficientData: fallsRow?.insufficientData ?? true,
      outcomeStandard: fallsOutcome.response.standard.id,
      noFurtherHelpShare: fallsOutcomeRow?.value ?? null,
      closed: fallsOutcomeRow?.n ?? 0,
    },
    policeEmergency: {
      standard: police.response.standard.id,
      versions: police.versions,
      meanMinutes: minutes(policeRow?.meanSeconds),
      withinStandardShare: policeRow?.value ?? null,
      target: police.response.target.targetShare ?? null,
      n: policeRow?.n ?? 0,
      insufficientData: policeRow?.insufficientData ?? true,
      excluded: policeRow?.excluded ?? {},
    },
    calls999: {
      standard: calls999.response.standard.id,
      versions: calls999.versions,
      calls: row999?.calls ?? 0,
      answered: row999?.n ?? 0,
      abandoned: row999?.abandoned ?? 0,
      withinTenSecondsShare: row999?.value ?? null,
      insufficientData: row999?.insufficientData ?? true,
      target: calls999.response.target.targetShare ?? null,
      meanWaitSeconds: row999?.meanSeconds ?? null,
      bandsSeconds: 'bandsSeconds' in calls999.response ? calls999.response.bandsSeconds : [],
      bands: row999?.bands ?? [],
    },
    calls101: {
      standard: calls101.response.standard.id,
      versions: calls101.versions,
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
  options: { comparePrevious?: boolean } = {},
) {
  const current = await reportFigures(client, standards, period, agencies);
  const previous = options.comparePrevious
    ? await reportFigures(client, standards, previousPeriod(period), agencies)
    : null;
  return { agencies: current.agencies, current, previous };
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
