import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTestSink } from '@bluelight/clickhouse-sink/testing';
import {
  callFixtureEvents,
  type FixtureEvent,
  fixtureEvent,
  type IncidentFixture,
  incidentFixtureEvents,
  statusFixtureEvents,
} from '@bluelight/clickhouse-sink/testing/events';
import {
  type EventOutput,
  importFiles,
  loadBuiltInMapping,
  openEventOutput,
} from '@bluelight/importers';
import { gatewayConfigSchema, startGatewayService } from '@bluelight/ingest-gateway';
import { queryApiConfigSchema, startQueryApiService } from '@bluelight/query-api';
import type { BluelightEvent } from '@bluelight/schemas';
import { loadConfig, sha256Hex } from '@bluelight/service-kit';
import { callFactsSql, loadStandards, resourceIntervalsSql } from '@bluelight/standards';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeMessages, testEndpoints, testLogger } from './harness/index.js';

/**
 * Two fire services in one deployment that number everything the same way: the same incident,
 * call and appliance ids and — copied from one to the other — the same event ids, at other times
 * and with other classifications. They write through the ingest gateway (each with its own
 * producer key) and an import of the same CAD export; the sink lands both; each reads through
 * the query API with its own read key. Every expected value is recomputed here, in plain
 * TypeScript, from each agency's own events: what ClickHouse holds for one agency must be exactly
 * what its own events imply, whatever the other sent.
 */

const A = 'staffordshire-fire';
const B = 'westmids-fire';
/** Both services run the same CAD product: the keys differ only by agency. */
const SOURCE = 'fire-cad';

/** The London days the gateway's events fall on, across the night the clocks go forward. */
const PERIOD = { from: '2024-03-30', to: '2024-04-01' };
/** London midnights bounding PERIOD: 30 March (GMT) and 2 April (BST). */
const PERIOD_START_MS = Date.parse('2024-03-30T00:00:00Z');
const PERIOD_END_MS = Date.parse('2024-04-01T23:00:00Z');
/** The London day of the imported SFFD sample (the evening of 31 December 2016 in San Francisco). */
const IMPORT_DAY = '2017-01-01';

const SFFD_SAMPLE = path.join(import.meta.dirname, 'data/sffd-calls-for-service.sample.csv');

const PRODUCER_KEYS: Record<string, string> = {
  [A]: 'pk_two_agencies_staffs_5d1c',
  [B]: 'pk_two_agencies_wmids_8e2f',
};
const READ_KEYS = {
  [A]: 'qk_two_agencies_staffs_0a9b',
  [B]: 'qk_two_agencies_wmids_7c3d',
  joint: 'qk_two_agencies_joint_4e6f',
};

// ---------------------------------------------------------------------------------------------
// The events

const withSource = (events: FixtureEvent[]) =>
  events.map((event) => ({ ...event, source: SOURCE }));

/** One agency's incident: when the call came, its two appliances' arrivals (s), where, what. */
interface Side {
  at: string;
  arrive: number[];
  risk: 'high' | 'medium' | 'low';
  station: string;
  /** Classification and anything else beside the defaults (a life-risk dwelling fire). */
  kind?: Partial<IncidentFixture>;
}
const RTC = { category: 'special_service', subtype: 'road_traffic_collision' } as const;
const FALLS = { category: 'special_service', subtype: 'falls_assisting_other_agencies' } as const;
const NO_LIFE_RISK = { lifeRisk: false } as const;
/** Mobilised after 10 s, mobile after 20 s: a 45 s arrival is early but in sequence. */
const QUICK = { mobilisedAfter: 10, mobileAfter: 20 } as const;

/** Mobilised after 60 s, mobile after 90 s, closed after an hour, unless `kind` says otherwise. */
const incidentFixture = (id: string, agency: string, side: Side): IncidentFixture => ({
  id,
  agency,
  receivedAt: side.at,
  riskBand: side.risk,
  station: side.station,
  area: agency === A ? 'Stoke' : 'Coventry',
  mobilisedAfter: 60,
  mobileAfter: 90,
  arrivalsAfter: side.arrive,
  closedAfter: 3600,
  ...side.kind,
});

/**
 * The same incident ids in both agencies, of the same shape (so the event ids can be shared), at
 * other times, with other classifications and figures.
 */
const INCIDENTS: [id: string, a: Side, b: Side][] = [
  // A: 300 s to a high-risk dwelling. B: 700 s to a medium-risk RTC (retracted below: 800 s).
  [
    'INC-1',
    { at: '2024-03-30T22:10:00Z', arrive: [300, 420], risk: 'high', station: 'HANLEY' },
    {
      at: '2024-03-30T15:00:00Z',
      arrive: [700, 800],
      risk: 'medium',
      station: 'HANLEY',
      kind: RTC,
    },
  ],
  // Twenty minutes before the clocks go forward (A), an hour and a half after (B).
  [
    'INC-2',
    { at: '2024-03-31T00:40:00Z', arrive: [650, 700], risk: 'medium', station: 'LEEK' },
    { at: '2024-03-31T02:30:00Z', arrive: [500, 560], risk: 'high', station: 'COVENTRY' },
  ],
  [
    'INC-3',
    { at: '2024-03-31T09:00:00Z', arrive: [400, 500], risk: 'high', station: 'BURSLEM', kind: RTC },
    { at: '2024-03-31T11:00:00Z', arrive: [420, 470], risk: 'high', station: 'HANLEY' },
  ],
  // A: 00:20 on 1 April in London (BST), 23:20 on 31 March in UTC.
  [
    'INC-4',
    { at: '2024-03-31T23:20:00Z', arrive: [1000, 1100], risk: 'low', station: 'HANLEY' },
    { at: '2024-04-01T06:00:00Z', arrive: [1200, 1300], risk: 'low', station: 'SOLIHULL' },
  ],
  // No life risk: outside the attendance standard.
  [
    'INC-5',
    {
      ...{ at: '2024-04-01T08:00:00Z', arrive: [200, 260], risk: 'medium', station: 'LEEK' },
      kind: { ...NO_LIFE_RISK, category: 'false_alarm', subtype: 'good_intent' },
    },
    {
      ...{ at: '2024-04-01T09:00:00Z', arrive: [300, 400], risk: 'medium', station: 'COVENTRY' },
      kind: { ...NO_LIFE_RISK, category: 'secondary_fire' },
    },
  ],
  // Cancelled before anyone arrived.
  [
    'INC-6',
    {
      ...{ at: '2024-04-01T12:00:00Z', arrive: [], risk: 'high', station: 'HANLEY' },
      kind: { mobileAfter: null, closedAfter: null, cancelledAfter: 120 },
    },
    {
      ...{ at: '2024-04-01T13:00:00Z', arrive: [], risk: 'high', station: 'SOLIHULL' },
      kind: {
        ...{ mobileAfter: null, closedAfter: null, cancelledAfter: 200 },
        ...{ category: 'special_service', subtype: 'flooding' },
      },
    },
  ],
  // A: 45 s, under a minute (a Home Office exclusion). B: 590 s to a medium-risk fire.
  [
    'INC-7',
    {
      at: '2024-04-01T15:00:00Z',
      arrive: [45, 300],
      risk: 'high',
      station: 'BURSLEM',
      kind: QUICK,
    },
    {
      at: '2024-04-01T16:00:00Z',
      arrive: [590, 650],
      risk: 'medium',
      station: 'HANLEY',
      kind: QUICK,
    },
  ],
  // B: a falls response (outside the attendance standard).
  [
    'INC-8',
    { at: '2024-04-01T20:00:00Z', arrive: [470, 600], risk: 'high', station: 'LEEK' },
    {
      at: '2024-04-01T21:30:00Z',
      arrive: [900, 1000],
      risk: 'medium',
      station: 'COVENTRY',
      kind: FALLS,
    },
  ],
  // Outside the period in London, though A's is on 1 April in UTC (00:30 on 2 April, BST).
  [
    'INC-9',
    { at: '2024-04-01T23:30:00Z', arrive: [300, 400], risk: 'high', station: 'HANLEY' },
    { at: '2024-03-29T23:30:00Z', arrive: [300, 400], risk: 'high', station: 'HANLEY' },
  ],
];

/** 999 calls, answered after these seconds (null: abandoned after 30 s). */
const CALLS: [
  id: string,
  presentedA: string,
  answerA: number | null,
  presentedB: string,
  answerB: number | null,
][] = [
  ['C-1', '2024-03-30T22:09:00Z', 4, '2024-03-30T14:59:00Z', 15],
  ['C-2', '2024-03-31T00:39:00Z', 8, '2024-03-31T02:29:00Z', 3],
  ['C-3', '2024-03-31T08:59:00Z', 12, '2024-03-31T10:59:00Z', 11],
  ['C-4', '2024-04-01T07:59:00Z', 10, '2024-04-01T05:59:00Z', 9.5],
  ['C-5', '2024-04-01T11:59:00Z', null, '2024-04-01T12:59:00Z', null],
  ['C-6', '2024-04-01T19:59:00Z', 65, '2024-04-01T21:29:00Z', 5],
];

function callEvents(agency: string, presentedAt: string, id: string, answer: number | null) {
  return callFixtureEvents({
    id,
    agency,
    presentedAt,
    line: '999',
    answeredAfter: answer,
    abandonedAfter: answer === null ? 30 : null,
    closedAfter: answer === null ? 31 : 120,
  });
}

type Status = Parameters<typeof statusFixtureEvents>[1];
/** The same two appliance ids in both services; the first change of each is before the period. */
const APPLIANCES: Record<
  string,
  Record<string, { station: string; crewing: 'wholetime' | 'on_call'; changes: Status }>
> = {
  [A]: {
    E1: {
      station: 'HANLEY',
      crewing: 'wholetime',
      changes: [
        { at: '2024-03-29T20:00:00Z', status: 'available_at_station' },
        { at: '2024-03-30T22:11:00Z', status: 'committed' },
        { at: '2024-03-31T02:00:00Z', status: 'available_at_station' },
        { at: '2024-03-31T12:00:00Z', status: 'unavailable', reason: 'mechanical' },
        { at: '2024-03-31T18:00:00Z', status: 'available_at_station' },
      ],
    },
    E2: {
      station: 'LEEK',
      crewing: 'on_call',
      changes: [
        { at: '2024-03-29T18:00:00Z', status: 'unavailable', reason: 'crewing' },
        { at: '2024-03-30T07:00:00Z', status: 'available_at_station' },
        { at: '2024-03-31T19:00:00Z', status: 'unavailable', reason: 'crewing' },
        { at: '2024-04-01T07:00:00Z', status: 'available_at_station' },
      ],
    },
  },
  [B]: {
    E1: {
      station: 'COVENTRY',
      crewing: 'wholetime',
      changes: [
        { at: '2024-03-29T21:00:00Z', status: 'available_at_station' },
        { at: '2024-03-30T15:01:00Z', status: 'committed' },
        { at: '2024-03-30T16:00:00Z', status: 'available_at_station' },
        { at: '2024-04-01T00:00:00Z', status: 'unavailable', reason: 'training' },
        { at: '2024-04-01T10:00:00Z', status: 'available_at_station' },
      ],
    },
    E2: {
      station: 'SOLIHULL',
      crewing: 'on_call',
      changes: [
        { at: '2024-03-29T19:00:00Z', status: 'available_at_station' },
        { at: '2024-03-30T20:00:00Z', status: 'unavailable', reason: 'driver' },
        { at: '2024-03-31T06:00:00Z', status: 'available_at_station' },
        { at: '2024-04-01T18:00:00Z', status: 'unavailable', reason: 'crewing' },
      ],
    },
  },
};

function agencyEvents(agency: string, side: 0 | 1): FixtureEvent[] {
  const incidents = INCIDENTS.flatMap(([id, ...sides]) =>
    incidentFixtureEvents(incidentFixture(id, agency, sides[side])),
  );
  const calls = CALLS.flatMap(([id, presentedA, answerA, presentedB, answerB]) =>
    side === 0
      ? callEvents(agency, presentedA, id, answerA)
      : callEvents(agency, presentedB, id, answerB),
  );
  const appliances = Object.entries(APPLIANCES[agency] ?? {}).flatMap(([id, appliance]) =>
    statusFixtureEvents(
      { id, agency, station: appliance.station, crewing: appliance.crewing },
      appliance.changes,
    ),
  );
  return withSource([...incidents, ...calls, ...appliances]);
}

const ownA = agencyEvents(A, 0);
/** B's events carry A's event ids, one for one (the same shapes make the same sequence of types). */
const ownB = agencyEvents(B, 1).map((event, index) => ({
  ...event,
  event_id: (ownA[index] as FixtureEvent).event_id,
}));

const atAfter = (iso: string, seconds: number) => Date.parse(iso) + seconds * 1000;
/** A's own events no B event shares an id with: a third appliance at INC-3 (350 s) and INC-8 (900 s). */
const onlyA = withSource([
  fixtureEvent('incident.resource_arrived', atAfter('2024-03-31T09:00:00Z', 350), A, {
    incident_id: 'INC-3',
    resource_id: 'INC-3-R3',
  }),
  fixtureEvent('incident.resource_arrived', atAfter('2024-04-01T20:00:00Z', 900), A, {
    incident_id: 'INC-8',
    resource_id: 'INC-8-R3',
  }),
]);

const find = (events: FixtureEvent[], type: string, match: Record<string, string>) => {
  const found = events.find(
    (event) =>
      event.event_type === type &&
      Object.entries(match).every(([field, value]) => event.payload[field] === value),
  );
  if (!found) throw new Error(`no ${type} ${JSON.stringify(match)}`);
  return found;
};
const retractionOf = (
  agency: string,
  family: 'incident' | 'call' | 'resource',
  entity: Record<string, string>,
  eventId: string,
  atMs: number,
) => ({
  ...fixtureEvent(`${family}.event_retracted`, atMs, agency, entity, SOURCE),
  corrects: { event_id: eventId, reason: 'sent in error' },
});
const correctionOf = (
  agency: string,
  type: string,
  payload: Record<string, unknown>,
  eventId: string,
  atMs: number,
) => ({
  ...fixtureEvent(type, atMs, agency, payload, SOURCE),
  corrects: { event_id: eventId, reason: 'time taken from AVL' },
});

const sharedArrival = (incident: string, resource: string) =>
  find(ownB, 'incident.resource_arrived', { incident_id: incident, resource_id: resource });
const LATER = Date.parse('2024-04-02T09:00:00Z');
/**
 * B's retractions and corrections naming A's event ids. Those of `onlyA` name no event of B's
 * (nothing of B's changes, nothing of A's either); the shared ids name B's own events with the
 * same id (B's change, never A's).
 */
const revisionsB = {
  retractsForeignOnly: retractionOf(
    B,
    'incident',
    { incident_id: 'INC-3' },
    (onlyA[0] as FixtureEvent).event_id,
    LATER,
  ),
  correctsForeignOnly: correctionOf(
    B,
    'incident.resource_arrived',
    { incident_id: 'INC-8', resource_id: 'INC-8-R3' },
    (onlyA[1] as FixtureEvent).event_id,
    atAfter('2024-04-01T21:30:00Z', 500),
  ),
  retractsShared: retractionOf(
    B,
    'incident',
    { incident_id: 'INC-1' },
    sharedArrival('INC-1', 'INC-1-R1').event_id,
    LATER,
  ),
  correctsShared: correctionOf(
    B,
    'incident.resource_arrived',
    { incident_id: 'INC-2', resource_id: 'INC-2-R1' },
    sharedArrival('INC-2', 'INC-2-R1').event_id,
    atAfter('2024-03-31T02:30:00Z', 450),
  ),
  correctsSharedCall: correctionOf(
    B,
    'call.answered',
    { call_id: 'C-2', position: 'P-01' },
    find(ownB, 'call.answered', { call_id: 'C-2' }).event_id,
    atAfter('2024-03-31T02:29:00Z', 25),
  ),
  retractsSharedStatus: retractionOf(
    B,
    'resource',
    { resource_id: 'E1' },
    ownB.filter((event) => event.payload.resource_id === 'E1')[3]?.event_id as string,
    LATER,
  ),
};

/** Sent by A's key in one request with an event of B's: refused, so never landed. */
const refusedOwnA = withSource([
  fixtureEvent('incident.resource_arrived', atAfter('2024-03-30T22:10:00Z', 200), A, {
    incident_id: 'INC-1',
    resource_id: 'INC-1-R9',
  }),
])[0] as FixtureEvent;

// ---------------------------------------------------------------------------------------------
// The recomputation, in plain TypeScript, from one agency's events

interface LooseEvent {
  event_id: string;
  event_type: string;
  occurred_at: string;
  agency: string;
  corrects?: { event_id: string };
  payload: Record<string, unknown>;
}

const londonDayFormat = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' });
const londonDay = (ms: number) => londonDayFormat.format(new Date(ms));
const inDays = (day: string, days: { from: string; to: string }) =>
  day >= days.from && day <= days.to;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
/** ClickHouse's text of a DateTime64(3, 'UTC'). */
const chTime = (ms: number | null) =>
  ms === null ? null : new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** The events that count: each once, without retractions and without the events corrected (all of the one agency). */
function effective(events: LooseEvent[]): LooseEvent[] {
  const unique = new Map(events.map((event) => [event.event_id, event]));
  const replaced = new Set(
    [...unique.values()].flatMap((event) => (event.corrects ? [event.corrects.event_id] : [])),
  );
  return [...unique.values()].filter(
    (event) => !event.event_type.endsWith('.event_retracted') && !replaced.has(event.event_id),
  );
}

const text = (value: unknown) => (typeof value === 'string' ? value : '');
const record = (value: unknown) =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
const minOf = (current: number | null, value: number) =>
  current === null ? value : Math.min(current, value);
/** ClickHouse's tuple max: the later event time, then the greater event id. */
const later = (a: LooseEvent | undefined, b: LooseEvent) =>
  !a ||
  Date.parse(b.occurred_at) > Date.parse(a.occurred_at) ||
  (Date.parse(b.occurred_at) === Date.parse(a.occurred_at) && b.event_id > a.event_id)
    ? b
    : a;

interface Incident {
  agency: string;
  incident_id: string;
  day: string;
  service: string;
  category: string;
  category_subtype: string;
  risk_band: string;
  life_risk: boolean;
  station: string;
  area: string;
  cancelled: boolean;
  stop_code: string;
  call_received_at: number | null;
  mobilised: number | null;
  mobile: number | null;
  first_arrival_at: number | null;
  second_arrival_at: number | null;
  exclusions: { late_call: boolean; derelict_property: boolean; abandoned_road_vehicle: boolean };
}

function incidentsOf(events: LooseEvent[]): Incident[] {
  const byId = new Map<string, LooseEvent[]>();
  for (const event of effective(events)) {
    if (!event.event_type.startsWith('incident.')) continue;
    const id = text(event.payload.incident_id);
    byId.set(id, [...(byId.get(id) ?? []), event]);
  }
  const incidents: Incident[] = [];
  for (const [id, own] of byId) {
    let details: LooseEvent | undefined;
    let placement: LooseEvent | undefined;
    let closure: LooseEvent | undefined;
    let received: number | null = null;
    let created: number | null = null;
    let mobilised: number | null = null;
    let mobile: number | null = null;
    const arrivals = new Map<string, number>();
    let cancelled = false;
    for (const event of own) {
      const at = Date.parse(event.occurred_at);
      switch (event.event_type) {
        case 'incident.created':
          details = later(details, event);
          placement = later(placement, event);
          received = minOf(received, Date.parse(text(event.payload.call_received_at)));
          created = minOf(created, at);
          break;
        case 'incident.reclassified':
          details = later(details, event);
          break;
        case 'incident.resource_mobilised':
          mobilised = minOf(mobilised, at);
          break;
        case 'incident.resource_mobile':
          mobile = minOf(mobile, at);
          break;
        case 'incident.resource_arrived': {
          const resource = text(event.payload.resource_id);
          arrivals.set(resource, minOf(arrivals.get(resource) ?? null, at));
          break;
        }
        case 'incident.closed':
          closure = later(closure, event);
          break;
        case 'incident.cancelled':
          cancelled = true;
          break;
      }
    }
    const ordered = [...arrivals.entries()].sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0]));
    const d = record(details?.payload.details);
    const category = record(d.category);
    const location = record(placement?.payload.location);
    const exclusions = record(closure?.payload.exclusions);
    incidents.push({
      agency: own[0]?.agency ?? '',
      incident_id: id,
      day: londonDay(received ?? created ?? 0),
      service: text(d.service),
      category: text(category.type),
      category_subtype:
        text(category.special_service_type) ||
        text(category.location_type) ||
        text(category.false_alarm_type),
      risk_band: text(d.risk_band),
      life_risk: d.life_risk === true,
      station: text(location.station_ground),
      area: text(location.area),
      cancelled,
      stop_code: text(closure?.payload.stop_code),
      call_received_at: received,
      mobilised,
      mobile,
      first_arrival_at: ordered[0]?.[1] ?? null,
      second_arrival_at: ordered[1]?.[1] ?? null,
      exclusions: {
        late_call: exclusions.late_call === true,
        derelict_property: exclusions.derelict_property === true,
        abandoned_road_vehicle: exclusions.abandoned_road_vehicle === true,
      },
    });
  }
  // The API's order: call time, then id.
  return incidents.sort(
    (x, y) =>
      (x.call_received_at ?? 0) - (y.call_received_at ?? 0) ||
      x.incident_id.localeCompare(y.incident_id),
  );
}

/** What GET /v1/incidents shows of an incident, as the recomputation has it. */
const listed = (incident: Incident) => ({
  incident_id: incident.incident_id,
  agency: incident.agency,
  day: incident.day,
  service: incident.service,
  category: incident.category,
  category_subtype: incident.category_subtype,
  risk_band: incident.risk_band,
  life_risk: incident.life_risk,
  station: incident.station,
  area: incident.area,
  cancelled: incident.cancelled,
  call_received_at: iso(incident.call_received_at),
  first_arrival_at: iso(incident.first_arrival_at),
  second_arrival_at: iso(incident.second_arrival_at),
});

/**
 * An incident standard as the shipped YAML defines it, written out by hand: fire, not cancelled,
 * in the days, in `scope`; the Home Office exclusions (closure flags, out of sequence, over an
 * hour, under a minute); measured from the call to the first arrival; at least five to give a value.
 */
function incidentStandard(
  incidents: Incident[],
  days: { from: string; to: string },
  scope: (incident: Incident) => boolean,
  threshold?: (incident: Incident) => number | undefined,
) {
  const inScope = incidents.filter(
    (incident) =>
      inDays(incident.day, days) &&
      !incident.cancelled &&
      incident.service === 'fire' &&
      scope(incident),
  );
  let excluded = 0;
  let notMeasured = 0;
  const included: { seconds: number; met: boolean }[] = [];
  for (const incident of inScope) {
    const received = incident.call_received_at;
    const first = incident.first_arrival_at;
    const seconds = received !== null && first !== null ? (first - received) / 1000 : null;
    const before = (x: number | null, y: number | null) => x !== null && y !== null && x < y;
    const outOfSequence =
      before(incident.mobilised, received) ||
      before(incident.mobile, incident.mobilised) ||
      before(first, incident.mobilised) ||
      before(first, received);
    const { late_call, derelict_property, abandoned_road_vehicle } = incident.exclusions;
    if (
      late_call ||
      derelict_property ||
      abandoned_road_vehicle ||
      outOfSequence ||
      (seconds !== null && (seconds < 60 || seconds > 3600))
    ) {
      excluded += 1;
      continue;
    }
    const limit = threshold ? threshold(incident) : Number.POSITIVE_INFINITY;
    if (seconds === null || limit === undefined) {
      notMeasured += 1;
      continue;
    }
    included.push({ seconds, met: seconds <= limit });
  }
  const n = included.length;
  const met = included.filter((entry) => entry.met).length;
  const mean = n > 0 ? included.reduce((sum, entry) => sum + entry.seconds, 0) / n : null;
  return {
    incidents: inScope.length,
    n,
    met,
    share: n >= 5 ? met / n : null,
    mean,
    meanValue: n >= 5 ? mean : null,
    notMeasured,
    excluded,
  };
}

const ATTENDANCE_SECONDS: Record<string, number> = { high: 480, medium: 600, low: 1080 };
const attendanceStandard = (incidents: Incident[], days: { from: string; to: string }) =>
  incidentStandard(
    incidents,
    days,
    (incident) =>
      incident.life_risk && incident.category_subtype !== 'falls_assisting_other_agencies',
    (incident) => ATTENDANCE_SECONDS[incident.risk_band],
  );
const averageAttendance = (incidents: Incident[], days: { from: string; to: string }) =>
  incidentStandard(incidents, days, (incident) => incident.category === 'primary_fire');

/** Fire incidents attended (not cancelled) in the days, by category, RTCs apart. */
function fireIncidents(incidents: Incident[], days: { from: string; to: string }) {
  const counted = incidents.filter(
    (incident) => inDays(incident.day, days) && !incident.cancelled && incident.service === 'fire',
  );
  const count = (category: string) =>
    counted.filter((incident) => incident.category === category).length;
  const rtc = counted.filter(
    (incident) => incident.category_subtype === 'road_traffic_collision',
  ).length;
  return {
    total: counted.length,
    primaryFires: count('primary_fire'),
    secondaryFires: count('secondary_fire'),
    chimneyFires: count('chimney_fire'),
    specialServices: count('special_service') - rtc,
    roadTrafficCollisions: rtc,
    falseAlarms: count('false_alarm'),
    // Cancelled fire incidents of the days: not attended, counted apart.
    cancelled: incidents.filter(
      (incident) => inDays(incident.day, days) && incident.cancelled && incident.service === 'fire',
    ).length,
  };
}

interface Call {
  call_id: string;
  line: string;
  day: string;
  answer_seconds: number | null;
  abandoned: boolean;
}

function callsOf(events: LooseEvent[]): Call[] {
  const byId = new Map<
    string,
    {
      presented: LooseEvent | undefined;
      at: number | null;
      answered: number | null;
      abandoned: number | null;
    }
  >();
  for (const event of effective(events)) {
    if (!event.event_type.startsWith('call.')) continue;
    const id = text(event.payload.call_id);
    const call = byId.get(id) ?? {
      presented: undefined,
      at: null,
      answered: null,
      abandoned: null,
    };
    const at = Date.parse(event.occurred_at);
    if (event.event_type === 'call.presented') {
      call.presented = later(call.presented, event);
      call.at = minOf(call.at, at);
    }
    if (event.event_type === 'call.answered') call.answered = minOf(call.answered, at);
    if (event.event_type === 'call.abandoned') call.abandoned = minOf(call.abandoned, at);
    byId.set(id, call);
  }
  return [...byId.entries()]
    .map(([call_id, call]) => ({
      call_id,
      line: text(call.presented?.payload.line),
      day: londonDay(call.at ?? 0),
      answer_seconds:
        call.at !== null && call.answered !== null && call.answered >= call.at
          ? (call.answered - call.at) / 1000
          : null,
      // Hanging up after being answered is not abandoning.
      abandoned: call.abandoned !== null && call.answered === null,
    }))
    .sort((x, y) => x.call_id.localeCompare(y.call_id));
}

/** The 999 answer standard: answered within 10 s (10.0 counts), at least five answered, bands ≤ 10, 10–60, > 60. */
function calls999(calls: Call[], days: { from: string; to: string }) {
  const inScope = calls.filter((call) => call.line === '999' && inDays(call.day, days));
  const waits = inScope.flatMap((call) =>
    call.answer_seconds === null ? [] : [call.answer_seconds],
  );
  const within = waits.filter((seconds) => seconds <= 10).length;
  return {
    calls: inScope.length,
    abandoned: inScope.filter((call) => call.abandoned).length,
    n: waits.length,
    met: within,
    share: waits.length >= 5 ? within / waits.length : null,
    mean: waits.length > 0 ? waits.reduce((sum, seconds) => sum + seconds, 0) / waits.length : null,
    bands: [
      // Each band ends at its bound inclusive, as "within 10 s" does.
      waits.filter((s) => s <= 10).length,
      waits.filter((s) => s > 10 && s <= 60).length,
      waits.filter((s) => s > 60).length,
    ],
  };
}

interface Interval {
  resource_id: string;
  crewing: string;
  start: number;
  end: number | null;
  status: string;
  reason: string;
}

/** Each appliance's availability intervals: from one effective change to the next (open at the last). */
function intervalsOf(events: LooseEvent[]): Interval[] {
  const byId = new Map<string, LooseEvent[]>();
  for (const event of effective(events)) {
    if (event.event_type !== 'resource.status_changed') continue;
    const id = text(event.payload.resource_id);
    byId.set(id, [...(byId.get(id) ?? []), event]);
  }
  return [...byId.entries()]
    .sort(([x], [y]) => x.localeCompare(y))
    .flatMap(([resource_id, changes]) => {
      const sorted = changes.sort((x, y) => Date.parse(x.occurred_at) - Date.parse(y.occurred_at));
      return sorted.map((change, index) => {
        const state = record(change.payload.state);
        const next = sorted[index + 1];
        return {
          resource_id,
          crewing: text(change.payload.crewing_model),
          start: Date.parse(change.occurred_at),
          end: next ? Date.parse(next.occurred_at) : null,
          status: text(state.status),
          reason: text(state.reason),
        };
      });
    });
}

/** Share of the period's time on the run, hours and off-run hours by reason, for one crewing model. */
function availability(intervals: Interval[], crewing: string) {
  let total = 0;
  let available = 0;
  const offRun: Record<string, number> = {};
  for (const interval of intervals.filter((entry) => entry.crewing === crewing)) {
    const ms =
      Math.min(interval.end ?? Number.POSITIVE_INFINITY, PERIOD_END_MS) -
      Math.max(interval.start, PERIOD_START_MS);
    if (ms <= 0) continue;
    total += ms;
    if (interval.status === 'unavailable')
      offRun[interval.reason] = (offRun[interval.reason] ?? 0) + ms / 3_600_000;
    else available += ms;
  }
  return { share: total > 0 ? available / total : null, hours: total / 3_600_000, offRun };
}

/** RFC 4180 lines of the API's CSV: quoted fields may hold commas and doubled quotes. */
function parseCsv(body: string): Record<string, string>[] {
  const rows = body
    .trimEnd()
    .split('\r\n')
    .map((line) => {
      const fields: string[] = [];
      let field = '';
      let quoted = false;
      for (let index = 0; index < line.length; index += 1) {
        const character = line[index] as string;
        if (quoted && character === '"' && line[index + 1] === '"') {
          field += '"';
          index += 1;
        } else if (character === '"') quoted = !quoted;
        else if (character === ',' && !quoted) {
          fields.push(field);
          field = '';
        } else field += character;
      }
      fields.push(field);
      return fields;
    });
  const [header = [], ...records] = rows;
  return records.map((fields) =>
    Object.fromEntries(header.map((name, index) => [name, fields[index] ?? ''])),
  );
}

// ---------------------------------------------------------------------------------------------
// The services

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

let sink: Awaited<ReturnType<typeof startTestSink>>;
let gateway: Awaited<ReturnType<typeof startGatewayService>>;
let api: Awaited<ReturnType<typeof startQueryApiService>>;
/** What each import wrote, by agency. */
const imported: Record<string, BluelightEvent[]> = { [A]: [], [B]: [] };
/** The 403 answers to reads of the other agency before it had any data. */
const refusalsBeforeData = new Map<string, string>();

const post = (events: object[], agency: string) =>
  gateway.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${PRODUCER_KEYS[agency]}`,
    },
    payload: JSON.stringify(events),
  });
const read = (key: keyof typeof READ_KEYS, url: string, headers: Record<string, string> = {}) =>
  api.app.inject({
    method: 'GET',
    url,
    headers: { authorization: `Bearer ${READ_KEYS[key]}`, ...headers },
  });
const CSV = { accept: 'text/csv' };

const days = `from=${PERIOD.from}&to=${PERIOD.to}`;
const DATA_ENDPOINTS = [
  `/v1/incidents?${days}`,
  `/v1/kpis?standard=fire-attendance-standard&${days}`,
  `/v1/kpis?standard=calls-999-answer&${days}`,
  `/v1/reports/annual?${days}&comparePrevious=true`,
];

beforeAll(async () => {
  sink = await startTestSink();
  cleanups.push(sink.cleanup);
  const endpoints = testEndpoints();
  const gatewayConfig = loadConfig(gatewayConfigSchema, {
    KAFKA_BROKERS: sink.config.KAFKA_BROKERS.join(','),
    KAFKA_TOPIC_PREFIX: sink.config.KAFKA_TOPIC_PREFIX,
    GATEWAY_API_KEYS: JSON.stringify(
      [A, B].map((agency) => ({
        id: `${agency}-cad`,
        key_sha256: sha256Hex(PRODUCER_KEYS[agency] as string),
        agencies: [agency],
        sources: [SOURCE],
      })),
    ),
  });
  gateway = await startGatewayService(gatewayConfig, testLogger('ingest-gateway'), {
    listen: false,
  });
  cleanups.push(() => gateway.stop());
  const apiConfig = loadConfig(queryApiConfigSchema, {
    CLICKHOUSE_URL: endpoints.clickhouseUrl,
    CLICKHOUSE_USER: endpoints.clickhouseUser,
    CLICKHOUSE_PASSWORD: endpoints.clickhousePassword,
    CLICKHOUSE_DATABASE: sink.db.database,
    QUERY_API_KEYS: JSON.stringify([
      { id: 'sfrs-performance', key_sha256: sha256Hex(READ_KEYS[A] as string), agencies: [A] },
      { id: 'wmfs-performance', key_sha256: sha256Hex(READ_KEYS[B] as string), agencies: [B] },
      { id: 'joint-fire-control', key_sha256: sha256Hex(READ_KEYS.joint), agencies: [A, B] },
    ]),
    QUERY_API_RATE_LIMIT_PER_SECOND: '100000',
    QUERY_API_RATE_LIMIT_BURST: '100000',
  });
  api = await startQueryApiService(apiConfig, loadStandards(), testLogger('query-api'), {
    listen: false,
  });
  cleanups.push(() => api.stop());

  // Before anything is written: what a key of one agency is told about the other's data.
  for (const [key, other] of [
    [A, B],
    [B, A],
  ] as const) {
    for (const url of DATA_ENDPOINTS) {
      for (const headers of [{}, CSV]) {
        const response = await read(key, `${url}&agency=${other}`, headers);
        refusalsBeforeData.set(
          `${key} ${url} ${JSON.stringify(headers)}`,
          `${response.statusCode} ${response.body}`,
        );
      }
    }
  }
}, 120_000);

// ---------------------------------------------------------------------------------------------

describe('two agencies with the same ids, end to end (real Kafka, real ClickHouse)', () => {
  it('the gateway takes each agency’s events with its own key, never calling one a duplicate of the other’s, and refuses a key writing for the other', async () => {
    // The two services' events pair up one for one: same types, same entities, same event ids.
    const identity = (event: FixtureEvent) => [
      event.event_id,
      event.event_type,
      text(event.payload.incident_id ?? event.payload.call_id ?? event.payload.resource_id),
    ];
    expect(ownB.map(identity)).toEqual(ownA.map(identity));
    // …at other times: no event of B's happened when A's of the same id did.
    expect(ownB.filter((event, index) => event.occurred_at === ownA[index]?.occurred_at)).toEqual(
      [],
    );

    // A's key with one event of its own and one of B's: refused whole, nothing sent.
    const refused = await post([refusedOwnA, ownB[0] as FixtureEvent], A);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toEqual({
      error: 'forbidden',
      message: `key "${A}-cad" may not write 1 of these events (see rejected); nothing from this request was accepted`,
      rejected: [
        {
          index: 1,
          event_id: (ownB[0] as FixtureEvent).event_id,
          errors: [
            { path: 'agency', message: `key "${A}-cad" may not write events for agency "${B}"` },
          ],
        },
      ],
    });

    const fromA = await post([...ownA, ...onlyA], A);
    expect(fromA.statusCode, fromA.body).toBe(200);
    expect(fromA.json().accepted.filter((item: { duplicate: boolean }) => item.duplicate)).toEqual(
      [],
    );
    expect(fromA.json().accepted).toHaveLength(ownA.length + onlyA.length);

    // B's events carry exactly A's event ids: all new to the gateway, none "duplicate".
    const fromB = await post(ownB, B);
    expect(fromB.statusCode, fromB.body).toBe(200);
    expect(fromB.json().accepted).toEqual(
      ownA.map((event, index) => ({ index, event_id: event.event_id, duplicate: false })),
    );
    // B resending its own: duplicates of its own, sent once.
    const again = await post(ownB, B);
    expect(again.json().accepted.every((item: { duplicate: boolean }) => item.duplicate)).toBe(
      true,
    );
    const revised = await post(Object.values(revisionsB), B);
    expect(revised.statusCode, revised.body).toBe(200);
    expect(
      revised.json().accepted.filter((item: { duplicate: boolean }) => item.duplicate),
    ).toEqual([]);
  });

  it('imports the same CAD export for both agencies into the same topics: the same incident numbers', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'two-agencies-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // B's copy calls every medical incident a structure fire: other classifications, same times.
    const altered = path.join(dir, 'sffd-as-westmids.csv');
    const sample = await readFile(SFFD_SAMPLE, 'utf8');
    await writeFile(altered, sample.replaceAll(',Medical Incident,', ',Structure Fire,'));
    const output = await openEventOutput(
      {
        kind: 'kafka',
        brokers: sink.config.KAFKA_BROKERS,
        topicPrefix: sink.config.KAFKA_TOPIC_PREFIX,
      },
      testLogger('importers'),
    );
    for (const [agency, file] of [
      [A, SFFD_SAMPLE],
      [B, altered],
    ] as const) {
      const capturing: EventOutput = {
        description: output.description,
        write: async (events) => {
          imported[agency]?.push(...events);
          await output.write(events);
        },
        close: async () => {},
      };
      const summary = await importFiles({
        mapping: await loadBuiltInMapping('sffd', { agency }),
        files: [file],
        output: capturing,
      });
      expect(summary.rowsRejected).toBe(0);
    }
    await output.close();

    // The CSV's incident numbers (read here, not by the importer) are both agencies' incidents.
    const numbers = new Set(
      sample
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(',')[2]),
    );
    expect(numbers.size).toBe(30);
    for (const agency of [A, B]) {
      const created = (imported[agency] ?? []).filter(
        (event) => event.event_type === 'incident.created',
      );
      expect(new Set(created.map((event) => event.agency))).toEqual(new Set([agency]));
      expect(
        new Set(created.map((event) => (event.payload as { incident_id: string }).incident_id)),
      ).toEqual(numbers);
    }
  });

  it('lands every message once, keyed agency/entity id; the refused request left nothing', async () => {
    const eventsOf = (family: string) =>
      [
        ...ownA,
        ...onlyA,
        ...ownB,
        ...Object.values(revisionsB),
        ...(imported[A] ?? []),
        ...(imported[B] ?? []),
      ].filter((event) => event.event_type.startsWith(`${family}.`));
    const families = { calls: 'call', incidents: 'incident', resources: 'resource' } as const;
    for (const [family, prefix] of Object.entries(families)) {
      const topic = sink.families[family as keyof typeof families].topic.name;
      const ends = await sink.admin.endOffsets(topic);
      const messages = ends.reduce((sum, { offset }) => sum + Number(offset), 0);
      // Each event once: B's resend was not sent again, the refused request not at all.
      expect(messages, topic).toBe(eventsOf(prefix).length);
      await sink.waitUntilCommitted(family as keyof typeof families, messages, 60_000);
    }
    const incidentsTopic = sink.families.incidents.topic.name;
    const messages = await consumeMessages({
      brokers: sink.config.KAFKA_BROKERS,
      topic: incidentsTopic,
      count: eventsOf('incident').length,
    });
    const keys = messages.map((message) => {
      const event = JSON.parse(String(message.value)) as LooseEvent;
      return [message.key?.toString(), `${event.agency}/${text(event.payload.incident_id)}`];
    });
    expect(keys.filter(([key, expected]) => key !== expected)).toEqual([]);

    // Every shared event id is two raw rows, each agency's own.
    const shared = ownA.map((event) => event.event_id);
    const result = await sink.db.client.query({
      query: `SELECT agency, event_id, toString(occurred_at) AS at FROM (
                SELECT agency, event_id, occurred_at FROM calls_raw FINAL
                UNION ALL SELECT agency, event_id, occurred_at FROM incidents_raw FINAL
                UNION ALL SELECT agency, event_id, occurred_at FROM resources_raw FINAL)
              WHERE event_id IN {ids:Array(String)} ORDER BY event_id, agency`,
      query_params: { ids: [...shared, refusedOwnA.event_id] },
      format: 'JSONEachRow',
    });
    const expected = [...ownA, ...ownB]
      .map((event) => ({
        agency: event.agency,
        event_id: event.event_id,
        at: chTime(Date.parse(event.occurred_at)),
      }))
      .sort((x, y) => x.event_id.localeCompare(y.event_id) || x.agency.localeCompare(y.agency));
    expect(await result.json()).toEqual(expected);
  });

  const own = (agency: string) =>
    agency === A ? [...ownA, ...onlyA] : [...ownB, ...Object.values(revisionsB)];

  it.each([A, B])(
    '%s reads its own incidents through the query API, as JSON and CSV, exactly as its own events imply',
    async (agency) => {
      const expected = incidentsOf(own(agency)).filter((incident) => inDays(incident.day, PERIOD));
      const response = await read(agency as keyof typeof READ_KEYS, `/v1/incidents?${days}`);
      expect(response.statusCode, response.body).toBe(200);
      const body = response.json();
      expect(body.agencies).toEqual([agency]);
      expect(
        body.incidents.map(
          (incident: Record<string, unknown> & { times: Record<string, string | null> }) => ({
            incident_id: incident.incident_id,
            agency: incident.agency,
            day: incident.day,
            service: incident.service,
            category: incident.category,
            category_subtype: incident.category_subtype,
            risk_band: incident.risk_band,
            life_risk: incident.life_risk,
            station: incident.station,
            area: incident.area,
            cancelled: incident.cancelled,
            call_received_at: incident.times.call_received_at,
            first_arrival_at: incident.times.first_arrival_at,
            second_arrival_at: incident.times.second_arrival_at,
          }),
        ),
      ).toEqual(expected.map(listed));
      // Every incident id of the period is the other agency's too: only this agency's rows came back.
      expect(expected.map((incident) => incident.incident_id)).toEqual(
        expect.arrayContaining([
          'INC-1',
          'INC-2',
          'INC-3',
          'INC-4',
          'INC-5',
          'INC-6',
          'INC-7',
          'INC-8',
        ]),
      );

      const csv = parseCsv(
        (await read(agency as keyof typeof READ_KEYS, `/v1/incidents?${days}`, CSV)).body,
      );
      expect(
        csv.map((line) => [
          line.incident_id,
          line.agency,
          line.category,
          line.station,
          line.cancelled,
          line['times.first_arrival_at'],
          line['times.second_arrival_at'],
        ]),
      ).toEqual(
        expected.map((incident) => [
          incident.incident_id,
          agency,
          incident.category,
          incident.station,
          String(incident.cancelled),
          iso(incident.first_arrival_at) ?? '',
          iso(incident.second_arrival_at) ?? '',
        ]),
      );
    },
  );

  it('B’s retractions and corrections of A’s event ids change B’s own events of those ids, never A’s', async () => {
    /** Seconds from the call to an incident's first and second arrival, as the API shows them. */
    const arrivals = async (agency: string, ids: string[]) => {
      const body = (await read(agency as keyof typeof READ_KEYS, `/v1/incidents?${days}`)).json();
      const byId = new Map<string, { times: Record<string, string | null> }>(
        body.incidents.map((incident: { incident_id: string }) => [incident.incident_id, incident]),
      );
      return ids.map((id) => {
        const times = byId.get(id)?.times ?? {};
        const after = (time: string | null | undefined) =>
          time ? (Date.parse(time) - Date.parse(times.call_received_at ?? '')) / 1000 : null;
        return [id, after(times.first_arrival_at), after(times.second_arrival_at)];
      });
    };
    const ids = ['INC-1', 'INC-2', 'INC-3', 'INC-8'];
    // Worked out by hand. A: nothing of B's revisions touches it — INC-1 keeps the arrival whose
    // id B retracted, INC-2 the one whose id B corrected, INC-3 its third appliance (350 s) and
    // INC-8 its own (900 s, third) that B's retraction and correction named.
    expect(await arrivals(A, ids)).toEqual([
      ['INC-1', 300, 420],
      ['INC-2', 650, 700],
      ['INC-3', 350, 400],
      ['INC-8', 470, 600],
    ]);
    // B: INC-1's retracted arrival is gone (800 s, no second), INC-2's corrected (500 → 450 s),
    // INC-3 untouched by a retraction naming no event of B's, INC-8 with the correcting event's
    // appliance (500 s) although the event it names is none of B's.
    expect(await arrivals(B, ids)).toEqual([
      ['INC-1', 800, null],
      ['INC-2', 450, 560],
      ['INC-3', 420, 470],
      ['INC-8', 500, 900],
    ]);
  });

  it.each([A, B])(
    '%s reads its own calls and appliance intervals from the facts sources, exactly as its own events imply',
    async (agency) => {
      const calls = await sink.db.client.query({
        query: `SELECT agency, call_id, line, answer_seconds, abandoned_at IS NOT NULL AS abandoned
              FROM (${callFactsSql({ from: '{from:Date}', to: '{to:Date}' }, '{agencies:Array(String)}')})
              WHERE day >= {from:Date} AND day < {to:Date} ORDER BY call_id`,
        query_params: { from: PERIOD.from, to: '2024-04-02', agencies: [agency] },
        format: 'JSONEachRow',
      });
      const callRows = await calls.json<{ call_id: string; answer_seconds: number | null }>();
      // By hand: B's C-2 answered after 25 s (its correction of the shared id), A's after 8 s.
      expect(callRows.find((row) => row.call_id === 'C-2')?.answer_seconds).toBe(
        agency === A ? 8 : 25,
      );
      expect(callRows).toEqual(
        callsOf(own(agency))
          .filter((call) => inDays(call.day, PERIOD))
          .map((call) => ({
            agency,
            call_id: call.call_id,
            line: call.line,
            answer_seconds: call.answer_seconds,
            abandoned: call.abandoned ? 1 : 0,
          })),
      );

      const intervals = await sink.db.client.query({
        query: `SELECT agency, resource_id, crewing_model, toString(start_at) AS start, toString(end_at) AS end, status, unavailable_reason
              FROM (${resourceIntervalsSql({ from: '{from:String}', to: '{to:String}' }, '{agencies:Array(String)}')})
              ORDER BY resource_id, start_at`,
        query_params: {
          from: '2024-03-29 00:00:00',
          to: '2024-04-03 00:00:00',
          agencies: [agency],
        },
        format: 'JSONEachRow',
      });
      const intervalRows = await intervals.json<{ resource_id: string; start: string }>();
      // By hand: B's E1 lost its training spell of 1 April (retracted by the shared id); A's kept all.
      expect(
        intervalRows.filter((row) => row.resource_id === 'E1').map((row) => row.start),
      ).toEqual(
        agency === A
          ? [
              '2024-03-29 20:00:00.000',
              '2024-03-30 22:11:00.000',
              '2024-03-31 02:00:00.000',
              '2024-03-31 12:00:00.000',
              '2024-03-31 18:00:00.000',
            ]
          : [
              '2024-03-29 21:00:00.000',
              '2024-03-30 15:01:00.000',
              '2024-03-30 16:00:00.000',
              '2024-04-01 10:00:00.000',
            ],
      );
      expect(intervalRows).toEqual(
        intervalsOf(own(agency)).map((interval) => ({
          agency,
          resource_id: interval.resource_id,
          crewing_model: interval.crewing,
          start: chTime(interval.start),
          end: chTime(interval.end),
          status: interval.status,
          unavailable_reason: interval.reason,
        })),
      );
    },
  );

  it.each([A, B])(
    '%s gets the figures its own events imply: attendance and 999 standards, the annual report, as JSON and CSV',
    async (agency) => {
      const key = agency as keyof typeof READ_KEYS;
      const incidents = incidentsOf(own(agency));
      const attendance = attendanceStandard(incidents, PERIOD);
      const calls = calls999(callsOf(own(agency)), PERIOD);
      // Worked out by hand from the fixtures, so the recomputation itself is checked:
      // A: INC-1 300 ✓, INC-2 650 > 600 ✗, INC-3 350 ✓, INC-4 1000 ≤ 1080 ✓, INC-7 45 s excluded, INC-8 470 ✓.
      // B: INC-1 800 > 600 ✗, INC-2 450 ✓, INC-3 420 ✓, INC-4 1200 > 1080 ✗, INC-7 590 ≤ 600 ✓.
      expect({ n: attendance.n, met: attendance.met, excluded: attendance.excluded }).toEqual(
        agency === A ? { n: 5, met: 4, excluded: 1 } : { n: 5, met: 3, excluded: 0 },
      );
      // A: 4, 8, 12, 10, 65 s; B: 15, 25 (corrected from 3), 11, 9.5, 5 s.
      expect({ n: calls.n, met: calls.met }).toEqual(
        agency === A ? { n: 5, met: 3 } : { n: 5, met: 2 },
      );

      const kpi = await read(key, `/v1/kpis?standard=fire-attendance-standard&${days}`);
      expect(kpi.statusCode, kpi.body).toBe(200);
      expect(kpi.json().agencies).toEqual([agency]);
      expect(kpi.json().rows).toHaveLength(1);
      const [row] = kpi.json().rows;
      expect({
        incidents: row.incidents,
        n: row.n,
        met: row.met,
        value: row.value,
        notMeasured: row.notMeasured,
        excluded: row.excluded.total,
      }).toEqual({
        incidents: attendance.incidents,
        n: attendance.n,
        met: attendance.met,
        value: attendance.share,
        notMeasured: attendance.notMeasured,
        excluded: attendance.excluded,
      });
      expect(row.meanSeconds).toBeCloseTo(attendance.mean as number, 9);
      const [kpiCsv] = parseCsv(
        (await read(key, `/v1/kpis?standard=fire-attendance-standard&${days}`, CSV)).body,
      );
      expect([kpiCsv?.agencies, kpiCsv?.n, kpiCsv?.met, kpiCsv?.value]).toEqual([
        agency,
        String(attendance.n),
        String(attendance.met),
        String(attendance.share),
      ]);

      const answer = await read(key, `/v1/kpis?standard=calls-999-answer&${days}`);
      expect(answer.statusCode, answer.body).toBe(200);
      const [callRow] = answer.json().rows;
      expect({
        calls: callRow.calls,
        abandoned: callRow.abandoned,
        n: callRow.n,
        met: callRow.met,
        value: callRow.value,
        bands: callRow.bands,
      }).toEqual({
        calls: calls.calls,
        abandoned: calls.abandoned,
        n: calls.n,
        met: calls.met,
        value: calls.share,
        bands: calls.bands,
      });
      expect(callRow.meanSeconds).toBeCloseTo(calls.mean as number, 9);

      const report = await read(key, `/v1/reports/annual?${days}&comparePrevious=true`);
      expect(report.statusCode, report.body).toBe(200);
      const { current, previous } = report.json();
      expect(current.fireIncidents).toEqual(fireIncidents(incidents, PERIOD));
      expect(current.attendanceStandard).toMatchObject({
        share: attendance.share,
        n: attendance.n,
        met: attendance.met,
      });
      const average = averageAttendance(incidents, PERIOD);
      expect(current.averageFireAttendance).toMatchObject({
        n: average.n,
        minutes: average.meanValue === null ? null : expect.closeTo(average.meanValue / 60, 9),
      });
      expect(current.calls999).toMatchObject({
        calls: calls.calls,
        answered: calls.n,
        abandoned: calls.abandoned,
        withinTenSecondsShare: calls.share,
        bands: calls.bands,
      });
      expect(current.calls999.meanWaitSeconds).toBeCloseTo(calls.mean as number, 9);
      const intervals = intervalsOf(own(agency));
      for (const [figure, crewing] of [
        ['wholetimeAvailability', 'wholetime'],
        ['onCallAvailability', 'on_call'],
      ] as const) {
        const expected = availability(intervals, crewing);
        expect(current[figure].share, figure).toBeCloseTo(expected.share as number, 9);
        expect(current[figure].hours, figure).toBeCloseTo(expected.hours, 9);
        expect(Object.keys(current[figure].offRunHoursByReason).sort(), figure).toEqual(
          Object.keys(expected.offRun).sort(),
        );
        for (const [reason, hours] of Object.entries(expected.offRun))
          expect(current[figure].offRunHoursByReason[reason]).toBeCloseTo(hours, 9);
      }
      // The three days before: only B's INC-9 (29 March), none of A's.
      const before = { from: '2024-03-27', to: '2024-03-29' };
      expect(previous.fireIncidents).toEqual(fireIncidents(incidents, before));
      expect(previous.fireIncidents.total).toBe(agency === B ? 1 : 0);

      const lines = parseCsv((await read(key, `/v1/reports/annual?${days}`, CSV)).body);
      const line = (name: string) => lines.find((entry) => entry.key === name);
      expect(line('fire_incidents')).toMatchObject({
        value: String(fireIncidents(incidents, PERIOD).total),
        previous: '',
      });
      expect(line('attendance_standard_met')).toMatchObject({
        value: String(attendance.share),
        target: '0.8',
      });
      expect(line('calls_999_within_10s')).toMatchObject({
        value: String(calls.share),
        target: '0.9',
      });
    },
  );

  it.each([A, B])(
    '%s reads its own imported incidents and figures, the same numbers as the other’s',
    async (agency) => {
      const key = agency as keyof typeof READ_KEYS;
      const expected = incidentsOf(imported[agency] as unknown as LooseEvent[]);
      const day = `from=${IMPORT_DAY}&to=${IMPORT_DAY}`;
      const response = await read(key, `/v1/incidents?${day}&limit=1000`);
      expect(response.statusCode, response.body).toBe(200);
      expect(
        response
          .json()
          .incidents.map(
            (incident: Record<string, unknown> & { times: Record<string, string | null> }) => [
              incident.incident_id,
              incident.agency,
              incident.category,
              incident.category_subtype,
              incident.life_risk,
              incident.station,
              incident.cancelled,
              incident.times.first_arrival_at,
              incident.times.second_arrival_at,
            ],
          ),
      ).toEqual(
        expected.map((incident) => [
          incident.incident_id,
          agency,
          incident.category,
          incident.category_subtype,
          incident.life_risk,
          incident.station,
          incident.cancelled,
          iso(incident.first_arrival_at),
          iso(incident.second_arrival_at),
        ]),
      );
      const attendance = attendanceStandard(expected, { from: IMPORT_DAY, to: IMPORT_DAY });
      const [row] = (await read(key, `/v1/kpis?standard=fire-attendance-standard&${day}`)).json()
        .rows;
      expect({ incidents: row.incidents, n: row.n, met: row.met, value: row.value }).toEqual({
        incidents: attendance.incidents,
        n: attendance.n,
        met: attendance.met,
        value: attendance.share,
      });
      const report = (await read(key, `/v1/reports/annual?${day}`)).json();
      expect(report.current.fireIncidents).toEqual(
        fireIncidents(expected, { from: IMPORT_DAY, to: IMPORT_DAY }),
      );
    },
  );

  it('the two imports differ as their exports do: B’s medical incidents are structure fires', () => {
    const counts = (agency: string) =>
      fireIncidents(incidentsOf(imported[agency] as unknown as LooseEvent[]), {
        from: IMPORT_DAY,
        to: IMPORT_DAY,
      });
    const a = counts(A);
    const b = counts(B);
    expect(a.total).toBe(b.total);
    expect(b.primaryFires).toBeGreaterThan(a.primaryFires);
    expect(b.specialServices).toBeLessThan(a.specialServices);
  });

  it('a key of both agencies pages through both imports — same ids at the same times — seeing every incident once', async () => {
    const day = `from=${IMPORT_DAY}&to=${IMPORT_DAY}`;
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 50; page += 1) {
      const url: string = `/v1/incidents?${day}&agency=${A},${B}&limit=7${cursor ? `&cursor=${cursor}` : ''}`;
      const response = await read('joint', url);
      expect(response.statusCode, response.body).toBe(200);
      const body = response.json();
      seen.push(
        ...body.incidents.map(
          (incident: { agency: string; incident_id: string }) =>
            `${incident.agency}/${incident.incident_id}`,
        ),
      );
      cursor = body.next_cursor;
      if (cursor === null) break;
    }
    const expected = [A, B].flatMap((agency) =>
      incidentsOf(imported[agency] as unknown as LooseEvent[]).map(
        (incident) => `${agency}/${incident.incident_id}`,
      ),
    );
    expect(seen.length).toBe(60);
    expect([...seen].sort()).toEqual(expected.sort());
  });

  it('a key of one agency is refused every read of the other, with the same answer as before the other had data and as for an agency with none', async () => {
    for (const [key, other] of [
      [A, B],
      [B, A],
    ] as const) {
      for (const url of DATA_ENDPOINTS) {
        for (const headers of [{}, CSV]) {
          const withData = await read(key, `${url}&agency=${other}`, headers);
          expect(withData.statusCode, url).toBe(403);
          expect(withData.json()).toEqual({
            error: 'forbidden_agency',
            message: `the key "${key === A ? 'sfrs-performance' : 'wmfs-performance'}" may not read agency "${other}"; it reads ${key}`,
          });
          expect(`${withData.statusCode} ${withData.body}`).toBe(
            refusalsBeforeData.get(`${key} ${url} ${JSON.stringify(headers)}`),
          );
          const nowhere = await read(key, `${url}&agency=nowhere-fire`, headers);
          expect(nowhere.body.replace('nowhere-fire', other)).toBe(withData.body);
          const mixed = await read(key, `${url}&agency=${key},${other}`, headers);
          expect(mixed.statusCode).toBe(403);
        }
      }
    }
  });
});
