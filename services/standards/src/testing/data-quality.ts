import {
  callFixtureEvents,
  type FixtureEvent,
  incidentFixtureEvents,
} from '@bluelight/clickhouse-sink/testing/events';
import { DATA_QUALITY_CHECKS, type DataQualityCheck } from '../data-quality.js';

export const iso = (ms: number) => new Date(ms).toISOString();
/** The Europe/London calendar day of an instant, YYYY-MM-DD. */
export const londonDay = (ms: number) =>
  new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(new Date(ms));

const withSource = (source: string) => (event: FixtureEvent) => ({ ...event, source });

/** Records per check of the given expected records (every check named). */
export function expectedCounts(records: readonly { check: DataQualityCheck }[]) {
  const totals = Object.fromEntries(DATA_QUALITY_CHECKS.map((check) => [check, 0])) as Record<
    DataQualityCheck,
    number
  >;
  for (const record of records) totals[record.check] += 1;
  return totals;
}

export interface ExpectedRecord {
  check: DataQualityCheck;
  agency: string;
  source: string;
  entity: 'incident' | 'call';
  id: string;
  /** When the call was received or presented (ms). */
  at: number;
  seconds: number | null;
}

/**
 * Hand-built incidents and calls for the data-quality checks (tests land them through the sink):
 * clean ones that trip no check, and one for each finding, each tripping it once; `expected` is
 * what the report must list, by hand. Incidents are of `fire`, calls of `calls`, and one
 * out-of-sequence incident of `neighbour`.
 */
export function dataQualityScenario(agencies: { fire: string; calls: string; neighbour: string }) {
  const FIRE = agencies.fire;
  const CONTROL = agencies.calls;
  const NEIGHBOUR = agencies.neighbour;
  /**
   * Times are near now: the late-ingest check compares event time with the time the events land,
   * so every record but the one meant to be late must have happened within the hour. The calls
   * happened 40 minutes ago; the latest event of any of them (a closure) 10 minutes ago.
   */
  const NOW = Math.floor(Date.now() / 1000) * 1000;
  const BASE = NOW - 40 * 60_000;
  const FROM = londonDay(NOW - 86_400_000);
  const TO = londonDay(NOW);

  /** An incident received at `receivedAt` (ms), clean unless the overrides say otherwise. */
  const incident = (
    id: string,
    overrides: Partial<Parameters<typeof incidentFixtureEvents>[0]> = {},
    receivedAt = BASE,
    source = 'staffs-cad',
  ) =>
    incidentFixtureEvents({
      id,
      agency: FIRE,
      receivedAt: iso(receivedAt),
      mobilisedAfter: 60,
      mobileAfter: 90,
      arrivalsAfter: [300],
      closedAfter: 1_800,
      ...overrides,
    }).map(withSource(source));

  const LATE_AT = NOW - 3 * 3_600_000;

  const events = [
    // Clean: every time present and in order; a cancelled incident never attended; an incident
    // still open and recent (nothing expected of it yet); a call linked within the skew limit.
    ...incident('CLEAN-1'),
    ...incident('CLEAN-CANCELLED', {
      mobilisedAfter: null,
      mobileAfter: null,
      arrivalsAfter: [],
      closedAfter: null,
      cancelledAfter: 120,
    }),
    ...incident('CLEAN-OPEN', {
      mobilisedAfter: null,
      mobileAfter: null,
      arrivalsAfter: [],
      closedAfter: null,
    }),
    ...incident('INC-C1'),
    ...callFixtureEvents({
      id: 'C1',
      agency: CONTROL,
      presentedAt: iso(BASE - 10_000),
      answeredAfter: 4,
      closedAfter: 60,
    }).map(withSource('staffs-telephony')),
    // Each of these trips one check, once.
    // Arrived 150 s after the call, mobilised at 200 s: out of sequence by 50 s.
    ...incident('OOS', { mobilisedAfter: 200, mobileAfter: 210, arrivalsAfter: [150] }),
    // A call answered 5 s before it was presented.
    ...callFixtureEvents({
      id: 'C3',
      agency: CONTROL,
      presentedAt: iso(BASE),
      answeredAfter: -5,
      closedAfter: 60,
      outcome: 'no_further_action',
    }).map(withSource('staffs-telephony')),
    // From another system of the same service.
    ...incident('NO-MOB', { mobilisedAfter: null, mobileAfter: null }, BASE, 'legacy-cad'),
    ...incident('NO-ARR', { arrivalsAfter: [] }),
    ...incident('NO-STOP', { mobilisedAfter: null, mobileAfter: null, arrivalsAfter: [] }),
    // Created 120 s before the call was received (the CAD's clock ahead of the telephony's).
    ...incident('SKEW', { createdAfter: -120 }),
    // Linked to a call presented 300 s before the incident's call time.
    ...incident('INC-C2'),
    ...callFixtureEvents({
      id: 'C2',
      agency: CONTROL,
      presentedAt: iso(BASE - 300_000),
      answeredAfter: 4,
      closedAfter: 60,
    }).map(withSource('staffs-telephony')),
    // Three hours ago, every event landing now: over an hour behind.
    ...incident('LATE', {}, LATE_AT),
    // A neighbour's incident out of sequence: never in our report.
    ...incidentFixtureEvents({
      id: 'N-OOS',
      agency: NEIGHBOUR,
      receivedAt: iso(BASE),
      mobilisedAfter: 200,
      arrivalsAfter: [150],
      closedAfter: 1_800,
    }).map(withSource('cheshire-cad')),
  ];

  /** The records the fixtures above are built to give, by hand. */
  const expected: ExpectedRecord[] = [
    {
      check: 'out_of_sequence',
      agency: FIRE,
      source: 'staffs-cad',
      entity: 'incident',
      id: 'OOS',
      at: BASE,
      seconds: 50,
    },
    {
      check: 'out_of_sequence',
      agency: CONTROL,
      source: 'staffs-telephony',
      entity: 'call',
      id: 'C3',
      at: BASE,
      seconds: 5,
    },
    {
      check: 'missing_mobilisation',
      agency: FIRE,
      source: 'legacy-cad',
      entity: 'incident',
      id: 'NO-MOB',
      at: BASE,
      seconds: null,
    },
    {
      check: 'missing_arrival',
      agency: FIRE,
      source: 'staffs-cad',
      entity: 'incident',
      id: 'NO-ARR',
      at: BASE,
      seconds: null,
    },
    {
      check: 'no_clock_stop',
      agency: FIRE,
      source: 'staffs-cad',
      entity: 'incident',
      id: 'NO-STOP',
      at: BASE,
      seconds: null,
    },
    {
      check: 'clock_skew',
      agency: FIRE,
      source: 'staffs-cad',
      entity: 'incident',
      id: 'SKEW',
      at: BASE,
      seconds: 120,
    },
    {
      check: 'clock_skew',
      agency: FIRE,
      source: 'staffs-cad',
      entity: 'incident',
      id: 'INC-C2',
      at: BASE,
      seconds: 300,
    },
    {
      check: 'late_ingest',
      agency: FIRE,
      source: 'staffs-cad',
      entity: 'incident',
      id: 'LATE',
      at: LATE_AT,
      seconds: null,
    },
    {
      check: 'out_of_sequence',
      agency: NEIGHBOUR,
      source: 'cheshire-cad',
      entity: 'incident',
      id: 'N-OOS',
      at: BASE,
      seconds: 50,
    },
  ];

  return { events, expected, now: NOW, from: FROM, to: TO, base: BASE, lateAt: LATE_AT };
}
