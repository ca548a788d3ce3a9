/**
 * Hand-built incidents, calls, appliances, raw events and dead letters for the dashboard and
 * alert tests: Staffordshire's (its fire service's incidents and appliances, its control room's
 * calls) and a neighbouring fire service's, at stations of the same names over the same days.
 * The tests land them as the contract events that give them, through the sink's own path.
 */
import {
  callFixtureEvents,
  type FixtureEvent,
  type IncidentFixture,
  incidentFixtureEvents,
  type StatusFixture,
  statusFixtureEvents,
} from '@bluelight/clickhouse-sink/testing/events';

/** Staffordshire: the fire service and the control room. */
export const OURS = { fire: 'staffordshire-fire', control: 'staffordshire-control' } as const;
export const OUR_AGENCIES = [OURS.control, OURS.fire];
/** The neighbouring service: incidents, appliances and calls under one agency. */
export const THEIRS = 'cheshire-fire';

const sql = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
export const at = (iso: string, plusSeconds = 0) => sql(Date.parse(iso) + plusSeconds * 1000);
const londonMonth = (iso: string) =>
  `${new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(new Date(iso)).slice(0, 7)}-01`;

export interface IncidentFact {
  id: string;
  at: string;
  seconds: number | null;
  band: string;
  station?: string;
  category?: string;
  subtype?: string;
  lifeRisk?: number;
  lateCall?: number;
  cancelled?: number;
  open?: boolean;
  agency?: string;
}

/**
 * The events of one incident: created 30 s after the call; mobilised 90 s and mobile 150 s after
 * it (just before an earlier arrival), for the response segments; closed an hour after the
 * arrival unless open; cancelled 2 minutes in.
 */
export function incidentEvents(fact: IncidentFact): FixtureEvent[] {
  return incidentFixtureEvents({
    id: fact.id,
    agency: fact.agency ?? OURS.fire,
    receivedAt: fact.at,
    category: (fact.category ?? 'primary_fire') as IncidentFixture['category'],
    subtype: fact.subtype ?? 'dwelling',
    riskBand: fact.band as IncidentFixture['riskBand'],
    lifeRisk: (fact.lifeRisk ?? 1) === 1,
    station: fact.station ?? 'HANLEY',
    createdAfter: 30,
    mobilisedAfter: fact.seconds === null ? null : Math.min(90, fact.seconds - 20),
    mobileAfter: fact.seconds === null ? null : Math.min(150, fact.seconds - 10),
    arrivalsAfter: [fact.seconds],
    closedAfter: fact.open ? null : (fact.seconds ?? 0) + 3600,
    exclusions: { lateCall: fact.lateCall === 1 },
    cancelledAfter: fact.cancelled ? 120 : null,
  });
}

/**
 * Life-risk fire incidents (fire-attendance-standard: high 480 s, medium 600 s, low 1080 s,
 * at least 5 measured). ✓ met, ✗ missed. London months, not UTC ones:
 *   March 2024: M1✓ M2✗ M3✓ M4✓ M5✓ M7✗ → 4 of 6
 *   April 2024: M6✗ A1✓ A2✗ A3✓ A5✓ → 3 of 5 (M6 is 23:30 UTC on 31 March: 00:30 BST on 1 April)
 *   May 2024:   A4✓ Y1✓ Y2✗ Y3✓ Y4✓ → 4 of 5 (A4 is 23:30 UTC on 30 April: 1 May in London)
 *   March 2023: P1✓ P2✗ P3✗ P4✓ P5✗ → 2 of 5 (year on year)
 */
export const INCIDENTS: IncidentFact[] = [
  { id: 'M1', at: '2024-03-10T10:00:00Z', seconds: 420, band: 'high' },
  { id: 'M2', at: '2024-03-11T10:00:00Z', seconds: 500, band: 'high' },
  { id: 'M3', at: '2024-03-12T10:00:00Z', seconds: 590, band: 'medium', station: 'LEEK' },
  { id: 'M4', at: '2024-03-13T10:00:00Z', seconds: 1000, band: 'low', station: 'LEEK' },
  { id: 'M7', at: '2024-03-13T18:00:00Z', seconds: 900, band: 'high' },
  // The clocks-change night: 00:58 GMT → arrival 01:03:05 UTC (02:03:05 BST) is 305 s, not 3,905.
  { id: 'M5', at: '2024-03-31T00:58:00Z', seconds: 305, band: 'medium' },
  { id: 'M6', at: '2024-03-31T23:30:00Z', seconds: 600, band: 'high' },
  { id: 'A1', at: '2024-04-05T09:00:00Z', seconds: 300, band: 'high', open: true },
  { id: 'A2', at: '2024-04-06T09:00:00Z', seconds: 700, band: 'medium', station: 'LEEK' },
  {
    id: 'A3',
    at: '2024-04-07T09:00:00Z',
    seconds: 900,
    band: 'low',
    station: 'LEEK',
    category: 'special_service',
    subtype: 'rescue_or_evacuation',
  },
  { id: 'A5', at: '2024-04-20T12:00:00Z', seconds: 470, band: 'high', station: 'LEEK' },
  { id: 'A4', at: '2024-04-30T23:30:00Z', seconds: 450, band: 'high' },
  { id: 'Y1', at: '2024-05-02T10:00:00Z', seconds: 500, band: 'medium' },
  { id: 'Y2', at: '2024-05-03T10:00:00Z', seconds: 1200, band: 'low', station: 'LEEK' },
  { id: 'Y3', at: '2024-05-04T10:00:00Z', seconds: 400, band: 'high' },
  { id: 'Y4', at: '2024-05-04T12:00:00Z', seconds: 550, band: 'medium', station: 'LEEK' },
  // Excluded, one reason each: a late call, over 3,600 s, under 60 s.
  { id: 'X1', at: '2024-04-10T10:00:00Z', seconds: 300, band: 'high', lateCall: 1 },
  { id: 'X2', at: '2024-04-11T10:00:00Z', seconds: 4000, band: 'low' },
  { id: 'X3', at: '2024-04-12T10:00:00Z', seconds: 45, band: 'medium' },
  // Out of scope: no life risk, cancelled.
  {
    id: 'O1',
    at: '2024-04-05T10:00:00Z',
    seconds: 100,
    band: 'high',
    lifeRisk: 0,
    station: 'STONE',
  },
  { id: 'C1', at: '2024-04-05T10:30:00Z', seconds: null, band: 'high', cancelled: 1, open: true },
  // Open on the control room's morning: a rescue with no arrival yet.
  {
    id: 'R1',
    at: '2024-04-05T11:00:00Z',
    seconds: null,
    band: 'medium',
    category: 'special_service',
    subtype: 'rescue_or_evacuation',
    open: true,
  },
  // A year earlier.
  { id: 'P1', at: '2023-03-10T10:00:00Z', seconds: 400, band: 'high' },
  { id: 'P2', at: '2023-03-11T10:00:00Z', seconds: 500, band: 'high' },
  { id: 'P3', at: '2023-03-12T10:00:00Z', seconds: 700, band: 'medium' },
  { id: 'P4', at: '2023-03-13T10:00:00Z', seconds: 500, band: 'medium' },
  { id: 'P5', at: '2023-03-14T10:00:00Z', seconds: 2000, band: 'low' },
];

/**
 * For the attendance alert rules (life-risk, high band: 480 s; ✓ 300 s, ✗ 600 s), all at 10:00 UTC:
 *   HANLEY   25–29 August ✓✓✓✓✓; 2–4 September ✗✗✗; 20–24 September ✓✓✓✓✓
 *   LEEK     10–14 September ✓✓✓✓✓
 *   BIDDULPH 15–16 September ✗✗ (never the 5 measured the standard needs)
 */
export const ALERT_INCIDENTS: IncidentFact[] = [
  ...[25, 26, 27, 28, 29].map((day) => ({
    id: `G${day}`,
    at: `2024-08-${day}T10:00:00Z`,
    seconds: 300,
    band: 'high',
  })),
  ...[2, 3, 4].map((day) => ({
    id: `H${day}`,
    at: `2024-09-0${day}T10:00:00Z`,
    seconds: 600,
    band: 'high',
  })),
  ...[20, 21, 22, 23, 24].map((day) => ({
    id: `H${day}`,
    at: `2024-09-${day}T10:00:00Z`,
    seconds: 300,
    band: 'high',
  })),
  ...[10, 11, 12, 13, 14].map((day) => ({
    id: `L${day}`,
    at: `2024-09-${day}T10:00:00Z`,
    seconds: 300,
    band: 'high',
    station: 'LEEK',
  })),
  ...[15, 16].map((day) => ({
    id: `B${day}`,
    at: `2024-09-${day}T10:00:00Z`,
    seconds: 600,
    band: 'high',
    station: 'BIDDULPH',
  })),
];

/**
 * The neighbour's life-risk fire incidents (✓ met, ✗ missed):
 *   March 2024: HANLEY CH-M1✓ CH-M2✗ CH-M5✓ CH-M6✓; LEEK CH-M3✓ CH-M4✓ → 5 of 6; CH-X1
 *     excluded (a late call)
 *   April 2024: HANLEY CH-A1✗ (open on the control room's morning); LEEK CH-A2✓ → 2 measured
 *   September 2024: HANLEY 20–24 ✗✗✗✗✗ (for the alert rules)
 * So over spring HANLEY is 3 of 5 (0.6) and LEEK 3 measured (below the minimum sample).
 */
export const NEIGHBOUR_INCIDENTS: IncidentFact[] = (
  [
    { id: 'CH-M1', at: '2024-03-15T10:00:00Z', seconds: 300, band: 'high' },
    { id: 'CH-M2', at: '2024-03-16T10:00:00Z', seconds: 700, band: 'high' },
    { id: 'CH-M3', at: '2024-03-17T10:00:00Z', seconds: 500, band: 'medium', station: 'LEEK' },
    { id: 'CH-M4', at: '2024-03-18T10:00:00Z', seconds: 900, band: 'low', station: 'LEEK' },
    { id: 'CH-M5', at: '2024-03-19T10:00:00Z', seconds: 550, band: 'medium' },
    { id: 'CH-M6', at: '2024-03-20T10:00:00Z', seconds: 460, band: 'high' },
    // Excluded: a late call.
    { id: 'CH-X1', at: '2024-03-21T10:00:00Z', seconds: 300, band: 'high', lateCall: 1 },
    { id: 'CH-A1', at: '2024-04-05T09:30:00Z', seconds: 600, band: 'high', open: true },
    { id: 'CH-A2', at: '2024-04-06T10:00:00Z', seconds: 450, band: 'high', station: 'LEEK' },
    ...[20, 21, 22, 23, 24].map((day) => ({
      id: `CH-S${day}`,
      at: `2024-09-${day}T10:00:00Z`,
      seconds: 600,
      band: 'high',
    })),
  ] as IncidentFact[]
).map((fact) => ({ ...fact, agency: THEIRS }));

export function deadLetter(failedAt: string, topic: string, offset: number) {
  return {
    failed_at: at(failedAt),
    service: 'clickhouse-sink',
    original_topic: topic,
    original_partition: 0,
    original_offset: offset,
    error_class: 'contract',
    reason: 'bad',
    dead_letter_topic: `${topic}.dlq`,
  };
}

/** 09:00–09:10 UTC on 8 April: eight incidents messages and one calls message dead-lettered. */
export const DLQ_BURST = new Date('2024-04-08T09:10:00Z');
export const DEAD_LETTER_BURST = [
  ...Array.from({ length: 8 }, (_, index) =>
    deadLetter(`2024-04-08T09:0${index + 1}:00Z`, 'incidents', index + 1),
  ),
  deadLetter('2024-04-08T09:05:30Z', 'calls', 1),
];

/** The events of one call: presented, answered after `wait` s or abandoned after 40 s, closed after triage. */
export function callEvents(
  id: string,
  line: '999' | '101',
  presented: string,
  wait: number | null,
  options: { abandon?: boolean; triage?: number; outcome?: string; agency?: string } = {},
): FixtureEvent[] {
  return callFixtureEvents({
    id,
    agency: options.agency ?? OURS.control,
    presentedAt: presented,
    line,
    service: 'police',
    queue: `${line}-general`,
    answeredAfter: wait,
    abandonedAfter: options.abandon ? 40 : null,
    closedAfter: wait === null || options.triage === undefined ? null : wait + options.triage,
    ...(options.outcome ? { outcome: options.outcome } : {}),
  });
}

/** 09:00 UTC plus `minutes`, on a day. */
const on = (day: string, hh: number, mm: number, ss = 0) =>
  `${day}T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:${String(ss).padStart(2, '0')}Z`;

export const T1 = new Date('2024-04-05T12:00:00Z'); // misses: 6 of 8 within 10 s, 7 waiting
export const T2 = new Date('2024-04-06T12:00:00Z'); // meets: 10 of 10
export const T3 = new Date('2024-04-07T12:00:00Z'); // at risk: 10 of 11 (90.9%)

export const CALLS: FixtureEvent[] = [
  // Around the clocks change (999 by London day): 30 March; 31 March (4 of 5); 1 April.
  callEvents('d1', '999', '2024-03-30T23:59:59Z', 5),
  ...[3, 4, 5, 6, 12].map((wait, index) =>
    callEvents(`d${index + 2}`, '999', on('2024-03-31', 0, 30 + index), wait),
  ),
  callEvents('d7', '999', '2024-03-31T23:30:00Z', 2),
  // T1's hour: 3, 5, 8, 9, 10, 10 within 10 s (10.0 counts); 12 and 30 not; one abandoned.
  ...[3, 5, 8, 9, 10, 10, 12, 30].map((wait, index) =>
    callEvents(`b${index + 1}`, '999', on('2024-04-05', 11, 5 + index), wait),
  ),
  callEvents('b9', '999', on('2024-04-05', 11, 40), null, { abandon: true }),
  // Same London day, before the hour: must not count in "the last hour".
  callEvents('b10', '999', on('2024-04-05', 10, 30), 60),
  // Waiting at T1: five 999 and two 101 calls, presented in the last ten minutes.
  ...[51, 52, 53, 54, 55].map((minute, index) =>
    callEvents(`w${index + 1}`, '999', on('2024-04-05', 11, minute), null),
  ),
  ...[56, 57].map((minute, index) =>
    callEvents(`w${index + 6}`, '101', on('2024-04-05', 11, minute), null),
  ),
  // 101 triage on 5 April: 3 of 5 resolved; triage times 180, 240, 120, 300, 60 s.
  callEvents('t1', '101', on('2024-04-05', 9, 0), 60, {
    triage: 180,
    outcome: 'resolved_at_triage',
  }),
  callEvents('t2', '101', on('2024-04-05', 9, 10), 60, {
    triage: 240,
    outcome: 'appointment_booked',
  }),
  callEvents('t3', '101', on('2024-04-05', 9, 20), 60, {
    triage: 120,
    outcome: 'resolved_at_triage',
  }),
  callEvents('t4', '101', on('2024-04-05', 9, 30), 60, {
    triage: 300,
    outcome: 'referred_to_other_agency',
  }),
  callEvents('t5', '101', on('2024-04-05', 9, 40), 60, {
    triage: 60,
    outcome: 'resolved_at_triage',
  }),
  // T2's hour: all ten within 10 s.
  ...Array.from({ length: 10 }, (_, index) =>
    callEvents(`c${index + 1}`, '999', on('2024-04-06', 11, 5 + index), 2 + (index % 7)),
  ),
  // T3's hour: ten within, one at 15 s.
  ...Array.from({ length: 11 }, (_, index) =>
    callEvents(`r${index + 1}`, '999', on('2024-04-07', 11, 5 + index), index === 10 ? 15 : 4),
  ),
].flat();

/** An appliance's status changes from `[at, status, reason?]` (one a change). */
export function changes(
  resource: string,
  crewing: 'wholetime' | 'on_call',
  list: [at: string, status: StatusFixture['status'], reason?: string][],
  owner: { agency: string; station?: string } = { agency: OURS.fire },
): FixtureEvent[] {
  return statusFixtureEvents(
    {
      id: resource,
      agency: owner.agency,
      station: owner.station ?? (resource.split('-')[0] as string),
      crewing,
    },
    list.map(([at, status, reason]) => ({ at, status, ...(reason ? { reason } : {}) })),
  );
}

/**
 * On T1's last 15 minutes (11:45–12:00 UTC): LEEK-P1 on the run, LEEK-P2 off (crewing),
 * HANLEY-P3 off until 11:50 then on → 25 of 45 appliance-minutes = 55.6% (< 60%). At T2 all three
 * are on the run.
 */
export const INTERVALS: FixtureEvent[] = [
  ...changes('LEEK-P1', 'on_call', [['2024-04-05T06:00:00Z', 'available_at_station']]),
  ...changes('LEEK-P2', 'on_call', [
    ['2024-04-05T08:00:00Z', 'unavailable', 'crewing'],
    ['2024-04-06T00:00:00Z', 'available_at_station'],
  ]),
  ...changes('HANLEY-P3', 'on_call', [
    ['2024-04-05T11:00:00Z', 'unavailable', 'training'],
    ['2024-04-05T11:50:00Z', 'available_at_station'],
  ]),
  ...changes('HANLEY-W1', 'wholetime', [['2024-04-01T00:00:00Z', 'available_at_station']]),
];

/**
 * The neighbour on T1's morning: five 999 calls answered within 2–6 s in the last hour (all
 * within 10 s) and two waiting; its LEEK pump on the run all day, its HANLEY pump off the run
 * (crewing) from 11:40 UTC — so at T1 its HANLEY alerts and its LEEK does not, the other way
 * round from Staffordshire's.
 */
export const NEIGHBOUR_CALLS: FixtureEvent[] = [
  ...[2, 3, 4, 5, 6].map((wait, index) =>
    callEvents(`CH-b${index + 1}`, '999', on('2024-04-05', 11, 20 + index), wait, {
      agency: THEIRS,
    }),
  ),
  ...[52, 53].map((minute, index) =>
    callEvents(`CH-w${index + 1}`, '999', on('2024-04-05', 11, minute), null, { agency: THEIRS }),
  ),
].flat();

export const NEIGHBOUR_INTERVALS: FixtureEvent[] = [
  ...changes('CH-LEEK-P1', 'on_call', [['2024-04-05T00:00:00Z', 'available_at_station']], {
    agency: THEIRS,
    station: 'LEEK',
  }),
  ...changes(
    'CH-HANLEY-P2',
    'on_call',
    [
      ['2024-04-05T00:00:00Z', 'available_at_station'],
      ['2024-04-05T11:40:00Z', 'unavailable', 'crewing'],
    ],
    { agency: THEIRS, station: 'HANLEY' },
  ),
];

/**
 * A raw row of the pipeline-health panels: an event of its own entity (no other fixture's), of a
 * type that gives no figure (an answer without a presentation, a departure without a creation, a
 * retraction of nothing), with the ingestion time the panels are tested on.
 */
export const pipelineHealthRawRow = (
  idField: string,
  id: string,
  occurred: string,
  ingested: string,
  extra = {},
) => ({
  event_id: `${id}-${occurred}`,
  event_type: 'call.answered',
  schema_version: 1,
  occurred_at: at(occurred),
  source: 'test',
  agency: 'staffordshire-control',
  [idField]: `RAW-${id}`,
  payload: '{}',
  _topic: 'test',
  _partition: 0,
  _offset: 0,
  _ingested_at: at(ingested),
  _anchor: londonMonth(occurred),
  _revised: 0,
  ...extra,
});

/** Everything of one agency (or set of agencies) the tests load, table by table. */
export interface AgencyData {
  /** Landed through the sink's path. */
  events: FixtureEvent[];
  /** Inserted as they stand (their ingestion times are what the pipeline panels show). */
  raw: { calls_raw: unknown[]; incidents_raw: unknown[]; resources_raw: unknown[] };
}

/** Staffordshire's rows. Its newest event was ingested 20 s before T1; one late event and one correction. */
export const OUR_DATA: AgencyData = {
  events: [...[...INCIDENTS, ...ALERT_INCIDENTS].flatMap(incidentEvents), ...CALLS, ...INTERVALS],
  raw: {
    calls_raw: [
      pipelineHealthRawRow('call_id', 'b1', '2024-04-05T11:05:00Z', '2024-04-05T11:59:40Z'),
      pipelineHealthRawRow('call_id', 'b2', '2024-04-05T11:00:00Z', '2024-04-05T11:30:00Z', {
        corrects_event_id: 'x',
      }),
    ],
    incidents_raw: [
      pipelineHealthRawRow('incident_id', 'A1', '2024-04-05T09:00:00Z', '2024-04-05T09:00:02Z', {
        event_type: 'incident.resource_left_scene',
        agency: OURS.fire,
      }),
    ],
    resources_raw: [
      pipelineHealthRawRow(
        'resource_id',
        'LEEK-P1',
        '2024-04-05T11:58:00Z',
        '2024-04-05T11:58:01Z',
        {
          event_type: 'resource.event_retracted',
          agency: OURS.fire,
        },
      ),
    ],
  },
};

/** The neighbour's rows: its newest call event ingested 100 s before T1, an incident's at 11:00. */
export const NEIGHBOUR_DATA: AgencyData = {
  events: [
    ...NEIGHBOUR_INCIDENTS.flatMap(incidentEvents),
    ...NEIGHBOUR_CALLS,
    ...NEIGHBOUR_INTERVALS,
  ],
  raw: {
    calls_raw: [
      pipelineHealthRawRow('call_id', 'CH-b1', '2024-04-05T11:20:00Z', '2024-04-05T11:58:20Z', {
        agency: THEIRS,
      }),
    ],
    incidents_raw: [
      pipelineHealthRawRow('incident_id', 'CH-A1', '2024-04-05T09:30:00Z', '2024-04-05T11:00:00Z', {
        event_type: 'incident.resource_left_scene',
        agency: THEIRS,
      }),
    ],
    resources_raw: [],
  },
};

/** The pipeline's own rows, in every test database: dead letters carry no agency. */
export const PLATFORM_DEAD_LETTERS = () => [
  {
    failed_at: '2024-04-05 11:55:00.000',
    service: 'clickhouse-sink',
    original_topic: 'calls',
    error_class: 'contract',
    reason: 'bad',
    dead_letter_topic: 'calls.dlq',
  },
  ...DEAD_LETTER_BURST,
];
