import { isUtf8 } from 'node:buffer';

/**
 * UTF-8 that is not silently repaired. `Buffer#toString('utf8')` and fastify's string bodies put
 * U+FFFD where bytes are not UTF-8, so an event would be stored with characters its sender never
 * sent. Bluelight refuses such input instead, saying where: these helpers find the bytes and the
 * fields holding them.
 */

/** Length of the well-formed UTF-8 sequence at `at` (Unicode's table 3-7), or 0 if there is none. */
function sequenceLength(bytes: Uint8Array, at: number): number {
  const lead = bytes[at] as number;
  if (lead < 0x80) return 1;
  const inRange = (offset: number, low: number, high: number) => {
    const byte = bytes[at + offset];
    return byte !== undefined && byte >= low && byte <= high;
  };
  const tail = (from: number, to: number) => {
    for (let offset = from; offset <= to; offset++) if (!inRange(offset, 0x80, 0xbf)) return false;
    return true;
  };
  if (lead >= 0xc2 && lead <= 0xdf) return tail(1, 1) ? 2 : 0;
  if (lead === 0xe0) return inRange(1, 0xa0, 0xbf) && tail(2, 2) ? 3 : 0;
  if (lead === 0xed) return inRange(1, 0x80, 0x9f) && tail(2, 2) ? 3 : 0;
  if (lead >= 0xe1 && lead <= 0xef) return tail(1, 2) ? 3 : 0;
  if (lead === 0xf0) return inRange(1, 0x90, 0xbf) && tail(2, 3) ? 4 : 0;
  if (lead >= 0xf1 && lead <= 0xf3) return tail(1, 3) ? 4 : 0;
  if (lead === 0xf4) return inRange(1, 0x80, 0x8f) && tail(2, 3) ? 4 : 0;
  return 0;
}

export interface DecodedUtf8 {
  /**
   * The text. Each byte that is not part of well-formed UTF-8 is an unpaired surrogate
   * (U+DC80–U+DCFF, as Python's `surrogateescape`), which valid UTF-8 can never produce, so the
   * strings holding it can be found after parsing (`notUnicodePaths`).
   */
  text: string;
  /** Offsets of the bytes that are not UTF-8 (empty when all is well-formed). */
  invalidOffsets: number[];
}

/** Decodes UTF-8 without repairing it: see DecodedUtf8. */
export function decodeUtf8(bytes: Uint8Array): DecodedUtf8 {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The common case, checked natively.
  if (isUtf8(buffer)) return { text: buffer.toString('utf8'), invalidOffsets: [] };
  const parts: string[] = [];
  const invalidOffsets: number[] = [];
  let runStart = 0;
  let at = 0;
  while (at < buffer.length) {
    const length = sequenceLength(buffer, at);
    if (length > 0) {
      at += length;
      continue;
    }
    parts.push(
      buffer.toString('utf8', runStart, at),
      String.fromCharCode(0xdc00 + (buffer[at] as number)),
    );
    invalidOffsets.push(at);
    at += 1;
    runStart = at;
  }
  parts.push(buffer.toString('utf8', runStart));
  return { text: parts.join(''), invalidOffsets };
}

/** "byte 0xFF at offset 12" (and how many more), for messages. */
export function describeInvalidUtf8(bytes: Uint8Array, invalidOffsets: number[]): string {
  const [first] = invalidOffsets;
  if (first === undefined) return 'valid UTF-8';
  const byte = (bytes[first] as number).toString(16).toUpperCase().padStart(2, '0');
  const more = invalidOffsets.length - 1;
  return `byte 0x${byte} at offset ${first} is not UTF-8${more > 0 ? ` (and ${more} more byte${more === 1 ? '' : 's'})` : ''}`;
}

/** An unpaired surrogate: with the `u` flag, paired ones are one code point and do not match. */
const UNPAIRED_SURROGATE = /[\uD800-\uDFFF]/u;

/** True when the string is Unicode text: it holds no unpaired surrogate. */
export function isUnicodeText(text: string): boolean {
  return !UNPAIRED_SURROGATE.test(text);
}

function fieldPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

/**
 * The field paths (`payload.location.area`, `items[2]`) of the strings and property names in a
 * parsed JSON value that are not Unicode text: bytes that were not UTF-8 (see decodeUtf8), or an
 * unpaired surrogate sent as a `\uD800`…`\uDFFF` escape. A property name is shown with U+FFFD in
 * place of what it could not hold. Iterative, so a value nested thousands deep cannot overflow
 * the stack.
 */
export function notUnicodePaths(value: unknown): string[] {
  const found: string[] = [];
  const todo: { value: unknown; path: string }[] = [{ value, path: '' }];
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    const { value: current, path } = next;
    if (typeof current === 'string') {
      if (!isUnicodeText(current)) found.push(path || '(value)');
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    const children: { value: unknown; path: string }[] = [];
    if (Array.isArray(current)) {
      current.forEach((item, index) => {
        children.push({ value: item, path: fieldPath(path, index) });
      });
    } else {
      for (const [key, item] of Object.entries(current)) {
        const here = fieldPath(
          path,
          isUnicodeText(key) ? key : key.replace(/[\uD800-\uDFFF]/gu, '\uFFFD'),
        );
        // A bad property name is reported before what it holds, in document order.
        children.push(...(isUnicodeText(key) ? [] : [{ value: '\uDC80', path: here }]), {
          value: item,
          path: here,
        });
      }
    }
    // Pushed in reverse, so they are visited in document order.
    for (let index = children.length - 1; index >= 0; index--)
      todo.push(children[index] as (typeof children)[number]);
  }
  return found;
}

/** What a field that is not Unicode text is refused with. */
export const NOT_UTF8_MESSAGE =
  'is not valid UTF-8 text: it holds bytes that are not UTF-8 (or an unpaired surrogate escape \\uD800–\\uDFFF); it was refused, not repaired';
