import { HttpError as RequestError } from '@bluelight/service-kit';
import { describe, expect, it } from 'vitest';
import { decodeItems, eventCount, parseJsonArrayBody, splitNdjsonBody } from './body.js';

function refusal(parse: () => unknown): { statusCode: number; message: string } {
  try {
    parse();
  } catch (error) {
    if (error instanceof RequestError)
      return { statusCode: error.statusCode, message: error.message };
    throw error;
  }
  throw new Error('expected a RequestError');
}

describe('parseJsonArrayBody', () => {
  it('takes a JSON array of anything (events are checked one by one later)', () => {
    expect(parseJsonArrayBody('[{"a":1}, 2, "x"]')).toEqual({
      format: 'json',
      items: [{ a: 1 }, 2, 'x'],
    });
    expect(parseJsonArrayBody('[]')).toEqual({ format: 'json', items: [] });
  });

  it('refuses an empty body, bad JSON and anything but an array with 400', () => {
    expect(refusal(() => parseJsonArrayBody(' \n'))).toEqual({
      statusCode: 400,
      message:
        'the body is empty: send a JSON array of events (application/json) or one event per line (application/x-ndjson)',
    });
    expect(refusal(() => parseJsonArrayBody('[{"a":'))).toEqual({
      statusCode: 400,
      message: 'the body is not JSON: Unexpected end of JSON input',
    });
    expect(refusal(() => parseJsonArrayBody('{"event_id":"x"}'))).toEqual({
      statusCode: 400,
      message: 'the body must be a JSON array of events, got an object (send one event as [event])',
    });
    expect(refusal(() => parseJsonArrayBody('null')).message).toBe(
      'the body must be a JSON array of events, got null (send one event as [event])',
    );
    expect(refusal(() => parseJsonArrayBody('"x"')).message).toBe(
      'the body must be a JSON array of events, got string (send one event as [event])',
    );
  });
});

describe('splitNdjsonBody and decodeItems', () => {
  it('numbers events among non-blank lines and keeps each line number; CRLF is fine', () => {
    const body = splitNdjsonBody('{"a":1}\r\n\n  \nnot json\n{"b":2}\n');
    expect(eventCount(body)).toBe(3);
    expect(decodeItems(body)).toEqual([
      { index: 0, line: 1, ok: true, value: { a: 1 } },
      {
        index: 1,
        line: 4,
        ok: false,
        reason: 'not_json',
        errors: [
          { path: '(line 4)', message: expect.stringMatching(/^not JSON: Unexpected token/) },
        ],
      },
      { index: 2, line: 5, ok: true, value: { b: 2 } },
    ]);
  });

  it('refuses a body of blank lines with 400', () => {
    expect(refusal(() => splitNdjsonBody('\n \r\n')).statusCode).toBe(400);
  });

  it('indexes JSON array items from 0 without line numbers', () => {
    expect(decodeItems(parseJsonArrayBody('[1,{"b":2}]'))).toEqual([
      { index: 0, ok: true, value: 1 },
      { index: 1, ok: true, value: { b: 2 } },
    ]);
  });
});
