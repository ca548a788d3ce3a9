import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { openEventOutput } from '@bluelight/event-output';
import type { BluelightEvent } from '@bluelight/schemas';
import { createLogger } from '@bluelight/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ImportProgress, type ImportSummary, importFiles } from './importer.js';
import { type BuiltInFormat, loadBuiltInMapping } from './mapping.js';
import { openRowErrorFile } from './row-errors.js';
import { readCsvText, SAMPLES } from './testing/samples.js';

/**
 * The issue's "done when": importing the shared samples gives per-incident attendance times equal
 * to the files' own columns. Expected values come from the CSV text, parsed here by hand.
 */

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(path.join(os.tmpdir(), 'bluelight-import-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const logger = createLogger({ service: 'importers-test', level: 'silent' });
let outputs = 0;

async function importToFile(
  format: BuiltInFormat,
  files: string[],
  extra: { errors?: string; onProgress?: (progress: ImportProgress) => void } = {},
): Promise<{ summary: ImportSummary; events: BluelightEvent[]; text: string }> {
  outputs += 1;
  const out = path.join(directory, `${format}-${outputs}.ndjson`);
  const output = await openEventOutput({ kind: 'file', path: out }, logger);
  const errorReport = extra.errors ? await openRowErrorFile(extra.errors) : undefined;
  const summary = await importFiles({
    mapping: await loadBuiltInMapping(format),
    files,
    output,
    ...(errorReport ? { errorReport } : {}),
    ...(extra.onProgress ? { onProgress: extra.onProgress } : {}),
  });
  await output.close();
  await errorReport?.close();
  const text = await readFile(out, 'utf8');
  const events = text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as BluelightEvent);
  return { summary, events, text };
}

type Payload = { incident_id: string; resource_id?: string; call_received_at?: string };
const payloadOf = (event: BluelightEvent) => event.payload as Payload;

/** Per incident: when the call was received and each resource's times by event type. */
function timelines(events: BluelightEvent[]) {
  const callReceived = new Map<string, number>();
  const times = new Map<string, number>();
  for (const event of events) {
    const payload = payloadOf(event);
    if (event.event_type === 'incident.created') {
      callReceived.set(payload.incident_id, Date.parse(payload.call_received_at ?? ''));
    } else {
      const key = `${event.event_type} ${payload.incident_id} ${payload.resource_id}`;
      expect(times.has(key), `one ${key}`).toBe(false);
      times.set(key, Date.parse(event.occurred_at));
    }
  }
  const at = (type: string, incident: string, resource: string) =>
    times.get(`incident.resource_${type} ${incident} ${resource}`);
  const arrivals = (incident: string) =>
    [...times]
      .filter(([key]) => key.startsWith(`incident.resource_arrived ${incident} `))
      .map(([key, time]) => ({ resource: key.split(' ')[2] ?? '', time }))
      .sort((a, b) => a.time - b.time);
  return { callReceived, at, arrivals };
}

const seconds = (ms: number) => ms / 1000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** LFB sample times are January 2009: London is on GMT, so local time is UTC. */
function lfbCall(date: string, time: string): number {
  const [day, month, year] = date.split(' ');
  const [hour, minute, second] = time.split(':').map(Number);
  expect(month).toBe('Jan');
  return Date.UTC(Number(year), MONTHS.indexOf(month ?? ''), Number(day), hour, minute, second);
}

/** `01/01/2009 00:02:27` (dd/MM/yyyy HH:mm:ss), January, GMT. */
function lfbMobilisation(text: string): number {
  const [date = '', time = ''] = text.split(' ');
  const [day, month, year] = date.split('/').map(Number);
  const [hour, minute, second] = time.split(':').map(Number);
  expect(month).toBe(1);
  return Date.UTC(Number(year), Number(month) - 1, Number(day), hour, minute, second);
}

/** `12/31/2016 11:57:56 PM`; the sample spans 31 Dec 2016 – 1 Jan 2017, PST (UTC−8). */
function sffdTime(text: string): number {
  const match = /^(\d\d)\/(\d\d)\/(\d{4}) (\d\d):(\d\d):(\d\d) (AM|PM)$/.exec(text);
  if (!match) throw new Error(`not an SFFD time: ${text}`);
  const [, month, day, year, hour12, minute, second, meridiem] = match.map(String);
  const hour = (Number(hour12) % 12) + (meridiem === 'PM' ? 12 : 0);
  expect(['12/31/2016', '01/01/2017']).toContain(`${month}/${day}/${year}`);
  const eightHours = 8 * 3_600_000;
  return (
    Date.UTC(Number(year), Number(month) - 1, Number(day), hour, Number(minute), Number(second)) +
    eightHours
  );
}

describe('importing the London Fire Brigade samples', () => {
  const incidents = readCsvText(SAMPLES.lfbIncidents);
  const mobilisations = readCsvText(SAMPLES.lfbMobilisations);

  it('imports every row, each event type as often as the files have its times', async () => {
    const { summary, events } = await importToFile('lfb', [
      SAMPLES.lfbMobilisations,
      SAMPLES.lfbIncidents,
    ]);
    const count = (column: string) => mobilisations.filter((row) => row.cells[column]).length;
    expect(summary).toMatchObject({
      rowsRead: incidents.length + mobilisations.length,
      rowsImported: incidents.length + mobilisations.length,
      rowsRejected: 0,
      rowsUnmatched: 0,
      eventsByType: {
        'incident.created': incidents.length,
        'incident.resource_mobilised': count('DateAndTimeMobilised'),
        'incident.resource_mobile': count('DateAndTimeMobile'),
        'incident.resource_arrived': count('DateAndTimeArrived'),
        'incident.resource_left_scene': count('DateAndTimeLeft'),
      },
    });
    // Incident files are read first whatever the order on the command line.
    expect(summary.files.map((file) => file.record)).toEqual(['incidents', 'mobilisations']);
    expect(events[0]?.event_type).toBe('incident.created');
  });

  it('gives each appliance the AttendanceTimeSeconds, TurnoutTimeSeconds and TravelTimeSeconds of its row', async () => {
    const { events } = await importToFile('lfb', [SAMPLES.lfbIncidents, SAMPLES.lfbMobilisations]);
    const { at } = timelines(events);
    let compared = 0;
    for (const { cells } of mobilisations) {
      const incident = cells.IncidentNumber ?? '';
      const resource = cells.Resource_Code ?? '';
      const mobilised = at('mobilised', incident, resource) ?? Number.NaN;
      const mobile = at('mobile', incident, resource);
      const arrived = at('arrived', incident, resource) ?? Number.NaN;
      expect(seconds(arrived - mobilised), `${incident} ${resource}`).toBe(
        Number(cells.AttendanceTimeSeconds),
      );
      if (cells.TurnoutTimeSeconds) {
        expect(seconds((mobile ?? Number.NaN) - mobilised)).toBe(Number(cells.TurnoutTimeSeconds));
        expect(seconds(arrived - (mobile ?? Number.NaN))).toBe(Number(cells.TravelTimeSeconds));
      } else {
        expect(mobile).toBeUndefined();
      }
      compared += 1;
    }
    expect(compared).toBe(mobilisations.length);
  });

  it("matches the incident file's first and second pump attendance (measured from their mobilisation)", async () => {
    const { events } = await importToFile('lfb', [SAMPLES.lfbIncidents, SAMPLES.lfbMobilisations]);
    const { at, arrivals } = timelines(events);
    const mobilised = new Set(mobilisations.map((row) => row.cells.IncidentNumber));
    let compared = 0;
    for (const { cells } of incidents) {
      const incident = cells.IncidentNumber ?? '';
      // The sample's mobilisation file stops after 20 rows: some incidents have none in it.
      if (!cells.FirstPumpArriving_AttendanceTime || !mobilised.has(incident)) continue;
      const [first, second] = arrivals(incident);
      const fromMobilisation = (arrival: { resource: string; time: number } | undefined) =>
        arrival && seconds(arrival.time - (at('mobilised', incident, arrival.resource) ?? 0));
      expect(fromMobilisation(first), incident).toBe(
        Number(cells.FirstPumpArriving_AttendanceTime),
      );
      if (cells.SecondPumpArriving_AttendanceTime) {
        expect(fromMobilisation(second), incident).toBe(
          Number(cells.SecondPumpArriving_AttendanceTime),
        );
      }
      compared += 1;
    }
    const withFirstPump = incidents.filter(
      (row) =>
        row.cells.FirstPumpArriving_AttendanceTime && mobilised.has(row.cells.IncidentNumber),
    );
    expect(compared).toBe(withFirstPump.length);
    expect(compared).toBeGreaterThan(10);
  });

  it('gives each incident its call time and the attendance from the call to the first arrival', async () => {
    const { events } = await importToFile('lfb', [SAMPLES.lfbIncidents, SAMPLES.lfbMobilisations]);
    const { callReceived, arrivals } = timelines(events);
    let compared = 0;
    for (const { cells } of incidents) {
      const incident = cells.IncidentNumber ?? '';
      const call = lfbCall(cells.DateOfCall ?? '', cells.TimeOfCall ?? '');
      expect(callReceived.get(incident)).toBe(call);
      const arrivedTimes = mobilisations
        .filter((row) => row.cells.IncidentNumber === incident && row.cells.DateAndTimeArrived)
        .map((row) => lfbMobilisation(row.cells.DateAndTimeArrived ?? ''));
      if (arrivedTimes.length === 0) continue;
      expect(seconds((arrivals(incident)[0]?.time ?? 0) - call), incident).toBe(
        seconds(Math.min(...arrivedTimes) - call),
      );
      compared += 1;
    }
    expect(compared).toBe(new Set(mobilisations.map((row) => row.cells.IncidentNumber)).size);
  });

  it('imports a mobilisation only when its incident is in the imported incident files', async () => {
    const extra = path.join(directory, 'mobilisations-plus-one.csv');
    const orphan =
      '999999999,2009,0,99999,Z999,1,01/01/2009 00:40:00,,,,,,,,Z99,Nowhere,Home Station,1,Initial,Initial Mobilisation,,';
    await writeFile(extra, `${await readFile(SAMPLES.lfbMobilisations, 'utf8')}${orphan}\n`);
    const joined = await importToFile('lfb', [SAMPLES.lfbIncidents, extra]);
    expect(joined.summary).toMatchObject({ rowsUnmatched: 1, rowsRejected: 0 });
    // Without incident files there is nothing to join with: every mobilisation is imported.
    const alone = await importToFile('lfb', [extra]);
    expect(alone.summary).toMatchObject({
      rowsImported: mobilisations.length + 1,
      rowsUnmatched: 0,
    });
  });
});

describe('importing the San Francisco Fire Department sample', () => {
  const rows = readCsvText(SAMPLES.sffd);

  it('gives every unit On Scene − Received, and every incident its first arrival − Received', async () => {
    const { summary, events } = await importToFile('sffd', [SAMPLES.sffd]);
    const incidents = new Set(rows.map((row) => row.cells['Incident Number']));
    const count = (...columns: string[]) =>
      rows.filter((row) => columns.every((column) => row.cells[column])).length;
    expect(summary).toMatchObject({
      rowsImported: rows.length,
      rowsRejected: 0,
      eventsByType: {
        'incident.created': incidents.size,
        'incident.resource_mobilised': count('Dispatch DtTm'),
        'incident.resource_mobile': count('Response DtTm'),
        'incident.resource_arrived': count('On Scene DtTm'),
        'incident.resource_left_scene': count('On Scene DtTm', 'Available DtTm'),
      },
    });

    const { callReceived, at, arrivals } = timelines(events);
    const firstOnScene = new Map<string, number>();
    let units = 0;
    for (const { cells } of rows) {
      const incident = cells['Incident Number'] ?? '';
      const received = sffdTime(cells['Received DtTm'] ?? '');
      expect(callReceived.get(incident)).toBe(received);
      if (!cells['On Scene DtTm']) continue;
      const onScene = sffdTime(cells['On Scene DtTm']);
      const arrived = at('arrived', incident, cells['Unit ID'] ?? '') ?? Number.NaN;
      expect(seconds(arrived - received), cells.RowID).toBe(seconds(onScene - received));
      firstOnScene.set(incident, Math.min(onScene, firstOnScene.get(incident) ?? onScene));
      units += 1;
    }
    expect(units).toBe(count('On Scene DtTm'));
    for (const [incident, onScene] of firstOnScene) {
      const received = callReceived.get(incident) ?? Number.NaN;
      expect(seconds((arrivals(incident)[0]?.time ?? 0) - received), incident).toBe(
        seconds(onScene - received),
      );
    }
    expect(firstOnScene.size).toBeGreaterThan(20);
  });

  it('reports a malformed timestamp as a row error by line and column, imports the rest, and treats a missing On Scene as no arrival', async () => {
    const lines = (await readFile(SAMPLES.sffd, 'utf8')).split('\n');
    // Line numbers count the header as line 1.
    const malformedLine = 5;
    const missingLine = 8;
    const onScene = rows[0]?.cells['On Scene DtTm'] ?? '';
    const withOnScene = (line: number, value: string) => {
      const text = lines[line - 1] ?? '';
      const original = rows.find((row) => row.line === line)?.cells['On Scene DtTm'] ?? '';
      expect(original).not.toBe('');
      return text.replace(original, value);
    };
    lines[malformedLine - 1] = withOnScene(malformedLine, '12/31/2016 25:01:02 PM');
    lines[missingLine - 1] = withOnScene(missingLine, '');
    const edited = path.join(directory, 'sffd-edited.csv');
    await writeFile(edited, lines.join('\n'));
    expect(onScene).not.toBe('');

    const errors = path.join(directory, 'sffd-errors.ndjson');
    const { summary, events } = await importToFile('sffd', [edited], { errors });
    expect(summary).toMatchObject({
      rowsRead: rows.length,
      rowsImported: rows.length - 1,
      rowsRejected: 1,
    });
    const expectedError = {
      file: edited,
      line: malformedLine,
      record: 'unit_responses',
      field: 'values.on_scene',
      column: 'On Scene DtTm',
      value: '12/31/2016 25:01:02 PM',
      reason: 'is not a timestamp in format sffd (MM/dd/yyyy hh:mm:ss a)',
    };
    expect(summary.firstErrors).toEqual([expectedError]);
    const reported = (await readFile(errors, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(reported).toEqual([expectedError]);

    const unitOf = (line: number) => rows.find((row) => row.line === line)?.cells ?? {};
    const arrivedUnits = events
      .filter((event) => event.event_type === 'incident.resource_arrived')
      .map((event) => `${payloadOf(event).incident_id} ${payloadOf(event).resource_id}`);
    for (const line of [malformedLine, missingLine]) {
      const cells = unitOf(line);
      expect(arrivedUnits).not.toContain(`${cells['Incident Number']} ${cells['Unit ID']}`);
    }
    expect(arrivedUnits).toHaveLength(rows.filter((row) => row.cells['On Scene DtTm']).length - 2);
  });

  it('writes the error report as CSV when its name ends in .csv', async () => {
    const text = await readFile(SAMPLES.sffd, 'utf8');
    const edited = path.join(directory, 'sffd-bad-received.csv');
    const firstReceived = rows[0]?.cells['Received DtTm'] ?? '';
    // A quoted cell with a comma: the report must quote it again.
    await writeFile(edited, text.replace(firstReceived, '"yesterday, late"'));
    const errors = path.join(directory, 'sffd-errors.csv');
    await importToFile('sffd', [edited], { errors });
    const [header, first] = (await readFile(errors, 'utf8')).split('\n');
    expect(header).toBe('file,line,record,event_type,field,column,value,reason');
    expect(first).toBe(
      `${edited},2,unit_responses,,values.received,Received DtTm,"yesterday, late",is not a timestamp in format sffd (MM/dd/yyyy hh:mm:ss a)`,
    );
  });

  it('produces identical events, ids included, when the same file is imported again', async () => {
    const first = await importToFile('sffd', [SAMPLES.sffd]);
    const again = await importToFile('sffd', [SAMPLES.sffd]);
    expect(again.text).toBe(first.text);
    expect(new Set(first.events.map((event) => event.event_id)).size).toBe(first.events.length);
  });

  it('reads a gzip-compressed file the same, with progress counted in compressed bytes', async () => {
    const compressed = path.join(directory, 'sffd.csv.gz');
    await writeFile(compressed, await promisify(gzip)(await readFile(SAMPLES.sffd)));
    const progress: ImportProgress[] = [];
    const plain = await importToFile('sffd', [SAMPLES.sffd]);
    const zipped = await importToFile('sffd', [compressed], {
      onProgress: (update) => progress.push(update),
    });
    expect(zipped.text).toBe(plain.text);
    const size = (await stat(compressed)).size;
    expect(progress.at(-1)).toMatchObject({ bytesRead: size, bytesTotal: size });
  });
});
