import type { ClickHouseClient } from '@bluelight/service-kit';
import { TupleParam } from '@clickhouse/client';
import type { EntityKey } from './entities.js';

/**
 * Recomputes the facts of revised entities — those with a correction or a retraction, which no
 * aggregate can take back — from their effective raw events: every raw row except retractions
 * and the events a later event corrects. The facts are computed by the very SELECT of the
 * family's materialized view (read from ClickHouse, so there is one definition), run over the
 * effective events instead of an inserted block.
 */
export interface RevisionSpec {
  /** The family's name in fact_entities. */
  family: string;
  rawTable: string;
  idColumn: string;
  retractionType: string;
  /** The materialized view whose SELECT computes the facts. */
  view: string;
  /** Where recomputed facts go, and how. */
  target:
    | { kind: 'facts'; table: string }
    /** Rows keyed by instant (resource_changes): rewritten, with markers for vanished instants. */
    | { kind: 'changes'; table: string; instantColumn: string }
    /**
     * Fact rows of parts of an entity (an incident's appliances: appliance_fact_revisions),
     * partitioned by the entity's anchor: rewritten, with markers for parts that vanished.
     */
    | { kind: 'parts'; table: string; partColumn: string };
}

export const REVISIONS = {
  incidents: {
    family: 'incidents',
    rawTable: 'incidents_raw',
    idColumn: 'incident_id',
    retractionType: 'incident.event_retracted',
    view: 'incident_facts_mv',
    target: { kind: 'facts', table: 'incident_fact_revisions' },
  },
  calls: {
    family: 'calls',
    rawTable: 'calls_raw',
    idColumn: 'call_id',
    retractionType: 'call.event_retracted',
    view: 'call_facts_mv',
    target: { kind: 'facts', table: 'call_fact_revisions' },
  },
  resources: {
    family: 'resources',
    rawTable: 'resources_raw',
    idColumn: 'resource_id',
    retractionType: 'resource.event_retracted',
    view: 'resource_changes_mv',
    target: { kind: 'changes', table: 'resource_changes', instantColumn: 'start_at' },
  },
  appliances: {
    family: 'incidents',
    rawTable: 'incidents_raw',
    idColumn: 'incident_id',
    retractionType: 'incident.event_retracted',
    view: 'appliance_facts_mv',
    target: { kind: 'parts', table: 'appliance_fact_revisions', partColumn: 'resource_id' },
  },
} as const satisfies Record<string, RevisionSpec>;

/** Entities per statement: their keys travel as URL query parameters (capped at 1 MiB). */
const KEYS_PER_STATEMENT = 2_000;

/**
 * The rows of these entities, in the partitions that hold them (fact_entities.raw_months) and
 * no others: FINAL does not prune partitions on a time filter, but it does on `_partition_id`,
 * so a recompute reads the same few months whether the table holds one year or ten.
 */
function keyFilter(spec: RevisionSpec, idColumn = spec.idColumn): string {
  return `_partition_id IN (
      SELECT toString(arrayJoin(groupUniqArrayArray(raw_months))) FROM fact_entities
      WHERE family = '${spec.family}' AND agency IN {agencies:Array(String)}
        AND entity_id IN {ids:Array(String)}
        AND (agency, entity_id) IN {keys:Array(Tuple(String, String))})
    AND agency IN {agencies:Array(String)} AND ${idColumn} IN {ids:Array(String)}
    AND (agency, ${idColumn}) IN {keys:Array(Tuple(String, String))}`;
}

/** The raw events of these entities that count: no retractions, nothing a later event corrects. */
function effectiveEventsSql(spec: RevisionSpec): string {
  const keys = keyFilter(spec);
  return `SELECT * FROM ${spec.rawTable} FINAL
    WHERE ${keys}
      AND event_type != '${spec.retractionType}'
      AND (agency, event_id) NOT IN (
        SELECT agency, corrects_event_id FROM ${spec.rawTable} FINAL
        WHERE ${keys} AND corrects_event_id != ''
      )`;
}

/**
 * Each entity's generation: (highest raw offset << 16) | distinct events, so of two recomputes
 * (two sinks during a rebalance) the one that saw more raw rows wins.
 */
function generationsSql(spec: RevisionSpec): string {
  const keys = keyFilter(spec);
  return `SELECT
      seen.agency AS agency, seen.${spec.idColumn} AS ${spec.idColumn}, seen.anchor AS anchor,
      bitOr(bitShiftLeft(seen.max_offset, 16), least(events.n, 65535)) AS generation
    FROM (
      SELECT agency, ${spec.idColumn}, min(_anchor) AS anchor, max(_offset) AS max_offset
      FROM ${spec.rawTable} WHERE ${keys} GROUP BY agency, ${spec.idColumn}
    ) AS seen
    INNER JOIN (
      SELECT agency, ${spec.idColumn}, count() AS n
      FROM ${spec.rawTable} FINAL WHERE ${keys} GROUP BY agency, ${spec.idColumn}
    ) AS events ON events.agency = seen.agency AND events.${spec.idColumn} = seen.${spec.idColumn}`;
}

/** The view's SELECT with its source table replaced by `source` (aliased as the table). */
export function overSource(viewSelect: string, rawTable: string, source: string): string {
  const from = new RegExp(`FROM (?:\\w+\\.)?${rawTable}(?=\\s)`, 'g');
  const found = viewSelect.match(from)?.length ?? 0;
  if (found !== 1) {
    throw new Error(`expected one "FROM ${rawTable}" in the view's SELECT, found ${found}`);
  }
  return viewSelect.replace(from, `FROM (${source}) AS ${rawTable}`);
}

/** The statements that rewrite the given entities' facts, run in order. */
function revisionStatements(spec: RevisionSpec, viewSelect: string): string[] {
  const facts = overSource(viewSelect, spec.rawTable, effectiveEventsSql(spec));
  const id = spec.idColumn;
  const generations = generationsSql(spec);
  if (spec.target.kind === 'facts') {
    return [
      `INSERT INTO ${spec.target.table}
      SELECT f.* EXCEPT (revised), g.generation AS generation, 0 AS is_deleted
      FROM (${facts}) AS f
      INNER JOIN (${generations}) AS g ON g.agency = f.agency AND g.${id} = f.${id}`,
      // Entities left with no effective event at all: a deletion marker supersedes their facts.
      `INSERT INTO ${spec.target.table} (agency, ${id}, anchor, generation, is_deleted)
      SELECT g.agency, g.${id}, g.anchor, g.generation, 1
      FROM (${generations}) AS g
      WHERE (g.agency, g.${id}) NOT IN (SELECT agency, ${id} FROM (${facts}))`,
    ];
  }
  if (spec.target.kind === 'parts') {
    const part = spec.target.partColumn;
    const table = spec.target.table;
    // The entities' anchors bound the read of what is stored (the table's partition key).
    const anchors = `SELECT min(anchor) FROM fact_entities
      WHERE family = '${spec.family}' AND agency IN {agencies:Array(String)}
        AND entity_id IN {ids:Array(String)}
        AND (agency, entity_id) IN {keys:Array(Tuple(String, String))}
      GROUP BY agency, entity_id`;
    return [
      `INSERT INTO ${table}
      SELECT f.* EXCEPT (revised), g.generation AS generation, 0 AS is_deleted
      FROM (${facts}) AS f
      INNER JOIN (${generations}) AS g ON g.agency = f.agency AND g.${id} = f.${id}`,
      // Parts (appliances) left with no effective event: a deletion marker supersedes them.
      `INSERT INTO ${table} (agency, ${id}, ${part}, anchor, generation, is_deleted)
      SELECT stored.agency, stored.${id}, stored.${part}, stored.anchor, g.generation, 1
      FROM (
        SELECT agency, ${id}, ${part}, anchor FROM ${table} FINAL
        WHERE anchor IN (${anchors}) AND agency IN {agencies:Array(String)}
          AND ${id} IN {ids:Array(String)} AND (agency, ${id}) IN {keys:Array(Tuple(String, String))}
      ) AS stored
      INNER JOIN (${generations}) AS g ON g.agency = stored.agency AND g.${id} = stored.${id}
      WHERE (stored.agency, stored.${id}, stored.${part}) NOT IN (
        SELECT agency, ${id}, ${part} FROM (${facts})
      )`,
    ];
  }
  const instant = spec.target.instantColumn;
  const table = spec.target.table;
  return [
    // Every instant that still has an effective change: the latest-received one, at a version
    // above every row the view wrote for this entity.
    `INSERT INTO ${table}
    SELECT latest.* EXCEPT (version, is_deleted), g.generation AS version, 0 AS is_deleted
    FROM (
      SELECT * FROM (${facts})
      ORDER BY version DESC
      LIMIT 1 BY agency, ${id}, ${instant}
    ) AS latest
    INNER JOIN (${generations}) AS g ON g.agency = latest.agency AND g.${id} = latest.${id}`,
    // Instants whose every change was retracted or corrected away.
    `INSERT INTO ${table} (agency, ${id}, ${instant}, version, is_deleted)
    SELECT stored.agency, stored.${id}, stored.${instant}, g.generation, 1
    FROM (SELECT agency, ${id}, ${instant} FROM ${table} FINAL WHERE ${keyFilter(spec, id)}) AS stored
    INNER JOIN (${generations}) AS g ON g.agency = stored.agency AND g.${id} = stored.${id}
    WHERE (stored.agency, stored.${id}, stored.${instant}) NOT IN (
      SELECT agency, ${id}, ${instant} FROM (${facts})
    )`,
  ];
}

/**
 * A recompute writes each entity's rows wherever they belong — an appliance's changes over ten
 * years fall in 120 months, a unit's revised incidents in as many anchor months as they have —
 * so ClickHouse's guard of 100 partitions per INSERT (meant for careless bulk loads) would stop
 * the sink on a legitimate revision. The rows written are few: lift the guard for these only.
 */
const RECOMPUTE_SETTINGS = { max_partitions_per_insert_block: '0' } as const;

/** The recompute of one family, prepared from its view's definition in ClickHouse. */
export class FactRevisions {
  readonly #statements: string[];

  private constructor(statements: string[]) {
    this.#statements = statements;
  }

  /** One family's recompute: every spec's statements (a family may keep several facts). */
  static async prepare(
    client: ClickHouseClient,
    specs: RevisionSpec | readonly RevisionSpec[],
  ): Promise<FactRevisions> {
    const statements: string[] = [];
    for (const spec of Array.isArray(specs) ? specs : [specs]) {
      const result = await client.query({
        query: `SELECT as_select FROM system.tables
          WHERE database = currentDatabase() AND name = {view:String}`,
        query_params: { view: spec.view },
        format: 'JSONEachRow',
      });
      const [row] = await result.json<{ as_select: string }>();
      if (!row) {
        throw new Error(
          `the materialized view ${spec.view} does not exist: is the database migrated (npx bluelight migrate)?`,
        );
      }
      statements.push(...revisionStatements(spec, row.as_select));
    }
    return new FactRevisions(statements);
  }

  /** Rewrites the facts of these entities from their effective events. Idempotent. */
  async recompute(client: ClickHouseClient, entities: EntityKey[]): Promise<void> {
    for (let start = 0; start < entities.length; start += KEYS_PER_STATEMENT) {
      const chunk = entities.slice(start, start + KEYS_PER_STATEMENT);
      const query_params = {
        agencies: [...new Set(chunk.map((key) => key.agency))],
        ids: [...new Set(chunk.map((key) => key.id))],
        keys: chunk.map((key) => new TupleParam([key.agency, key.id])),
      };
      for (const query of this.#statements) {
        await client.command({ query, query_params, clickhouse_settings: RECOMPUTE_SETTINGS });
      }
    }
  }
}
