import type { ClickHouseClient } from '@bluelight/service-kit';
import type { EntityKey } from './entities.js';
import { FAMILIES, type Family } from './families.js';
import { FactRevisions, overSource } from './revisions.js';

/**
 * Rebuilding the derived facts of an existing database from its raw events: every materialized
 * view's SELECT is run again over the raw tables, a partition at a time, into its emptied target,
 * and every revised entity is recomputed. The views' own definitions are read from ClickHouse, so
 * a rebuild computes exactly what the views compute as rows land.
 */

export interface RebuildProgress {
  step: 'views' | 'revisions';
  done: number;
  total: number;
}

interface View {
  name: string;
  target: string;
  source: string;
  select: string;
}

/** The database's materialized views over the raw tables: name, target, source and SELECT. */
async function rawViews(client: ClickHouseClient): Promise<View[]> {
  const result = await client.query({
    query: `SELECT name, as_select, create_table_query FROM system.tables
            WHERE database = currentDatabase() AND engine = 'MaterializedView' ORDER BY name`,
    format: 'JSONEachRow',
  });
  const rawTables = Object.values(FAMILIES).map((family) => family.rawTable);
  const views: View[] = [];
  for (const row of await result.json<{
    name: string;
    as_select: string;
    create_table_query: string;
  }>()) {
    const target = /\bTO\s+(?:[\w`]+\.)?`?(\w+)`?/.exec(row.create_table_query)?.[1];
    const source = rawTables.find((table) =>
      new RegExp(`FROM (?:\\w+\\.)?${table}(?=\\s)`).test(row.as_select),
    );
    if (target && source) views.push({ name: row.name, target, source, select: row.as_select });
  }
  return views;
}

async function rawPartitions(client: ClickHouseClient, table: string): Promise<number[]> {
  const result = await client.query({
    query: `SELECT DISTINCT toUInt32(partition) AS month FROM system.parts
            WHERE database = currentDatabase() AND table = {table:String} AND active
            ORDER BY month`,
    query_params: { table },
    format: 'JSONEachRow',
  });
  return (await result.json<{ month: number }>()).map((row) => row.month);
}

/** Every revised entity of a family (a correction or retraction touched it). */
async function revisedEntities(client: ClickHouseClient, family: Family): Promise<EntityKey[]> {
  const result = await client.query({
    query: `SELECT agency, entity_id FROM fact_entities WHERE family = {family:String}
            GROUP BY agency, entity_id HAVING max(revised) = 1 ORDER BY agency, entity_id`,
    query_params: { family: family.name },
    format: 'JSONEachRow',
  });
  return (await result.json<{ agency: string; entity_id: string }>()).map((row) => ({
    agency: row.agency,
    id: row.entity_id,
  }));
}

/** Entities per recompute call (each call is one statement per chunk inside FactRevisions). */
const REVISION_CHUNK = 500;

/** Recomputes the facts of every revised entity of every family. Returns how many there were. */
export async function recomputeRevised(
  client: ClickHouseClient,
  onProgress: (progress: RebuildProgress) => void = () => {},
): Promise<number> {
  const work: { revisions: FactRevisions; entities: EntityKey[] }[] = [];
  for (const family of Object.values(FAMILIES)) {
    work.push({
      revisions: await FactRevisions.prepare(client, family.revisions),
      entities: await revisedEntities(client, family),
    });
  }
  const total = work.reduce((sum, { entities }) => sum + entities.length, 0);
  let done = 0;
  onProgress({ step: 'revisions', done, total });
  for (const { revisions, entities } of work) {
    for (let start = 0; start < entities.length; start += REVISION_CHUNK) {
      const chunk = entities.slice(start, start + REVISION_CHUNK);
      await revisions.recompute(client, chunk);
      done += chunk.length;
      onProgress({ step: 'revisions', done, total });
    }
  }
  return total;
}

/**
 * Empties every view's target and the revision tables, then rebuilds them from the raw events.
 * Figures are incomplete while it runs; a sink may keep writing (its rows are folded in too).
 */
export async function rebuildFacts(
  client: ClickHouseClient,
  onProgress: (progress: RebuildProgress) => void = () => {},
): Promise<{ partitions: number; revised: number }> {
  const views = await rawViews(client);
  if (views.length === 0) {
    throw new Error('no materialized views over the raw tables: is the database migrated?');
  }
  const targets = new Set([
    ...views.map((view) => view.target),
    ...Object.values(FAMILIES).flatMap((family) =>
      family.revisions.map((spec) => spec.target.table),
    ),
  ]);
  for (const table of targets) {
    await client.command({ query: `TRUNCATE TABLE ${quoteIdentifier(table)}` });
  }
  const work: { view: View; month: number }[] = [];
  for (const source of new Set(views.map((view) => view.source))) {
    for (const month of await rawPartitions(client, source)) {
      for (const view of views.filter((candidate) => candidate.source === source)) {
        work.push({ view, month });
      }
    }
  }
  onProgress({ step: 'views', done: 0, total: work.length });
  for (const [index, { view, month }] of work.entries()) {
    const partition = `SELECT * FROM ${view.source} WHERE toYYYYMM(occurred_at) = {month:UInt32}`;
    await client.command({
      query: `INSERT INTO ${quoteIdentifier(view.target)} ${overSource(view.select, view.source, partition)}`,
      query_params: { month },
      // One raw month holds entities of many anchor months: the facts' partitions per insert.
      clickhouse_settings: { max_partitions_per_insert_block: '0' },
    });
    onProgress({ step: 'views', done: index + 1, total: work.length });
  }
  const revised = await recomputeRevised(client, onProgress);
  return { partitions: work.length, revised };
}

/** Table names come from system.tables and the code, never from a user; quoted all the same. */
function quoteIdentifier(name: string): string {
  if (!/^\w+$/.test(name)) throw new Error(`not a plain table name: ${name}`);
  return `\`${name}\``;
}
