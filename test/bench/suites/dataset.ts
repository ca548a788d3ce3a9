import type { LocalStack } from '@bluelight/local-stack';
import { clickhouse, freshDatabase, say } from '../context.js';
import { round } from '../stats.js';

/** Columns that identify an entity or event: each copy gets its own. */
const ID_COLUMNS = new Set([
  'event_id',
  'corrects_event_id',
  'correlation_call_id',
  'correlation_incident_id',
  'incident_id',
  'call_id',
  'resource_id',
  'first_arrival_resource_id',
  'committed_incident_id',
  'outcome_incident_id',
]);
const STATION_COLUMNS = new Set(['station_ground', 'home_station']);
/** Bookkeeping times that are not event times. */
const UNSHIFTED = new Set(['version', '_ingested_at']);

const TABLES = [
  'incidents_raw',
  'calls_raw',
  'resources_raw',
  'incident_facts',
  'call_facts',
  'resource_intervals',
  'incidents_daily',
  'calls_5min',
] as const;

/**
 * A region-sized history for the query benchmarks, made from one county-year that went through
 * the real pipeline: `counties` × `years` copies of every raw, fact and rollup row, each copy
 * with its own ids, agency and station names (county c) and its times moved back y years. Every
 * table keeps its engine, sort key and partitions, so queries meet realistic data volumes.
 */
export async function regionDataset(
  stack: LocalStack,
  baseDatabase: string,
  options: { counties: number; years: number },
) {
  const { database, client } = await freshDatabase(stack, 'bench_region');
  const copies = options.counties * options.years;
  const started = performance.now();
  const end = await client.query({
    query: `SELECT toUnixTimestamp64Milli(max(occurred_at)) AS ms FROM ${baseDatabase}.resources_raw`,
    format: 'JSONEachRow',
  });
  const baseEnd = Number((await end.json<{ ms: number }>())[0]?.ms ?? 0) / 1000;
  for (const table of TABLES) {
    const columns = await client.query({
      query: `SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {table:String} ORDER BY position`,
      query_params: { db: baseDatabase, table },
      format: 'JSONEachRow',
    });
    const replaced: string[] = [];
    for (const { name, type } of await columns.json<{ name: string; type: string }>()) {
      if (ID_COLUMNS.has(name)) {
        replaced.push(`if(${name} = '', '', concat(${name}, '~', toString(copy))) AS ${name}`);
      } else if (name === 'agency') {
        replaced.push(`concat(agency, '-', toString(county)) AS agency`);
      } else if (STATION_COLUMNS.has(name)) {
        replaced.push(`concat('C', toString(county), '-', ${name}) AS ${name}`);
      } else if (name === 'end_at') {
        // An interval still open in the base year is closed where that year's data ends in the
        // copies moved back, or it would run on through every later year.
        replaced.push(
          `if(end_at IS NULL AND year > 0, subtractYears(toDateTime64(${baseEnd}, 3, 'UTC'), year), subtractYears(end_at, year)) AS end_at`,
        );
      } else if (/Date/.test(type) && !UNSHIFTED.has(name)) {
        replaced.push(`subtractYears(${name}, year) AS ${name}`);
      }
    }
    const tableStarted = performance.now();
    await client.command({
      query: `INSERT INTO ${database}.${table}
        SELECT * EXCEPT (copy, county, year) REPLACE (${replaced.join(', ')})
        FROM (
          SELECT *, copy, copy % ${options.counties} AS county, intDiv(copy, ${options.counties}) AS year
          FROM ${baseDatabase}.${table}
          ARRAY JOIN range(${copies}) AS copy
        )`,
    });
    say(
      `region: ${table} × ${copies} in ${((performance.now() - tableStarted) / 1000).toFixed(0)} s`,
    );
  }
  const counts = await client.query({
    query: `SELECT
      (SELECT count() FROM incidents_raw) + (SELECT count() FROM calls_raw) + (SELECT count() FROM resources_raw) AS events,
      (SELECT count() FROM incident_facts) AS incidents,
      (SELECT count() FROM call_facts) AS calls`,
    format: 'JSONEachRow',
  });
  const [row] = await counts.json<{ events: number; incidents: number; calls: number }>();
  await client.close();
  const seconds = (performance.now() - started) / 1000;
  say(`region dataset ${database}: ${JSON.stringify(row)} in ${seconds.toFixed(0)} s`);
  return {
    database,
    counties: options.counties,
    years: options.years,
    events: Number(row?.events ?? 0),
    incidents: Number(row?.incidents ?? 0),
    calls: Number(row?.calls ?? 0),
    buildSeconds: round(seconds),
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
) {
  const client = clickhouse(stack, database);
  const counts = await client.query({
    query: `SELECT
      (SELECT count() FROM incidents_raw) + (SELECT count() FROM calls_raw) + (SELECT count() FROM resources_raw) AS events,
      (SELECT count() FROM incident_facts) AS incidents,
      (SELECT count() FROM call_facts) AS calls`,
    format: 'JSONEachRow',
  });
  const [row] = await counts.json<{ events: number; incidents: number; calls: number }>();
  await client.close();
  return {
    database,
    counties: options.counties,
    years: options.years,
    events: Number(row?.events ?? 0),
    incidents: Number(row?.incidents ?? 0),
    calls: Number(row?.calls ?? 0),
    buildSeconds: Number.NaN,
  };
}
