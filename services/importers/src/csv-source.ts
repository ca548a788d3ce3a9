import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { type CsvError, type Info, parse } from 'csv-parse';
import type { CsvOptionsSpec } from './mapping-schema.js';

/**
 * Streams a CSV file (plain or gzip-compressed, told apart by its first bytes) row by row, so a
 * file larger than memory can be imported. Progress is counted in bytes of the file as stored.
 */

export type CsvItem =
  | { kind: 'row'; line: number; cells: string[] }
  | { kind: 'malformed'; line: number; reason: string };

async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

interface ParsedRecord {
  record: string[];
  info: Info;
}

/**
 * Every record of the file (the header too, when there is one) with the line it starts on;
 * records the parser cannot read (say, an unclosed quote) come as `malformed` with the reason.
 */
async function* records(
  path: string,
  options: CsvOptionsSpec,
  onBytes: (count: number) => void,
  limit?: number,
): AsyncGenerator<CsvItem> {
  const skipped: CsvItem[] = [];
  const compressed = await isGzip(path);
  const file = createReadStream(path);
  const parser = parse({
    delimiter: options.delimiter,
    quote: options.quote,
    encoding: options.encoding,
    bom: true,
    trim: true,
    info: true,
    skip_empty_lines: true,
    // A row with too few or too many cells is reported by the importer, not thrown here.
    relax_column_count: true,
    skip_records_with_error: true,
    on_skip: (error: CsvError | undefined) => {
      if (error) {
        const line = (error as CsvError & { lines?: number }).lines ?? 0;
        skipped.push({ kind: 'malformed', line, reason: error.message });
      }
      return undefined;
    },
    ...(limit === undefined ? {} : { to: limit }),
  });
  const piped = compressed ? pipeline(file, createGunzip(), parser) : pipeline(file, parser);
  // Counted beside the pipe, which was attached first: no chunk is missed.
  file.on('data', (chunk) => onBytes(chunk.length));
  // A failure anywhere surfaces through the parser being iterated below.
  piped.catch(() => undefined);
  let previousLastLine = 0;
  let previousEmptyLines = 0;
  try {
    for await (const { record, info } of parser as Readable & AsyncIterable<ParsedRecord>) {
      yield* skipped.splice(0);
      // The parser says where a record ends; it starts after the previous one and any blank lines.
      const line = previousLastLine + 1 + (info.empty_lines - previousEmptyLines);
      previousLastLine = info.lines;
      previousEmptyLines = info.empty_lines;
      yield { kind: 'row', line, cells: record };
    }
    await piped;
    yield* skipped.splice(0);
  } finally {
    file.destroy();
  }
}

/** The header's column names (the first record), or undefined for an empty file. */
export async function readHeader(
  path: string,
  options: CsvOptionsSpec,
): Promise<string[] | undefined> {
  if (options.header !== true) return [...options.header];
  for await (const item of records(path, options, () => {}, 1)) {
    if (item.kind === 'row') return item.cells;
  }
  return undefined;
}

/** The data rows (after the header, when the file has one) and the records it could not read. */
export async function* readRows(
  path: string,
  options: CsvOptionsSpec,
  onBytes: (count: number) => void,
): AsyncGenerator<CsvItem> {
  let headerSkipped = options.header !== true;
  for await (const item of records(path, options, onBytes)) {
    if (!headerSkipped && item.kind === 'row') {
      headerSkipped = true;
      continue;
    }
    yield item;
  }
}
