/**
 * Hand-built facts for the integration tests: incidents with known response times, 999 calls
 * with known answer times, one whole-time appliance with known status intervals — of
 * Staffordshire's fire service (and one police incident), and of a neighbouring fire service in
 * the same database, the same March, at stations of the same names. Every expected figure in the
 * tests is worked out by hand from these rows. The tests land them as the events that give
 * them, through the sink's own path.
 */

import {
  callFixtureEvents,
  type IncidentFixture,
  incidentFixtureEvents,
  statusFixtureEvents,
} from '@bluelight/clickhouse-sink/testing/events';
import { AGENCIES } from './keys.js';

export interface IncidentFact {
  id: string;
  /** When the call was received (UTC). */
  received: string;
  /** Seconds after the call: mobilised, mobile, first arrival (null: not recorded). */
  mobilised: number | null;
  mobile: number | null;
  arrival: number | null;
  band: string;
  station: string;
  area: string;
  service?: string;
  category?: string;
  lifeRisk?: number;
  cancelled?: number;
  /** Default: staffordshire-fire, or staffordshire-police for a police incident. */
  agency?: string;
}

// March 2024 before the clocks change (31 March): London time is UTC, so London days are UTC days.
export const INCIDENTS: IncidentFact[] = [
  {
    id: 'SFR-0001',
    received: '2024-03-10T08:00:00Z',
    mobilised: 60,
    mobile: 120,
    arrival: 400,
    band: 'high',
    station: 'HANLEY',
    area: 'Stoke',
  },
  {
    id: 'SFR-0002',
    received: '2024-03-10T09:00:00Z',
    mobilised: 90,
    mobile: 150,
    arrival: 500,
    band: 'high',
    station: 'HANLEY',
    area: 'Stoke',
  },
  {
    id: 'SFR-0003',
    received: '2024-03-10T10:00:00Z',
    mobilised: 30,
    mobile: 100,
    arrival: 550,
    band: 'medium',
    station: 'HANLEY',
    area: 'Stoke',
  },
  {
    id: 'SFR-0004',
    received: '2024-03-10T11:00:00Z',
    mobilised: 45,
    mobile: 105,
    arrival: 700,
    band: 'medium',
    station: 'LEEK',
    area: 'Moorlands',
  },
  {
    id: 'SFR-0005',
    received: '2024-03-10T12:00:00Z',
    mobilised: 50,
    mobile: 110,
    arrival: 900,
    band: 'low',
    station: 'LEEK',
    area: 'Moorlands',
  },
  {
    id: 'SFR-0006',
    received: '2024-03-11T08:30:00Z',
    mobilised: 70,
    mobile: 130,
    arrival: 460,
    band: 'high',
    station: 'LEEK',
    area: 'Moorlands',
  },
  // No arrival recorded: in scope but not measured.
  {
    id: 'SFR-0007',
    received: '2024-03-11T09:30:00Z',
    mobilised: 60,
    mobile: null,
    arrival: null,
    band: 'high',
    station: 'HANLEY',
    area: 'Stoke',
  },
  // A police incident: not in the fire standards' scope.
  {
    id: 'POL-0001',
    received: '2024-03-11T10:00:00Z',
    mobilised: 120,
    mobile: 180,
    arrival: 600,
    band: '',
    station: 'CENTRAL',
    area: 'Stoke',
    service: 'police',
    category: '',
    lifeRisk: 0,
  },
  // Later in March: a secondary fire (not life-risk), and a cancelled incident.
  {
    id: 'SFR-0009',
    received: '2024-03-20T15:00:00Z',
    mobilised: 60,
    mobile: 120,
    arrival: 300,
    band: 'low',
    station: 'LEEK',
    area: 'Moorlands',
    category: 'secondary_fire',
    lifeRisk: 0,
  },
  {
    id: 'SFR-0010',
    received: '2024-03-21T15:00:00Z',
    mobilised: 60,
    mobile: null,
    arrival: null,
    band: 'high',
    station: 'LEEK',
    area: 'Moorlands',
    cancelled: 1,
  },
  // February: the previous period of a March report.
  {
    id: 'SFR-0011',
    received: '2024-02-15T12:00:00Z',
    mobilised: 60,
    mobile: 120,
    arrival: 420,
    band: 'high',
    station: 'HANLEY',
    area: 'Stoke',
  },
  // The neighbouring fire service (its own ids: the facts are keyed by entity id alone for now).
  ...(
    [
      ['CFR-0001', '2024-03-10T08:30:00Z', 60, 120, 300, 'high', 'HANLEY', 'Crewe'],
      ['CFR-0002', '2024-03-10T09:30:00Z', 90, 150, 600, 'high', 'HANLEY', 'Crewe'],
      ['CFR-0003', '2024-03-11T10:30:00Z', 45, 105, 650, 'medium', 'LEEK', 'Nantwich'],
      ['CFR-0004', '2024-03-12T14:00:00Z', 50, 110, 1000, 'low', 'LEEK', 'Nantwich'],
      ['CFR-0006', '2024-03-13T12:00:00Z', 40, 100, 450, 'high', 'LEEK', 'Nantwich'],
    ] as const
  ).map(([id, received, mobilised, mobile, arrival, band, station, area]) => ({
    id,
    received,
    mobilised,
    mobile,
    arrival,
    band,
    station,
    area,
    agency: AGENCIES.neighbour,
  })),
  {
    id: 'CFR-0005',
    received: '2024-03-20T16:00:00Z',
    mobilised: 60,
    mobile: 120,
    arrival: 400,
    band: 'low',
    station: 'HANLEY',
    area: 'Crewe',
    category: 'secondary_fire',
    lifeRisk: 0,
    agency: AGENCIES.neighbour,
  },
];

/** 999 calls presented on 10 March: answered after these seconds, or abandoned (null). */
const CALL_ANSWER_SECONDS: (number | null)[] = [5, 8, 10, 12, 30, null];
/** The neighbouring fire service's 999 calls, the same morning, the same queue name. */
const NEIGHBOUR_CALL_ANSWER_SECONDS: (number | null)[] = [4, 6, 9, 9.5, 25, null];

/** The events that give INCIDENTS: creation 20 s after the call, mobilised, mobile, arrival, cancellation. */
export function incidentEvents() {
  return INCIDENTS.flatMap((fact) =>
    incidentFixtureEvents({
      id: fact.id,
      agency: fact.agency ?? (fact.service === 'police' ? AGENCIES.police : AGENCIES.fire),
      receivedAt: fact.received,
      service: fact.service === 'police' ? 'police' : 'fire',
      category: (fact.category || 'primary_fire') as IncidentFixture['category'],
      subtype: fact.category === 'secondary_fire' ? undefined : 'dwelling',
      riskBand: (fact.band || 'high') as IncidentFixture['riskBand'],
      lifeRisk: (fact.lifeRisk ?? 1) === 1,
      station: fact.station,
      area: fact.area,
      mobilisedAfter: fact.mobilised,
      mobileAfter: fact.mobile,
      arrivalsAfter: [fact.arrival],
      cancelledAfter: fact.cancelled ? 300 : null,
    }),
  );
}

/** The events of both agencies' 999 calls presented on 10 March, closed after 300 s. */
export function callEvents() {
  return [
    ...callsOf(CALL_ANSWER_SECONDS, AGENCIES.fire, 'CALL', ':00'),
    ...callsOf(NEIGHBOUR_CALL_ANSWER_SECONDS, AGENCIES.neighbour, 'CHS-CALL', ':30'),
  ];
}

function callsOf(waits: (number | null)[], agency: string, prefix: string, minute: string) {
  return waits.flatMap((seconds, index) =>
    callFixtureEvents({
      id: `${prefix}-${index + 1}`,
      agency,
      presentedAt: `2024-03-10T1${index}${minute}:00Z`,
      line: '999',
      service: 'fire',
      queue: 'fire-999',
      answeredAfter: seconds,
      abandonedAfter: seconds === null ? 40 : null,
      closedAfter: 300,
      outcome: seconds === null ? 'no_further_action' : 'incident_created',
    }),
  );
}

/**
 * One whole-time pump of each agency over March 2024 (London: 1 March 00:00 GMT to 1 April 00:00
 * BST, which is 31 March 23:00 UTC — 743 hours). Staffordshire's is off the run for crewing
 * 11–13 March (48 hours), the neighbour's for a mechanical fault on 20 March (24 hours); both go
 * off the run again at 31 March 23:00 UTC, after the month.
 */
export function statusEvents() {
  const pump = (agency: string, id: string) => ({
    id,
    agency,
    station: 'HANLEY',
    type: 'pump',
    crewing: 'wholetime' as const,
  });
  return [
    ...statusFixtureEvents(pump(AGENCIES.fire, 'HANLEY-P1'), [
      { at: '2024-03-01T00:00:00Z', status: 'available_at_station' },
      { at: '2024-03-11T00:00:00Z', status: 'unavailable', reason: 'crewing' },
      { at: '2024-03-13T00:00:00Z', status: 'available_at_station' },
      { at: '2024-03-31T23:00:00Z', status: 'unavailable', reason: 'other' },
    ]),
    ...statusFixtureEvents(pump(AGENCIES.neighbour, 'CHS-HANLEY-P1'), [
      { at: '2024-03-01T00:00:00Z', status: 'available_at_station' },
      { at: '2024-03-20T00:00:00Z', status: 'unavailable', reason: 'mechanical' },
      { at: '2024-03-21T00:00:00Z', status: 'available_at_station' },
      { at: '2024-03-31T23:00:00Z', status: 'unavailable', reason: 'other' },
    ]),
  ];
}
