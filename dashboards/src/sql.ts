/**
 * ClickHouse literals for the values a standard's KPI query carries as parameters, and the
 * renderer that turns a builder's `{name:Type}` placeholders into Grafana SQL.
 *
 * A dashboard cannot send query parameters: Grafana interpolates its own macros and template
 * variables into the SQL text and the ClickHouse plugin sends the result as is. So every
 * parameter becomes either a Grafana expression (period bounds, template-variable filters) or a
 * typed, escaped literal of the value the checked configuration gave.
 */

/** Grafana expands `$name`, `${name}` and `[[name]]` anywhere in a query: keep them out of literals. */
function escapeString(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/'/g, "\\'")
    .replace(/\$/g, '\\x24')
    .replace(/\[/g, '\\x5B')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replace(/\0/g, '\\0');
}

const INTEGER_RANGES: Record<string, [bigint, bigint]> = {
  UInt8: [0n, 255n],
  UInt16: [0n, 65_535n],
  UInt32: [0n, 4_294_967_295n],
  UInt64: [0n, 18_446_744_073_709_551_615n],
  Int8: [-128n, 127n],
  Int16: [-32_768n, 32_767n],
  Int32: [-2_147_483_648n, 2_147_483_647n],
  Int64: [-9_223_372_036_854_775_808n, 9_223_372_036_854_775_807n],
};

/** A ClickHouse literal of exactly `type` for `value`; throws on a value that does not fit. */
export function sqlLiteral(value: unknown, type: string): string {
  const array = /^Array\((.+)\)$/.exec(type);
  if (array?.[1]) {
    if (!Array.isArray(value)) throw new TypeError(`expected an array for ${type}`);
    const inner = array[1];
    // An empty [] is Array(Nothing): say the element type.
    if (value.length === 0) return `CAST([] AS ${type})`;
    return `[${value.map((item) => sqlLiteral(item, inner)).join(', ')}]`;
  }
  if (type in INTEGER_RANGES) {
    const range = INTEGER_RANGES[type] as [bigint, bigint];
    if (typeof value === 'boolean') return sqlLiteral(value ? 1 : 0, type);
    if (typeof value !== 'number' || !Number.isInteger(value))
      throw new TypeError(`expected an integer for ${type}, got ${String(value)}`);
    const big = BigInt(value);
    if (big < range[0] || big > range[1]) throw new RangeError(`${value} does not fit ${type}`);
    return `to${type}(${value})`;
  }
  switch (type) {
    case 'Float64':
    case 'Float32': {
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw new TypeError(`expected a finite number for ${type}, got ${String(value)}`);
      // A literal with a decimal point or exponent is Float64 in ClickHouse; it stays a literal
      // (not a function call) so it may also be an aggregate function's parameter.
      const text = String(value);
      const float = /[.e]/.test(text) ? text : `${text}.0`;
      return type === 'Float64' ? float : `toFloat32(${float})`;
    }
    case 'String':
      if (typeof value !== 'string') throw new TypeError(`expected a string for String`);
      return `'${escapeString(value)}'`;
    case 'Date':
      if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value))
        throw new TypeError(`expected a date YYYY-MM-DD for Date, got ${String(value)}`);
      return `toDate('${value}')`;
    default:
      throw new TypeError(`no literal for ClickHouse type ${type}`);
  }
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*):([^{}]+)\}/g;

/**
 * The builder's SQL with each `{name:Type}` replaced: by `expressions[name]` when given (a
 * Grafana macro or variable expression), otherwise by the typed literal of `params[name]`.
 * Throws when a placeholder has no value, or an expression names no placeholder (a typo would
 * otherwise silently leave a figure unfiltered).
 */
export function renderParameters(
  query: string,
  params: Record<string, unknown>,
  expressions: Record<string, string> = {},
): string {
  if (query.includes('$')) throw new Error('builder SQL must not contain "$" (Grafana syntax)');
  const used = new Set<string>();
  const sql = query.replace(PLACEHOLDER, (_, name: string, type: string) => {
    used.add(name);
    const expression = expressions[name];
    if (expression !== undefined) return expression;
    if (!(name in params)) throw new Error(`query parameter ${name} has no value`);
    // Integer literals such as toUInt8(1) are fine in comparisons; Float64 stays a bare literal.
    return sqlLiteral(params[name], type);
  });
  const unused = Object.keys(expressions).filter((name) => !used.has(name));
  if (unused.length > 0) throw new Error(`no placeholder for ${unused.join(', ')}`);
  return sql;
}
