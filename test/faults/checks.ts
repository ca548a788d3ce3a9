import type { BluelightEvent } from '@bluelight/schemas';
import type { ClickHouseClient } from '@bluelight/service-kit';
import { FigureCounter } from '@bluelight/simulator/testing';
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
    `SELECT incident_id, service, category, cancelled, event_count, first_arrival_resource_id,
            toUnixTimestamp64Milli(call_received_at) AS call_received_at,
            toUnixTimestamp64Milli(created_at) AS created_at,
            toUnixTimestamp64Milli(first_arrival_at) AS first_arrival_at,
            toUnixTimestamp64Milli(second_arrival_at) AS second_arrival_at,
            toUnixTimestamp64Milli(closed_at) AS closed_at
     FROM incident_facts FINAL WHERE is_deleted = 0 AND event_count > 0`,
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
      'event_count',
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
    `SELECT call_id, line, outcome, event_count,
            toUnixTimestamp64Milli(presented_at) AS presented_at,
            toUnixTimestamp64Milli(answered_at) AS answered_at,
            toUnixTimestamp64Milli(abandoned_at) AS abandoned_at,
            toUnixTimestamp64Milli(closed_at) AS closed_at
     FROM call_facts FINAL WHERE is_deleted = 0 AND event_count > 0`,
  );
  compare(
    'call_facts',
    expected.calls,
    new Map(callRows.map((row) => [row.call_id as string, row])),
    ['line', 'presented_at', 'answered_at', 'abandoned_at', 'closed_at', 'outcome', 'event_count'],
    new Set(['presented_at', 'answered_at', 'abandoned_at', 'closed_at']),
  );

  const intervalRows = await rows<Record<string, unknown>>(
    client,
    `SELECT resource_id, available,
            toUnixTimestamp64Milli(start_at) AS start_at,
            toUnixTimestamp64Milli(end_at) AS end_at
     FROM resource_intervals FINAL WHERE is_deleted = 0`,
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

  // The rollups are the sum of the facts: their totals equal the entity counts recomputed here.
  const [daily] = await rows<{ n: string }>(
    client,
    'SELECT sum(incidents) AS n FROM incidents_daily FINAL',
  );
  const dated = [...expected.incidents.values()].filter(
    (incident) => incident.call_received_at !== null || incident.created_at !== null,
  ).length;
  if (Number(daily?.n ?? 0) !== dated) {
    problems.push(`incidents_daily counts ${daily?.n} incidents, the events give ${dated}`);
  }
  const [fiveMin] = await rows<{ n: string; answered: string }>(
    client,
    'SELECT sum(presented) AS n, sum(answered) AS answered FROM calls_5min FINAL',
  );
  const presented = [...expected.calls.values()].filter((call) => call.presented_at !== null);
  const answered = presented.filter(
    (call) => call.answered_at !== null && call.answered_at >= (call.presented_at as number),
  ).length;
  if (Number(fiveMin?.n ?? 0) !== presented.length || Number(fiveMin?.answered ?? 0) !== answered) {
    problems.push(
      `calls_5min counts ${fiveMin?.n} presented / ${fiveMin?.answered} answered, the events give ${presented.length} / ${answered}`,
    );
  }
  return { name: 'derived-facts', passed: problems.length === 0, problems };
}

/** The published figures from facts and rollups equal FigureCounter's, from the same events. */
async function checkFigures(
  client: ClickHouseClient,
  produced: BluelightEvent[],
  toMs: number,
): Promise<CheckResult> {
  const counter = new FigureCounter();
  for (const event of produced) counter.add(event as never);
  const want = counter.figures(toMs);
  const one = async (sql: string) =>
    (await rows<Record<string, number | string | null>>(client, sql, { to: toMs / 1000 }))[0] ?? {};
  const incidents = await one(`
    SELECT countIf(service = 'fire') AS fire, countIf(category = 'primary_fire') AS primary,
           countIf(category = 'secondary_fire') AS secondary,
           countIf(category_subtype = 'falls_assisting_other_agencies') AS falls
    FROM incident_facts FINAL WHERE created_at IS NOT NULL AND is_deleted = 0`);
  const standard = await one(`
    SELECT sum(arraySum(mapValues(mapFilter((seconds, n) -> seconds <= multiIf(risk_band = 'high', 480, risk_band = 'medium', 600, 1080), first_attendance_histogram)))) / sum(attended) AS met
    FROM incidents_daily FINAL
    WHERE service = 'fire' AND life_risk = 1 AND category_subtype != 'falls_assisting_other_agencies'`);
  const primary = await one(`
    SELECT sum(first_attendance_seconds_sum) / sum(attended) / 60 AS mean
    FROM incidents_daily FINAL WHERE category = 'primary_fire'`);
  const calls = await one(`
    SELECT sumIf(answered_within_10s, line = '999') / sumIf(answered, line = '999') AS within,
           sumIf(answer_seconds_sum, line = '999') / sumIf(answered, line = '999') AS wait
    FROM calls_5min FINAL`);
  const triage = await one(`
    SELECT countIf(outcome = 'resolved_at_triage') / count() AS resolved,
           avg(dateDiff('millisecond', answered_at, closed_at)) / 60000 AS minutes
    FROM call_facts FINAL
    WHERE line = '101' AND answered_at IS NOT NULL AND closed_at IS NOT NULL AND is_deleted = 0`);
  const availability = await one(`
    SELECT 1 - sumIf(span, crewing_model = 'wholetime' AND available = 0) / sumIf(span, crewing_model = 'wholetime') AS wholetime,
           1 - sumIf(span, crewing_model = 'on_call' AND available = 0) / sumIf(span, crewing_model = 'on_call') AS on_call
    FROM (
      SELECT crewing_model, available,
             dateDiff('millisecond', start_at, ifNull(end_at, toDateTime64({to:Float64}, 3, 'UTC'))) AS span
      FROM resource_intervals FINAL WHERE is_deleted = 0)`);
  const pairs: [string, number, unknown, number][] = [
    ['fire incidents', want.fireIncidents, incidents.fire, 0],
    ['primary fires', want.primaryFires, incidents.primary, 0],
    ['secondary fires', want.secondaryFires, incidents.secondary, 0],
    ['falls responses', want.fallsResponses, incidents.falls, 0],
    ['attendance standard met', want.attendanceStandardMet, standard.met, 1e-9],
    ['mean primary-fire attendance (min)', want.meanPrimaryFireAttendance, primary.mean, 1e-6],
    ['999 answered within 10 s', want.answered999Within10s, calls.within, 1e-9],
    ['mean 999 wait (s)', want.mean999Wait, calls.wait, 1e-6],
    ['101 resolved at triage', want.resolvedAtTriage101, triage.resolved, 1e-9],
    ['mean 101 triage (min)', want.mean101Triage, triage.minutes, 1e-6],
    ['whole-time availability', want.wholetimeAvailability, availability.wholetime, 1e-9],
    ['on-call availability', want.onCallAvailability, availability.on_call, 1e-9],
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
