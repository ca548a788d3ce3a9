/**
 * What a stat or gauge panel shows of a query result: a model of Grafana's `getFieldDisplayValues`
 * (packages/grafana-data/src/field/fieldDisplay.ts) for the options Bluelight's panels use —
 * `reduceOptions.values`, `calcs`, `fields` and `limit`. Used by the generator's check (every row
 * a wall screen should show is shown) and by the dashboard previews, so a panel that would show
 * one row's number in Grafana shows it in the preview too.
 *
 * - `fields` empty: every numeric field; otherwise a regular expression (`/…/flags`, or a plain
 *   string taken as one) tested against each field's display name.
 * - `values: true`: one value per row of each matched field, named by the row's non-empty string
 *   fields (plus the field's own name when another numeric field exists or no string has a
 *   value: `getSmartDisplayNameForRow`), at most `limit` values (25 by default).
 * - `values: false`: each matched field is reduced over its rows by each of `calcs` (`last` when
 *   none is given): one value per field and calculation, named by the field's display name.
 * - Nothing matched: one "No data" value.
 */

export type FieldKind = 'number' | 'string' | 'time' | 'other';

export interface DisplayField {
  name: string;
  kind: FieldKind;
  values: unknown[];
  /** The field's `displayName` (from an override or the defaults), when set. */
  displayName?: string;
}

export interface ReduceOptions {
  values?: boolean;
  calcs?: string[];
  fields?: string;
  limit?: number;
}

export interface DisplayedValue {
  /** The title Grafana draws beside or above the number. */
  title: string;
  /** The number (or text, for a matched string field); null draws the panel's "no value". */
  value: number | string | null;
  /** The field the value came from. */
  field: string;
  /** The row it came from (values: true), or the calculation (values: false). */
  row?: number;
  calc?: string;
}

/** Grafana's DEFAULT_FIELD_DISPLAY_VALUES_LIMIT. */
export const DEFAULT_VALUES_LIMIT = 25;

const displayNameOf = (field: DisplayField) => field.displayName ?? field.name;

/** Grafana's stringToJsRegex: `/pattern/flags`, or the whole string as a pattern. */
function toRegExp(text: string): RegExp {
  const match = /^\/(.*)\/([gimsuy]*)$/.exec(text);
  return match ? new RegExp(match[1] ?? '', match[2]) : new RegExp(`^${text}$`);
}

const isNumber = (value: unknown): value is number =>
  typeof value === 'number' && !Number.isNaN(value);

/** Grafana's standard reducers (packages/grafana-data/src/transformations/fieldReducer.ts). */
export function reduce(values: unknown[], calc: string): number | null {
  const numbers = values.filter(isNumber);
  switch (calc) {
    case 'last': {
      const last = values.at(-1);
      return isNumber(last) ? last : null;
    }
    case 'lastNotNull':
      return numbers.at(-1) ?? null;
    case 'first': {
      const first = values[0];
      return isNumber(first) ? first : null;
    }
    case 'firstNotNull':
      return numbers[0] ?? null;
    case 'sum':
      return numbers.reduce((total, value) => total + value, 0);
    case 'mean':
      return numbers.length === 0 ? null : numbers.reduce((t, v) => t + v, 0) / numbers.length;
    case 'max':
      return numbers.length === 0 ? null : Math.max(...numbers);
    case 'min':
      return numbers.length === 0 ? null : Math.min(...numbers);
    case 'count':
      return values.length;
    default:
      throw new Error(`reducer ${calc} is not modelled`);
  }
}

function rowTitle(fields: DisplayField[], field: DisplayField, row: number): string {
  if (field.displayName) return field.displayName;
  const parts: string[] = [];
  let otherNumeric = 0;
  for (const other of fields) {
    if (other === field) continue;
    if (other.kind === 'string') {
      const value = String(other.values[row] ?? '');
      if (value.length > 0) parts.push(value);
    } else if (other.kind === 'number') otherNumeric++;
  }
  if (otherNumeric > 0 || parts.length === 0) parts.push(displayNameOf(field));
  return parts.join(' ');
}

/** The values a stat or gauge panel draws for one frame (one query's result). */
export function displayedValues(fields: DisplayField[], options: ReduceOptions): DisplayedValue[] {
  const calcs = options.calcs && options.calcs.length > 0 ? options.calcs : ['last'];
  const pattern = options.fields ? toRegExp(options.fields) : undefined;
  const matches = (field: DisplayField) =>
    pattern ? pattern.test(displayNameOf(field)) : field.kind === 'number';
  const limit = options.limit ? options.limit : DEFAULT_VALUES_LIMIT;
  const shown: DisplayedValue[] = [];
  for (const field of fields) {
    if (!matches(field)) continue;
    if (options.values) {
      for (let row = 0; row < field.values.length; row++) {
        const raw = field.values[row];
        shown.push({
          title: rowTitle(fields, field, row),
          value: isNumber(raw) || typeof raw === 'string' ? raw : null,
          field: field.name,
          row,
        });
        if (shown.length >= limit) return shown;
      }
    } else {
      for (const calc of calcs) {
        shown.push({
          title: displayNameOf(field),
          value: field.kind === 'number' ? reduce(field.values, calc) : null,
          field: field.name,
          calc,
        });
      }
    }
  }
  if (shown.length === 0) shown.push({ title: 'No data', value: null, field: '' });
  return shown;
}

const NUMERIC = /^(Nullable\()?(U?Int\d+|Float\d+|Decimal)/;
const TIME = /^(Nullable\()?(DateTime|Date)/;

/**
 * A ClickHouse result (column names and types, JSON rows) as the plugin's table frame: numbers,
 * times and strings; `displayNames` are the panel's `displayName` overrides by field name.
 */
export function frameOf(
  meta: { name: string; type: string }[],
  rows: Record<string, unknown>[],
  displayNames: Record<string, string> = {},
): DisplayField[] {
  return meta.map((column) => {
    const kind: FieldKind = NUMERIC.test(column.type)
      ? 'number'
      : TIME.test(column.type)
        ? 'time'
        : /String|Enum|UUID/.test(column.type)
          ? 'string'
          : 'other';
    const values = rows.map((row) => {
      const value = row[column.name];
      return kind === 'number' && value !== null && value !== undefined ? Number(value) : value;
    });
    const field: DisplayField = { name: column.name, kind, values };
    const displayName = displayNames[column.name];
    if (displayName !== undefined) field.displayName = displayName;
    return field;
  });
}

/** A panel's `displayName` overrides by field name (fieldConfig.overrides, matcher byName). */
export function displayNameOverrides(fieldConfig: unknown): Record<string, string> {
  const names: Record<string, string> = {};
  const overrides = (fieldConfig as { overrides?: unknown[] } | undefined)?.overrides ?? [];
  for (const override of overrides as {
    matcher?: { id?: string; options?: unknown };
    properties?: { id?: string; value?: unknown }[];
  }[]) {
    if (override.matcher?.id !== 'byName' || typeof override.matcher.options !== 'string') continue;
    for (const property of override.properties ?? []) {
      if (property.id === 'displayName' && typeof property.value === 'string')
        names[override.matcher.options] = property.value;
    }
  }
  return names;
}
