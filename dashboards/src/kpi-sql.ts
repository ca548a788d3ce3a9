/**
 * Grafana SQL for a standard's figure, taken from the @bluelight/standards builders: the only
 * place a threshold, scope, exclusion or target is read is the standard's checked definition.
 */
import {
  type AvailabilityFilters,
  type AvailabilityGrouping,
  type AvailabilityStandardVersion,
  availabilityKpiQueryOver,
  type CallFilters,
  type CallGrouping,
  type CallStandardVersion,
  callKpiQueryOver,
  coverAttendanceQuery,
  type IncidentFilters,
  type IncidentGrouping,
  type IncidentStandardVersion,
  incidentKpiQueryOver,
  type KpiQuery,
  loadStandardsFromEnv,
  type StandardDefinition,
  type StandardVersion,
  type VersionPart,
  statisticSql as versionStatisticSql,
  versionsDuring,
} from '@bluelight/standards';
import { AGENCY_VARIABLE, variableCondition, variableConditions } from './panels.js';
import { renderParameters } from './sql.js';

/** The first and last London day the dashboard's time range touches; `to` is exclusive. */
export const RANGE_DAYS = {
  from: `toDate($__fromTime, 'Europe/London')`,
  to: `(toDate($__toTime, 'Europe/London') + 1)`,
} as const;

/** The same days one year earlier (year on year). */
export const RANGE_DAYS_YEAR_BEFORE = {
  from: `(toDate($__fromTime, 'Europe/London') - toIntervalYear(1))`,
  to: `(toDate($__toTime, 'Europe/London') + 1 - toIntervalYear(1))`,
} as const;

/** Past the last day any version can end (ClickHouse's Date ends in 2149). */
const OPEN_END = '2149-06-06';

let shipped: StandardDefinition[] | undefined;
/**
 * The standards the dashboards are generated from, loaded and checked once: the shipped ones
 * (services/standards/config, or STANDARDS_DIR) with STANDARDS_USER_DIR's layered over them.
 */
export function shippedStandards(): StandardDefinition[] {
  shipped ??= loadStandardsFromEnv(process.env, (message) =>
    process.stderr.write(`warning: ${message}\n`),
  );
  return shipped;
}

export function standard(id: string, standards = shippedStandards()): StandardDefinition {
  const found = standards.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no standard ${id} in the configuration`);
  return found;
}

/** The version in force now: its target and minimum sample are the ones a dashboard shows. */
export function currentVersion(definition: StandardDefinition): StandardVersion {
  const last = (definition.versions as StandardVersion[]).at(-1);
  if (!last) throw new Error(`standard ${definition.id} has no versions`);
  return last;
}

/** The target share of the version in force (e.g. 0.8), or undefined when it has none. */
export function targetShare(definition: StandardDefinition): number | undefined {
  const statistic = currentVersion(definition).statistic;
  return 'target_share' in statistic ? statistic.target_share : undefined;
}

/** Every version with the days it is in force; the period bounds are set in SQL (see below). */
function allParts(definition: StandardDefinition) {
  const first = (definition.versions as StandardVersion[])[0];
  if (!first) throw new Error(`standard ${definition.id} has no versions`);
  return versionsDuring(definition, first.effective_from, OPEN_END);
}

/** Template variables a figure is narrowed by: the builder's filter name → variable name. */
export type VariableFilters = Record<string, string>;

/**
 * Whose rows a figure counts: the agencies chosen in a dashboard variable (a panel), or every
 * agency with one row each, an `agency` column first (an alert rule: one instance per agency).
 */
export type AgencyScope = { variable: string } | 'per agency';

export interface KpiSqlOptions {
  /** SQL for the first and (exclusive) last London day; default: the dashboard's range. */
  days?: { from: string; to: string };
  /** Default: the dashboard's `agency` variable. */
  agency?: AgencyScope;
  filters?: VariableFilters;
  /**
   * Narrow the facts to exact instants (the last hour, the last 24 h), not only to London days:
   * `true` is the range `[$__fromTime, $__toTime]`, or give the SQL of both ends. The builders
   * take days only; see docs/grafana.md.
   */
  instants?: boolean | Instants;
}

/** SQL for the first and last instant (DateTime) facts are narrowed to. */
export interface Instants {
  from: string;
  to: string;
}

const RANGE_INSTANTS: Instants = { from: '$__fromTime', to: '$__toTime' };

function instantsOf(options: KpiSqlOptions): Instants | undefined {
  if (options.instants === true) return RANGE_INSTANTS;
  return options.instants || undefined;
}

const agencyOf = (options: KpiSqlOptions): AgencyScope =>
  options.agency ?? { variable: AGENCY_VARIABLE };

/**
 * The builders' own agency condition: one per version part (`pN_agencies`), or one for the whole
 * scan (`agencies`) where a builder judges every part in one read (see `agencyCondition`).
 */
const AGENCY_CONDITION = /agency IN \{((?:p\d+_|cover_)?agencies):Array\(String\)\}/g;
const AGENCY_PARAMETER = /^(?:p\d+_|cover_)?agencies$/;

/**
 * The builder's agency condition of every read as the scope says: the agency variable as an
 * array inside `$__conditionalAll` (like a filter), or — every agency, one row each — `1=1`,
 * since the rows are then grouped by agency and never added up across agencies.
 */
function scopeAgencies(kpi: KpiQuery, scope: AgencyScope): KpiQuery {
  // Every agency parameter the builder bound is used, each in every read of a fact table.
  const found = new Set([...kpi.query.matchAll(AGENCY_CONDITION)].map((match) => match[1]));
  const bound = Object.keys(kpi.params).filter((name) => AGENCY_PARAMETER.test(name));
  if (bound.length === 0 || bound.some((name) => !found.has(name)) || found.size !== bound.length) {
    throw new Error(
      `expected agency conditions on ${bound.join(', ') || 'an agency parameter'}, found ${[...found].join(', ') || 'none'}`,
    );
  }
  if (scope !== 'per agency') return kpi;
  return { ...kpi, query: kpi.query.replace(AGENCY_CONDITION, '1=1') };
}

/**
 * Each version part's bounds become SQL: the part's own days intersected with the dashboard's,
 * so a range across a change of standard is judged with the version in force on each day. Each
 * template-variable filter, and the agency variable, becomes the variable as an Array(String).
 */
function render(
  kpi: KpiQuery,
  parts: { from: string; to: string }[],
  options: KpiSqlOptions,
  extra: Record<string, string> = {},
): string {
  const days = options.days ?? RANGE_DAYS;
  const instants = instantsOf(options);
  const scope = agencyOf(options);
  const scoped = scopeAgencies(kpi, scope);
  const variables: Record<string, string> = options.filters ?? {};
  // Each parameter the builder bound that the dashboard decides: per version part (`pN_…`) or,
  // where a builder judges every part in one scan, once (`days_from`, `agencies`, …).
  const expressions: Record<string, string> = {};
  for (const name of Object.keys(scoped.params)) {
    const part = /^p(\d+)_(from|to)$/.exec(name);
    // A part's own (`pN_`) or, for the cover figure's timeline, its own (`cover_`) parameter.
    const shared = name.replace(/^(?:p\d+|cover)_/, '');
    if (name in extra) {
      expressions[name] = extra[name] as string;
    } else if (part) {
      const bounds = parts[Number(part[1])];
      if (!bounds) throw new Error(`query parameter ${name} names no version part`);
      expressions[name] =
        part[2] === 'from'
          ? `greatest(toDate('${bounds.from}'), ${days.from})`
          : bounds.to === OPEN_END
            ? days.to
            : `least(toDate('${bounds.to}'), ${days.to})`;
    } else if (shared === 'days_from') {
      expressions[name] = days.from;
    } else if (shared === 'days_to') {
      expressions[name] = days.to;
    } else if (shared === 'agencies') {
      if (scope !== 'per agency') expressions[name] = `[\${${scope.variable}:singlequote}]`;
    } else if (instants && shared === 'instant_from') {
      expressions[name] = `toDateTime64(${instants.from}, 3)`;
    } else if (instants && shared === 'instant_to') {
      expressions[name] = `toDateTime64(${instants.to}, 3)`;
    } else if (shared.startsWith('filter_') && shared.slice('filter_'.length) in variables) {
      expressions[name] = `[\${${variables[shared.slice('filter_'.length)]}:singlequote}]`;
    }
  }
  const sql = renderParameters(scoped.query, scoped.params, expressions);
  const filtered = conditionalFilters(sql, options.filters ?? {}, scoped.params);
  return scope === 'per agency' ? filtered : variableConditions(filtered, scope.variable);
}

/**
 * Each rendered filter `column IN [${variable:singlequote}]` wrapped in the plugin's
 * `$__conditionalAll`, so a variable at All filters nothing and sends no list of values (the
 * builder writes `column IN {[pN_]filter_name:Array(String)}`: one per filter parameter it bound).
 */
function conditionalFilters(
  sql: string,
  filters: Record<string, string>,
  params: Record<string, unknown>,
): string {
  let out = sql;
  for (const [filter, variable] of Object.entries(filters)) {
    const bound = Object.keys(params).filter(
      (name) => name.replace(/^p\d+_/, '') === `filter_${filter}`,
    ).length;
    const count = out.match(variableCondition(variable))?.length ?? 0;
    if (count !== bound || bound === 0) {
      throw new Error(`expected ${bound} filter(s) on $${variable}, found ${count}`);
    }
    out = variableConditions(out, variable);
  }
  return out;
}

/** Placeholder filter values: the builder emits a parameter per filter, rendered as a variable. */
function filterStubs(filters: VariableFilters | undefined) {
  return Object.fromEntries(Object.keys(filters ?? {}).map((name) => [name, ['']]));
}

/**
 * What the builders are given for the agencies and how rows are laid out: a placeholder the
 * renderer replaces (the builders bind the agencies as a parameter per version part), for
 * `per agency` one row per agency (`byAgency`), and placeholder instants the renderer replaces
 * by the panel's (`pN_instant_from`, `pN_instant_to`).
 */
function builderArguments(options: KpiSqlOptions) {
  return {
    agencies: [''],
    layout: {
      byAgency: agencyOf(options) === 'per agency',
      ...(instantsOf(options) ? { instants: { from: '', to: '' } } : {}),
    },
  };
}

/** Placeholder days for an operations builder: the renderer puts the dashboard's range in. */
const RANGE_PLACEHOLDER = { from: '2000-01-01', to: '2000-01-01' };

/**
 * An operational figure's query (@bluelight/standards operations builders: concurrency,
 * utilisation) as Grafana SQL: its days the dashboard's range, its agencies the variable (or per
 * agency), `extra` the SQL of any other parameter the dashboard decides. A Date parameter left
 * without an expression would be the placeholder's day: refused.
 */
export function operationsSql(
  build: (period: { from: string; to: string }, agencies: string[]) => KpiQuery,
  options: KpiSqlOptions = {},
  extra: Record<string, string> = {},
): string {
  const kpi = build(RANGE_PLACEHOLDER, ['']);
  for (const [, name, type] of kpi.query.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*):([^{}]+)\}/g)) {
    const decided = name === 'days_from' || name === 'days_to' || (name as string) in extra;
    if (type === 'Date' && !decided)
      throw new Error(`no expression for the Date parameter ${name}`);
  }
  return render(kpi, [], options, extra);
}

/**
 * The on-call cover split of an incident standard (`coverAttendanceQuery`, the query API's
 * /v1/operations/cover): the standard's KPI rows, grouped by cover state (and station), over the
 * dashboard's range and agencies — every version part judged as in force on its days.
 */
export function coverAttendanceSql(
  definition: StandardDefinition,
  byStation: boolean,
  options: KpiSqlOptions = {},
): string {
  if (definition.subject !== 'incidents')
    throw new Error(`${definition.id} is not an incident standard`);
  const parts = allParts(definition) as VersionPart<IncidentStandardVersion>[];
  const kpi = coverAttendanceQuery(parts, RANGE_PLACEHOLDER, [''], byStation);
  return render(kpi, parts, options);
}

/** An incident standard's KPI rows (the builder's columns: group, n, met, means, …). */
export function incidentKpiSql(
  definition: StandardDefinition,
  groupBy: IncidentGrouping,
  options: KpiSqlOptions = {},
): string {
  if (definition.subject !== 'incidents')
    throw new Error(`${definition.id} is not an incident standard`);
  const parts = allParts(definition) as VersionPart<IncidentStandardVersion>[];
  const { agencies, layout } = builderArguments(options);
  const kpi = incidentKpiQueryOver(
    parts,
    agencies,
    groupBy,
    filterStubs(options.filters) as IncidentFilters,
    layout,
  );
  return render(kpi, parts, options);
}

/** A call standard's KPI rows (group, calls, abandoned, n, met, with_outcome, band_counts, …). */
export function callKpiSql(
  definition: StandardDefinition,
  groupBy: CallGrouping,
  options: KpiSqlOptions = {},
): string {
  if (definition.subject !== 'calls') throw new Error(`${definition.id} is not a call standard`);
  const parts = allParts(definition) as VersionPart<CallStandardVersion>[];
  const { agencies, layout } = builderArguments(options);
  const kpi = callKpiQueryOver(
    parts,
    agencies,
    groupBy,
    filterStubs(options.filters) as CallFilters,
    layout,
  );
  return render(kpi, parts, options);
}

/** An availability standard's rows (group, total_ms, available_ms, off_run_ms_by_reason). */
export function availabilityKpiSql(
  definition: StandardDefinition,
  groupBy: AvailabilityGrouping,
  options: KpiSqlOptions = {},
): string {
  if (definition.subject !== 'availability')
    throw new Error(`${definition.id} is not an availability standard`);
  const parts = allParts(definition) as VersionPart<AvailabilityStandardVersion>[];
  const { agencies, layout } = builderArguments(options);
  const kpi = availabilityKpiQueryOver(
    parts,
    agencies,
    groupBy,
    filterStubs(options.filters) as AvailabilityFilters,
    layout,
  );
  return render(kpi, parts, options);
}

/** The standard's statistic over a KPI row, as SQL: `statisticSql` of the version in force. */
export function statisticSql(definition: StandardDefinition): string {
  return versionStatisticSql(currentVersion(definition));
}

/** A builder's day / week / month group label as the London midnight a time series needs. */
export function groupTimeSql(grouping: 'day' | 'week' | 'month', shiftYears = 0): string {
  // The builder's day filter excludes incidents without a day, so the group is never NULL.
  const date =
    grouping === 'month'
      ? `toDate(concat(assumeNotNull(group), '-01'))`
      : 'toDate(assumeNotNull(group))';
  const shifted = shiftYears === 0 ? date : `(${date} + toIntervalYear(${shiftYears}))`;
  return `toDateTime(${shifted}, 'Europe/London')`;
}
