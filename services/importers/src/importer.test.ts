import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EventOutput } from '@bluelight/event-output';
import type { BluelightEvent } from '@bluelight/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImportInputError, importFiles, OutputError } from './importer.js';
import { compileMapping } from './mapping.js';

const MAPPING = compileMapping(
  `name: arrivals
source: test-cad
agency: test-fire
time_zone: Europe/London
timestamp_formats:
  iso_local: yyyy-MM-dd HH:mm:ss
records:
  arrivals:
    events:
      - type: incident.resource_arrived
        occurred_at: { timestamp: Arrived, format: iso_local }
        payload: { incident_id: { column: Incident }, resource_id: { column: Unit } }
`,
  'arrivals.yaml',
);

/** Remembers what it was given, batch by batch. */
function memoryOutput(failWith?: Error): EventOutput & { batches: BluelightEvent[][] } {
  const batches: BluelightEvent[][] = [];
  return {
    description: 'memory',
    batches,
    write: async (events) => {
      if (failWith) throw failWith;
      batches.push(events);
    },
    close: async () => {},
  };
}

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(path.join(os.tmpdir(), 'bluelight-importer-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function csvFile(name: string, lines: string[]): Promise<string> {
  const file = path.join(directory, name);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

describe('importFiles', () => {
  it('writes events in batches of 2,000, in file order', async () => {
    const rows = Array.from(
      { length: 4_500 },
      (_, index) =>
        `INC-${index},P${index % 7},2024-01-01 ${String(index % 24).padStart(2, '0')}:00:00`,
    );
    const file = await csvFile('many.csv', ['Incident,Unit,Arrived', ...rows]);
    const output = memoryOutput();
    const summary = await importFiles({ mapping: MAPPING, files: [file], output });
    expect(output.batches.map((batch) => batch.length)).toEqual([2_000, 2_000, 500]);
    expect(
      output.batches.flat().map((event) => (event.payload as { incident_id: string }).incident_id),
    ).toEqual(rows.map((_, index) => `INC-${index}`));
    expect(summary).toMatchObject({ rowsRead: 4_500, rowsImported: 4_500, eventsWritten: 4_500 });
  });

  it('reports rows with the wrong number of cells and unreadable CSV by line, and imports the rest', async () => {
    const file = await csvFile('broken.csv', [
      'Incident,Unit,Arrived',
      'INC-1,P1,2024-01-01 10:00:00',
      'INC-2,P2,2024-01-01 10:05:00,extra',
      '',
      'INC-3,"P3,2024-01-01 10:10:00',
    ]);
    const summary = await importFiles({ mapping: MAPPING, files: [file], output: memoryOutput() });
    expect(summary).toMatchObject({ rowsImported: 1, rowsRejected: 2 });
    expect(summary.firstErrors).toEqual([
      { file, line: 3, record: 'arrivals', reason: 'has 4 cells where the header has 3' },
      {
        file,
        line: 5,
        record: 'arrivals',
        reason: expect.stringMatching(/^unreadable CSV: Quote Not Closed/),
      },
    ]);
  });

  it('rejects a row dated before the earliest event time, naming the field and column', async () => {
    // A CAD export that writes an empty arrival as 1 January 1900.
    const file = await csvFile('old.csv', [
      'Incident,Unit,Arrived',
      'INC-1,P1,2024-01-01 10:00:00',
      'INC-2,P2,1900-01-01 00:00:00',
      'INC-3,P3,2015-06-01 12:00:00',
    ]);
    const byDefault = await importFiles({
      mapping: MAPPING,
      files: [file],
      output: memoryOutput(),
    });
    expect(byDefault).toMatchObject({ rowsImported: 2, rowsRejected: 1 });
    expect(byDefault.firstErrors).toEqual([
      {
        file,
        line: 3,
        record: 'arrivals',
        event_type: 'incident.resource_arrived',
        field: 'occurred_at',
        column: 'Arrived',
        value: '1900-01-01 00:00:00',
        reason: expect.stringMatching(/^is before the earliest event time accepted, 2000-01-01T/),
      },
    ]);
    // EARLIEST_EVENT_TIME, as the import command reads it, moves the bound.
    const output = memoryOutput();
    const later = await importFiles({
      mapping: MAPPING,
      files: [file],
      output,
      earliestEventTime: new Date('2020-01-01T00:00:00Z'),
    });
    expect(later).toMatchObject({ rowsImported: 1, rowsRejected: 2 });
    expect(output.batches.flat().map((event) => event.payload)).toEqual([
      { incident_id: 'INC-1', resource_id: 'P1' },
    ]);
  });

  it('reads a file without a header, with another delimiter, as the csv options say', async () => {
    const headerless = compileMapping(
      `name: headerless
source: test-cad
agency: test-fire
time_zone: America/Los_Angeles
csv: { delimiter: ';', header: [Incident, Unit, Arrived] }
timestamp_formats:
  iso_local: yyyy-MM-dd HH:mm:ss
records:
  arrivals:
    events:
      - type: incident.resource_arrived
        occurred_at: { timestamp: Arrived, format: iso_local }
        payload: { incident_id: { column: Incident }, resource_id: { column: Unit } }
`,
      'headerless.yaml',
    );
    const file = await csvFile('headerless.csv', ['INC-1;E01;2024-07-01 10:00:00']);
    const output = memoryOutput();
    await importFiles({ mapping: headerless, files: [file], output });
    // Los Angeles is UTC-7 in July.
    expect(output.batches.flat().map((event) => [event.occurred_at, event.payload])).toEqual([
      ['2024-07-01T17:00:00.000Z', { incident_id: 'INC-1', resource_id: 'E01' }],
    ]);
  });

  it('refuses, before importing anything, a file that lacks a column the mapping reads', async () => {
    const file = await csvFile('no-unit.csv', ['Incident,Arrived', 'INC-1,2024-01-01 10:00:00']);
    const empty = await csvFile('empty.csv', []);
    const output = memoryOutput();
    const attempt = importFiles({ mapping: MAPPING, files: [file, empty], output });
    await expect(attempt).rejects.toThrow(ImportInputError);
    await expect(attempt).rejects.toThrow(
      `${file}: lacks "Unit", which mapping arrivals reads for arrivals\n${empty}: is empty`,
    );
    expect(output.batches).toEqual([]);
  });

  it('says which destination failed', async () => {
    const file = await csvFile('one.csv', [
      'Incident,Unit,Arrived',
      'INC-1,P1,2024-01-01 10:00:00',
    ]);
    const output = memoryOutput(new Error('broker unreachable'));
    await expect(importFiles({ mapping: MAPPING, files: [file], output })).rejects.toThrow(
      new OutputError('writing to memory failed: broker unreachable'),
    );
  });
});
