import { recomputeRevised } from '@bluelight/clickhouse-sink';
import type { LocalStack } from '@bluelight/local-stack';
import type { ClickHouseClient } from '@bluelight/service-kit';
import { clickhouse, freshDatabase, say } from '../context.js';
import { round } from '../stats.js';

/**
 * A region-sized history for the query benchmarks, made from one county-year that went through
 * the real pipeline (simulator → Kafka → sink): `counties` × `years` copies of its **raw rows
 * only**, inserted into a freshly migrated database so that the real materialized views derive
 * every fact, as they do when the sink writes; then the revised entities are recomputed by the
 * sink's own code (`recomputeRevised`).
 *
 * Copy (county c, year y), numbered k = y × counties + c:
 * - agencies: county 0 keeps the base names (the suite's requests read them), county c > 0 has
 *   `<agency>-<c>`; stations are `C<c>-<station>` in county c > 0;
 * - times move back y whole years (`occurred_at`, `_anchor`, the payload's `call_received_at`),
 *   which keeps every London month and so every anchor right; the base year's 29 February lands
 *   on the 28th in non-leap years (a day's events of those copies are interleaved: harmless for
 *   timing, and the product and the raw recomputation see the same rows);
 * - ids: event, incident and call ids (in the envelope and the payload) get `~k` in every copy but
 *   the first, so each copy's entities are its own; appliances keep their ids across the years of
 *   a county (`~c<c>` in county c > 0), as a real fleet does, so an appliance's history is ten
 *   years long.
 * Bookkeeping (`_ingested_at`, Kafka lineage, `_revised`) is kept as the sink wrote it.
 */
const RAW_TABLES = [
  { table: 'incidents_raw', idColumn: 'incident_id', fleet: false },
  { table: 'calls_raw', idColumn: 'call_id', fleet: false },
  { table: 'resources_raw', idColumn: 'resource_id', fleet: true },
] as const;

/** Every table a query reads, for the partition and part counts the results report. */
const REPORTED_TABLES = [
  'incidents_raw',
  'calls_raw',
  'resources_raw',
  'incident_facts',
  'incident_fact_revisions',
  'call_facts',
  'call_fact_revisions',
  'resource_changes',
  'resource_registry',
  'fact_entities',
  'fact_anchor_exceptions',
];

/** The SELECT of one year's copies (every county) of a raw table: parameters year, counties. */
function copySql(base: string, spec: (typeof RAW_TABLES)[number]): string {
  const suffix = `if(copy = 0, '', concat('~', toString(copy)))`;
  const fleet = `if(county = 0, '', concat('~c', toString(county)))`;
  const station = `if(county = 0, '', concat('C', toString(county), '-'))`;
  const suffixed = (column: string) => `if(${column} = '', '', concat(${column}, ${suffix}))`;
  // Marks (\x01…) stand where a per-row text goes: replaceRegexpAll takes a constant replacement.
  const ids = `replaceAll(replaceRegexpAll(payload, '"(incident_id|call_id)":"([^"]*)"', '"\\\\1":"\\\\2\\x01"'), '\\x01', ${suffix})`;
  const resources = `replaceAll(replaceRegexpAll(${ids}, '"resource_id":"([^"]*)"', '"resource_id":"\\\\1\\x02"'), '\\x02', ${fleet})`;
  const stations = `replaceAll(replaceRegexpAll(${resources}, '"(station_ground|home_station)":"', '"\\\\1":"\\x03'), '\\x03', ${station})`;
  const received = `parseDateTime64BestEffortOrNull(JSONExtractString(payload, 'call_received_at'), 3, 'UTC')`;
  const shiftedReceived = `concat(replaceOne(toString(subtractYears(assumeNotNull(${received}), {year:UInt32})), ' ', 'T'), 'Z')`;
  const payload = `if({year:UInt32} = 0 OR ${received} IS NULL, ${stations},
      replaceOne(replaceRegexpOne(${stations}, '"call_received_at":"[^"]*"', '"call_received_at":"\\x04"'), '\\x04', ${shiftedReceived}))`;
  return `
    SELECT * EXCEPT (county, copy) REPLACE (
      ${suffixed('event_id')} AS event_id,
      subtractYears(occurred_at, {year:UInt32}) AS occurred_at,
      if(county = 0, toString(agency), concat(toString(agency), '-', toString(county))) AS agency,
      ${suffixed('correlation_call_id')} AS correlation_call_id,
      ${suffixed('correlation_incident_id')} AS correlation_incident_id,
      ${suffixed('corrects_event_id')} AS corrects_event_id,
      concat(${spec.idColumn}, ${spec.fleet ? fleet : suffix}) AS ${spec.idColumn},
      ${payload} AS payload,
      subtractYears(_anchor, {year:UInt32}) AS _anchor
    )
    FROM (
      SELECT *, county, toUInt32({year:UInt32} * {counties:UInt32} + county) AS copy
      FROM ${base}.${spec.table}
      ARRAY JOIN range({counties:UInt32}) AS county
    )`;
}

/** Partitions, active parts and rows of every table the queries read. */
async function partSummary(client: ClickHouseClient, database: string) {
  const result = await client.query({
    query: `SELECT table, uniqExact(partition) AS partitions, count() AS parts, sum(rows) AS rows,
        max(parts_in_partition) AS max_parts_in_a_partition
      FROM (
        SELECT table, partition, rows, count() OVER (PARTITION BY table, partition) AS parts_in_partition
        FROM system.parts WHERE database = {database:String} AND active AND table IN {tables:Array(String)}
      )
      GROUP BY table ORDER BY table`,
    query_params: { database, tables: REPORTED_TABLES },
    format: 'JSONEachRow',
  });
  const rows = await result.json<{
    table: string;
    partitions: number;
    parts: number;
    rows: number;
    max_parts_in_a_partition: number;
  }>();
  return Object.fromEntries(
    rows.map((row) => [
      row.table,
      {
        partitions: Number(row.partitions),
        parts: Number(row.parts),
        rows: Number(row.rows),
        maxPartsInAPartition: Number(row.max_parts_in_a_partition),
      },
    ]),
  );
}

/** Waits until the engine's background merges of the database stop (or `limitMs` passes). */
async function settleMerges(client: ClickHouseClient, database: string, limitMs: number) {
  const started = performance.now();
  let quiet = 0;
  let lastParts = -1;
  while (performance.now() - started < limitMs) {
    const result = await client.query({
      query: `SELECT
          (SELECT count() FROM system.merges WHERE database = {database:String}) AS merging,
          (SELECT count() FROM system.parts WHERE database = {database:String} AND active) AS parts`,
      query_params: { database },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ merging: number; parts: number }>();
    const parts = Number(row?.parts);
    // Quiet: nothing merging and the part count unchanged over three polls 10 s apart.
    quiet = Number(row?.merging) === 0 && parts === lastParts ? quiet + 1 : 0;
    lastParts = parts;
    if (quiet >= 3) break;
    await new Promise((resolve) => setTimeout(resolve, 10_000));
  }
  return round((performance.now() - started) / 1000);
}

/**
 * Merges every partition of the fact tables and raw tables but the newest month: a deployment's
 * history has long been merged by the background merges, while the month being written has not.
 */
async function mergeHistory(client: ClickHouseClient, database: string) {
  const result = await client.query({
    query: `SELECT table, partition, count() AS parts FROM system.parts
      WHERE database = {database:String} AND active AND table IN {tables:Array(String)}
      GROUP BY table, partition HAVING parts > 1 ORDER BY table, partition`,
    query_params: { database, tables: REPORTED_TABLES },
    format: 'JSONEachRow',
  });
  const partitions = await result.json<{ table: string; partition: string; parts: number }>();
  const newest = new Map<string, string>();
  const all = await client.query({
    query: `SELECT table, max(partition) AS newest FROM system.parts
      WHERE database = {database:String} AND active AND table IN {tables:Array(String)} GROUP BY table`,
    query_params: { database, tables: REPORTED_TABLES },
    format: 'JSONEachRow',
  });
  for (const row of await all.json<{ table: string; newest: string }>())
    newest.set(row.table, row.newest);
  let merged = 0;
  for (const { table, partition } of partitions) {
    // Tables without PARTITION BY have the one partition 'tuple()': merged like the rest.
    if (partition === newest.get(table) && partition !== 'tuple()') continue;
    await client.command({
      query: `OPTIMIZE TABLE ${database}.${table} PARTITION ID {partition:String} FINAL`,
      query_params: { partition: partitionId(partition) },
    });
    merged += 1;
  }
  return merged;
}

/** A partition's id from system.parts' `partition` text: 202403 → '202403', tuple() → 'all'. */
const partitionId = (partition: string) => (partition === 'tuple()' ? 'all' : partition);

export interface RegionDataset {
  database: string;
  baseDatabase?: string;
  counties: number;
  years: number;
  events: number;
  incidents: number;
  calls: number;
  appliances?: number;
  revised?: number;
  buildSeconds: number;
  steps?: Record<string, number>;
  parts?: Awaited<ReturnType<typeof partSummary>>;
  merged?: string;
}

async function counts(client: ClickHouseClient) {
  const result = await client.query({
    query: `SELECT
      (SELECT count() FROM incidents_raw) + (SELECT count() FROM calls_raw) + (SELECT count() FROM resources_raw) AS events,
      (SELECT uniqExact(agency, incident_id) FROM incident_facts) AS incidents,
      (SELECT uniqExact(agency, call_id) FROM call_facts) AS calls,
      (SELECT count() FROM resource_registry FINAL) AS appliances`,
    format: 'JSONEachRow',
  });
  const [row] = await result.json<Record<string, number>>();
  return {
    events: Number(row?.events ?? 0),
    incidents: Number(row?.incidents ?? 0),
    calls: Number(row?.calls ?? 0),
    appliances: Number(row?.appliances ?? 0),
  };
}

export async function regionDataset(
  stack: LocalStack,
  baseDatabase: string,
  options: {
    counties: number;
    years: number;
    firstYear?: number;
    mergeHistory?: boolean;
    /** A database whose copies an earlier build made but did not finish: recompute and merge it. */
    resume?: string;
  },
): Promise<RegionDataset> {
  const { database, client } = options.resume
    ? { database: options.resume, client: clickhouse(stack, options.resume) }
    : await freshDatabase(stack, 'bench_region');
  const started = performance.now();
  const steps: Record<string, number> = {};
  const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const stepStarted = performance.now();
    const value = await work();
    steps[name] = round((performance.now() - stepStarted) / 1000);
    say(`region: ${name} in ${steps[name]} s`);
    return value;
  };
  // One INSERT … SELECT per table and year: a year's raw rows span 13 months, its facts 14
  // anchor months, well under the engine's partitions-per-insert limit.
  // Copies of years firstYear … firstYear + years - 1 before the base year (0: the base year itself).
  const firstYear = options.firstYear ?? 0;
  for (let year = firstYear; !options.resume && year < firstYear + options.years; year += 1) {
    await step(`copy year ${year}`, async () => {
      for (const spec of RAW_TABLES) {
        await client.command({
          query: `INSERT INTO ${database}.${spec.table} ${copySql(baseDatabase, spec)}`,
          query_params: { year, counties: options.counties },
          // Every year's rows are new: no block of them is a retry to be dropped.
          clickhouse_settings: { insert_deduplicate: 0 },
        });
      }
    });
  }
  const revised = await step('recompute revised entities', () => recomputeRevised(client));
  const settled = await step('background merges', () => settleMerges(client, database, 1_800_000));
  let merged = `background merges only (settled after ${settled} s)`;
  if (options.mergeHistory !== false) {
    const partitions = await step('merge history', () => mergeHistory(client, database));
    merged = `background merges, then every partition but each table's newest merged (OPTIMIZE … FINAL, ${partitions} partitions)`;
  }
  const parts = await partSummary(client, database);
  const found = await counts(client);
  await client.close();
  const seconds = (performance.now() - started) / 1000;
  say(`region dataset ${database}: ${JSON.stringify(found)} in ${seconds.toFixed(0)} s`);
  return {
    database,
    baseDatabase,
    counties: options.counties,
    years: options.years,
    ...found,
    revised,
    buildSeconds: round(seconds),
    steps,
    parts,
    merged,
  };
}

/** Whether a database of that name still exists (a dataset built by an earlier run). */
export async function databaseExists(stack: LocalStack, database: string): Promise<boolean> {
  const client = clickhouse(stack);
  const result = await client.query({
    query: 'SELECT count() AS n FROM system.databases WHERE name = {name:String}',
    query_params: { name: database },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ n: number }>();
  await client.close();
  return Number(row?.n) === 1;
}

/** The size of a region dataset built by an earlier run (its build time is not known). */
export async function describeDataset(
  stack: LocalStack,
  database: string,
  options: { counties: number; years: number },
): Promise<RegionDataset> {
  const client = clickhouse(stack, database);
  const found = await counts(client);
  const parts = await partSummary(client, database);
  await client.close();
  return {
    database,
    counties: options.counties,
    years: options.years,
    ...found,
    buildSeconds: Number.NaN,
    parts,
  };
}
