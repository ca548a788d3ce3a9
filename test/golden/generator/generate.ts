/**
 * The golden answers: what round 1 (commit 055cd4f, the main branch whose figures outsiders
 * checked against their own recomputations) answers to every read it offers, on one fixed
 * dataset. test/golden.e2e.test.ts feeds the same messages through today's pipeline, asks
 * today's reads the same questions and asserts the same answers.
 *
 * This file is compiled against round 1's packages, not today's: it runs from a checkout of
 * 055cd4f, where `regenerate.sh` (beside it) copies it to test/golden/generate.ts. It starts
 * round 1's own local stack (test/harness/endpoints.ts), sink (startTestSink), query API
 * (startQueryApiService), CLI (bin/bluelight.mjs) and dashboards runner (grafana-run.ts).
 *
 * The dataset: round 1's simulator (Staffordshire profile, seed SEED) over two windows — 29 March
 * to 2 April 2024 (the spring clocks change and the March/April boundary) and 26 to 29 October
 * 2024 (the autumn clocks change) — plus hand-made late, out-of-order, corrected, retracted,
 * reclassified, cancelled, duplicated and undeliverable messages (EDITS below), fed to Kafka in
 * four batches, each committed by the sink before the next is sent.
 *
 * Writes (into the directory given as the first argument, default ./test/golden):
 * - messages.jsonl.gz: every Kafka message in the order sent: batch, family, round 1's key, and
 *   the value exactly as produced (a string);
 * - answers.json.gz: each question (request, CLI arguments, panel and context, rule and instant)
 *   with round 1's answer.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { startTestSink } from '@bluelight/clickhouse-sink/testing';
import { queryApiConfigSchema, startQueryApiService } from '@bluelight/query-api';
import { type BluelightEvent, partitionKey, topicFor, validateEvent } from '@bluelight/schemas';
import { loadConfig, sha256Hex } from '@bluelight/service-kit';
import { STAFFORDSHIRE_2023_24, simulate } from '@bluelight/simulator';
import { loadStandards } from '@bluelight/standards';
import {
  allValues,
  type Dashboard,
  evaluateRule,
  provisionedDashboards,
  provisionedRules,
  runPanel,
} from '../../dashboards/src/grafana-run.js';
import { resolveEndpoints } from '../harness/endpoints.js';
import { testLogger } from '../harness/index.js';

const SEED = 20_240_331;
const WINDOWS = [
  // London midnights: 29 March (GMT) to 3 April (BST).
  { fromMs: Date.parse('2024-03-29T00:00:00Z'), toMs: Date.parse('2024-04-02T23:00:00Z') },
  // 26 October (BST) to 30 October (GMT).
  { fromMs: Date.parse('2024-10-25T23:00:00Z'), toMs: Date.parse('2024-10-30T00:00:00Z') },
];
const AGENCIES = ['staffordshire-control', 'staffordshire-fire', 'staffordshire-police'];

type Family = 'calls' | 'incidents' | 'resources';
type Batch = 'A' | 'B' | 'C' | 'D';
interface Message {
  batch: Batch;
  family: Family;
  key: string;
  value: string;
  /** Why a hand-made message is there (absent for the simulator's). */
  note?: string;
}

// biome-ignore lint/suspicious/noExplicitAny: events are read field by field
type Loose = any;

// ---------------------------------------------------------------------------------------------
// The dataset

function simulated(window: (typeof WINDOWS)[number]): BluelightEvent[] {
  const events: BluelightEvent[] = [];
  for (const { emissions } of simulate({ profile: STAFFORDSHIRE_2023_24, seed: SEED, ...window })) {
    for (const emission of emissions) events.push(emission.event as unknown as BluelightEvent);
  }
  return events;
}

let handMadeCount = 0;
/** A UUID v7 for a hand-made event: its time, then a counter (deterministic). */
function eventId(ms: number): string {
  handMadeCount += 1;
  const time = ms.toString(16).padStart(12, '0');
  const counter = handMadeCount.toString(16).padStart(15, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-7${counter.slice(0, 3)}-8${counter.slice(3, 6)}-${counter.slice(6).padStart(12, '0')}`;
}

const iso = (ms: number) => new Date(ms).toISOString();
const at = (event: Loose) => Date.parse(event.occurred_at);
const londonDay = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' });
const dayOf = (ms: number) => londonDay.format(new Date(ms));

interface IncidentEvents {
  created: Loose;
  byType: Map<string, Loose[]>;
}

function byIncident(events: BluelightEvent[]): Map<string, IncidentEvents> {
  const incidents = new Map<string, IncidentEvents>();
  for (const event of events as Loose[]) {
    if (!event.event_type.startsWith('incident.')) continue;
    const id = event.payload.incident_id;
    let entry = incidents.get(id);
    if (!entry) {
      entry = { created: undefined, byType: new Map() };
      incidents.set(id, entry);
    }
    if (event.event_type === 'incident.created') entry.created = event;
    const list = entry.byType.get(event.event_type) ?? [];
    if (!list.some((seen: Loose) => seen.event_id === event.event_id)) list.push(event);
    entry.byType.set(event.event_type, list);
  }
  return incidents;
}

function byCall(events: BluelightEvent[]): Map<string, Map<string, Loose>> {
  const calls = new Map<string, Map<string, Loose>>();
  for (const event of events as Loose[]) {
    if (!event.event_type.startsWith('call.')) continue;
    const entry = calls.get(event.payload.call_id) ?? new Map<string, Loose>();
    entry.set(event.event_type, event);
    calls.set(event.payload.call_id, entry);
  }
  return calls;
}

/** The first (by id) entry that `accept` takes; fails when there is none. */
function pick<T>(
  entries: Map<string, T>,
  what: string,
  accept: (entry: T) => boolean,
): [string, T] {
  const found = [...entries]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .find(([, entry]) => accept(entry));
  if (!found) throw new Error(`the dataset has no ${what}`);
  return found;
}

function envelope(event: Loose, type: string, occurredMs: number, payload: object, extra = {}) {
  return {
    event_id: eventId(occurredMs),
    event_type: type,
    schema_version: 1,
    occurred_at: iso(occurredMs),
    source: event.source,
    agency: event.agency,
    ...extra,
    payload,
  };
}

const corrects = (event: Loose, reason: string) => ({
  corrects: { event_id: event.event_id, reason },
});

/**
 * The hand-made messages, by batch: B follows the spring window (its late edits, an incident
 * whose events arrive out of order), D follows the autumn one (its edits, a correction of a
 * correction, a late arrival, duplicates and three messages the sink must dead-letter).
 */
function edits(spring: BluelightEvent[], autumn: BluelightEvent[]) {
  const springIncidents = byIncident(spring);
  const autumnIncidents = byIncident(autumn);
  const springCalls = byCall(spring);
  const autumnCalls = byCall(autumn);
  const arrivals = (entry: IncidentEvents) => entry.byType.get('incident.resource_arrived') ?? [];
  const mobilised = (entry: IncidentEvents) =>
    entry.byType.get('incident.resource_mobilised') ?? [];
  const lifeRiskFire = (entry: IncidentEvents) =>
    entry.created?.payload.details.service === 'fire' &&
    entry.created.payload.details.life_risk === true &&
    !correctedOrRetracted(entry);
  const correctedOrRetracted = (entry: IncidentEvents) =>
    [...entry.byType.values()].flat().some((event) => event.corrects !== undefined);
  const receivedDay = (entry: IncidentEvents) =>
    dayOf(Date.parse(entry.created.payload.call_received_at));

  const B: { event: object; note: string }[] = [];
  const D: { event: object; note: string }[] = [];

  // A life-risk fire on 30 March: its first arrival corrected 5 minutes later (B), and that
  // correction corrected again to 2 minutes later (D).
  const [, a] = pick(
    springIncidents,
    'life-risk fire on 30 March with two arrivals',
    (entry) =>
      lifeRiskFire(entry) && receivedDay(entry) === '2024-03-30' && arrivals(entry).length >= 2,
  );
  const firstArrival = [...arrivals(a)].sort((x, y) => at(x) - at(y))[0];
  const correction = envelope(
    firstArrival,
    'incident.resource_arrived',
    at(firstArrival) + 300_000,
    firstArrival.payload,
    corrects(firstArrival, 'arrival pressed late; time from AVL'),
  );
  B.push({ event: correction, note: 'a first arrival corrected 5 minutes later' });
  D.push({
    event: envelope(
      correction,
      'incident.resource_arrived',
      at(firstArrival) + 120_000,
      firstArrival.payload,
      corrects(correction, 'the AVL time was for the second pump'),
    ),
    note: 'that correction corrected again: 2 minutes after the original',
  });

  // The evening of 31 March: an incident's first mobilisation retracted (B).
  const [, b] = pick(
    springIncidents,
    'fire incident on the afternoon or evening of 31 March with two mobilisations',
    (entry) =>
      entry.created?.payload.details.service === 'fire' &&
      !correctedOrRetracted(entry) &&
      receivedDay(entry) === '2024-03-31' &&
      Date.parse(entry.created.payload.call_received_at) >= Date.parse('2024-03-31T12:00:00Z') &&
      mobilised(entry).length >= 2,
  );
  const firstMobilised = [...mobilised(b)].sort((x, y) => at(x) - at(y))[0];
  B.push({
    event: envelope(
      firstMobilised,
      'incident.event_retracted',
      at(firstMobilised) + 600_000,
      { incident_id: firstMobilised.payload.incident_id },
      corrects(firstMobilised, 'wrong appliance selected in CAD'),
    ),
    note: 'a first mobilisation retracted',
  });

  // A police emergency: its arrival corrected 200 s later (B).
  const [, police] = pick(
    springIncidents,
    'police emergency with an arrival',
    (entry) =>
      entry.created?.payload.details.service === 'police' &&
      entry.created.payload.details.grading === 'emergency' &&
      arrivals(entry).length >= 1 &&
      !correctedOrRetracted(entry),
  );
  const policeArrival = arrivals(police)[0];
  B.push({
    event: envelope(
      policeArrival,
      'incident.resource_arrived',
      at(policeArrival) + 200_000,
      policeArrival.payload,
      corrects(policeArrival, 'officer confirmed arrival late'),
    ),
    note: 'a police arrival corrected 200 s later',
  });

  // A 999 call answered within 10 s: its answer retracted (B).
  const [, call] = pick(springCalls, '999 call answered within 10 s', (entry) => {
    const presented = entry.get('call.presented');
    const answered = entry.get('call.answered');
    return (
      presented?.payload.line === '999' &&
      answered !== undefined &&
      at(answered) - at(presented) <= 10_000 &&
      answered.corrects === undefined
    );
  });
  const answered = call.get('call.answered');
  B.push({
    event: envelope(
      answered,
      'call.event_retracted',
      at(answered) + 60_000,
      { call_id: answered.payload.call_id },
      corrects(answered, 'answer recorded on the wrong call'),
    ),
    note: 'a 999 answer retracted',
  });

  // A 999 call transferred to the police (B: stored, no figure reads it).
  const [transferredId, transferred] = pick(
    springCalls,
    'answered 999 fire call',
    (entry) =>
      entry.get('call.presented')?.payload.service === 'fire' && entry.has('call.answered'),
  );
  B.push({
    event: envelope(
      transferred.get('call.answered'),
      'call.transferred',
      at(transferred.get('call.answered')) + 30_000,
      { call_id: transferredId, to_service: 'police', to_queue: '999-police' },
    ),
    note: 'a call transferred',
  });

  // An incident of its own whose events arrive out of order (created after its arrival), called
  // in at 00:10 on 1 April in London (23:10 on 31 March in UTC): April in London, March in UTC.
  const station = a.created.payload.location.station_ground;
  const received = Date.parse('2024-03-31T23:10:00Z');
  const fire = a.created;
  const ownId = 'SFRS-2024-9000001';
  const resource = { incident_id: ownId, resource_id: `${station}-P1` };
  const created = envelope(
    fire,
    'incident.created',
    received + 60_000,
    {
      incident_id: ownId,
      call_received_at: iso(received),
      details: {
        service: 'fire',
        category: { type: 'primary_fire', location_type: 'dwelling' },
        risk_band: 'high',
        life_risk: true,
      },
      location: fire.payload.location,
    },
    { correlation: { call_id: 'C-20240331-90000001' } },
  );
  const mobilisedOwn = envelope(fire, 'incident.resource_mobilised', received + 90_000, resource);
  const mobileOwn = envelope(fire, 'incident.resource_mobile', received + 150_000, resource);
  const arrivedOwn = envelope(fire, 'incident.resource_arrived', received + 440_000, resource);
  const closedOwn = envelope(fire, 'incident.closed', received + 4_000_000, {
    incident_id: ownId,
    stop_code: 'FD12',
    exclusions: { late_call: false, derelict_property: false, abandoned_road_vehicle: false },
  });
  for (const [event, note] of [
    [arrivedOwn, 'out of order: an arrival before its incident was created'],
    [mobileOwn, 'out of order: mobile before mobilised'],
    [mobilisedOwn, 'out of order: mobilised last of the three'],
    [created, 'out of order: created after its resources; London April, UTC March'],
    [closedOwn, 'closed'],
  ] as const) {
    B.push({ event, note });
  }

  // Autumn: a life-risk fire on 27 October reclassified as a false alarm (D).
  const [, c] = pick(
    autumnIncidents,
    'life-risk fire on 27 October',
    (entry) => lifeRiskFire(entry) && receivedDay(entry) === '2024-10-27',
  );
  D.push({
    event: envelope(c.created, 'incident.reclassified', at(c.created) + 1_800_000, {
      incident_id: c.created.payload.incident_id,
      details: {
        service: 'fire',
        category: { type: 'false_alarm', false_alarm_type: 'good_intent' },
        risk_band: 'low',
        life_risk: false,
      },
    }),
    note: 'a life-risk fire reclassified as a false alarm',
  });

  // One cancelled (D).
  const [, d] = pick(
    autumnIncidents,
    'life-risk fire on 28 October',
    (entry) => lifeRiskFire(entry) && receivedDay(entry) === '2024-10-28',
  );
  D.push({
    event: envelope(d.created, 'incident.cancelled', at(d.created) + 120_000, {
      incident_id: d.created.payload.incident_id,
      reason: 'caller_cancelled',
    }),
    note: 'a life-risk fire cancelled',
  });

  // One whose creation is corrected: another risk band (D).
  const [, e] = pick(
    autumnIncidents,
    'high-risk life-risk fire on 29 October',
    (entry) =>
      lifeRiskFire(entry) &&
      receivedDay(entry) === '2024-10-29' &&
      entry.created.payload.details.risk_band === 'high',
  );
  D.push({
    event: {
      ...envelope(
        e.created,
        'incident.created',
        at(e.created),
        {
          ...e.created.payload,
          details: { ...e.created.payload.details, risk_band: 'low' },
        },
        corrects(e.created, 'risk band entered wrongly'),
      ),
      ...(e.created.correlation ? { correlation: e.created.correlation } : {}),
    },
    note: 'an incident.created corrected: high risk band to low',
  });

  // An incident across the autumn clocks change: called 01:55 BST, arrival at 01:03 GMT (D).
  const autumnOwnId = 'SFRS-2024-9000002';
  const autumnReceived = Date.parse('2024-10-27T00:55:00Z');
  const autumnResource = { incident_id: autumnOwnId, resource_id: `${station}-P1` };
  D.push(
    {
      event: envelope(
        fire,
        'incident.created',
        autumnReceived + 50_000,
        {
          incident_id: autumnOwnId,
          call_received_at: iso(autumnReceived),
          details: {
            service: 'fire',
            category: { type: 'primary_fire', location_type: 'dwelling' },
            risk_band: 'medium',
            life_risk: true,
          },
          location: fire.payload.location,
        },
        { correlation: { call_id: 'C-20241027-90000002' } },
      ),
      note: 'called 01:55 BST on the night the clocks go back',
    },
    {
      event: envelope(fire, 'incident.resource_mobilised', autumnReceived + 80_000, autumnResource),
      note: 'mobilised',
    },
    {
      event: envelope(fire, 'incident.resource_mobile', autumnReceived + 140_000, autumnResource),
      note: 'mobile',
    },
    {
      event: envelope(fire, 'incident.resource_arrived', autumnReceived + 480_000, autumnResource),
      note: 'arrived 01:03 GMT, eight minutes after the call at 01:55 BST',
    },
  );

  // A 999 call answered within 10 s: its answer corrected to 15 s later (D).
  const [, autumnCall] = pick(autumnCalls, 'autumn 999 call answered within 10 s', (entry) => {
    const presented = entry.get('call.presented');
    const answer = entry.get('call.answered');
    return (
      presented?.payload.line === '999' &&
      answer !== undefined &&
      at(answer) - at(presented) <= 10_000 &&
      answer.corrects === undefined
    );
  });
  const autumnAnswer = autumnCall.get('call.answered');
  D.push({
    event: envelope(
      autumnAnswer,
      'call.answered',
      at(autumnAnswer) + 15_000,
      autumnAnswer.payload,
      corrects(autumnAnswer, 'telephony clock corrected'),
    ),
    note: 'a 999 answer corrected 15 s later',
  });

  // An on-call appliance's status change retracted (D).
  const onCall = (autumn as Loose[]).find(
    (event) =>
      event.event_type === 'resource.status_changed' &&
      event.payload.crewing_model === 'on_call' &&
      at(event) > Date.parse('2024-10-27T06:00:00Z') &&
      event.payload.state.status === 'unavailable',
  );
  if (!onCall) throw new Error('the dataset has no on-call appliance going off the run');
  D.push({
    event: envelope(
      onCall,
      'resource.event_retracted',
      at(onCall) + 3_600_000,
      { resource_id: onCall.payload.resource_id },
      corrects(onCall, 'station-end system replayed an old status'),
    ),
    note: 'an on-call appliance going off the run retracted',
  });

  // A spring incident mobilised but never arrived: its arrival arrives (D).
  const [, late] = pick(
    springIncidents,
    'spring fire incident mobilised without an arrival',
    (entry) =>
      entry.created?.payload.details.service === 'fire' &&
      mobilised(entry).length >= 1 &&
      arrivals(entry).length === 0 &&
      !entry.byType.has('incident.cancelled'),
  );
  const lateMobilised = mobilised(late)[0];
  D.push({
    event: envelope(
      lateMobilised,
      'incident.resource_arrived',
      at(lateMobilised) + 540_000,
      lateMobilised.payload,
    ),
    note: 'an arrival sent weeks late',
  });
  return { B, D };
}

function message(batch: Batch, event: object, note?: string): Message {
  const checked = validateEvent(event);
  if (!checked.ok) throw new Error(`a hand-made event is invalid: ${JSON.stringify(checked)}`);
  const typed = event as BluelightEvent;
  return {
    batch,
    family: topicFor(typed.event_type).family as Family,
    key: partitionKey(typed),
    value: JSON.stringify(event),
    ...(note ? { note } : {}),
  };
}

function dataset(): Message[] {
  const [spring, autumn] = WINDOWS.map(simulated) as [BluelightEvent[], BluelightEvent[]];
  const { B, D } = edits(spring, autumn);
  const messages: Message[] = [
    ...spring.map((event) => message('A', event)),
    ...B.map(({ event, note }) => message('B', event, note)),
    ...autumn.map((event) => message('C', event)),
    ...D.map(({ event, note }) => message('D', event, note)),
  ];
  // Three messages sent again exactly as before (at-least-once delivery).
  for (const index of [100, 5_000, 12_000]) {
    const again = messages[index] as Message;
    messages.push({ ...again, batch: 'D', note: 'sent again (a duplicate)' });
  }
  // Three the sink must dead-letter, one of each class.
  const aCall = spring.find((event) => event.event_type === 'call.presented') as BluelightEvent;
  const anIncident = spring.find(
    (event) => event.event_type === 'incident.created',
  ) as BluelightEvent;
  messages.push(
    {
      batch: 'D',
      family: 'incidents',
      key: 'SFRS-2024-BROKEN',
      value: '{"event_id": "not json',
      note: 'dead letter: not JSON',
    },
    {
      batch: 'D',
      family: 'incidents',
      key: partitionKey(anIncident),
      value: JSON.stringify({
        ...anIncident,
        event_id: eventId(at(anIncident)),
        payload: { ...anIncident.payload, priority: 'P1' },
      }),
      note: 'dead letter: breaks the contract (an unknown payload field)',
    },
    {
      batch: 'D',
      family: 'resources',
      key: partitionKey(aCall),
      value: JSON.stringify({ ...aCall, event_id: eventId(at(aCall)) }),
      note: 'dead letter: a call event on the resources topic',
    },
  );
  return messages;
}

// ---------------------------------------------------------------------------------------------
// The questions

/** London days of the periods asked about. */
const PERIODS = {
  spring: { from: '2024-03-29', to: '2024-04-02' },
  autumn: { from: '2024-10-26', to: '2024-10-29' },
  span: { from: '2024-03-29', to: '2024-10-29' },
  clocksForward: { from: '2024-03-31', to: '2024-04-01' },
  clocksBack: { from: '2024-10-27', to: '2024-10-27' },
} as const;

interface ApiQuestion {
  name: string;
  path: string;
  query: Record<string, string>;
  csv?: boolean;
  /** A page after the first: the cursor comes from the page named here. */
  after?: string;
}

function kpiQuestions(standards: ReturnType<typeof loadStandards>): ApiQuestion[] {
  // Every grouping but week (toMonday of the day) and line (a column like queue).
  const groupings: Record<string, string[]> = {
    incidents: ['none', 'day', 'month', 'station', 'category', 'risk_band', 'hour_of_week'],
    calls: ['none', 'day', 'month', 'hour_of_week', 'queue', 'service'],
    availability: ['none', 'day', 'month', 'station', 'resource', 'crewing_model'],
  };
  const third: Record<string, string> = {
    incidents: 'station',
    calls: 'queue',
    availability: 'station',
  };
  const questions: ApiQuestion[] = [];
  const ask = (
    id: string,
    period: keyof typeof PERIODS,
    groupBy: string,
    extra = {},
    csv = false,
  ) =>
    questions.push({
      name: `kpis ${id} ${period} groupBy=${groupBy}${Object.entries(extra)
        .map(([k, v]) => ` ${k}=${v}`)
        .join('')}${csv ? ' csv' : ''}`,
      path: '/v1/kpis',
      query: { standard: id, ...PERIODS[period], groupBy, ...extra },
      ...(csv ? { csv } : {}),
    });
  for (const standard of standards) {
    const subject = standard.subject;
    for (const groupBy of groupings[subject] as string[]) ask(standard.id, 'spring', groupBy);
    for (const groupBy of ['none', 'month', third[subject] as string]) {
      ask(standard.id, 'autumn', groupBy);
    }
    for (const groupBy of ['none', third[subject] as string]) ask(standard.id, 'span', groupBy);
    ask(standard.id, 'clocksForward', 'day');
    // The hour the clocks go back happens twice in London.
    if (subject !== 'availability') ask(standard.id, 'clocksBack', 'hour_of_week');
  }
  for (const id of [
    'fire-attendance-standard',
    'calls-999-answer',
    'appliance-availability-on-call',
  ]) {
    ask(id, 'spring', 'day', {}, true);
  }
  const filters: [string, Record<string, string>][] = [
    ['fire-attendance-standard', { station: 'HANLEY' }],
    ['fire-attendance-standard', { station: 'HANLEY,LEEK,STAFFORD' }],
    ['fire-attendance-standard', { category: 'primary_fire' }],
    ['fire-attendance-standard', { risk_band: 'high' }],
    ['fire-attendance-standard', { area: 'Stoke-on-Trent' }],
    ['fire-attendance-standard', { service: 'fire' }],
    ['fire-average-attendance', { category: 'special_service', risk_band: 'medium' }],
    ['police-emergency-attendance', { area: 'Staffordshire' }],
    ['calls-999-answer', { queue: '999-police' }],
    ['calls-999-answer', { service: 'fire' }],
    ['calls-101-triage', { service: 'police' }],
    ['appliance-availability-on-call', { station: 'LEEK' }],
    ['appliance-availability-wholetime', { crewing_model: 'wholetime' }],
  ];
  for (const [id, extra] of filters) ask(id, 'spring', 'none', extra);
  ask('fire-attendance-standard', 'span', 'month', { risk_band: 'high' });
  return questions;
}

function incidentQuestions(): ApiQuestion[] {
  const searches: [string, Record<string, string>, boolean][] = [
    ['spring', { ...PERIODS.spring, limit: '100' }, false],
    ['autumn csv', { ...PERIODS.autumn, limit: '250' }, true],
    ['span', { ...PERIODS.span, limit: '1000' }, false],
    ['spring station', { ...PERIODS.spring, station: 'HANLEY,LEEK', limit: '40' }, false],
    ['spring category', { ...PERIODS.spring, category: 'primary_fire', limit: '50' }, false],
    ['autumn risk band', { ...PERIODS.autumn, risk_band: 'high', limit: '50' }, true],
    ['span police', { ...PERIODS.span, service: 'police', limit: '200' }, false],
    ['span area', { ...PERIODS.span, area: 'Stafford' }, false],
    ['clocks back q=SFRS', { ...PERIODS.clocksBack, q: 'SFRS-2024-9' }, false],
    ['spring q=station prefix', { ...PERIODS.spring, q: 'han', limit: '30' }, false],
    ['clocks forward', { ...PERIODS.clocksForward }, true],
  ];
  return searches.map(([name, query, csv]) => ({
    name: `incidents ${name}`,
    path: '/v1/incidents',
    query,
    ...(csv ? { csv } : {}),
  }));
}

function reportQuestions(): ApiQuestion[] {
  const report = (period: keyof typeof PERIODS, comparePrevious: boolean, csv = false) => ({
    name: `report ${period} comparePrevious=${comparePrevious}${csv ? ' csv' : ''}`,
    path: '/v1/reports/annual',
    query: { ...PERIODS[period], comparePrevious: String(comparePrevious) },
    ...(csv ? { csv } : {}),
  });
  return [
    report('spring', true),
    report('autumn', false),
    report('autumn', false, true),
    report('span', false),
    report('clocksBack', true),
  ];
}

const CLI_QUESTIONS: string[][] = [
  ['report', '--from', PERIODS.spring.from, '--to', PERIODS.spring.to, '--compare-previous'],
  ['report', '--from', PERIODS.spring.from, '--to', PERIODS.spring.to, '--format', 'json'],
  ['report', '--from', PERIODS.span.from, '--to', PERIODS.span.to, '--format', 'csv'],
];

/** Dashboard ranges: instants (UTC) and the panel interval Grafana would use. */
const RANGES = {
  spring: {
    from: '2024-03-29T00:00:00.000Z',
    to: '2024-04-02T22:59:59.000Z',
    intervalSeconds: 300,
  },
  autumn: {
    from: '2024-10-25T23:00:00.000Z',
    to: '2024-10-29T23:59:59.000Z',
    intervalSeconds: 300,
  },
  span: { from: '2024-03-29T00:00:00.000Z', to: '2024-10-29T23:59:59.000Z', intervalSeconds: 3600 },
};

/** "Now" for the control room and the alert rules: each clocks-change night, a month's start. */
const INSTANTS = [
  '2024-03-30T14:00:00.000Z',
  '2024-03-31T01:30:00.000Z',
  '2024-04-01T08:00:00.000Z',
  '2024-06-15T12:00:00.000Z',
  '2024-10-27T01:30:00.000Z',
  '2024-10-29T20:00:00.000Z',
];

/** One chosen value (not All) per dashboard, for the selection runs. */
const SELECTIONS: Record<string, Record<string, string[]>> = {
  'bluelight-response-standards': { station: ['HANLEY'] },
  'bluelight-control-room': { station: ['HANLEY'] },
  'bluelight-availability': { station: ['LEEK'] },
  'bluelight-call-handling': { queue: ['999-police'] },
};

interface PanelContext {
  /** What the context stands for (a range name, an instant, the ingestion window). */
  name: string;
  from: string;
  to: string;
  intervalSeconds: number;
  /** Variables given a value; every other is All. */
  selected: Record<string, string[]>;
}

const CLI = path.resolve(import.meta.dirname, '../../services/cli/bin/bluelight.mjs');

/** Runs `bluelight <args>` as a process with these variables; never rejects. */
function runBluelight(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const out = path.resolve(process.argv[2] ?? 'test/golden');
  const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  const say = (line: string) => process.stdout.write(`[golden] ${line}\n`);
  const messages = dataset();
  say(`${messages.length} messages`);

  const { endpoints, teardown } = await resolveEndpoints();
  const sink = await startTestSink({ endpoints });
  const home = mkdtempSync(path.join(os.tmpdir(), 'golden-cli-'));
  try {
    // Feed the batches, each committed before the next is sent.
    const perFamily: Record<Family, number> = { calls: 0, incidents: 0, resources: 0 };
    const feedStarted = Date.now();
    for (const batch of ['A', 'B', 'C', 'D'] as const) {
      const ofBatch = messages.filter((message) => message.batch === batch);
      for (let index = 0; index < ofBatch.length; index += 2_000) {
        const chunk = ofBatch.slice(index, index + 2_000);
        const byTopic = new Map<string, { key: string; value: string }[]>();
        for (const { family, key, value } of chunk) {
          const topic = sink.families[family].topic.name;
          byTopic.set(topic, [...(byTopic.get(topic) ?? []), { key, value }]);
          perFamily[family] += 1;
        }
        await sink.producer.send(
          [...byTopic].map(([topic, topicMessages]) => ({ topic, messages: topicMessages })),
        );
      }
      for (const family of ['calls', 'incidents', 'resources'] as const) {
        await sink.waitUntilCommitted(family, perFamily[family], 600_000);
      }
      say(`batch ${batch} committed after ${Date.now() - feedStarted} ms`);
    }

    // The query API over the sink's database.
    const key = 'qk_golden_round1_reader_0123456789';
    const config = loadConfig(queryApiConfigSchema, {
      CLICKHOUSE_URL: endpoints.clickhouseUrl,
      CLICKHOUSE_USER: endpoints.clickhouseUser,
      CLICKHOUSE_PASSWORD: endpoints.clickhousePassword,
      CLICKHOUSE_DATABASE: sink.db.database,
      QUERY_API_KEYS: JSON.stringify([{ id: 'golden', key_sha256: sha256Hex(key) }]),
    });
    const standards = loadStandards();
    const api = await startQueryApiService(config, standards, testLogger('query-api'), {
      listen: false,
    });
    const get = (url: string, csv?: boolean) =>
      api.app.inject({
        method: 'GET',
        url,
        headers: { authorization: `Bearer ${key}`, ...(csv ? { accept: 'text/csv' } : {}) },
      });

    const apiAnswers: unknown[] = [];
    const ask = async (question: ApiQuestion, cursor?: string) => {
      const query = new URLSearchParams({ ...question.query, ...(cursor ? { cursor } : {}) });
      const response = await get(`${question.path}?${query}`, question.csv);
      const json = String(response.headers['content-type']).startsWith('application/json');
      const answer = {
        status: response.statusCode,
        contentType: String(response.headers['content-type']),
        nextCursor: response.headers['x-next-cursor'] ?? null,
        body: json ? response.json() : response.body,
      };
      apiAnswers.push({ question, answer });
      return answer;
    };
    const started = Date.now();
    await ask({ name: 'standards', path: '/v1/standards', query: {} });
    await ask({ name: 'standards csv', path: '/v1/standards', query: {}, csv: true });
    for (const question of [...kpiQuestions(standards), ...reportQuestions()]) await ask(question);
    for (const first of incidentQuestions()) {
      let answer = await ask(first);
      let previous = first.name;
      for (let page = 2; answer.status === 200; page += 1) {
        const cursor = first.csv
          ? (answer.nextCursor as string | null)
          : (answer.body as { next_cursor: string | null }).next_cursor;
        if (!cursor) break;
        const question = { ...first, name: `${first.name} page ${page}`, after: previous };
        answer = await ask(question, cursor);
        previous = question.name;
      }
    }
    say(`${apiAnswers.length} API answers in ${Date.now() - started} ms`);
    await api.stop();

    // The CLI's report, as a process.
    const cliAnswers: unknown[] = [];
    for (const args of CLI_QUESTIONS) {
      const result = await runBluelight(args, {
        BLUELIGHT_HOME: home,
        CLICKHOUSE_URL: endpoints.clickhouseUrl,
        CLICKHOUSE_USER: endpoints.clickhouseUser,
        CLICKHOUSE_PASSWORD: endpoints.clickhousePassword,
        CLICKHOUSE_DATABASE: sink.db.database,
      });
      cliAnswers.push({ question: { args }, answer: result });
    }
    say(`${cliAnswers.length} CLI answers`);

    // Every panel and variable of every dashboard, and every alert rule.
    const client = sink.db.client;
    const window = await client.query({
      query: `SELECT toUnixTimestamp64Milli(min(t)) AS first, toUnixTimestamp64Milli(max(t)) AS last FROM (
        SELECT _ingested_at AS t FROM calls_raw UNION ALL SELECT _ingested_at FROM incidents_raw
        UNION ALL SELECT _ingested_at FROM resources_raw)`,
      format: 'JSONEachRow',
    });
    const [ingested] = await window.json<{ first: string; last: string }>();
    const lettered = await client.query({
      query: 'SELECT toUnixTimestamp64Milli(max(failed_at)) AS last FROM dead_letters',
      format: 'JSONEachRow',
    });
    const [deadLetters] = await lettered.json<{ last: string }>();
    // The pipeline dashboard's range: from the first row ingested to the last dead letter or row.
    const ingestion = {
      from: iso(Number(ingested?.first) - 1_000),
      to: iso(Math.max(Number(ingested?.last), Number(deadLetters?.last)) + 1_000),
    };
    const contextsOf = (dashboard: Dashboard): PanelContext[] => {
      if (dashboard.uid === 'bluelight-pipeline') {
        return [{ name: 'ingestion', ...ingestion, intervalSeconds: 1, selected: {} }];
      }
      const selection = SELECTIONS[dashboard.uid] ?? {};
      if (dashboard.uid === 'bluelight-control-room') {
        return [
          ...INSTANTS.map((now) => ({
            name: `now ${now}`,
            from: iso(Date.parse(now) - 6 * 3_600_000),
            to: now,
            intervalSeconds: 60,
            selected: {},
          })),
          {
            name: `now ${INSTANTS[2]} selected`,
            from: iso(Date.parse(INSTANTS[2] as string) - 6 * 3_600_000),
            to: INSTANTS[2] as string,
            intervalSeconds: 60,
            selected: selection,
          },
        ];
      }
      return [
        ...Object.entries(RANGES).map(([name, range]) => ({ name, ...range, selected: {} })),
        { name: 'spring selected', ...RANGES.spring, selected: selection },
      ];
    };
    const panelAnswers: unknown[] = [];
    const variableAnswers: unknown[] = [];
    for (const dashboard of provisionedDashboards()) {
      for (const context of contextsOf(dashboard)) {
        const range = {
          from: new Date(context.from),
          to: new Date(context.to),
          intervalSeconds: context.intervalSeconds,
        };
        const all = await allValues(client, dashboard, range);
        variableAnswers.push({
          question: { dashboard: dashboard.uid, context: context.name },
          answer: all,
        });
        for (const panel of dashboard.panels) {
          let answer: unknown;
          try {
            const results = await runPanel(client, panel, {
              ...range,
              variables: { ...all, ...context.selected },
              all: Object.keys(all).filter((name) => !(name in context.selected)),
            });
            answer = results.map(({ meta, rows }) => ({ meta, rows }));
          } catch (error) {
            answer = { error: (error as Error).message };
          }
          panelAnswers.push({
            question: { dashboard: dashboard.uid, panel: panel.title, context },
            answer,
          });
        }
      }
    }
    say(`${panelAnswers.length} panel answers`);
    const alertAnswers: unknown[] = [];
    const ruleInstants = [
      ...INSTANTS.map((now) => ({ name: now, now })),
      { name: 'two hours after the last ingestion', now: iso(Number(ingested?.last) + 7_200_000) },
      { name: 'a minute after the last dead letter', now: iso(Number(deadLetters?.last) + 60_000) },
    ];
    for (const rule of provisionedRules()) {
      for (const instant of ruleInstants) {
        let answer: unknown;
        try {
          answer = await evaluateRule(client, rule, new Date(instant.now));
        } catch (error) {
          answer = { error: (error as Error).message };
        }
        alertAnswers.push({ question: { rule: rule.uid, instant }, answer });
      }
    }
    say(`${alertAnswers.length} alert answers`);

    const lines = messages.map((entry) => JSON.stringify(entry)).join('\n');
    writeFileSync(path.join(out, 'messages.jsonl.gz'), gzipSync(`${lines}\n`, { level: 9 }));
    const answers = {
      generatedBy: {
        commit,
        script: 'test/golden/generator/generate.ts',
        seed: SEED,
        windows: WINDOWS.map(({ fromMs, toMs }) => ({ from: iso(fromMs), to: iso(toMs) })),
        agencies: AGENCIES,
        messages: messages.length,
      },
      api: apiAnswers,
      cli: cliAnswers,
      variables: variableAnswers,
      panels: panelAnswers,
      alerts: alertAnswers,
    };
    writeFileSync(
      path.join(out, 'answers.json.gz'),
      gzipSync(`${JSON.stringify(answers)}\n`, { level: 9 }),
    );
    say(`written to ${out}`);
  } finally {
    rmSync(home, { recursive: true, force: true });
    await sink.cleanup();
    await teardown();
  }
}

await main();
process.exit(0);
