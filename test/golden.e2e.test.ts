import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startTestSink } from '@bluelight/clickhouse-sink/testing';
import {
  allValues,
  type Dashboard,
  type Evaluation,
  evaluateRule,
  provisionedDashboards,
  provisionedRules,
  runPanel,
} from '@bluelight/dashboards/testing';
import { queryApiConfigSchema, startQueryApiService } from '@bluelight/query-api';
import { type ClickHouseClient, loadConfig, sha256Hex } from '@bluelight/service-kit';
import { loadStandards } from '@bluelight/standards';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBluelight } from '../services/cli/src/testing/run-cli.js';
import { testEndpoints, testLogger } from './harness/index.js';

/**
 * The golden test: the redesigned read side (raw events, materialized views into aggregates by
 * anchor month, revised entities recomputed, every read narrowed by agencies) gives the same
 * answers as round 1 (commit 055cd4f, whose figures outsiders checked against their own
 * recomputations) on the same data.
 *
 * test/golden/ holds the messages round 1's pipeline was fed — its simulator with a fixed seed
 * over both 2024 clocks changes and the March/April boundary, and hand-made late, out-of-order,
 * corrected, retracted, reclassified, cancelled, duplicated and undeliverable ones — and every
 * answer round 1 gave: each query-API request, the CLI report, each dashboard variable and panel,
 * each alert rule at fixed instants (test/golden/generator/generate.ts, run in a checkout of
 * 055cd4f, made them; docs/testing.md says how to regenerate). Here the same messages go through
 * today's Kafka and sink, today's reads are asked the same questions, and every answer must be
 * the same. The test knows nothing of how today's reads are computed: only requests, processes,
 * and the provisioned dashboards and rules.
 *
 * Where today's request differs in form, the request is mapped, not the answer: each data read
 * names the dataset's agencies (round 1 read every agency; `agency=` and `--agency` now say
 * which), the Kafka key carries the agency (`agency/id`), an incident page's cursor is the one
 * today's previous page gave. Where an answer differs for a reason, the part that differs is
 * named in SHAPE_CHANGES or WALL_CLOCK below with that reason and left out of the comparison;
 * nothing else is. Integers compare exactly; other numbers to 1 part in 10¹² (FLOAT_TOLERANCE).
 */

const FIXTURES = path.join(import.meta.dirname, 'golden');

interface Message {
  batch: 'A' | 'B' | 'C' | 'D';
  family: 'calls' | 'incidents' | 'resources';
  key: string;
  value: string;
  note?: string;
}
interface ApiQuestion {
  name: string;
  path: string;
  query: Record<string, string>;
  csv?: boolean;
  /** A page after the first: the cursor comes from the page of this name. */
  after?: string;
}
interface ApiAnswer {
  status: number;
  contentType: string;
  nextCursor: string | null;
  body: unknown;
}
interface PanelContext {
  name: string;
  from: string;
  to: string;
  intervalSeconds: number;
  selected: Record<string, string[]>;
}
type PanelAnswer =
  | { meta: { name: string; type: string }[]; rows: Record<string, unknown>[] }[]
  | { error: string };
interface Golden {
  generatedBy: { commit: string; agencies: string[]; messages: number };
  api: { question: ApiQuestion; answer: ApiAnswer }[];
  cli: { question: { args: string[] }; answer: { code: number; stdout: string; stderr: string } }[];
  variables: {
    question: { dashboard: string; context: string };
    answer: Record<string, string[]>;
  }[];
  panels: {
    question: { dashboard: string; panel: string; context: PanelContext };
    answer: PanelAnswer;
  }[];
  alerts: {
    question: { rule: string; instant: { name: string; now: string } };
    answer: Evaluation | { error: string };
  }[];
}

const readGzip = (name: string) => gunzipSync(readFileSync(path.join(FIXTURES, name))).toString();
const MESSAGES = readGzip('messages.jsonl.gz')
  .split('\n')
  .filter((line) => line !== '')
  .map((line) => JSON.parse(line) as Message);
const GOLDEN = JSON.parse(readGzip('answers.json.gz')) as Golden;
const AGENCIES = GOLDEN.generatedBy.agencies;

// ---------------------------------------------------------------------------------------------
// What may differ, and why

/**
 * Answers whose shape changed for a reason: what today's answer has that round 1's had not. It
 * is removed from today's answer before the comparison; every other part must be equal.
 */
const SHAPE_CHANGES = {
  agencies:
    'every answer names the agencies it read (`agencies`, and a CSV column of KPIs): identity is (agency, id); round 1 read every agency, and each request here names them all',
  coverage:
    'report figures say which days their standard covers (`covers`, `uncovered`, `outcomeCovers`, `outcomeUncovered`): added when figures began to cover only the days a standard was in force',
  agencyVariable:
    'dashboards have an `agency` variable (every fact-table read is narrowed by it); it stands at All here',
  agencyLabel:
    'alert rules give one instance per agency (labelled `agency`); each rule reads one agency of this dataset, so its instances are otherwise the same',
  cliAgencies:
    'the CLI report table starts with the agencies it covers ("agencies: …" and a blank line)',
  standardsGroupings:
    '/v1/standards lists the groupBy `agency` among each standard’s groupings (KPIs can be split by agency), and incident standards `area`, `service`, `subtype`, `police_grading`, `area_type` and `stop_code` (issue 16: every categorical attribute the contract carries)',
  noneOption:
    'dashboard variables no longer offer "(none)" (the empty value): an incident or call whose creation or presentation never arrived has no service, station, category, risk band or queue, and no standard’s scope takes it',
  nullableTime:
    'the time column of "Calls presented, 999 and 101" and "Abandoned calls" is Nullable(DateTime) today (the call facts’ presentation time is nullable), DateTime in round 1; the values are the same',
  percentileMethod:
    'percentiles follow each standard’s `percentile_method`, by default Excel’s PERCENTILE.INC (issue 16); round 1 took quantileExact’s value at index ⌊p·n⌋, so every percentile (`percentileSeconds`, `p90Seconds`, the "90th percentile" panel column) differs by design and is left out, as is the new `percentile_method` of /v1/standards; services/query-api/src/percentiles.int.test.ts checks each method against its definition',
  exclusionTable:
    'incident figures also give each exclusion’s primary-reason count, the "also matched" counts and the cancelled incidents in scope (`excludedByPrimaryReason`, `excludedAlsoMatched`, `cancelled`, and the no-exclusions companion `withoutExclusions`; report figures their `notMeasured` too, and the fire incidents their `cancelled`): fields added in issue 16, absent in round 1',
  policeShareLine:
    'the report has a line for the police emergency share within 15 / 20 min (`police_emergency_within_standard`, issue 16) after the mean: left out of today’s lines, table and CSV',
  bandEdges:
    'call answer bands end at their bound inclusive, as the standard’s “within” (≤) does (issue 16): a call answered at exactly 10.000 s is in the first band, not also in 10–60 s, so band counts (`bands`, CSV `bands.*`, renamed `up_to_10s`, `over_10s_to_60s`, `over_60s`) and the band panels (labels ≤ 10 s, 10–60 s, > 60 s) differ by the calls at a bound and are left out; call-kpi.int.test.ts and the dashboards test check the edges',
  operationsSection:
    'the annual report has an "Appliances and cover" section (issue 18: first-arriving crewing model, utilisation by station, on-call cover and attendance): the JSON report’s `operations` and the table’s lines after the annual table, absent in round 1, are left out',
  callsWaitingPerAgency:
    'Calls waiting counts per agency: an agency with no call in the last hour has no instance (round 1: one instance of 0); with the rule’s no-data state OK Grafana shows Normal, as round 1 did',
} as const;

/** Panels whose query has no ORDER BY over its UNION ALL: ClickHouse returns the parts in either order, in round 1 too. */
const UNORDERED_PANELS: Record<string, string> = {
  'Off-run hours by reason':
    'a UNION ALL of whole-time and on-call rows without an ORDER BY: compared as a set of rows',
};
const NULLABLE_TIME_PANELS = ['Calls presented, 999 and 101', 'Abandoned calls'];

/** Answers that depend on when the events were ingested, not on the events: compared otherwise. */
const WALL_CLOCK = {
  totals:
    'per-second (per-minute) ingestion buckets differ from run to run: compared as totals over the run, per family (per error class)',
  rowsOnly:
    'seconds from the last ingestion to now, and from event time to ingestion: compared as which rows exist',
  stateOnly:
    'the ingestion-delay rule two hours after the last ingestion: compared by state and labels, not by the milliseconds',
  topicPrefix: 'dead-letter topics carry the test run’s own prefix: compared without it',
} as const;

/**
 * Non-integers compare to this relative difference. ClickHouse adds Float64 values (avg, sum) in
 * the order its parts and threads deliver rows, which differs between storage layouts and even
 * between runs: means differ in the 16th significant digit (e.g. 36.59411805555556 and
 * 36.594118055555555). Counts and shares of counts still compare exactly enough to catch one
 * incident more or less (a difference of 1/n).
 */
const FLOAT_TOLERANCE = 1e-12;

/** The reasons above that some comparison applied: each must be (else it is no longer true). */
const applied = new Set<string>();
const apply = (reason: string) => applied.add(reason);

const DEAD_LETTER_TOPIC_PREFIX = /^t_[a-z0-9]+_[0-9a-f]{6}\./;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const NUMBER_TEXT = /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i;

/** Equal, or two non-integer numbers (or numbers as CSV text) within FLOAT_TOLERANCE. */
function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  const numeric = (value: unknown) =>
    typeof value === 'number'
      ? value
      : typeof value === 'string' && NUMBER_TEXT.test(value)
        ? Number(value)
        : undefined;
  const x = numeric(a);
  const y = numeric(b);
  if (x === undefined || y === undefined || typeof a !== typeof b) return false;
  if (Number.isInteger(x) && Number.isInteger(y)) return x === y;
  return Math.abs(x - y) <= FLOAT_TOLERANCE * Math.max(Math.abs(x), Math.abs(y));
}

const show = (value: unknown) => {
  const text = JSON.stringify(value);
  return text === undefined ? 'undefined' : text.length > 140 ? `${text.slice(0, 137)}…` : text;
};

const POLICE_SHARE_KEY = 'police_emergency_within_standard';
const POLICE_SHARE_LABEL = '  within 15 / 20 min (urban/rural)';

/**
 * SHAPE_CHANGES.operationsSection: today's table lines without the section after the annual
 * table (a blank line, its title, … up to the blank line before the notes, or the end).
 */
function withoutOperationsSection(lines: string[]): void {
  const start = lines.indexOf('Appliances and cover');
  if (start < 1) return;
  let end = start + 1;
  while (end < lines.length - 1 && !(lines[end] === '' && lines[end + 1]?.startsWith('* '))) end++;
  apply(SHAPE_CHANGES.operationsSection);
  lines.splice(start - 1, end - (start - 1));
}
/** Today's report lines (JSON or CSV records) without the line added in issue 16. */
function withoutPoliceShareLine<T>(lines: T[]): T[] {
  return lines.filter((line) => {
    const added = isRecord(line) && line.key === POLICE_SHARE_KEY;
    if (added) apply(SHAPE_CHANGES.policeShareLine);
    return !added;
  });
}

/** Fields left out of every comparison (both sides), by name or a CSV column's first or last part. */
const CHANGED_FIELDS: Record<string, string> = {
  percentileSeconds: SHAPE_CHANGES.percentileMethod,
  p90Seconds: SHAPE_CHANGES.percentileMethod,
  '90th percentile': SHAPE_CHANGES.percentileMethod,
  percentile_method: SHAPE_CHANGES.percentileMethod,
  bands: SHAPE_CHANGES.bandEdges,
};
/** Panels left out of the comparison, for a reason. */
const CHANGED_PANELS: Record<string, string> = {
  '999 answer times — last hour': SHAPE_CHANGES.bandEdges,
  '999 answer-time bands': SHAPE_CHANGES.bandEdges,
};
/** Fields today adds: left out where round 1's answer has no such field. */
const ADDED_FIELDS: Record<string, string> = {
  excludedByPrimaryReason: SHAPE_CHANGES.exclusionTable,
  excludedAlsoMatched: SHAPE_CHANGES.exclusionTable,
  cancelled: SHAPE_CHANGES.exclusionTable,
  notMeasured: SHAPE_CHANGES.exclusionTable,
  withoutExclusions: SHAPE_CHANGES.exclusionTable,
};
const fieldReason = (fields: Record<string, string>, key: string) => {
  const parts = key.split('.');
  return fields[key] ?? fields[parts[0] as string] ?? fields[parts.at(-1) as string];
};

/** Every place `now` differs from `old`, as `path: old → now` (the first `limit`). */
function differences(old: unknown, now: unknown, limit = 12): string[] {
  const found: string[] = [];
  const walk = (a: unknown, b: unknown, where: string) => {
    if (found.length >= limit || sameValue(a, b)) return;
    if (Array.isArray(a) && Array.isArray(b)) {
      if (a.length !== b.length) found.push(`${where || '.'}: ${a.length} items → ${b.length}`);
      for (let index = 0; index < Math.min(a.length, b.length); index += 1) {
        walk(a[index], b[index], `${where}[${index}]`);
      }
      return;
    }
    if (isRecord(a) && isRecord(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
        const changed = fieldReason(CHANGED_FIELDS, key);
        const added = key in a ? undefined : fieldReason(ADDED_FIELDS, key);
        if (changed ?? added) {
          apply((changed ?? added) as string);
          continue;
        }
        if (!(key in b)) found.push(`${where}.${key}: ${show(a[key])} → (absent)`);
        else if (!(key in a)) found.push(`${where}.${key}: (absent) → ${show(b[key])}`);
        else walk(a[key], b[key], `${where}.${key}`);
      }
      return;
    }
    found.push(`${where || '.'}: ${show(a)} → ${show(b)}`);
  };
  walk(old, now, '');
  return found;
}

const without = (record: Record<string, unknown>, keys: string[]) =>
  Object.fromEntries(Object.entries(record).filter(([key]) => !keys.includes(key)));

/** `record` without `keys`, noting `reason` as applied when it had one of them. */
function dropped(record: Record<string, unknown>, keys: string[], reason: string) {
  if (keys.some((key) => key in record)) apply(reason);
  return without(record, keys);
}

/** A report's figures without today's SHAPE_CHANGES.agencies and .coverage fields. */
function reportFigures(figures: unknown): unknown {
  if (!isRecord(figures)) return figures;
  return Object.fromEntries(
    Object.entries(dropped(figures, ['agencies'], SHAPE_CHANGES.agencies)).map(([key, value]) => [
      key,
      isRecord(value)
        ? dropped(
            value,
            ['covers', 'uncovered', 'outcomeCovers', 'outcomeUncovered'],
            SHAPE_CHANGES.coverage,
          )
        : value,
    ]),
  );
}

function todaysReport(body: unknown): unknown {
  if (!isRecord(body)) return body;
  return {
    ...dropped(
      dropped(body, ['agencies'], SHAPE_CHANGES.agencies),
      ['operations'],
      SHAPE_CHANGES.operationsSection,
    ),
    ...(Array.isArray(body.lines) ? { lines: withoutPoliceShareLine(body.lines) } : {}),
    current: reportFigures(body.current),
    previous: reportFigures(body.previous),
  };
}

const csvRecords = (text: string) =>
  parseCsv(text, { columns: true, relax_column_count: false }) as Record<string, string>[];

function todaysCsvRecord(question: ApiQuestion, record: Record<string, string>) {
  const shared = dropped(record, ['agencies'], SHAPE_CHANGES.agencies);
  if (question.path !== '/v1/standards' || typeof shared.groupings !== 'string') return shared;
  apply(SHAPE_CHANGES.standardsGroupings);
  const groupings = shared.groupings
    .split(';')
    .filter((grouping) => !addedGrouping(String(shared.subject), grouping));
  return { ...shared, groupings: groupings.join(';') };
}

/** SHAPE_CHANGES.standardsGroupings: a grouping a standard of `subject` has that round 1's had not. */
function addedGrouping(subject: string, grouping: string): boolean {
  const added =
    subject === 'incidents'
      ? ['agency', 'area', 'service', 'subtype', 'police_grading', 'area_type', 'stop_code']
      : ['agency'];
  return added.includes(grouping);
}

/** An API answer in the form both rounds share (`today`: with today's shape changes undone). */
function comparable(question: ApiQuestion, answer: ApiAnswer, today: boolean): unknown {
  const { status } = answer;
  if (status !== 200) return { status, body: answer.body };
  if (question.csv) {
    const all = csvRecords(String(answer.body));
    const records =
      today && question.path === '/v1/reports/annual' ? withoutPoliceShareLine(all) : all;
    return {
      status,
      // The cursor's form changed (it carries the agency): whether there is one is the answer.
      nextPage: answer.nextCursor !== null,
      records: today ? records.map((record) => todaysCsvRecord(question, record)) : records,
    };
  }
  let body = answer.body;
  if (today && question.path === '/v1/reports/annual') body = todaysReport(body);
  else if (today && isRecord(body)) body = dropped(body, ['agencies'], SHAPE_CHANGES.agencies);
  if (today && question.path === '/v1/standards' && isRecord(body)) {
    apply(SHAPE_CHANGES.standardsGroupings);
    body = {
      standards: (body.standards as Record<string, unknown>[]).map((standard) => ({
        ...standard,
        groupings: (standard.groupings as string[]).filter(
          (grouping) => !addedGrouping(String(standard.subject), grouping),
        ),
      })),
    };
  }
  if (question.path === '/v1/incidents' && isRecord(body)) {
    body = { ...body, next_cursor: body.next_cursor !== null };
  }
  return { status, body };
}

/** `run` over `items`, `width` at a time, answers in the order of `items`. */
async function inParallel<T, R>(items: T[], width: number, run: (item: T) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await run(items[index] as T);
      }
    }),
  );
  return results;
}

// ---------------------------------------------------------------------------------------------

let sink: Awaited<ReturnType<typeof startTestSink>>;
let api: Awaited<ReturnType<typeof startQueryApiService>>;
let home: string;
const READ_KEY = 'qk_golden_reader_0123456789abcdef';

beforeAll(async () => {
  sink = await startTestSink();
  // The pipeline dashboard counts raw rows as they arrived, a message sent twice twice (round 1
  // read them right after ingestion). A background merge of the ReplacingMergeTree raw tables
  // would fold such a pair at a moment of its choosing: no merges, so every run reads the rows
  // as they arrived.
  for (const table of ['calls_raw', 'incidents_raw', 'resources_raw']) {
    await sink.db.client.command({ query: `SYSTEM STOP MERGES ${table}` });
  }
  home = await mkdtemp(path.join(os.tmpdir(), 'golden-'));
  // The messages round 1 was fed, batch by batch, each committed before the next is sent; the
  // key now names the agency too (`agency/id`), as today's producers send it.
  const sent = { calls: 0, incidents: 0, resources: 0 };
  for (const batch of ['A', 'B', 'C', 'D'] as const) {
    const ofBatch = MESSAGES.filter((message) => message.batch === batch);
    for (let index = 0; index < ofBatch.length; index += 2_000) {
      const byTopic = new Map<string, { key: string; value: string }[]>();
      for (const { family, key, value } of ofBatch.slice(index, index + 2_000)) {
        const topic = sink.families[family].topic.name;
        let agency: unknown;
        try {
          agency = (JSON.parse(value) as { agency?: unknown }).agency;
        } catch {
          agency = undefined; // not JSON: sent as round 1 sent it
        }
        const list = byTopic.get(topic) ?? [];
        list.push({ key: typeof agency === 'string' ? `${agency}/${key}` : key, value });
        byTopic.set(topic, list);
        sent[family] += 1;
      }
      await sink.producer.send([...byTopic].map(([topic, messages]) => ({ topic, messages })));
    }
    for (const family of ['calls', 'incidents', 'resources'] as const) {
      await sink.waitUntilCommitted(family, sent[family], 120_000);
    }
  }
  const endpoints = testEndpoints();
  api = await startQueryApiService(
    loadConfig(queryApiConfigSchema, {
      CLICKHOUSE_URL: endpoints.clickhouseUrl,
      CLICKHOUSE_USER: endpoints.clickhouseUser,
      CLICKHOUSE_PASSWORD: endpoints.clickhousePassword,
      CLICKHOUSE_DATABASE: sink.db.database,
      QUERY_API_KEYS: JSON.stringify([
        { id: 'golden', key_sha256: sha256Hex(READ_KEY), agencies: AGENCIES },
      ]),
      // Hundreds of requests with one key; the limit has tests of its own.
      QUERY_API_RATE_LIMIT_PER_SECOND: '100000',
      QUERY_API_RATE_LIMIT_BURST: '100000',
    }),
    loadStandards(),
    testLogger('query-api'),
    { listen: false },
  );
}, 180_000);

afterAll(async () => {
  await api?.stop();
  await sink?.cleanup();
  if (home) await rm(home, { recursive: true, force: true });
});

/** The span of ingestion (first row to last row or dead letter), as the generator took it. */
async function ingestionWindow(client: ClickHouseClient) {
  const result = await client.query({
    query: `SELECT
      (SELECT toUnixTimestamp64Milli(min(_ingested_at)) FROM (
        SELECT _ingested_at FROM calls_raw UNION ALL SELECT _ingested_at FROM incidents_raw
        UNION ALL SELECT _ingested_at FROM resources_raw)) AS first,
      (SELECT toUnixTimestamp64Milli(max(_ingested_at)) FROM (
        SELECT _ingested_at FROM calls_raw UNION ALL SELECT _ingested_at FROM incidents_raw
        UNION ALL SELECT _ingested_at FROM resources_raw)) AS last,
      (SELECT toUnixTimestamp64Milli(max(failed_at)) FROM dead_letters) AS dead_letter`,
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ first: string; last: string; dead_letter: string }>();
  return {
    first: Number(row?.first),
    last: Number(row?.last),
    deadLetter: Number(row?.dead_letter),
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

describe(`the read side gives round 1's answers (${GOLDEN.generatedBy.commit.slice(0, 7)}) on the same data`, () => {
  it('stores every distinct event round 1 was fed, and dead-letters the three it refused', async () => {
    const distinct = {
      calls: new Set<string>(),
      incidents: new Set<string>(),
      resources: new Set<string>(),
    };
    let refused = 0;
    for (const message of MESSAGES) {
      if (message.note?.startsWith('dead letter')) refused += 1;
      else
        distinct[message.family].add((JSON.parse(message.value) as { event_id: string }).event_id);
    }
    expect(MESSAGES.length).toBe(GOLDEN.generatedBy.messages);
    for (const family of ['calls', 'incidents', 'resources'] as const) {
      expect(
        await sink.count(`SELECT count(DISTINCT event_id) AS n FROM ${family}_raw`),
        family,
      ).toBe(distinct[family].size);
    }
    expect(await sink.count('SELECT count() AS n FROM dead_letters FINAL')).toBe(refused);
  });

  it('the query API: every request, JSON and CSV, gives the same answer', async () => {
    const get = (question: ApiQuestion, cursor?: string) => {
      const query = new URLSearchParams({
        ...question.query,
        // Every data read names the agencies it reads; the standards are nobody's data.
        ...(question.path === '/v1/standards' ? {} : { agency: AGENCIES.join(',') }),
        ...(cursor ? { cursor } : {}),
      });
      return api.app.inject({
        method: 'GET',
        url: `${question.path}?${query}`,
        headers: {
          authorization: `Bearer ${READ_KEY}`,
          ...(question.csv ? { accept: 'text/csv' } : {}),
        },
      });
    };
    // Pages follow the page before: each chain of pages is asked in order, chains side by side.
    const chains: { question: ApiQuestion; answer: ApiAnswer }[][] = [];
    for (const entry of GOLDEN.api) {
      if (entry.question.after) chains.at(-1)?.push(entry);
      else chains.push([entry]);
    }
    const found = (
      await inParallel(chains, 4, async (chain) => {
        const lines: string[] = [];
        let previous: ApiAnswer | undefined;
        for (const { question, answer } of chain) {
          const cursor = question.after
            ? ((question.csv
                ? previous?.nextCursor
                : (previous?.body as { next_cursor?: string | null } | undefined)?.next_cursor) ??
              undefined)
            : undefined;
          if (question.after && !cursor) {
            lines.push(
              `${question.name}: round 1 had this page; today's page before has no cursor`,
            );
            break;
          }
          const response = await get(question, cursor);
          const json = String(response.headers['content-type']).startsWith('application/json');
          previous = {
            status: response.statusCode,
            contentType: String(response.headers['content-type']),
            nextCursor: (response.headers['x-next-cursor'] as string | undefined) ?? null,
            body: json ? response.json() : response.body,
          };
          for (const line of differences(
            comparable(question, answer, false),
            comparable(question, previous, true),
          )) {
            lines.push(`${question.name}: ${line}`);
          }
        }
        return lines;
      })
    ).flat();
    expect(found).toEqual([]);
  });

  it('the CLI report (table, JSON, CSV) prints the same report', async () => {
    const endpoints = testEndpoints();
    const env = {
      CLICKHOUSE_URL: endpoints.clickhouseUrl,
      CLICKHOUSE_USER: endpoints.clickhouseUser,
      CLICKHOUSE_PASSWORD: endpoints.clickhousePassword,
      CLICKHOUSE_DATABASE: sink.db.database,
    };
    const runs = await Promise.all(
      GOLDEN.cli.map(({ question }) =>
        runBluelight(home, [...question.args, '--agency', AGENCIES.join(',')], env),
      ),
    );
    const found: string[] = [];
    GOLDEN.cli.forEach(({ question, answer }, index) => {
      const today = runs[index] as { code: number; stdout: string; stderr: string };
      const format = question.args[question.args.indexOf('--format') + 1] ?? 'table';
      const stdout = (text: string, isToday: boolean) => {
        if (format === 'json') return isToday ? todaysReport(JSON.parse(text)) : JSON.parse(text);
        if (format === 'csv')
          return isToday ? withoutPoliceShareLine(csvRecords(text)) : csvRecords(text);
        // SHAPE_CHANGES.cliAgencies: today's table opens with its agencies and a blank line.
        const all = text.split('\n');
        if (!isToday) return all;
        const lines = all.filter((line) => {
          const added = line.startsWith(POLICE_SHARE_LABEL);
          if (added) apply(SHAPE_CHANGES.policeShareLine);
          return !added;
        });
        withoutOperationsSection(lines);
        if (!lines[0]?.startsWith('agencies: ')) return lines;
        apply(SHAPE_CHANGES.cliAgencies);
        return lines.slice(2);
      };
      const old = {
        code: answer.code,
        stderr: answer.stderr,
        stdout: stdout(answer.stdout, false),
      };
      const now = { code: today.code, stderr: today.stderr, stdout: stdout(today.stdout, true) };
      for (const line of differences(old, now)) found.push(`${question.args.join(' ')}: ${line}`);
    });
    expect(found).toEqual([]);
  });

  it('every dashboard variable and panel shows the same, as Grafana would run it', async () => {
    const client = sink.db.client;
    const dashboards = new Map(provisionedDashboards().map((found) => [found.uid, found]));
    const window = await ingestionWindow(client);
    /** The pipeline's context is the ingestion window of each run; the others are as recorded. */
    const todaysContext = (context: PanelContext): PanelContext =>
      context.name === 'ingestion'
        ? {
            ...context,
            from: iso(window.first - 1_000),
            to: iso(Math.max(window.last, window.deadLetter) + 1_000),
          }
        : context;
    const contexts = new Map<string, { dashboard: Dashboard; context: PanelContext }>();
    for (const { question } of GOLDEN.panels) {
      const dashboard = dashboards.get(question.dashboard);
      if (!dashboard) throw new Error(`today has no dashboard ${question.dashboard}`);
      contexts.set(`${question.dashboard} ${question.context.name}`, {
        dashboard,
        context: todaysContext(question.context),
      });
    }
    // Each context's variables (All: every value of its own query), then its panels.
    const todays = new Map<
      string,
      { variables: Record<string, string[]>; panels: Map<string, PanelAnswer> }
    >();
    await inParallel([...contexts], 4, async ([name, { dashboard, context }]) => {
      const range = {
        from: new Date(context.from),
        to: new Date(context.to),
        intervalSeconds: context.intervalSeconds,
      };
      const all = await allValues(client, dashboard, range);
      const panels = new Map<string, PanelAnswer>();
      for (const panel of dashboard.panels) {
        try {
          const results = await runPanel(client, panel, {
            ...range,
            variables: { ...all, ...context.selected },
            all: Object.keys(all).filter((variable) => !(variable in context.selected)),
          });
          panels.set(
            panel.title,
            results.map(({ meta, rows }) => ({ meta, rows })),
          );
        } catch (error) {
          panels.set(panel.title, { error: (error as Error).message });
        }
      }
      todays.set(name, { variables: all, panels });
    });

    const found: string[] = [];
    for (const { question, answer } of GOLDEN.variables) {
      const today = todays.get(`${question.dashboard} ${question.context}`)?.variables ?? {};
      const variables = dropped(today, ['agency'], SHAPE_CHANGES.agencyVariable);
      const old = Object.fromEntries(
        Object.entries(answer).map(([name, values]) => {
          if (!values.includes('')) return [name, values];
          apply(SHAPE_CHANGES.noneOption);
          return [name, values.filter((value) => value !== '')];
        }),
      );
      for (const line of differences(old, variables)) {
        found.push(`${question.dashboard} (${question.context}) variables: ${line}`);
      }
    }
    for (const { question, answer } of GOLDEN.panels) {
      const today = todays
        .get(`${question.dashboard} ${question.context.name}`)
        ?.panels.get(question.panel);
      if (today === undefined) {
        found.push(`${question.dashboard} / ${question.panel}: today has no such panel`);
        continue;
      }
      const changedPanel = CHANGED_PANELS[question.panel];
      if (changedPanel) {
        apply(changedPanel);
        continue;
      }
      const normalize =
        question.dashboard === 'bluelight-pipeline' ? pipelinePanel(question.panel) : undefined;
      const old = normalize
        ? normalize(answer, question.context)
        : unordered(question.panel, answer);
      const now = normalize
        ? normalize(today, todaysContext(question.context))
        : unordered(question.panel, nullableTime(question.panel, today));
      for (const line of differences(old, now)) {
        found.push(`${question.dashboard} / ${question.panel} (${question.context.name}): ${line}`);
      }
    }
    expect(found).toEqual([]);
    expect(todays.size).toBe(contexts.size);
  });

  it('every alert rule evaluates the same at each instant', async () => {
    const client = sink.db.client;
    const rules = new Map(provisionedRules().map((rule) => [rule.uid, rule]));
    const window = await ingestionWindow(client);
    // Instants taken from the ingestion itself are taken from today's.
    const todaysNow = (instant: { name: string; now: string }) =>
      instant.name === 'two hours after the last ingestion'
        ? iso(window.last + 7_200_000)
        : instant.name === 'a minute after the last dead letter'
          ? iso(window.deadLetter + 60_000)
          : instant.now;
    const todays = await inParallel(GOLDEN.alerts, 4, async ({ question }) => {
      const rule = rules.get(question.rule);
      if (!rule) return { error: `today has no rule ${question.rule}` };
      try {
        return await evaluateRule(client, rule, new Date(todaysNow(question.instant)));
      } catch (error) {
        return { error: (error as Error).message };
      }
    });
    const found: string[] = [];
    GOLDEN.alerts.forEach(({ question, answer }, index) => {
      const stateOnly =
        question.rule === 'bluelight-ingestion-delay' &&
        question.instant.now !== todaysNow(question.instant);
      const old = comparableEvaluation(answer, false, stateOnly);
      let now = comparableEvaluation(todays[index] as Evaluation, true, stateOnly);
      if (question.rule === 'bluelight-calls-waiting' && callsWaitingNone(answer, now, rules)) {
        apply(SHAPE_CHANGES.callsWaitingPerAgency);
        now = old;
      }
      for (const line of differences(old, now)) {
        found.push(`${question.rule} at ${question.instant.name}: ${line}`);
      }
    });
    expect(found).toEqual([]);
  });

  it('every difference it allows still applies (else its reason is no longer true)', () => {
    const reasons = [...Object.values(SHAPE_CHANGES), ...Object.values(WALL_CLOCK)];
    expect(reasons.filter((reason) => !applied.has(reason))).toEqual([]);
  });
});

/**
 * Round 1 said "0 waiting" (one instance of 0, Normal) and today has no instance (NoData), with
 * the rule's no-data state OK: both are Normal in Grafana (SHAPE_CHANGES.callsWaitingPerAgency).
 */
function callsWaitingNone(
  old: Evaluation | { error: string },
  today: unknown,
  rules: Map<string, { noDataState: string }>,
): boolean {
  if ('error' in old || old.state !== 'Normal') return false;
  if (!old.instances.every((instance) => instance.value === 0)) return false;
  const now = today as { state?: string; instances?: unknown[] };
  return (
    now.state === 'NoData' &&
    now.instances?.length === 0 &&
    rules.get('bluelight-calls-waiting')?.noDataState === 'OK'
  );
}

/** A panel's rows sorted when its query does not order them (UNORDERED_PANELS). */
function unordered(title: string, answer: PanelAnswer): PanelAnswer {
  if ('error' in answer || !(title in UNORDERED_PANELS)) return answer;
  return answer.map(({ meta, rows }) => ({
    meta,
    rows: [...rows].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)),
  }));
}

/** Today's Nullable(T) time column as round 1's T (SHAPE_CHANGES.nullableTime). */
function nullableTime(title: string, answer: PanelAnswer): PanelAnswer {
  if ('error' in answer || !NULLABLE_TIME_PANELS.includes(title)) return answer;
  return answer.map(({ meta, rows }) => ({
    rows,
    meta: meta.map((column) => {
      const inner = /^Nullable\((.*)\)$/.exec(column.type)?.[1];
      if (column.name !== 'time' || inner === undefined) return column;
      apply(SHAPE_CHANGES.nullableTime);
      return { ...column, type: inner };
    }),
  }));
}

/** An evaluation without today's agency label (SHAPE_CHANGES.agencyLabel) and run prefixes. */
function comparableEvaluation(
  evaluation: Evaluation | { error: string },
  today: boolean,
  stateOnly: boolean,
) {
  if ('error' in evaluation) return evaluation;
  const instances = evaluation.instances.map((instance) => {
    const labels = Object.fromEntries(
      Object.entries(
        today ? dropped(instance.labels, ['agency'], SHAPE_CHANGES.agencyLabel) : instance.labels,
      ).map(([name, value]) => {
        if (name !== 'topic') return [name, value];
        apply(WALL_CLOCK.topicPrefix);
        return [name, String(value).replace(DEAD_LETTER_TOPIC_PREFIX, '')];
      }),
    );
    if (!stateOnly) return { ...instance, labels };
    apply(WALL_CLOCK.stateOnly);
    return { labels, state: instance.state };
  });
  instances.sort((a, b) => (JSON.stringify(a.labels) < JSON.stringify(b.labels) ? -1 : 1));
  return { state: evaluation.state, instances };
}

/**
 * The pipeline dashboard's panels as far as they do not depend on when this run ingested
 * (WALL_CLOCK): totals over the run, or which rows there are.
 */
function pipelinePanel(title: string) {
  const rows = (answer: PanelAnswer) => ('error' in answer ? [] : (answer[0]?.rows ?? []));
  const totals =
    (by: string, value: string, perSecond: number) =>
    (answer: PanelAnswer, context: PanelContext) => {
      if ('error' in answer) return answer;
      apply(WALL_CLOCK.totals);
      const sums: Record<string, number> = {};
      for (const row of rows(answer)) {
        const key = String(row[by]);
        sums[key] = (sums[key] ?? 0) + (Number(row[value]) * context.intervalSeconds) / perSecond;
      }
      return Object.fromEntries(Object.entries(sums).map(([key, sum]) => [key, Math.round(sum)]));
    };
  switch (title) {
    case 'Events ingested per second, by family':
      return totals('family', 'events_per_second', 1);
    case 'Dead letters per minute, by error class':
      return totals('error_class', 'per_minute', 60);
    case 'Late and corrected events':
      return (answer: PanelAnswer) => {
        if ('error' in answer) return answer;
        apply(WALL_CLOCK.totals);
        const sum = (column: string) =>
          rows(answer).reduce((total, row) => total + Number(row[column]), 0);
        return {
          late: sum('late'),
          corrections: sum('corrections'),
          retractions: sum('retractions'),
        };
      };
    case 'Since the last event was ingested':
      return (answer: PanelAnswer) => {
        if ('error' in answer) return answer;
        apply(WALL_CLOCK.rowsOnly);
        return rows(answer).map((row) => ({
          family: row.family,
          delayed: Number(row.delay_seconds) >= 0,
        }));
      };
    case 'Event time → queryable delay':
      return (answer: PanelAnswer) => {
        if ('error' in answer) return answer;
        apply(WALL_CLOCK.rowsOnly);
        return {
          buckets: rows(answer).length > 0,
          columns: answer[0]?.meta.map((column) => column.name),
        };
      };
    default:
      return undefined;
  }
}
