import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { CLICKHOUSE_DATASOURCE, Format } from './clickhouse-query.js';
import { CLICKHOUSE_PLUGIN_VERSION } from './grafana-versions.js';

/** Colour steps for a share judged against a target: red below, green at or above. */
export function targetThresholds(target: number | undefined, warnAbove?: number) {
  const steps: dashboard.Threshold[] = [
    { value: null, color: target === undefined ? 'blue' : 'red' },
  ];
  if (target !== undefined) steps.push({ value: target, color: warnAbove ? 'orange' : 'green' });
  if (target !== undefined && warnAbove !== undefined)
    steps.push({ value: warnAbove, color: 'green' });
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps(steps);
}

/** Fixed colour steps (value → colour from that value up). */
export function steps(...pairs: [number | null, string][]) {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps(pairs.map(([value, color]) => ({ value, color })));
}

/**
 * A stat panel's reduction for a query with one row per thing (line, family, station): every
 * row's `column` is shown, named by the row's String columns, instead of the rows being reduced
 * to one number (Grafana's `reduceOptions.values`; see grafana-reduce.ts).
 */
export const perRow = (column: string) =>
  new common.ReduceDataOptionsBuilder().values(true).calcs(['lastNotNull']).fields(`/^${column}$/`);

/** The target drawn on a time series as a dashed line. */
export const thresholdLine = () =>
  new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed);

/**
 * A template variable over one column of a fact table: multi-value, with All (= every value).
 * Empty values are never offered: the plugin's `$__conditionalAll` reads a variable whose value is
 * `''` as All, so a choice of "(none)" alone would filter nothing. Rows without a value are
 * counted at All only.
 */
export function columnVariable(name: string, label: string, values: string) {
  const rawSql = `SELECT DISTINCT value FROM (${values}) WHERE value != '' ORDER BY value`;
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(CLICKHOUSE_DATASOURCE)
    .query({
      refId: `var_${name}`,
      editorType: 'sql',
      // The plugin's variable editor shows the SQL type for a raw-SQL variable query.
      queryType: 'sql',
      pluginVersion: CLICKHOUSE_PLUGIN_VERSION,
      format: Format.Table,
      rawSql,
    })
    .definition(rawSql)
    .multi(true)
    .includeAll(true)
    .current({ selected: true, text: ['All'], value: ['$__all'] })
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
}

/** The template variable every dashboard has: whose rows every panel counts. */
export const AGENCY_VARIABLE = 'agency';

/**
 * The agencies (fire services, police forces, control rooms) with facts in ClickHouse: one
 * Grafana serves several services sharing a deployment, and every panel is filtered by it. At
 * All, every agency's rows are counted together (as a request for several agencies is in the
 * query API); choose one to see one service's figures.
 */
export function agencyVariable() {
  return columnVariable(
    AGENCY_VARIABLE,
    'Agency',
    // Every entity of every family is in fact_entities, under its agency.
    'SELECT DISTINCT toString(agency) AS value FROM fact_entities',
  );
}

/** `agency IN (…the agency variable's values…)` in hand-written SQL; `1=1` at All. */
export const agencyFilter = (column = 'agency') => inVariable(column, AGENCY_VARIABLE);

/** The incident variables: service, station, category, risk band (over incident_facts). */
const INCIDENT_VARIABLES = {
  service: 'service',
  station: 'station_ground',
  category: 'category',
  risk_band: 'risk_band',
} as const;

const INCIDENT_VARIABLE_LABELS: Record<keyof typeof INCIDENT_VARIABLES, string> = {
  service: 'Service',
  station: 'Station',
  category: 'Category',
  risk_band: 'Risk band',
};

/** Where each incident variable's values are stored in incident_facts (0006). */
const INCIDENT_VARIABLE_COLUMNS: Record<keyof typeof INCIDENT_VARIABLES, string> = {
  service: 'details.service',
  station: 'placement.station_ground',
  category: 'details.category',
  risk_band: 'details.risk_band',
};

export function incidentVariables() {
  return (Object.keys(INCIDENT_VARIABLES) as (keyof typeof INCIDENT_VARIABLES)[]).map((name) => {
    const column = INCIDENT_VARIABLE_COLUMNS[name];
    // Any row of an incident that carries the value will do: no FINAL needed for DISTINCT.
    return columnVariable(
      name,
      INCIDENT_VARIABLE_LABELS[name],
      `SELECT DISTINCT ${column} AS value FROM incident_facts WHERE ${column} != ''`,
    );
  });
}

/**
 * A filter on a multi-value variable, wrapped in the plugin's `$__conditionalAll`: `1=1` when the
 * variable is at All (so All does not send every value to ClickHouse), otherwise `condition`.
 */
const conditionalAll = (condition: string, variable: string) =>
  `$__conditionalAll(${condition}, $${variable})`;

/** A rendered `column IN [${variable:singlequote}]` (a builder's Array(String) parameter). */
export const variableCondition = (variable: string) =>
  new RegExp(`(\\w+) IN \\[\\$\\{${variable}:singlequote\\}\\]`, 'g');

/** Every `column IN [${variable:singlequote}]` in `sql` wrapped in `$__conditionalAll` (at least one). */
export function variableConditions(sql: string, variable: string): string {
  if (!variableCondition(variable).test(sql)) {
    throw new Error(`no condition on $${variable} in the query`);
  }
  return sql.replace(variableCondition(variable), (clause) => conditionalAll(clause, variable));
}

/** `column IN (…the variable's values…)` in hand-written SQL; `1=1` at All. */
export const inVariable = (column: string, variable: string) =>
  conditionalAll(`${column} IN (\${${variable}:singlequote})`, variable);

/**
 * Every incident variable as a filter on the incident facts source's columns (the source itself
 * reads the agencies of the agency variable).
 */
export const incidentVariableFilter = () =>
  (Object.entries(INCIDENT_VARIABLES) as [string, string][])
    .map(([variable, column]) => inVariable(column, variable))
    .join('\n  AND ');

/** The builder filters the incident variables map onto (IncidentFilters names → variables). */
export const INCIDENT_KPI_FILTERS = {
  service: 'service',
  station: 'station',
  category: 'category',
  risk_band: 'risk_band',
};

export const gridPos = (x: number, y: number, w: number, h: number): dashboard.GridPos => ({
  x,
  y,
  w,
  h,
});
