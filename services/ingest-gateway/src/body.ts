import type { FieldError } from '@bluelight/schemas';
import { HttpError, NOT_UTF8_MESSAGE, notUnicodePaths } from '@bluelight/service-kit';

export const JSON_TYPE = 'application/json';
export const NDJSON_TYPE = 'application/x-ndjson';

/** A request body split into its events, not yet checked against the contract. */
export type ParsedBody =
  | { format: 'json'; items: unknown[] }
  /** NDJSON lines are parsed one by one later, so a bad line rejects only itself. */
  | { format: 'ndjson'; lines: { line: number; text: string }[] };

/** One event of a request, by its position among the request's events (0-based). */
export type DecodedItem =
  | { index: number; line?: number; ok: true; value: unknown }
  | {
      index: number;
      line?: number;
      ok: false;
      /** not_json: an NDJSON line that is not JSON; not_utf8: text fields that are not UTF-8. */
      reason: 'not_json' | 'not_utf8';
      errors: FieldError[];
      /** The event's id, when it carried one that can be read. */
      eventId?: string;
    };

function describeJsonError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export const EMPTY_BODY_MESSAGE =
  'the body is empty: send a JSON array of events (application/json) or one event per line (application/x-ndjson)';

export function parseJsonArrayBody(text: string): ParsedBody {
  if (text.trim() === '') throw new HttpError(400, 'bad_request', EMPTY_BODY_MESSAGE);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, 'bad_request', `the body is not JSON: ${describeJsonError(error)}`);
  }
  if (!Array.isArray(value)) {
    const got = value === null ? 'null' : typeof value;
    throw new HttpError(
      400,
      'bad_request',
      `the body must be a JSON array of events, got ${got === 'object' ? 'an object' : got} (send one event as [event])`,
    );
  }
  return { format: 'json', items: value };
}

/** Splits NDJSON into its non-blank lines (numbered from 1 as in the body); `\r\n` is allowed. */
export function splitNdjsonBody(text: string): ParsedBody {
  const lines: { line: number; text: string }[] = [];
  text.split('\n').forEach((raw, position) => {
    const trimmed = raw.trim();
    if (trimmed !== '') lines.push({ line: position + 1, text: trimmed });
  });
  if (lines.length === 0) throw new HttpError(400, 'bad_request', EMPTY_BODY_MESSAGE);
  return { format: 'ndjson', lines };
}

export function eventCount(body: ParsedBody): number {
  return body.format === 'json' ? body.items.length : body.lines.length;
}

/**
 * An event value as decoded, or its refusal when a field is not UTF-8 text: bodies are decoded
 * with decodeUtf8, which leaves bytes that are not UTF-8 findable instead of replacing them.
 */
function checkedItem(index: number, line: number | undefined, value: unknown): DecodedItem {
  const at = line === undefined ? {} : { line };
  const paths = notUnicodePaths(value);
  if (paths.length === 0) return { index, ...at, ok: true, value };
  const eventId = (value as { event_id?: unknown } | null)?.event_id;
  return {
    index,
    ...at,
    ok: false,
    reason: 'not_utf8',
    errors: paths.map((path) => ({ path, message: NOT_UTF8_MESSAGE })),
    ...(typeof eventId === 'string' && !paths.includes('event_id') ? { eventId } : {}),
  };
}

export function decodeItems(body: ParsedBody): DecodedItem[] {
  if (body.format === 'json') {
    return body.items.map((value, index) => checkedItem(index, undefined, value));
  }
  return body.lines.map(({ line, text }, index): DecodedItem => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return {
        index,
        line,
        ok: false,
        reason: 'not_json',
        errors: [{ path: `(line ${line})`, message: `not JSON: ${describeJsonError(error)}` }],
      };
    }
    return checkedItem(index, line, value);
  });
}
