import { randomBytes } from 'node:crypto';

/**
 * Test events for a set of incidents with known times, and the facts expected from them,
 * computed here in plain TypeScript — independently of the SQL under test.
 */

const CATEGORIES = [
  { type: 'primary_fire', location_type: 'dwelling' },
  { type: 'secondary_fire' },
  { type: 'special_service', special_service_type: 'road_traffic_collision' },
  { type: 'false_alarm', false_alarm_type: 'good_intent' },
] as const;
const RISK_BANDS = ['high', 'medium', 'low'] as const;
const STATIONS = ['HANLEY', 'LEEK', 'STAFFORD'] as const;
const GRADINGS = ['emergency', 'priority', 'scheduled'] as const;
const NO_EXCLUSIONS = { late_call: false, derelict_property: false, abandoned_road_vehicle: false };

/** A UUID v7 for the given time (random tail), as producers generate them. */
export function uuidV7(atMs: number): string {
  const hex = atMs.toString(16).padStart(12, '0') + randomBytes(10).toString('hex');
  const variant = ((Number.parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface TestEvent {
  event_id: string;
  event_type: string;
  schema_version: 1;
  occurred_at: string;
  source: string;
  agency: string;
  corrects?: { event_id: string; reason: string };
  payload: Record<string, unknown>;
}

/** An incident_facts row as the test reads it (times in ms since the epoch, flags 0 or 1). */
export interface ExpectedIncident {
  incident_id: string;
  call_received_at: number;
  created_at: number;
  first_mobilised_at: number;
  first_mobile_at: number;
  first_arrival_at: number;
  second_arrival_at: number;
  first_arrival_resource_id: string;
  /** '' for police incidents. */
  category: string;
  /** '' for police incidents. */
  risk_band: string;
  station_ground: string;
  /** '' for fire incidents. */
  police_grading: string;
  excluded_late_call: number;
  excluded_derelict_property: number;
  excluded_abandoned_road_vehicle: number;
  /** Europe/London calendar day of the call. */
  day: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

function londonDay(ms: number): string {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(new Date(ms));
}

function event(type: string, atMs: number, payload: Record<string, unknown>): TestEvent {
  return {
    event_id: uuidV7(atMs),
    event_type: type,
    schema_version: 1,
    occurred_at: iso(atMs),
    source: 'sink-test',
    agency: 'staffordshire-fire',
    payload,
  };
}

/** What an incident is classified as (by incident.created, then incident.reclassified). */
interface Classification {
  details: Record<string, unknown>;
  category: string;
  risk_band: string;
  police_grading: string;
}

function fireClassification(variant: number): Classification {
  const category = CATEGORIES[variant % CATEGORIES.length] as (typeof CATEGORIES)[number];
  const risk = RISK_BANDS[variant % RISK_BANDS.length] as string;
  return {
    details: { service: 'fire', category, risk_band: risk, life_risk: variant % 2 === 0 },
    category: category.type,
    risk_band: risk,
    police_grading: '',
  };
}

function policeClassification(variant: number): Classification {
  const grading = GRADINGS[variant % GRADINGS.length] as string;
  return {
    details: { service: 'police', grading, area_type: variant % 2 === 0 ? 'urban' : 'rural' },
    category: '',
    risk_band: '',
    police_grading: grading,
  };
}

/**
 * `count` incidents starting at `startMs`, 17 minutes apart, each with creation, two resources
 * mobilised, mobile and arrived, and closure (events 0–7, in that order). Every 5th incident
 * (index 3, 8, …) is a police incident with a grading, the others fire incidents. Incidents 1, 5,
 * 9, … are reclassified 45 s after creation (a 9th event) — another category and risk band, or
 * another grading. Closures carry one exclusion flag by index % 6: 0 late call, 2 derelict
 * property, 4 abandoned road vehicle; odd indices none.
 */
export function incidentScenario(count: number, startMs: number, idPrefix: string) {
  const events: TestEvent[][] = [];
  const expected = new Map<string, ExpectedIncident>();
  for (let index = 0; index < count; index += 1) {
    const incidentId = `${idPrefix}-${String(index).padStart(4, '0')}`;
    const received = startMs + index * 17 * 60_000;
    const created = received + 60_000 + index * 1_000;
    const police = index % 5 === 3;
    const classify = police ? policeClassification : fireClassification;
    const initial = classify(index);
    const reclassified = index % 4 === 1 ? classify(index + 1) : undefined;
    const station = STATIONS[index % STATIONS.length] as string;
    const exclusions = {
      ...NO_EXCLUSIONS,
      ...(index % 6 === 0 && { late_call: true }),
      ...(index % 6 === 2 && { derelict_property: true }),
      ...(index % 6 === 4 && { abandoned_road_vehicle: true }),
    };
    const pumps = [`${incidentId}-P1`, `${incidentId}-P2`];
    // First arrival 5–15 minutes after the call (varies by incident), the second 2 minutes later.
    const firstArrival = received + (300 + ((index * 137) % 600)) * 1_000 + (index % 7) * 111;
    const arrivals = [firstArrival, firstArrival + 120_000];
    const own: TestEvent[] = [
      event('incident.created', created, {
        incident_id: incidentId,
        call_received_at: iso(received),
        details: initial.details,
        location: { station_ground: station, area: 'Staffordshire' },
      }),
    ];
    pumps.forEach((pump, p) => {
      own.push(
        event('incident.resource_mobilised', created + 30_000 + p, {
          incident_id: incidentId,
          resource_id: pump,
        }),
      );
      own.push(
        event('incident.resource_mobile', created + 90_000 + p, {
          incident_id: incidentId,
          resource_id: pump,
        }),
      );
      own.push(
        event('incident.resource_arrived', arrivals[p] as number, {
          incident_id: incidentId,
          resource_id: pump,
        }),
      );
    });
    own.push(
      event('incident.closed', firstArrival + 3_600_000, {
        incident_id: incidentId,
        stop_code: 'FD1',
        exclusions,
      }),
    );
    if (reclassified) {
      own.push(
        event('incident.reclassified', created + 45_000, {
          incident_id: incidentId,
          details: reclassified.details,
        }),
      );
    }
    events.push(own);
    // Expected facts, from the parameters above: the classification is the latest by event time.
    const classification = reclassified ?? initial;
    expected.set(incidentId, {
      incident_id: incidentId,
      call_received_at: received,
      created_at: created,
      first_mobilised_at: created + 30_000,
      first_mobile_at: created + 90_000,
      first_arrival_at: firstArrival,
      second_arrival_at: firstArrival + 120_000,
      first_arrival_resource_id: pumps[0] as string,
      category: classification.category,
      risk_band: classification.risk_band,
      station_ground: station,
      police_grading: classification.police_grading,
      excluded_late_call: exclusions.late_call ? 1 : 0,
      excluded_derelict_property: exclusions.derelict_property ? 1 : 0,
      excluded_abandoned_road_vehicle: exclusions.abandoned_road_vehicle ? 1 : 0,
      day: londonDay(received),
    });
  }
  return { events, expected };
}

/** The rollup key the tests compare on: day, station, category, risk band, police grading. */
export function rollupKey(row: {
  day: string;
  station_ground: string;
  category: string;
  risk_band: string;
  police_grading: string;
}): string {
  return [row.day, row.station_ground, row.category, row.risk_band, row.police_grading].join('|');
}

/** Rollup rows expected from facts, per rollupKey. */
export function expectedDailyRollup(incidents: Iterable<ExpectedIncident>) {
  const groups = new Map<
    string,
    { incidents: number; attended: number; secondsSum: number; histogram: Record<string, number> }
  >();
  for (const incident of incidents) {
    const key = rollupKey(incident);
    const group = groups.get(key) ?? { incidents: 0, attended: 0, secondsSum: 0, histogram: {} };
    const seconds = (incident.first_arrival_at - incident.call_received_at) / 1000;
    group.incidents += 1;
    group.attended += 1;
    group.secondsSum += seconds;
    const bucket = String(Math.ceil(seconds));
    group.histogram[bucket] = (group.histogram[bucket] ?? 0) + 1;
    groups.set(key, group);
  }
  return groups;
}
