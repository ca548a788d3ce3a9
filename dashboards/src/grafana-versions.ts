/**
 * The Grafana and grafana-clickhouse-datasource releases the provisioning is written for. The
 * compose file pins the same (a unit test compares them), and the generated files carry what
 * these releases expect: the dashboard schema version Grafana migrates to, and the plugin version
 * each query was written by (without it the plugin's editor migrates the query when opened).
 * To bump either, see docs/grafana.md ("Pinned versions").
 */
export const GRAFANA_VERSION = '12.1.1';
/** The dashboard schema version Grafana 12.1 migrates to and writes (its DashboardMigrator). */
export const GRAFANA_SCHEMA_VERSION = 41;
export const CLICKHOUSE_PLUGIN_ID = 'grafana-clickhouse-datasource';
/** Published on grafana.com (docs/grafana.md, "Pinned versions", says where this was confirmed). */
export const CLICKHOUSE_PLUGIN_VERSION = '4.23.5';
