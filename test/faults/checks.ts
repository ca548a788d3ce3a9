import type { BluelightEvent } from '@bluelight/schemas';
import type { ClickHouseClient } from '@bluelight/service-kit';
import { FigureCounter } from '@bluelight/simulator/testing';
import { ALL_FACTS, storedFigures } from '../harness/index.js';
import {
  type Expected,
  FAMILY_NAMES,
  type FamilyName,
  intervalKey,
  recompute,
} from './expected.js';

/** One check of a run: what it proves is described in docs/reliability.md. */
export interface CheckResult {
  name:
    | 'caught-up'
    | 'raw-exactly-once'
    | 'no-dead-letters'
    | 'derived-facts'
    | 'figures'
    | 'services-stayed-up';
  passed: boolean;
  /** What differed (empty when passed). */
  problems: string[];
}

export interface StoredCounts {
  /** uniqExact(event_id) over the three raw tables. */
  distinct: number;
  /** count() FINAL over the three raw tables. */
  finalRows: number;
  /** count() without FINAL: includes redeliveries not merged away yet. */
  physicalRows: number;
}

export interface Verification {
  checks: CheckResult[];
  stored: StoredCounts;
  /** Per family: ids produced but not stored, stored more than once after FINAL, stored but never produced. */
  ids: Record<FamilyName, { missing: string[]; doubled: string[]; unexpected: string[] }>;
}

const RAW_TABLE: Record<FamilyName, string> = {
  calls: 'calls_raw',
  incidents: 'incidents_raw',
  resources: 'resources_raw',
};
const SHOWN = 20;

async function rows<T>(
  client: ClickHouseClient,
  query: string,
  params: Record<string, unknown> = {},
): Promise<T[]> {
  // A client's kept-alive sockets may have died with a restarted ClickHouse: try again.
  for (let attempt = 1; ; attempt += 1) {
    try {
      const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
      return await result.json<T>();
    } catch (error) {
      if (attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

const num = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number(value);
const when = (ms: number | null) => (ms === null ? 'NULL' : new Date(ms).toISOString());
const list = (ids: string[]) =>
  `${ids.slice(0, SHOWN).join(', ')}${ids.length > SHOWN ? `, … (${ids.length} in all)` : ''}`;

/** (a) every distinct produced event is in its raw table exactly once, and nothing else is. */
async function checkRaw(client: ClickHouseClient, expected: Expected) {
  const problems: string[] = [];
  const stored: StoredCounts = { distinct: 0, finalRows: 0, physicalRows: 0 };
  const ids = {} as Verification['ids'];
  for (const family of FAMILY_NAMES) {
    const table = RAW_TABLE[family];
    const [counts] = await rows<{ ids: string; physical: string }>(
      client,
      `SELECT uniqExact(event_id) AS ids, count() AS physical FROM ${table}`,
    );
    const [final] = await rows<{ n: string }>(client, `SELECT count() AS n FROM ${table} FINAL`);
    const perId = await rows<{ event_id: string; n: string }>(
      client,
      `SELECT event_id, count() AS n FROM ${table} FINAL GROUP BY event_id`,
    );
    const want = expected.distinct[family];
    const have = new Map(perId.map((row) => [row.event_id, Number(row.n)]));
    const missing = [...want].filter((id) => !have.has(id)).sort();
    const doubled = [...have]
      .filter(([, n]) => n > 1)
      .map(([id]) => id)
      .sort();
    const unexpected = [...have.keys()].filter((id) => !want.has(id)).sort();
    ids[family] = { missing, doubled, unexpected };
    const distinct = Number(counts?.ids ?? 0);
    const finalRows = Number(final?.n ?? 0);
    stored.distinct += distinct;
    stored.finalRows += finalRows;
    stored.physicalRows += Number(counts?.physical ?? 0);
    if (distinct !== want.size || finalRows !== want.size) {
      problems.push(
        `${table}: ${want.size} distinct events produced, uniqExact(event_id) = ${distinct}, count() FINAL = ${finalRows}`,
      );
    }
    if (missing.length > 0) problems.push(`${table}: missing ${list(missing)}`);
    if (doubled.length > 0) problems.push(`${table}: doubled after FINAL ${list(doubled)}`);
    if (unexpected.length > 0) problems.push(`${table}: never produced ${list(unexpected)}`);
  }
  return {
    check: { name: 'raw-exactly-once', passed: problems.length === 0, problems } as const,
    stored,
    ids,
  };
}

/** (b) nothing was refused: the dead-letter table and topics are empty. */
async function checkDeadLetters(
  client: ClickHouseClient,
  dlqMessages: number,
): Promise<CheckResult> {
  const [row] = await rows<{ n: string }>(client, 'SELECT count() AS n FROM dead_letters');
  const problems: string[] = [];
  const inTable = Number(row?.n ?? 0);
  if (inTable > 0) {
    const sample = await rows<Record<string, unknown>>(
      client,
      'SELECT original_topic, original_offset, error_class, reason FROM dead_letters LIMIT 5',
    );
    problems.push(`dead_letters holds ${inTable} rows, e.g. ${JSON.stringify(sample)}`);
  }
  if (dlqMessages > 0) problems.push(`the dead-letter topics hold ${dlqMessages} messages`);
  return { name: 'no-dead-letters', passed: problems.length === 0, problems };
}

/** (c) the facts the sink derived equal those recomputed here from the events, entity by entity. */
async function checkFacts(client: ClickHouseClient, expected: Expected): Promise<CheckResult> {
  const problems: string[] = [];
  const compare = <T extends object>(
    what: string,
    want: Map<string, T>,
    have: Map<string, Record<string, unknown>>,
    fields: (keyof T & string)[],
    times: Set<string>,
  ) => {
    const missing = [...want.keys()].filter((id) => !have.has(id));
    const extra = [...have.keys()].filter((id) => !want.has(id));
    if (missing.length > 0) problems.push(`${what}: no fact for ${list(missing)}`);
    if (extra.length > 0)
      problems.push(`${what}: facts for entities without events ${list(extra)}`);
    const wrong: string[] = [];
    for (const [id, fact] of want) {
      const row = have.get(id);
      if (!row) continue;
      for (const field of fields) {
        const expectedValue = fact[field] as unknown;
        if (expectedValue === null && field === 'first_arrival_resource_id') continue; // a tie
        const actual =
          times.has(field) || typeof expectedValue === 'number' ? num(row[field]) : row[field];
        if (actual !== expectedValue) {
          const show = (value: unknown) =>
            times.has(field) ? when(value as number | null) : JSON.stringify(value);
          wrong.push(`${id}.${field}: expected ${show(expectedValue)}, stored ${show(actual)}`);
        }
      }
    }
    if (wrong.length > 0) problems.push(`${what}: ${wrong.length} wrong values: ${list(wrong)}`);
  };

  const incidentRows = await rows<Record<string, unknown>>(
    client,
    `SELECT incident_id, service, category, cancelled, first_arrival_resource_id,
            toUnixTimestamp64Milli(call_received_at) AS call_received_at,
            toUnixTimestamp64Milli(created_at) AS created_at,
            toUnixTimestamp64Milli(first_arrival_at) AS first_arrival_at,
            toUnixTimestamp64Milli(second_arrival_at) AS second_arrival_at,
            toUnixTimestamp64Milli(closed_at) AS closed_at
     FROM ${ALL_FACTS.incidents}`,
  );
  compare(
    'incident_facts',
    expected.incidents,
    new Map(incidentRows.map((row) => [row.incident_id as string, row])),
    [
      'service',
      'category',
      'call_received_at',
      'created_at',
      'first_arrival_at',
      'first_arrival_resource_id',
      'second_arrival_at',
      'closed_at',
      'cancelled',
    ],
    new Set([
      'call_received_at',
      'created_at',
      'first_arrival_at',
      'second_arrival_at',
      'closed_at',
    ]),
  );

  const callRows = await rows<Record<string, unknown>>(
    client,
    `SELECT call_id, line, outcome,
            toUnixTimestamp64Milli(presented_at) AS presented_at,
            toUnixTimestamp64Milli(answered_at) AS answered_at,
            toUnixTimestamp64Milli(abandoned_at) AS abandoned_at,
            toUnixTimestamp64Milli(closed_at) AS closed_at
     FROM ${ALL_FACTS.calls}`,
  );
  compare(
    'call_facts',
    expected.calls,
    new Map(callRows.map((row) => [row.call_id as string, row])),
    ['line', 'presented_at', 'answered_at', 'abandoned_at', 'closed_at', 'outcome'],
    new Set(['presented_at', 'answered_at', 'abandoned_at', 'closed_at']),
  );

  const intervalRows = await rows<Record<string, unknown>>(
    client,
    `SELECT resource_id, available,
            toUnixTimestamp64Milli(start_at) AS start_at,
            toUnixTimestamp64Milli(end_at) AS end_at
     FROM ${ALL_FACTS.intervals}`,
  );
  const intervals = new Map<string, Record<string, unknown>>();
  const doubledIntervals: string[] = [];
  for (const row of intervalRows) {
    const key = intervalKey(row.resource_id as string, Number(row.start_at));
    if (intervals.has(key)) doubledIntervals.push(key);
    intervals.set(key, row);
  }
  if (doubledIntervals.length > 0)
    problems.push(`resource_intervals: twice ${list(doubledIntervals)}`);
  compare(
    'resource_intervals',
    expected.intervals,
    intervals,
    ['end_at', 'available'],
    new Set(['end_at']),
  );

  return { name: 'derived-facts', passed: problems.length === 0, problems };
}

/** The published figures from the facts equal FigureCounter's, from the same events. */
async function checkFigures(
  client: ClickHouseClient,
  produced: BluelightEvent[],
  toMs: number,
): Promise<CheckResult> {
  const counter = new FigureCounter();
  for (const event of produced) counter.add(event as never);
  const want = counter.figures(toMs);
  const stored = await storedFigures(client, toMs);
  const pairs: [string, number, unknown, number][] = [
    ['fire incidents', want.fireIncidents, stored.fireIncidents, 0],
    ['primary fires', want.primaryFires, stored.primaryFires, 0],
    ['secondary fires', want.secondaryFires, stored.secondaryFires, 0],
    ['falls responses', want.fallsResponses, stored.fallsResponses, 0],
    ['attendance standard met', want.attendanceStandardMet, stored.attendanceStandardMet, 1e-9],
    [
      'mean primary-fire attendance (min)',
      want.meanPrimaryFireAttendance,
      stored.meanPrimaryFireAttendance,
      1e-6,
    ],
    ['999 answered within 10 s', want.answered999Within10s, stored.answered999Within10s, 1e-9],
    ['mean 999 wait (s)', want.mean999Wait, stored.mean999Wait, 1e-6],
    ['101 resolved at triage', want.resolvedAtTriage101, stored.resolvedAtTriage101, 1e-9],
    ['mean 101 triage (min)', want.mean101Triage, stored.mean101Triage, 1e-6],
    ['whole-time availability', want.wholetimeAvailability, stored.wholetimeAvailability, 1e-9],
    ['on-call availability', want.onCallAvailability, stored.onCallAvailability, 1e-9],
  ];
  const problems: string[] = [];
  for (const [name, expectedValue, stored, tolerance] of pairs) {
    const actual = num(stored);
    const bothUndefined =
      !Number.isFinite(expectedValue) && (actual === null || !Number.isFinite(actual));
    if (bothUndefined) continue; // nothing to measure in this window (e.g. no falls)
    if (actual === null || Math.abs(actual - expectedValue) > tolerance) {
      problems.push(`${name}: the events give ${expectedValue}, ClickHouse ${actual}`);
    }
  }
  return { name: 'figures', passed: problems.length === 0, problems };
}

export async function verify(options: {
  client: ClickHouseClient;
  produced: BluelightEvent[];
  toMs: number;
  dlqMessages: number;
}): Promise<Verification> {
  const expected = recompute(options.produced);
  const raw = await checkRaw(options.client, expected);
  return {
    checks: [
      raw.check,
      await checkDeadLetters(options.client, options.dlqMessages),
      await checkFacts(options.client, expected),
      await checkFigures(options.client, options.produced, options.toMs),
    ],
    stored: raw.stored,
    ids: raw.ids,
  };
}
