/**
 * Bluelight's ClickHouse roles: one per kind of client, each with the least it needs
 * (docs/security.md). Users are made by the operator (SQL, or users.d XML as docker-compose.yml
 * does) and given one role each, so no password ever passes through here.
 */

export interface ClickHouseRole {
  name: string;
  /** Who takes the role, for people reading the grants. */
  holders: string;
  /** `GRANT … ON db.table` clauses, without `TO`. */
  grants: (database: string) => string[];
}

const RAW_TABLES = ['calls_raw', 'incidents_raw', 'resources_raw'];
/** Tables the materialized views write when the sink inserts raw rows (see 0006_derived_facts). */
const VIEW_TARGETS = [
  'incident_facts',
  'call_facts',
  'resource_changes',
  'resource_registry',
  'fact_entities',
  'fact_anchor_exceptions',
  'appliance_facts',
];
/** The sink's recomputes of revised entities (services/clickhouse-sink/src/revisions.ts). */
const REVISION_TABLES = [
  'incident_fact_revisions',
  'call_fact_revisions',
  'resource_changes',
  'appliance_fact_revisions',
];

const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `db.table`: the database name is checked (plain), the table names are the schema's own. */
function on(database: string, table: string): string {
  return `${database}.${table}`;
}

export const CLICKHOUSE_ROLES: ClickHouseRole[] = [
  {
    name: 'bluelight_migrator',
    holders: 'bluelight migrate, bluelight facts rebuild, bluelight dlq (an administrator)',
    // Migrations create and drop tables and views; the views run with this role's rights
    // (SQL SECURITY DEFINER, ClickHouse's default), so it also reads and writes them all.
    grants: (database) => [
      `GRANT CREATE DATABASE ON ${on(database, '*')}`,
      `GRANT ALL ON ${on(database, '*')}`,
    ],
  },
  {
    name: 'bluelight_sink',
    holders: 'the ClickHouse sink',
    grants: (database) => [
      // Raw rows in; raw rows read back to recompute revised entities.
      ...RAW_TABLES.map((table) => `GRANT SELECT, INSERT ON ${on(database, table)}`),
      `GRANT INSERT ON ${on(database, 'dead_letters')}`,
      // The materialized views' targets, in case a view runs with the inserting user's rights
      // (SQL SECURITY INVOKER, or a server older than 24.4).
      ...VIEW_TARGETS.filter((table) => !REVISION_TABLES.includes(table)).map(
        (table) => `GRANT INSERT ON ${on(database, table)}`,
      ),
      // Which entities exist, which are revised, and where their facts are anchored.
      `GRANT SELECT ON ${on(database, 'fact_entities')}`,
      ...REVISION_TABLES.map((table) => `GRANT SELECT, INSERT ON ${on(database, table)}`),
      // The views' definitions, which the recomputes are prepared from (system.tables).
      `GRANT SHOW TABLES ON ${on(database, '*')}`,
    ],
  },
  {
    name: 'bluelight_reader',
    holders: 'the query API, Grafana, bluelight report',
    grants: (database) => [`GRANT SELECT ON ${on(database, '*')}`],
  },
];

/** The SQL that creates the roles for `database` and grants them their rights; idempotent. */
export function roleStatements(database: string): string[] {
  if (!DATABASE_NAME.test(database)) {
    throw new Error(`"${database}" is not a plain database name (letters, digits, _)`);
  }
  return CLICKHOUSE_ROLES.flatMap((role) => [
    `CREATE ROLE IF NOT EXISTS ${role.name}`,
    ...role.grants(database).map((grant) => `${grant} TO ${role.name}`),
  ]);
}
