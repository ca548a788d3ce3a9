import { describe, expect, it } from 'vitest';
import { decodeUtf8, describeInvalidUtf8, isUnicodeText, notUnicodePaths } from './utf8.js';

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(
    parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))),
  );

describe('decodeUtf8', () => {
  it('decodes well-formed UTF-8 as it is, U+FFFD sent as UTF-8 included', () => {
    const text = 'Stoke-on-Trent — Hanley, café, 🚒, \uFFFD';
    expect(decodeUtf8(Buffer.from(text))).toEqual({ text, invalidOffsets: [] });
  });

  it('finds every byte that is not UTF-8, and keeps the text around it', () => {
    // A Latin-1 é (0xE9 alone), a lone continuation byte, an overlong "/" (C0 AF), a UTF-8
    // encoded surrogate (ED A0 80), a truncated 3-byte sequence at the end.
    const input = bytes(
      'caf',
      [0xe9],
      ' x',
      [0x80],
      'y',
      [0xc0, 0xaf],
      'z',
      [0xed, 0xa0, 0x80],
      'end',
      [0xe2, 0x82],
    );
    const decoded = decodeUtf8(input);
    expect(decoded.invalidOffsets).toEqual([3, 6, 8, 9, 11, 12, 13, 17, 18]);
    expect(decoded.text.replace(/[\uD800-\uDFFF]/gu, '?')).toBe('caf? x?y??z???end??');
    expect(isUnicodeText(decoded.text)).toBe(false);
    expect(describeInvalidUtf8(input, decoded.invalidOffsets)).toBe(
      'byte 0xE9 at offset 3 is not UTF-8 (and 8 more bytes)',
    );
  });

  it('accepts the edges of each sequence length', () => {
    for (const char of [
      '\u007f',
      '\u0080',
      '\u07ff',
      '\u0800',
      '\ud7ff',
      '\ue000',
      '\uffff',
      '\u{10000}',
      '\u{10ffff}',
    ]) {
      expect(decodeUtf8(Buffer.from(char)).invalidOffsets, JSON.stringify(char)).toEqual([]);
    }
    // Above U+10FFFF (F4 90 …) and the leads F5–FF are never UTF-8.
    expect(decodeUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80])).invalidOffsets).toEqual([0, 1, 2, 3]);
    expect(decodeUtf8(Buffer.from([0xff])).invalidOffsets).toEqual([0]);
  });
});

describe('notUnicodePaths', () => {
  it('names each string and property name that is not Unicode text, by its field path', () => {
    const { text } = decodeUtf8(
      bytes(
        '{"event_id":"e1","payload":{"location":{"area":"Stoke',
        [0xff],
        '"},"list":["ok","',
        [0xc3],
        '"]}}',
      ),
    );
    expect(notUnicodePaths(JSON.parse(text))).toEqual(['payload.location.area', 'payload.list[1]']);
    // An unpaired surrogate sent as an escape is no Unicode text either; a pair is fine.
    expect(notUnicodePaths(JSON.parse('{"a":"\\ud83d\\ude92","b":"\\udc80"}'))).toEqual(['b']);
    expect(notUnicodePaths(JSON.parse('{"\\ud800x":1}'))).toEqual(['\uFFFDx']);
    expect(notUnicodePaths({ a: 1, b: [null, true] })).toEqual([]);
  });
});

describe('notUnicodePaths on deep values', () => {
  it('walks a value nested 100,000 deep without overflowing the stack', () => {
    let value: unknown = '\udc80';
    for (let level = 0; level < 100_000; level++) value = level % 2 === 0 ? [value] : { d: value };
    // Outermost is level 99,999, an object: d, then [0].d for each pair of levels, the innermost [0].
    expect(notUnicodePaths(value)).toEqual([`d${'[0].d'.repeat(49_999)}[0]`]);
  });
});
