import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { csvRecord } from '@bluelight/service-kit';

/** One rejected row: where it is, which event and field failed, from which column, and why. */
export interface RowError {
  file: string;
  line: number;
  record: string;
  event_type?: string;
  field?: string;
  column?: string;
  value?: string;
  reason: string;
}

/** Where every rejected row goes (the summary keeps only the first few). */
export interface RowErrorSink {
  add(error: RowError): Promise<void>;
  close(): Promise<void>;
}

const CSV_COLUMNS = [
  'file',
  'line',
  'record',
  'event_type',
  'field',
  'column',
  'value',
  'reason',
] as const satisfies readonly (keyof RowError)[];

/** An error report file: CSV when the name ends in .csv, NDJSON (one JSON object a line) otherwise. */
export async function openRowErrorFile(path: string): Promise<RowErrorSink> {
  const asCsv = path.toLowerCase().endsWith('.csv');
  const stream = createWriteStream(path, { encoding: 'utf8' });
  await once(stream, 'open');
  const write = async (line: string) => {
    if (!stream.write(line)) await once(stream, 'drain');
  };
  if (asCsv) await write(`${CSV_COLUMNS.join(',')}\n`);
  return {
    add: (error) =>
      write(
        asCsv
          ? `${csvRecord(CSV_COLUMNS.map((column) => error[column]))}\n`
          : `${JSON.stringify(error)}\n`,
      ),
    close: async () => {
      stream.end();
      await once(stream, 'finish');
    },
  };
}
