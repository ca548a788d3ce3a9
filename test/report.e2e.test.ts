import { startTestSink } from '@bluelight/clickhouse-sink/testing';
import type { BluelightEvent } from '@bluelight/schemas';
import { annualReport, loadStandards } from '@bluelight/standards';
import { afterAll, describe, expect, it } from 'vitest';
import { simulateIntoSink } from './simulated-feed.js';

/**
 * The annual report, end to end: two simulated weeks (the second ends on the night the clocks go
 * forward) through Kafka, the sink and ClickHouse, then `annualReport` for the last week with the
 * week before beside it. The expected report is recomputed here from the events themselves, in
 * plain TypeScript, with the shipped standards' rules written out by hand — not with the SQL.
 */
const SIMULATED_FROM = Date.parse('2024-03-18T00:00:00Z');
const SIMULATED_TO = Date.parse('2024-04-01T00:00:00Z');
const PERIOD = { from: '2024-03-25', to: '2024-03-31' };
const PREVIOUS = { from: '2024-03-18', to: '2024-03-24' };

const londonDay = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' });
const dayOf = (ms: number) => londonDay.format(new Date(ms));
/** London midnight at the start of a day: GMT before 31 March 2024 01:00 UTC, BST after. */
const londonMidnight = (day: string) =>
  Date.parse(`${day}T00:00:00Z`) - (day > '2024-03-31' ? 3_600_000 : 0);

interface Incident {
  service: string;
  category: string;
  subtype: string;
  riskBand: string;
  lifeRisk: boolean;
  grading: string;
  areaType: string;
  received: number;
  mobilised?: number;
  mobile?: number;
  arrivals: Map<string, number>;
  stopCode: string;
  exclusions: { late_call: boolean; derelict_property: boolean; abandoned_road_vehicle: boolean };
}

interface Call {
  line: string;
  presented?: number;
  answered?: number;
  closed?: number;
  abandoned: boolean;
  outcome: string;
}

/** Entities rebuilt from the events that count: each event once, corrected ones replaced. */
function rebuild(events: BluelightEvent[]) {
  const unique = new Map(events.map((event) => [event.event_id, event]));
  const corrected = new Set(
    [...unique.values()].flatMap((event) => (event.corrects ? [event.corrects.event_id] : [])),
  );
  const effective = [...unique.values()]
    .filter((event) => !corrected.has(event.event_id))
    .sort((a, b) => Date.parse(a.occurred_at) - Date.parse(b.occurred_at));
  const incidents = new Map<string, Incident>();
  const calls = new Map<string, Call>();
  const statuses = new Map<
    string,
    { crewing: string; changes: { at: number; status: string; reason: string }[] }
  >();
  const pending: BluelightEvent[] = [];
  for (const event of effective) {
    const at = Date.parse(event.occurred_at);
    // biome-ignore lint/suspicious/noExplicitAny: payloads are read by hand, type by type
    const payload = event.payload as any;
    if (event.event_type === 'incident.created') {
      const details = payload.details;
      incidents.set(payload.incident_id, {
        service: details.service,
        category: details.category?.type ?? '',
        subtype:
          details.category?.special_service_type ??
          details.category?.location_type ??
          details.category?.false_alarm_type ??
          '',
        riskBand: details.risk_band ?? '',
        lifeRisk: details.life_risk === true,
        grading: details.grading ?? '',
        areaType: details.area_type ?? '',
        received: Date.parse(payload.call_received_at),
        arrivals: new Map(),
        stopCode: '',
        exclusions: { late_call: false, derelict_property: false, abandoned_road_vehicle: false },
      });
    } else if (event.event_type.startsWith('incident.')) {
      pending.push(event);
    } else if (event.event_type.startsWith('call.')) {
      const call = calls.get(payload.call_id) ?? { line: '', abandoned: false, outcome: '' };
      if (event.event_type === 'call.presented') {
        call.line = payload.line;
        call.presented = at;
      } else if (event.event_type === 'call.answered') call.answered ??= at;
      else if (event.event_type === 'call.abandoned') call.abandoned = true;
      else if (event.event_type === 'call.closed') {
        call.closed = at;
        call.outcome = payload.resolution.outcome;
      }
      calls.set(payload.call_id, call);
    } else if (event.event_type === 'resource.status_changed') {
      const entry = statuses.get(payload.resource_id) ?? {
        crewing: payload.crewing_model as string,
        changes: [] as { at: number; status: string; reason: string }[],
      };
      entry.changes.push({ at, status: payload.state.status, reason: payload.state.reason ?? '' });
      statuses.set(payload.resource_id, entry);
    }
  }
  for (const event of pending) {
    // biome-ignore lint/suspicious/noExplicitAny: as above
    const payload = event.payload as any;
    const incident = incidents.get(payload.incident_id);
    if (!incident) continue; // created before the simulated window: never counted
    const at = Date.parse(event.occurred_at);
    if (event.event_type === 'incident.resource_mobilised')
      incident.mobilised = Math.min(incident.mobilised ?? at, at);
    if (event.event_type === 'incident.resource_mobile')
      incident.mobile = Math.min(incident.mobile ?? at, at);
    if (event.event_type === 'incident.resource_arrived') {
      const before = incident.arrivals.get(payload.resource_id);
      incident.arrivals.set(payload.resource_id, Math.min(before ?? at, at));
    }
    if (event.event_type === 'incident.closed') {
      incident.stopCode = payload.stop_code;
      incident.exclusions = payload.exclusions;
    }
  }
  return { incidents, calls, statuses, types: new Set(effective.map((event) => event.event_type)) };
}

type Rebuilt = ReturnType<typeof rebuild>;

/** The Home Office exclusions as the shipped standards switch them, counted by reason. */
interface Rules {
  lateCall: boolean;
  derelict: boolean;
  abandonedVehicle: boolean;
  outOfSequence: boolean;
  overSeconds: number | null;
  underSeconds: number | null;
}
const HOME_OFFICE: Rules = {
  lateCall: true,
  derelict: true,
  abandonedVehicle: true,
  outOfSequence: true,
  overSeconds: 3_600,
  underSeconds: 60,
};
const FALLS_RULES: Rules = {
  ...HOME_OFFICE,
  derelict: false,
  abandonedVehicle: false,
  overSeconds: null,
};

function judge(incidents: Incident[], rules: Rules, threshold?: (incident: Incident) => number) {
  const excluded = {
    total: 0,
    late_call: 0,
    derelict_property: 0,
    abandoned_road_vehicle: 0,
    out_of_sequence: 0,
    total_over: 0,
    total_under: 0,
  };
  // Each excluded incident under its first reason in this order (docs/standards.md's
  // precedence), and the later ones it also matched.
  const zero = () => ({
    late_call: 0,
    derelict_property: 0,
    abandoned_road_vehicle: 0,
    out_of_sequence: 0,
    total_over: 0,
    total_under: 0,
  });
  const byPrimary = zero();
  const alsoMatched = zero();
  const included: { incident: Incident; seconds: number }[] = [];
  // The no-exclusions companion: every incident in scope with a time that is not negative.
  const everyMeasured: { incident: Incident; seconds: number }[] = [];
  let notMeasured = 0;
  for (const incident of incidents) {
    const first = Math.min(...incident.arrivals.values());
    const seconds = incident.arrivals.size > 0 ? (first - incident.received) / 1000 : null;
    const mobilised = incident.mobilised;
    const outOfSequence =
      (mobilised !== undefined && mobilised < incident.received) ||
      (incident.mobile !== undefined && mobilised !== undefined && incident.mobile < mobilised) ||
      (seconds !== null && mobilised !== undefined && first < mobilised) ||
      (seconds !== null && seconds < 0);
    const reasons = {
      late_call: rules.lateCall && incident.exclusions.late_call,
      derelict_property: rules.derelict && incident.exclusions.derelict_property,
      abandoned_road_vehicle: rules.abandonedVehicle && incident.exclusions.abandoned_road_vehicle,
      out_of_sequence: rules.outOfSequence && outOfSequence,
      total_over: rules.overSeconds !== null && seconds !== null && seconds > rules.overSeconds,
      total_under:
        rules.underSeconds !== null &&
        seconds !== null &&
        seconds >= 0 &&
        seconds < rules.underSeconds,
    };
    for (const [reason, applies] of Object.entries(reasons))
      if (applies) excluded[reason as keyof typeof reasons] += 1;
    const matched = (Object.keys(reasons) as (keyof typeof reasons)[]).filter(
      (reason) => reasons[reason],
    );
    matched.forEach((reason, index) => {
      if (index === 0) byPrimary[reason] += 1;
      else alsoMatched[reason] += 1;
    });
    const isExcluded = Object.values(reasons).some(Boolean);
    if (isExcluded) excluded.total += 1;
    // Without a time, or without a threshold for its band, an incident cannot be judged.
    const measurable =
      seconds !== null && (threshold === undefined || Number.isFinite(threshold(incident)));
    if (!isExcluded && !measurable) notMeasured += 1;
    if (!isExcluded && measurable) included.push({ incident, seconds: seconds as number });
    if (measurable && (seconds as number) >= 0)
      everyMeasured.push({ incident, seconds: seconds as number });
  }
  const met = threshold
    ? included.filter(({ incident, seconds }) => seconds <= threshold(incident)).length
    : 0;
  const mean =
    included.length === 0
      ? null
      : included.reduce((sum, { seconds }) => sum + seconds, 0) / included.length;
  const allN = everyMeasured.length;
  const allValue = threshold
    ? everyMeasured.filter(({ incident, seconds }) => seconds <= threshold(incident)).length / allN
    : everyMeasured.reduce((sum, { seconds }) => sum + seconds, 0) / allN;
  return {
    n: included.length,
    met,
    mean,
    excluded,
    notMeasured,
    // The simulated feed cancels no incident (checked where it is sent).
    accounting: {
      notMeasured,
      cancelled: 0,
      excluded,
      excludedByPrimaryReason: byPrimary,
      excludedAlsoMatched: alsoMatched,
      withoutExclusions: {
        n: allN,
        value: allN < 5 ? null : allValue,
        insufficientData: allN < 5,
      },
    },
  };
}

/** Seconds of each status, clipped to the period's London days, per crewing model. */
function availability(rebuilt: Rebuilt, crewing: string, period: typeof PERIOD) {
  const start = londonMidnight(period.from);
  const end = londonMidnight(
    new Date(Date.parse(`${period.to}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10),
  );
  let total = 0;
  let on = 0;
  const offByReason: Record<string, number> = {};
  for (const entry of rebuilt.statuses.values()) {
    if (entry.crewing !== crewing) continue;
    entry.changes.forEach((change, index) => {
      const next = entry.changes[index + 1]?.at ?? Number.POSITIVE_INFINITY;
      const span = Math.min(next, end) - Math.max(change.at, start);
      if (span <= 0) return;
      total += span;
      if (change.status === 'unavailable') {
        offByReason[change.reason] = (offByReason[change.reason] ?? 0) + span / 3_600_000;
      } else on += span;
    });
  }
  return { share: on / total, hours: total / 3_600_000, offRunHoursByReason: offByReason };
}

const mean = (values: number[]) =>
  values.length === 0 ? null : values.reduce((sum, value) => sum + value, 0) / values.length;

/** The report figures for one period, computed from the rebuilt entities. */
function expectedFigures(rebuilt: Rebuilt, period: typeof PERIOD, agencies: string[]) {
  const inPeriod = (ms: number | undefined) =>
    ms !== undefined && dayOf(ms) >= period.from && dayOf(ms) <= period.to;
  const incidents = [...rebuilt.incidents.values()].filter((incident) =>
    inPeriod(incident.received),
  );
  const fire = incidents.filter((incident) => incident.service === 'fire');
  const count = (predicate: (incident: Incident) => boolean) => fire.filter(predicate).length;
  const falls = (incident: Incident) => incident.subtype === 'falls_assisting_other_agencies';
  const sasThresholds: Record<string, number> = { high: 480, medium: 600, low: 1080 };
  const sas = judge(
    fire.filter((incident) => incident.lifeRisk && !falls(incident)),
    HOME_OFFICE,
    (incident) => sasThresholds[incident.riskBand] ?? Number.NaN,
  );
  const primary = judge(
    fire.filter((incident) => incident.category === 'primary_fire'),
    HOME_OFFICE,
  );
  const fallsIncidents = fire.filter(falls);
  const fallsAttendance = judge(fallsIncidents, FALLS_RULES);
  const closedFalls = fallsIncidents.filter((incident) => incident.stopCode !== '');
  const police = judge(
    incidents.filter(
      (incident) => incident.service === 'police' && incident.grading === 'emergency',
    ),
    HOME_OFFICE,
    (incident) => (incident.areaType === 'urban' ? 900 : 1_200),
  );
  const calls = [...rebuilt.calls.values()].filter((call) => inPeriod(call.presented));
  const calls999 = calls.filter((call) => call.line === '999');
  const waits = calls999
    .filter((call) => call.answered !== undefined)
    .map((call) => ((call.answered as number) - (call.presented as number)) / 1000)
    .filter((wait) => wait >= 0);
  const calls101 = calls.filter((call) => call.line === '101');
  const triaged = calls101.filter(
    (call) =>
      call.answered !== undefined && call.closed !== undefined && call.closed >= call.answered,
  );
  const share = (part: number, whole: number) => (whole === 0 ? null : part / whole);
  const wholetime = availability(rebuilt, 'wholetime', period);
  const onCall = availability(rebuilt, 'on_call', period);
  return {
    period,
    agencies,
    fireIncidents: {
      total: fire.length,
      primaryFires: count((incident) => incident.category === 'primary_fire'),
      secondaryFires: count((incident) => incident.category === 'secondary_fire'),
      chimneyFires: count((incident) => incident.category === 'chimney_fire'),
      specialServices: count(
        (incident) =>
          incident.category === 'special_service' && incident.subtype !== 'road_traffic_collision',
      ),
      roadTrafficCollisions: count((incident) => incident.subtype === 'road_traffic_collision'),
      falseAlarms: count((incident) => incident.category === 'false_alarm'),
      cancelled: 0,
    },
    attendanceStandard: {
      standard: 'fire-attendance-standard',
      versions: [1],
      // The shipped standards are in force on every day of the period.
      covers: period,
      uncovered: [],
      share: share(sas.met, sas.n),
      target: 0.8,
      n: sas.n,
      met: sas.met,
      insufficientData: sas.n < 5,
      ...sas.accounting,
    },
    averageFireAttendance: {
      standard: 'fire-average-attendance',
      versions: [1],
      covers: period,
      uncovered: [],
      minutes: primary.n < 5 || primary.mean === null ? null : primary.mean / 60,
      n: primary.n,
      insufficientData: primary.n < 5,
      ...primary.accounting,
    },
    wholetimeAvailability: {
      standard: 'appliance-availability-wholetime',
      versions: [1],
      covers: period,
      uncovered: [],
      target: 0.98,
      ...wholetime,
    },
    onCallAvailability: {
      standard: 'appliance-availability-on-call',
      versions: [1],
      covers: period,
      uncovered: [],
      target: 0.6,
      ...onCall,
    },
    falls: {
      standard: 'falls-response',
      versions: [1],
      covers: period,
      uncovered: [],
      mobilisations: fallsIncidents.length,
      meanAttendanceMinutes:
        fallsAttendance.n < 5 || fallsAttendance.mean === null ? null : fallsAttendance.mean / 60,
      n: fallsAttendance.n,
      insufficientData: fallsAttendance.n < 5,
      outcomeStandard: 'falls-response-outcome',
      outcomeCovers: period,
      outcomeUncovered: [],
      noFurtherHelpShare: share(
        closedFalls.filter((incident) => incident.stopCode === 'FR1').length,
        closedFalls.length,
      ),
      closed: closedFalls.length,
    },
    policeEmergency: {
      standard: 'police-emergency-attendance',
      versions: [1],
      covers: period,
      uncovered: [],
      meanMinutes: police.mean === null ? null : police.mean / 60,
      withinStandardShare: share(police.met, police.n),
      target: 0.9,
      n: police.n,
      insufficientData: police.n < 5,
      ...police.accounting,
    },
    calls999: {
      standard: 'calls-999-answer',
      versions: [1],
      covers: period,
      uncovered: [],
      calls: calls999.length,
      answered: waits.length,
      abandoned: calls999.filter((call) => call.abandoned).length,
      withinTenSecondsShare: share(waits.filter((wait) => wait <= 10).length, waits.length),
      insufficientData: waits.length < 5,
      target: 0.9,
      meanWaitSeconds: mean(waits),
      bandsSeconds: [10, 60],
      bands: [
        // Each band ends at its bound inclusive, as "within 10 s" does.
        waits.filter((wait) => wait <= 10).length,
        waits.filter((wait) => wait > 10 && wait <= 60).length,
        waits.filter((wait) => wait > 60).length,
      ],
    },
    calls101: {
      standard: 'calls-101-triage',
      versions: [1],
      covers: period,
      uncovered: [],
      calls: calls101.length,
      answered: triaged.length,
      insufficientData: triaged.length < 5,
      resolvedAtTriageShare: share(
        triaged.filter((call) => call.outcome === 'resolved_at_triage').length,
        triaged.length,
      ),
      meanTriageMinutes: (() => {
        const minutes = mean(
          triaged.map((call) => ((call.closed as number) - (call.answered as number)) / 60_000),
        );
        return minutes;
      })(),
    },
  };
}

/** Rounds every number to 9 significant digits, so SQL and JS float sums compare exactly. */
function rounded(value: unknown): unknown {
  if (typeof value === 'number') return Number(value.toPrecision(9));
  if (Array.isArray(value)) return value.map(rounded);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, inner]) => inner !== undefined)
        .map(([key, inner]) => [key, rounded(inner)]),
    );
  }
  return value;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe('the annual report end to end', () => {
  it('equals a recomputation from the raw events, for the period and the one before', {
    timeout: 300_000,
  }, async () => {
    const sink = await startTestSink();
    cleanups.push(sink.cleanup);
    const sent = await simulateIntoSink(sink, {
      seed: 23,
      fromMs: SIMULATED_FROM,
      toMs: SIMULATED_TO,
    });

    const rebuilt = rebuild(sent);
    // The recomputation above reads created, mobilised, mobile, arrived and closed events and
    // arrival corrections; it would be wrong if the feed carried other kinds that change figures.
    for (const type of [
      'incident.reclassified',
      'incident.cancelled',
      'incident.event_retracted',
      'call.event_retracted',
      'resource.event_retracted',
    ]) {
      expect(rebuilt.types.has(type as never), type).toBe(false);
    }
    // The simulated county's fire service, police force and control room, reported together.
    const agencies = [...new Set(sent.map((event) => event.agency))].sort();
    expect(agencies).toEqual([
      'staffordshire-control',
      'staffordshire-fire',
      'staffordshire-police',
    ]);
    const report = await annualReport(sink.db.client, loadStandards(), PERIOD, agencies, {
      comparePrevious: true,
    });
    expect(report.agencies).toEqual(agencies);
    expect(rounded(report.current)).toEqual(rounded(expectedFigures(rebuilt, PERIOD, agencies)));
    expect(rounded(report.previous)).toEqual(rounded(expectedFigures(rebuilt, PREVIOUS, agencies)));
    // The week has enough of everything for the figures to mean something.
    expect(report.current.attendanceStandard.n).toBeGreaterThan(5);
    expect(report.current.calls999.calls).toBeGreaterThan(1_000);
    expect(report.current.falls.mobilisations).toBeGreaterThan(5);
  });
});
