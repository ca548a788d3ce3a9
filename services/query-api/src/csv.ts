import { type CsvValue, csvField } from '@bluelight/service-kit';

/**
 * CSV as RFC 4180 has it: a header row, CRLF after every record, fields written by the kit's
 * csvField (quoted when needed; text a spreadsheet would run as a formula defused). Nested
 * objects become dotted columns (`excluded.late_call`); lists of plain values become one field
 * joined with `;`.
 */

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One record as columns: nested objects as `a.b.c`, lists of plain values joined with `;`. */
export function flatten(value: Record<string, unknown>, prefix = ''): Record<string, CsvValue> {
  const out: Record<string, CsvValue> = {};
  for (const [key, item] of Object.entries(value)) {
    const column = prefix ? `${prefix}.${key}` : key;
    if (isPlainObject(item)) {
      Object.assign(out, flatten(item, column));
    } else if (Array.isArray(item)) {
      out[column] = item.every((entry) => !isPlainObject(entry) && !Array.isArray(entry))
        ? item
            .map((entry) => (entry === null || entry === undefined ? '' : String(entry)))
            .join(';')
        : JSON.stringify(item);
    } else if (
      item === null ||
      item === undefined ||
      typeof item === 'string' ||
      typeof item === 'number' ||
      typeof item === 'boolean'
    ) {
      out[column] = item;
    } else {
      out[column] = String(item);
    }
  }
  return out;
}

/**
 * The CSV text of records. Columns are `columns` when given, else every column any record has,
 * in the order first seen; a record without a column leaves its field empty.
 */
export function toCsv(records: Record<string, unknown>[], columns?: string[]): string {
  const flat = records.map((record) => flatten(record));
  let header = columns;
  if (!header) {
    const seen = new Set<string>();
    for (const record of flat) for (const column of Object.keys(record)) seen.add(column);
    header = [...seen];
  }
  const lines = [header.map(csvField).join(',')];
  for (const record of flat) lines.push(header.map((column) => csvField(record[column])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** True when the client asked for CSV: `text/csv` among the types it accepts, ahead of JSON. */
export function wantsCsv(accept: string | undefined): boolean {
  return preferredType(accept, ['text/csv', 'application/json']) === 'text/csv';
}

/**
 * Of the media types offered, the one the Accept header ranks highest (by q; the first listed
 * on a tie); undefined when it names none of them (the route's JSON is the default).
 */
export function preferredType(accept: string | undefined, offered: string[]): string | undefined {
  if (!accept) return undefined;
  let best: { type: string; q: number } | undefined;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const qParam = params.find((param) => param.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q) || q <= 0) continue;
    if (!offered.includes(type)) continue;
    if (!best || q > best.q) best = { type, q };
  }
  return best?.type;
}
