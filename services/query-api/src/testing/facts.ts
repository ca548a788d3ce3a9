/**
 * Hand-built facts for the integration tests: incidents with known response times, 999 calls
 * with known answer times, one whole-time appliance with known status intervals — of
 * Staffordshire's fire service (and one police incident), and of a neighbouring fire service in
 * the same database, the same March, at stations of the same names. Every expected figure in the
 * tests is worked out by hand from these rows.
 */

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
export const CALL_ANSWER_SECONDS: (number | null)[] = [5, 8, 10, 12, 30, null];
/** The neighbouring fire service's 999 calls, the same morning, the same queue name. */
export const NEIGHBOUR_CALL_ANSWER_SECONDS: (number | null)[] = [4, 6, 9, 9.5, 25, null];

const utc = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
const after = (iso: string, seconds: number | null) =>
  seconds === null ? null : utc(Date.parse(iso) + seconds * 1000);

export function incidentRows() {
  return INCIDENTS.map((fact) => ({
    incident_id: fact.id,
    agency: fact.agency ?? (fact.service === 'police' ? AGENCIES.police : AGENCIES.fire),
    service: fact.service ?? 'fire',
    call_received_at: after(fact.received, 0),
    created_at: after(fact.received, 20),
    first_mobilised_at: after(fact.received, fact.mobilised),
    first_mobile_at: after(fact.received, fact.mobile),
    first_arrival_at: after(fact.received, fact.arrival),
    second_arrival_at: null,
    closed_at: null,
    cancelled: fact.cancelled ?? 0,
    category: fact.category ?? 'primary_fire',
    category_subtype: fact.category === 'secondary_fire' ? 'grassland' : 'dwelling',
    risk_band: fact.band,
    life_risk: fact.lifeRisk ?? 1,
    police_grading: fact.service === 'police' ? 'emergency' : '',
    area_type: 'urban',
    station_ground: fact.station,
    area: fact.area,
    stop_code: '',
    excluded_late_call: 0,
    excluded_derelict_property: 0,
    excluded_abandoned_road_vehicle: 0,
    out_of_sequence: 0,
    event_count: 4,
    last_event_at: after(fact.received, 1000),
    day: fact.received.slice(0, 10),
    version: '2024-04-01 00:00:00.000000',
    is_deleted: 0,
  }));
}

export function callRows() {
  return [
    ...callsOf(CALL_ANSWER_SECONDS, AGENCIES.fire, 'CALL', ':00'),
    ...callsOf(NEIGHBOUR_CALL_ANSWER_SECONDS, AGENCIES.neighbour, 'CHS-CALL', ':30'),
  ];
}

function callsOf(waits: (number | null)[], agency: string, prefix: string, minute: string) {
  return waits.map((seconds, index) => {
    const presented = `2024-03-10T1${index}${minute}:00Z`;
    return {
      call_id: `${prefix}-${index + 1}`,
      agency,
      line: '999',
      service: 'fire',
      queue: 'fire-999',
      presented_at: after(presented, 0),
      answered_at: after(presented, seconds),
      abandoned_at: seconds === null ? after(presented, 40) : null,
      closed_at: after(presented, 300),
      answer_seconds: seconds,
      outcome: seconds === null ? 'abandoned' : 'incident_created',
      incident_id: '',
      event_count: 3,
      last_event_at: after(presented, 300),
      bucket: after(presented, 0),
      rolled_bucket: null,
      version: '2024-04-01 00:00:00.000000',
      is_deleted: 0,
    };
  });
}

function interval(
  start: string,
  end: string,
  status: string,
  reason = '',
  agency: string = AGENCIES.fire,
) {
  // The neighbour's pump at its own HANLEY has its own id (facts are keyed by entity id alone).
  const resource = agency === AGENCIES.fire ? 'HANLEY-P1' : 'CHS-HANLEY-P1';
  return {
    resource_id: resource,
    start_at: start,
    end_at: end,
    agency,
    home_station: 'HANLEY',
    appliance_type: 'pump',
    crewing_model: 'wholetime',
    status,
    unavailable_reason: reason,
    available: status === 'unavailable' ? 0 : 1,
    event_id: `${resource}-${start}`,
    version: '2024-04-01 00:00:00.000000',
    is_deleted: 0,
  };
}

/**
 * One whole-time pump over March 2024 (London: 1 March 00:00 GMT to 1 April 00:00 BST, which is
 * 31 March 23:00 UTC — 743 hours): on the run except 48 hours off for crewing, 11–13 March. The
 * neighbour's whole-time pump at its HANLEY: off 24 hours, 20–21 March, mechanical.
 */
export function intervalRows() {
  return [
    interval('2024-03-01 00:00:00.000', '2024-03-11 00:00:00.000', 'available_at_station'),
    interval('2024-03-11 00:00:00.000', '2024-03-13 00:00:00.000', 'unavailable', 'crewing'),
    interval('2024-03-13 00:00:00.000', '2024-03-31 23:00:00.000', 'available_at_station'),
    ...[
      ['2024-03-01 00:00:00.000', '2024-03-20 00:00:00.000', 'available_at_station', ''],
      ['2024-03-20 00:00:00.000', '2024-03-21 00:00:00.000', 'unavailable', 'mechanical'],
      ['2024-03-21 00:00:00.000', '2024-03-31 23:00:00.000', 'available_at_station', ''],
    ].map(([start, end, status, reason]) =>
      interval(start as string, end as string, status as string, reason, AGENCIES.neighbour),
    ),
  ];
}
