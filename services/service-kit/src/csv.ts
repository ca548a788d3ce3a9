/**
 * CSV fields as every Bluelight CSV writes them (the query API's exports, `bluelight report
 * --format csv`, the importer's error file): RFC 4180 quoting, and text that a spreadsheet would
 * run as a formula defused, as OWASP's CSV-injection guidance says.
 *
 * - A number is written as it is: `-12.5` stays a number a spreadsheet can add up.
 * - Text starting with `=`, `+`, `-`, `@`, a tab or a carriage return (what Excel, LibreOffice
 *   and Google Sheets read as the start of a formula) gets a leading `'` and is quoted:
 *   `=HYPERLINK("…")` is written `"'=HYPERLINK(""…"")"`, which a spreadsheet shows as text.
 * - Text holding a comma, a semicolon (the separator of spreadsheets in many locales, which
 *   would otherwise start a new cell there), a double quote or a line break is quoted, inner
 *   quotes doubled.
 * - null and undefined are an empty field.
 */

export type CsvValue = string | number | bigint | boolean | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",;\r\n]/;

const quoted = (text: string) => `"${text.replaceAll('"', '""')}"`;

export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value !== 'string') return String(value);
  if (FORMULA_START.test(value)) return quoted(`'${value}`);
  return NEEDS_QUOTES.test(value) ? quoted(value) : value;
}

/** One CSV record (no line ending): the fields, each written by csvField, joined with commas. */
export function csvRecord(values: readonly CsvValue[]): string {
  return values.map(csvField).join(',');
}
