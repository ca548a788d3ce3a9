import {
  callFixtureEvents,
  type IncidentFixture,
  incidentFixtureEvents,
} from '@bluelight/clickhouse-sink/testing/events';

/**
 * A hand-built London day, 14 May 2025, for the records behind a figure: incidents judged by the
 * shipped attendance standard (fire-attendance-standard: life-risk fire incidents, first pump
 * within 480 / 600 / 1080 s for high / medium / low risk, the Home Office exclusions) with every
 * exclusion reason, one incident matching two, a cancelled one, a not-measured one and two out
 * of scope; 999 calls judged by calls-999-answer (answered within 10 s). What each one is, and
 * so what its record must say, is written beside it by hand.
 */

export const RECORDS_DAY = '2025-05-14';
export const RECORDS_AGENCY = 'staffordshire-fire';
export const RECORDS_NEIGHBOUR = 'cheshire-fire';

/** What the standard must make of an incident: its reasons in precedence order, or a state. */
export interface ScenarioIncident {
  id: string;
  /** Seconds from the call to the first arrival; null: no arrival. */
  seconds: number | null;
  band: 'high' | 'medium' | 'low';
  /** The record's exclusion reasons, in the documented precedence. */
  reasons: string[];
  state: 'included' | 'excluded' | 'not_measured' | 'cancelled' | 'out_of_scope';
  /** Included: within the band's threshold. */
  met?: boolean;
  fixture: Partial<IncidentFixture>;
}

const at = (time: string) => `${RECORDS_DAY}T${time}Z`;

export const SCENARIO_INCIDENTS: ScenarioIncident[] = [
  // Included: measured, no exclusion. 5 of 7 within their band's threshold.
  { id: 'R01', seconds: 300, band: 'high', reasons: [], state: 'included', met: true, fixture: {} },
  {
    id: 'R02',
    seconds: 540,
    band: 'high',
    reasons: [],
    state: 'included',
    met: false,
    fixture: {},
  },
  {
    id: 'R03',
    seconds: 590,
    band: 'medium',
    reasons: [],
    state: 'included',
    met: true,
    fixture: { station: 'LEEK', area: 'Staffordshire Moorlands' },
  },
  {
    id: 'R04',
    seconds: 610,
    band: 'medium',
    reasons: [],
    state: 'included',
    met: false,
    fixture: { station: 'LEEK', area: 'Staffordshire Moorlands' },
  },
  {
    id: 'R05',
    seconds: 1000,
    band: 'low',
    reasons: [],
    state: 'included',
    met: true,
    fixture: { station: 'LEEK', area: 'Staffordshire Moorlands' },
  },
  // Exactly the threshold is within it.
  { id: 'R06', seconds: 480, band: 'high', reasons: [], state: 'included', met: true, fixture: {} },
  // 23:30 UTC on the 13th is 00:30 BST on the 14th: a record of the 14th.
  {
    id: 'R07',
    seconds: 420,
    band: 'high',
    reasons: [],
    state: 'included',
    met: true,
    fixture: { receivedAt: '2025-05-13T23:30:00Z' },
  },
  // Excluded, one reason each, then one late call that also took over an hour.
  {
    id: 'X1',
    seconds: 500,
    band: 'high',
    reasons: ['late_call'],
    state: 'excluded',
    fixture: { closedAfter: 3_000, exclusions: { lateCall: true } },
  },
  {
    id: 'X2',
    seconds: 400,
    band: 'medium',
    reasons: ['derelict_property'],
    state: 'excluded',
    fixture: { closedAfter: 3_000, exclusions: { derelictProperty: true } },
  },
  {
    id: 'X3',
    seconds: 700,
    band: 'medium',
    reasons: ['abandoned_road_vehicle'],
    state: 'excluded',
    fixture: { closedAfter: 3_000, exclusions: { abandonedRoadVehicle: true } },
  },
  // Arrived before it was mobilised (mobilised 450 s after the call).
  {
    id: 'X4',
    seconds: 400,
    band: 'high',
    reasons: ['out_of_sequence'],
    state: 'excluded',
    fixture: { mobilisedAfter: 450, mobileAfter: null },
  },
  {
    id: 'X5',
    seconds: 4_000,
    band: 'low',
    reasons: ['total_over'],
    state: 'excluded',
    fixture: {},
  },
  {
    id: 'X6',
    seconds: 45,
    band: 'high',
    reasons: ['total_under'],
    state: 'excluded',
    fixture: { mobilisedAfter: 20, mobileAfter: 30 },
  },
  {
    id: 'X7',
    seconds: 3_900,
    band: 'low',
    reasons: ['late_call', 'total_over'],
    state: 'excluded',
    fixture: { closedAfter: 5_000, exclusions: { lateCall: true } },
  },
  // No arrival recorded: in scope, not measured.
  { id: 'N1', seconds: null, band: 'high', reasons: [], state: 'not_measured', fixture: {} },
  // Cancelled on the way: in scope, never attended.
  {
    id: 'C1',
    seconds: null,
    band: 'high',
    reasons: [],
    state: 'cancelled',
    fixture: { cancelledAfter: 120 },
  },
  // Out of the standard's scope: no life risk; a falls response.
  {
    id: 'O1',
    seconds: 300,
    band: 'high',
    reasons: [],
    state: 'out_of_scope',
    fixture: { lifeRisk: false },
  },
  {
    id: 'O2',
    seconds: 300,
    band: 'high',
    reasons: [],
    state: 'out_of_scope',
    fixture: { category: 'special_service', subtype: 'falls_assisting_other_agencies' },
  },
];

/** The times of day the incidents' calls were received, in the order above (UTC, BST − 1 h). */
function receivedAt(index: number): string {
  const hour = String(8 + Math.floor(index / 2)).padStart(2, '0');
  return at(`${hour}:${index % 2 === 0 ? '00' : '30'}:00`);
}

function incidentEvents(agency: string, incidents: ScenarioIncident[]) {
  return incidents.flatMap((incident, index) => {
    const seconds = incident.seconds;
    return incidentFixtureEvents({
      id: incident.id,
      agency,
      receivedAt: receivedAt(index),
      riskBand: incident.band,
      station: 'HANLEY',
      area: 'Stoke-on-Trent',
      mobilisedAfter: seconds === null ? null : Math.min(60, seconds - 20),
      mobileAfter: seconds === null ? null : Math.min(120, seconds - 10),
      arrivalsAfter: seconds === null ? [] : [seconds],
      ...incident.fixture,
    });
  });
}

/**
 * A neighbouring fire service in the same database, the same day and the same ids: 3 incidents
 * of its own, which no Staffordshire record may show (its R01 took 900 s, its X1 a late call).
 */
export const NEIGHBOUR_INCIDENTS: ScenarioIncident[] = [
  {
    id: 'R01',
    seconds: 900,
    band: 'high',
    reasons: [],
    state: 'included',
    met: false,
    fixture: {},
  },
  { id: 'R02', seconds: 200, band: 'high', reasons: [], state: 'included', met: true, fixture: {} },
  {
    id: 'X1',
    seconds: 500,
    band: 'high',
    reasons: ['late_call'],
    state: 'excluded',
    fixture: { closedAfter: 3_000, exclusions: { lateCall: true } },
  },
];

/** A 999 call (or not): seconds to answer, or null when the caller hung up first. */
export interface ScenarioCall {
  id: string;
  line: '999' | '101';
  wait: number | null;
  presentedAt: string;
}

/**
 * Staffordshire fire's calls of the day: seven 999 calls answered after 3, 8, 10 (exactly the
 * threshold: within it), 12, 45 and 75 s and one presented at 23:30 UTC on the 13th (00:30 BST on
 * the 14th) answered after 5 s; one abandoned after 30 s; one 101 call (out of scope).
 */
export const SCENARIO_CALLS: ScenarioCall[] = [
  { id: 'K1', line: '999', wait: 3, presentedAt: at('09:00:00') },
  { id: 'K2', line: '999', wait: 8, presentedAt: at('09:10:00') },
  { id: 'K3', line: '999', wait: 10, presentedAt: at('09:20:00') },
  { id: 'K4', line: '999', wait: 12, presentedAt: at('09:30:00') },
  { id: 'K5', line: '999', wait: 45, presentedAt: at('09:40:00') },
  { id: 'K6', line: '999', wait: 75, presentedAt: at('09:50:00') },
  { id: 'K7', line: '999', wait: 5, presentedAt: '2025-05-13T23:30:00Z' },
  { id: 'K8', line: '999', wait: null, presentedAt: at('10:00:00') },
  { id: 'K9', line: '101', wait: 20, presentedAt: at('10:10:00') },
];

function callEvents(agency: string, calls: ScenarioCall[]) {
  return calls.flatMap((call) =>
    callFixtureEvents({
      id: call.id,
      agency,
      presentedAt: call.presentedAt,
      line: call.line,
      service: 'fire',
      queue: `${call.line}-fire`,
      answeredAfter: call.wait,
      abandonedAfter: call.wait === null ? 30 : null,
      closedAfter: 300,
      outcome: call.wait === null ? 'no_further_action' : 'incident_created',
    }),
  );
}

/** Every event of the scenario: ours and the neighbour's. */
export function recordsScenarioEvents() {
  return [
    ...incidentEvents(RECORDS_AGENCY, SCENARIO_INCIDENTS),
    ...incidentEvents(RECORDS_NEIGHBOUR, NEIGHBOUR_INCIDENTS),
    ...callEvents(RECORDS_AGENCY, SCENARIO_CALLS),
  ];
}

/** The period of the scenario: its one London day. */
export const RECORDS_PERIOD = { from: RECORDS_DAY, to: RECORDS_DAY };
