/**
 * Runs provisioned panels and alert rules against ClickHouse the way Grafana would (see
 * grafana-emulator.ts): the committed files are read, not the code that wrote them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { parse } from 'yaml';
import { PROVISIONING, REPO_ROOT } from '../output.js';
import { durationMs, grafanaSql, type QueryContext } from './grafana-emulator.js';

export interface Column {
  name: string;
  type: string;
}
export interface Result {
  sql: string;
  meta: Column[];
  rows: Record<string, unknown>[];
}

interface Target {
  refId: string;
  rawSql: string;
  format: number;
}
export interface Panel {
  title: string;
  type: string;
  timeFrom?: string;
  interval?: string;
  targets: Target[];
}
interface Variable {
  name: string;
  query: { rawSql: string };
  includeAll: boolean;
  multi: boolean;
}
export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating?: { list?: Variable[] };
}

export function provisionedDashboards(): Dashboard[] {
  const dir = path.join(REPO_ROOT, PROVISIONING, 'dashboards/json');
  return [
    'control-room',
    'response-standards',
    'call-handling',
    'appliance-availability',
    'pipeline-health',
    'appliances-cover',
  ].map((name) => JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8')) as Dashboard);
}

export interface Rule {
  uid: string;
  title: string;
  condition: string;
  noDataState: string;
  for: string;
  labels: Record<string, string>;
  data: {
    refId: string;
    datasourceUid: string;
    relativeTimeRange?: { from: number; to: number };
    model: {
      type?: string;
      rawSql?: string;
      expression?: string;
      reducer?: string;
      settings?: { mode: string };
      conditions?: { evaluator: { type: string; params: number[] } }[];
    };
  }[];
}

export function provisionedRules(): Rule[] {
  const file = parse(
    readFileSync(path.join(REPO_ROOT, PROVISIONING, 'alerting/rules.yaml'), 'utf8'),
  ) as { groups: { rules: Rule[] }[] };
  return file.groups.flatMap((group) => group.rules);
}

export async function run(client: ClickHouseClient, sql: string): Promise<Result> {
  const result = await client.query({
    query: sql,
    format: 'JSON',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  const body = await result.json<Record<string, unknown>>();
  return { sql, meta: body.meta as Column[], rows: body.data as Record<string, unknown>[] };
}

/** Every value of each variable, from its own query (what "All" selects). */
export async function allValues(
  client: ClickHouseClient,
  dashboard: Dashboard,
  context: QueryContext,
): Promise<Record<string, string[]>> {
  const values: Record<string, string[]> = {};
  for (const variable of dashboard.templating?.list ?? []) {
    const { rows, meta } = await run(client, grafanaSql(variable.query.rawSql, context));
    const first = meta[0]?.name ?? '';
    values[variable.name] = rows.map((row) => String(row[first]));
  }
  return values;
}

export function panel(dashboard: Dashboard, title: string): Panel {
  const found = dashboard.panels.find((candidate) => candidate.title === title);
  if (!found) throw new Error(`no panel "${title}" on ${dashboard.title}`);
  return found;
}

/** A panel's queries over [from, to] (a panel's relative time override moves `from`). */
export async function runPanel(
  client: ClickHouseClient,
  target: Panel,
  context: QueryContext,
): Promise<Result[]> {
  const from = target.timeFrom
    ? new Date(context.to.getTime() - durationMs(target.timeFrom))
    : context.from;
  const intervalSeconds = Math.max(
    context.intervalSeconds ?? 1,
    target.interval ? durationMs(target.interval) / 1000 : 1,
  );
  const results: Result[] = [];
  for (const query of target.targets) {
    results.push(
      await run(client, grafanaSql(query.rawSql, { ...context, from, intervalSeconds })),
    );
  }
  return results;
}

const NUMERIC = /^(Nullable\()?(U?Int\d+|Float\d+|Decimal)/;
const isNumeric = (type: string) => NUMERIC.test(type);

/** One alert instance: a row's labels (its String columns), its number and its state. */
export interface Instance {
  labels: Record<string, string>;
  value: number | null;
  state: 'Alerting' | 'Normal';
}

export interface Evaluation {
  /** Alerting when any instance fires; NoData when the query returned no number. */
  state: 'Alerting' | 'Normal' | 'NoData';
  instances: Instance[];
}

/**
 * One evaluation of a rule at `now`, as Grafana's server-side expressions do it for a table
 * result: each row is one number (the numeric column) labelled by its String columns; reduce of a
 * number is the number; the threshold fires per number; no rows is NoData.
 */
export async function evaluateRule(
  client: ClickHouseClient,
  rule: Rule,
  now: Date,
): Promise<Evaluation> {
  const [query, reduce, threshold] = rule.data;
  if (!query?.model.rawSql || !query.relativeTimeRange) throw new Error(`${rule.uid}: no query`);
  if (reduce?.model.type !== 'reduce' || reduce.model.expression !== query.refId)
    throw new Error(`${rule.uid}: B must reduce A`);
  const condition = threshold?.model.conditions?.[0]?.evaluator;
  if (threshold?.model.type !== 'threshold' || !condition || rule.condition !== threshold.refId)
    throw new Error(`${rule.uid}: C must be the threshold condition`);
  const context = {
    from: new Date(now.getTime() - query.relativeTimeRange.from * 1000),
    to: new Date(now.getTime() - query.relativeTimeRange.to * 1000),
  };
  const { rows, meta } = await run(client, grafanaSql(query.model.rawSql, context));
  const numeric = meta.filter((column) => isNumeric(column.type));
  const labels = meta.filter((column) => /String/.test(column.type));
  // Grafana makes one number per numeric column; each rule returns exactly one.
  const valueColumn = numeric[0];
  if (!valueColumn || numeric.length > 1)
    throw new Error(`${rule.uid}: the query must return exactly one numeric column`);
  const values = rows
    .map((row) => ({
      labels: Object.fromEntries(labels.map((column) => [column.name, String(row[column.name])])),
      value: row[valueColumn.name] === null ? null : Number(row[valueColumn.name]),
    }))
    // dropNN: nulls are dropped.
    .filter((entry) => reduce.model.settings?.mode !== 'dropNN' || entry.value !== null);
  const keys = new Set(values.map((entry) => JSON.stringify(entry.labels)));
  if (keys.size !== values.length)
    throw new Error(`${rule.uid}: two rows with the same labels (Grafana refuses duplicates)`);
  if (values.length === 0) return { state: 'NoData', instances: [] };
  const [limit, upper] = condition.params as [number, number | undefined];
  const fires = (value: number) => {
    switch (condition.type) {
      case 'gt':
        return value > limit;
      case 'lt':
        return value < limit;
      case 'within_range':
        return value > limit && value < (upper ?? limit);
      case 'outside_range':
        return value < limit || value > (upper ?? limit);
      case 'within_range_included':
        return value >= limit && value <= (upper ?? limit);
      case 'outside_range_included':
        return value <= limit || value >= (upper ?? limit);
      default:
        throw new Error(`evaluator ${condition.type} is not emulated`);
    }
  };
  const instances: Instance[] = values.map((entry) => ({
    ...entry,
    state: entry.value !== null && fires(entry.value) ? 'Alerting' : 'Normal',
  }));
  const firing = instances.some((instance) => instance.state === 'Alerting');
  return { state: firing ? 'Alerting' : 'Normal', instances };
}
