/**
 * What Grafana and the grafana-clickhouse-datasource plugin do to a query's SQL before
 * ClickHouse sees it, so tests can run every panel and alert query as Grafana would:
 *
 * 1. the plugin's frontend replaces `$__conditionalAll(condition, $var)` (CHDatasource.ts,
 *    `applyConditionalAll`, run in `applyTemplateVariables` before the variables): `1=1` when the
 *    variable's current value is All (`$__all`) or empty, otherwise the condition;
 * 2. the frontend interpolates template variables (`${name:singlequote}`, `$name`, `${name}`);
 *    All is every value of the variable;
 * 3. the plugin's backend expands its macros (pkg/macros/macros.go): $__fromTime, $__toTime,
 *    $__fromTime_ms, $__toTime_ms, $__timeFilter(col), $__timeFilter_ms(col), $__dateFilter(col),
 *    $__timeInterval(col), $__timeInterval_ms(col), $__interval_s.
 */

export interface QueryContext {
  from: Date;
  to: Date;
  /** The panel's interval in seconds ($__interval_s, $__timeInterval). */
  intervalSeconds?: number;
  /** Each variable's selected values (All: every value). */
  variables?: Record<string, string[]>;
  /** The variables whose current value is All (`$__all`), not a chosen list of values. */
  all?: string[];
}

/** A dashboard variable's `current.value` as the plugin reads it (`.toString()` of it). */
function currentValue(name: string, context: QueryContext): string | undefined {
  if (context.all?.includes(name)) return '$__all';
  // A multi-value variable's current value is an array: its toString() joins with ",".
  return context.variables?.[name]?.join(',');
}

/** The plugin's getMacroArgs: split at depth-1 commas, counting only ( and ); untrimmed. */
function conditionalAllArguments(query: string, argsIndex: number): string[] {
  const args: string[] = [];
  const re = /\(|\)|,/g;
  let bracketCount = 0;
  let lastArgEndIndex = 1;
  const argsSubstr = query.substring(argsIndex);
  for (let found = re.exec(argsSubstr); found !== null; found = re.exec(argsSubstr)) {
    if (found[0] === '(') bracketCount++;
    else if (found[0] === ')') bracketCount--;
    if (found[0] === ',' && bracketCount === 1) {
      args.push(argsSubstr.substring(lastArgEndIndex, re.lastIndex - 1));
      lastArgEndIndex = re.lastIndex;
    }
    if (bracketCount === 0) {
      args.push(argsSubstr.substring(lastArgEndIndex, re.lastIndex - 1));
      return args;
    }
  }
  return [];
}

/**
 * `$__conditionalAll(condition, $var)` exactly as the plugin's applyConditionalAll: from the last
 * call backwards; the variable is the second argument without its `$`; `1=1` when its current
 * value is All or empty, otherwise the condition (left for the variables to interpolate). A call
 * without exactly two arguments stops the expansion, leaving the rest as is.
 */
export function applyConditionalAll(rawQuery: string, context: QueryContext): string {
  const macro = '$__conditionalAll(';
  let query = rawQuery;
  let macroIndex = query.lastIndexOf(macro);
  while (macroIndex !== -1) {
    const params = conditionalAllArguments(query, macroIndex + macro.length - 1);
    if (params.length !== 2) return query;
    const [condition, variable] = params as [string, string];
    const templateVar = variable.trim();
    const value = currentValue(templateVar.substring(1), context);
    const phrase = value === '' || value === '$__all' ? '1=1' : condition;
    // String.replace with a string, as the plugin does: the first occurrence of the call.
    query = query.replace(`${macro}${condition},${variable})`, phrase);
    macroIndex = query.lastIndexOf(macro);
  }
  return query;
}

/** Grafana's template-variable syntaxes (public/app/features/variables/utils.ts). */
const VARIABLE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;

/** Grafana's `singlequote` format: each value quoted, ' escaped as \'. */
const singleQuote = (values: string[]) =>
  values.map((value) => `'${value.replace(/'/g, "\\'")}'`).join(',');

export function interpolateVariables(sql: string, variables: Record<string, string[]> = {}) {
  return sql.replace(VARIABLE, (match, plain, bracket, bracketFormat, braced, _path, format) => {
    const name: string = plain ?? bracket ?? braced;
    // Grafana leaves names it does not know alone; the plugin's macros are among them.
    if (name.startsWith('__')) return match;
    const values = variables[name];
    if (values === undefined)
      throw new Error(`the query uses variable ${name}, which has no value`);
    const chosen: string | undefined = format ?? bracketFormat;
    if (chosen === 'singlequote') return singleQuote(values);
    if (chosen === undefined) {
      // The plugin's own format: a multi-value variable as 'a','b'; a single value as is.
      return values.length === 1 ? (values[0] as string) : `'${values.join("','")}'`;
    }
    throw new Error(`variable format ${chosen} is not emulated`);
  });
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);
const dateTime = (date: Date) => `toDateTime(${seconds(date)})`;
const dateTime64 = (date: Date) => `fromUnixTimestamp64Milli(${date.getTime()})`;
const dateOnly = (date: Date) => `toDate('${date.toISOString().slice(0, 10)}')`;

type Macro = (args: string[], context: QueryContext) => string;

const one = (name: string, args: string[]) => {
  if (args.length !== 1) throw new Error(`$__${name} expects 1 argument, got ${args.length}`);
  return args[0] as string;
};

const MACROS: Record<string, Macro> = {
  fromTime: (_, c) => dateTime(c.from),
  toTime: (_, c) => dateTime(c.to),
  fromTime_ms: (_, c) => dateTime64(c.from),
  toTime_ms: (_, c) => dateTime64(c.to),
  timeFilter: (args, c) => {
    const column = one('timeFilter', args);
    return `${column} >= ${dateTime(c.from)} AND ${column} <= ${dateTime(c.to)}`;
  },
  timeFilter_ms: (args, c) => {
    const column = one('timeFilter_ms', args);
    return `${column} >= ${dateTime64(c.from)} AND ${column} <= ${dateTime64(c.to)}`;
  },
  dateFilter: (args, c) => {
    const column = one('dateFilter', args);
    return `${column} >= ${dateOnly(c.from)} AND ${column} <= ${dateOnly(c.to)}`;
  },
  timeInterval: (args, c) =>
    `toStartOfInterval(toDateTime(${one('timeInterval', args)}), INTERVAL ${Math.max(Math.floor(c.intervalSeconds ?? 1), 1)} second)`,
  timeInterval_ms: (args, c) =>
    `toStartOfInterval(toDateTime64(${one('timeInterval_ms', args)}, 3), INTERVAL ${Math.max(Math.floor((c.intervalSeconds ?? 0.001) * 1000), 1)} millisecond)`,
  interval_s: (_, c) => String(Math.max(Math.floor(c.intervalSeconds ?? 1), 1)),
};

/** Arguments in parentheses starting at `open`, split at top-level commas; and the end index. */
function macroArguments(sql: string, open: number): { args: string[]; end: number } {
  let depth = 0;
  let start = open + 1;
  const args: string[] = [];
  for (let index = open; index < sql.length; index++) {
    const char = sql[index];
    if (char === '(') depth++;
    else if (char === ')') {
      depth--;
      if (depth === 0) {
        args.push(sql.slice(start, index).trim());
        return { args: args.filter((arg, i) => arg !== '' || i > 0), end: index + 1 };
      }
    } else if (char === ',' && depth === 1) {
      args.push(sql.slice(start, index).trim());
      start = index + 1;
    }
  }
  throw new Error('unbalanced parentheses in a macro call');
}

export function expandMacros(sql: string, context: QueryContext): string {
  let out = sql;
  // Longest names first, like the \b in the plugin's pattern: $__timeFilter_ms is not $__timeFilter.
  for (const name of Object.keys(MACROS).sort((a, b) => b.length - a.length)) {
    const pattern = new RegExp(`\\$__${name}\\b`);
    for (let match = pattern.exec(out); match; match = pattern.exec(out)) {
      const after = match.index + match[0].length;
      const macro = MACROS[name] as Macro;
      if (out[after] === '(') {
        const { args, end } = macroArguments(out, after);
        out = out.slice(0, match.index) + macro(args, context) + out.slice(end);
      } else {
        out = out.slice(0, match.index) + macro([], context) + out.slice(after);
      }
    }
  }
  const left = /\$__\w+/.exec(out);
  if (left) throw new Error(`${left[0]} is not a macro of the ClickHouse plugin`);
  return out;
}

/** The SQL ClickHouse receives for a panel or alert query. */
export function grafanaSql(sql: string, context: QueryContext): string {
  return expandMacros(
    interpolateVariables(applyConditionalAll(sql, context), context.variables),
    context,
  );
}

/** Grafana's relative durations as used in panel overrides and rules: 10s, 5m, 1h, 7d. */
export function durationMs(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d|w)$/.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[
    match[2] as 'ms'
  ];
  return Number(match[1]) * unit;
}
