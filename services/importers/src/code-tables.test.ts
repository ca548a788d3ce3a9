import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EventOutput } from '@bluelight/event-output';
import type { BluelightEvent } from '@bluelight/schemas';
import { describe, expect, it } from 'vitest';
import { importFiles } from './importer.js';
import { compileMapping, type SourceRow } from './mapping.js';
import { MappingError, type MappingProblem } from './mapping-schema.js';

/**
 * Prefix and regex entries in code tables, shaped like Dublin Fire Brigade's call-out types:
 * fires are `F/<what>`, special services `S/S <what>`, and a few codes stand alone.
 */
const DUBLIN = `name: dublin-test
source: dublin-cad
agency: dublin-fire
time_zone: Europe/Dublin
timestamp_formats:
  cad: dd/MM/yyyy HH:mm:ss
tables:
  categories:
    exact:
      AFA: { type: false_alarm, false_alarm_type: due_to_apparatus }
      F/CHIMNEY: { type: chimney_fire }
    prefix:
      "F/": { type: secondary_fire }
      "F/DWELLING": { type: primary_fire, location_type: dwelling }
      "S/S ": { type: special_service, special_service_type: other }
      "S/S RTC": { type: special_service, special_service_type: road_traffic_collision }
    regex:
      - { pattern: '^MAL(ICIOUS)?\\b', value: { type: false_alarm, false_alarm_type: malicious } }
      - { pattern: 'flood', ignore_case: true, value: { type: special_service, special_service_type: flooding } }
      - { pattern: 'flood', value: { type: special_service, special_service_type: other } }
records:
  incidents:
    events:
      - type: incident.created
        occurred_at: { timestamp: Time, format: cad }
        payload:
          incident_id: { column: Incident }
          call_received_at: { timestamp: Time, format: cad }
          details:
            service: fire
            category: { lookup: Type, table: categories }
            risk_band: medium
            life_risk: false
          location:
            station_ground: { column: Station, transform: station_code }
            area: { column: Area, transform: upper }
            coordinates:
              lat: { column: Lat, transform: number }
              lon: { column: Lon, transform: number }
`;

const HEADER = ['Incident', 'Time', 'Type', 'Station', 'Area', 'Lat', 'Lon', 'Clock'];

function row(values: Partial<Record<(typeof HEADER)[number], string>>): SourceRow {
  const base: Record<string, string> = {
    Incident: 'DFB-1',
    Time: '02/01/2024 10:00:00',
    Type: 'AFA',
    Station: 'Tara Street',
    Area: 'Dublin City',
    Lat: '53.3466',
    Lon: '-6.2565',
    ...values,
  };
  return {
    cells: HEADER.map((column) => base[column] ?? ''),
    columnIndex: new Map(HEADER.map((column, index) => [column, index])),
  };
}

function mapRow(mapping: string, values: Parameters<typeof row>[0]) {
  const [record] = compileMapping(mapping, 'dublin.yaml').records;
  if (!record) throw new Error('no record');
  return record.mapRow(row(values));
}

function categoryOf(type: string): unknown {
  const outcome = mapRow(DUBLIN, { Type: type });
  if (!outcome.ok) throw new Error(`rejected: ${JSON.stringify(outcome.problems)}`);
  const payload = outcome.events[0]?.payload as { details: { category: unknown } };
  return payload.details.category;
}

function problemsOf(text: string): MappingProblem[] {
  try {
    compileMapping(text, 'dublin.yaml');
  } catch (error) {
    if (error instanceof MappingError) return error.problems;
    throw error;
  }
  throw new Error('expected the mapping to be refused');
}

const lineOf = (text: string, fragment: string) =>
  text.split('\n').findIndex((line) => line.includes(fragment)) + 1;

describe('code tables with prefix and regex entries', () => {
  it('matches exact codes first, then the longest prefix, then the first pattern', () => {
    // Exact beats the F/ prefix it also starts with.
    expect(categoryOf('F/CHIMNEY')).toEqual({ type: 'chimney_fire' });
    // The longer prefix wins although the file lists F/ first.
    expect(categoryOf('F/DWELLING HOUSE')).toEqual({
      type: 'primary_fire',
      location_type: 'dwelling',
    });
    expect(categoryOf('F/SKIP')).toEqual({ type: 'secondary_fire' });
    expect(categoryOf('S/S RTC CAR')).toEqual({
      type: 'special_service',
      special_service_type: 'road_traffic_collision',
    });
    // "S/S FLOODING" starts with "S/S ": the prefix is tried before any pattern.
    expect(categoryOf('S/S FLOODING')).toEqual({
      type: 'special_service',
      special_service_type: 'other',
    });
    // Patterns in order: the case-insensitive one is listed first, so it wins over the later one.
    expect(categoryOf('Basement flood')).toEqual({
      type: 'special_service',
      special_service_type: 'flooding',
    });
    expect(categoryOf('MALICIOUS CALL')).toEqual({
      type: 'false_alarm',
      false_alarm_type: 'malicious',
    });
    expect(categoryOf('MAL')).toEqual({ type: 'false_alarm', false_alarm_type: 'malicious' });
  });

  it('rejects a code no entry matches, naming the column and code', () => {
    // "MALT" does not match ^MAL(ICIOUS)?\b; "f/skip" is not "F/" (prefixes are case-sensitive).
    for (const code of ['MALT', 'f/skip', 'S/S']) {
      expect(mapRow(DUBLIN, { Type: code })).toEqual({
        ok: false,
        problems: [
          {
            eventType: 'incident.created',
            field: 'payload.details.category',
            column: 'Type',
            value: code,
            reason: `code "${code}" is not in table categories`,
          },
        ],
      });
    }
  });

  it('uses the lookup’s default when nothing matches, and works inline', () => {
    const text = DUBLIN.replace(
      'category: { lookup: Type, table: categories }',
      `category:
              lookup: Type
              table: { prefix: { "F/": { type: secondary_fire } } }
              default: { type: special_service, special_service_type: other }`,
    );
    const created = (type: string) => {
      const outcome = mapRow(text, { Type: type });
      if (!outcome.ok) throw new Error(JSON.stringify(outcome.problems));
      return (outcome.events[0]?.payload as { details: { category: unknown } } | undefined)?.details
        .category;
    };
    expect(created('F/BIN')).toEqual({ type: 'secondary_fire' });
    expect(created('AFA')).toEqual({ type: 'special_service', special_service_type: 'other' });
  });

  it('refuses a bad pattern when the mapping loads, naming the file, the entry and its line', () => {
    const text = DUBLIN.replace("pattern: 'flood', ignore_case", "pattern: 'flood(', ignore_case");
    expect(problemsOf(text)).toEqual([
      {
        path: 'tables.categories.regex[1].pattern',
        line: lineOf(text, "'flood('"),
        column: expect.any(Number),
        message: expect.stringMatching(/^is not a valid regular expression: .*flood\(/),
      },
    ]);
    expect(() => compileMapping(text, 'dublin.yaml')).toThrow(
      /^invalid mapping dublin\.yaml:\n {2}line \d+: tables\.categories\.regex\[1\]\.pattern: is not a valid regular expression/,
    );
  });

  it('refuses plain codes beside exact/prefix/regex, an empty prefix and an entry without a value', () => {
    const mixed = DUBLIN.replace(
      '    exact:\n',
      '    RTC: { type: special_service, special_service_type: road_traffic_collision }\n    exact:\n',
    );
    expect(problemsOf(mixed)).toEqual([
      expect.objectContaining({
        path: 'tables.categories.RTC',
        line: lineOf(mixed, '    RTC:'),
        message: expect.stringContaining('lists its plain codes under exact:'),
      }),
    ]);
    const empty = DUBLIN.replace('"F/": { type: secondary_fire }', '"": { type: secondary_fire }');
    expect(problemsOf(empty)).toEqual([
      expect.objectContaining({
        path: 'tables.categories.prefix[""]',
        line: lineOf(empty, '"": { type: secondary_fire }'),
        message: expect.stringContaining('an empty prefix matches every code'),
      }),
    ]);
    const valueless = DUBLIN.replace(
      "- { pattern: 'flood', value: { type: special_service, special_service_type: other } }",
      "- { pattern: 'flood' }",
    );
    expect(problemsOf(valueless)).toEqual([
      expect.objectContaining({
        path: 'tables.categories.regex[2].value',
        message: expect.stringMatching(/^is required/),
      }),
    ]);
  });

  it('leaves plain tables as they were: every key is a code', () => {
    const plain = DUBLIN.replace(
      /tables:\n[\s\S]*?records:/,
      `tables:
  categories:
    AFA: { type: false_alarm, false_alarm_type: due_to_apparatus }
    "F/": { type: secondary_fire }
records:`,
    );
    const outcome = mapRow(plain, { Type: 'F/SKIP' });
    expect(outcome.ok).toBe(false);
    expect(
      (mapRow(plain, { Type: 'F/' }) as { events: BluelightEvent[] }).events[0]?.payload,
    ).toMatchObject({ details: { category: { type: 'secondary_fire' } } });
  });
});

describe('no silent truncation or rounding in transforms', () => {
  it('rejects a station name whose code is over 16 characters, naming the column and cell', () => {
    // Upper-cased and hyphenated it is 17 characters: cut to 16 it would be another name.
    expect(mapRow(DUBLIN, { Station: "Dun Laoghaire's Pier" })).toEqual({
      ok: false,
      problems: [
        {
          eventType: 'incident.created',
          field: 'payload.location.station_ground',
          column: 'Station',
          value: "Dun Laoghaire's Pier",
          reason:
            'makes station code DUN-LAOGHAIRE-S-PIER, 20 characters; the contract allows at most 16 (map the names to shorter codes with a { lookup } table)',
        },
      ],
    });
    // Exactly 16 is kept whole.
    const outcome = mapRow(DUBLIN, { Station: 'North Kensington' });
    expect(outcome.ok && outcome.events[0]?.payload).toMatchObject({
      location: { station_ground: 'NORTH-KENSINGTON' },
    });
  });

  it('rejects a whole number past 2^53 and text that only looks like a number', () => {
    const reason = (lat: string) => {
      const outcome = mapRow(DUBLIN, { Lat: lat });
      return outcome.ok ? undefined : outcome.problems.map((problem) => problem.reason);
    };
    expect(reason('53346600000000001')).toEqual([
      'has more digits than a number holds exactly (it would be read as 53346600000000000); read it as text ({ column } without transform)',
    ]);
    expect(reason('0x35')).toEqual(['is not a number']);
    expect(reason('53,3466')).toEqual(['is not a number']);
    expect(reason('1e999')).toEqual(['is too large a number']);
    // Decimals are read as a spreadsheet reads them; within range they are accepted.
    expect(reason('53.3466')).toBeUndefined();
    expect(reason('+53.5e0')).toBeUndefined();
  });

  it('rejects a fraction of a second finer than the millisecond, in timestamps and times of day', () => {
    const text = DUBLIN.replace('cad: dd/MM/yyyy HH:mm:ss', 'cad: dd/MM/yyyy HH:mm:ss.u');
    const outcome = (time: string) => mapRow(text, { Time: time });
    expect(outcome('02/01/2024 10:00:00.123456')).toEqual({
      ok: false,
      problems: [
        {
          eventType: 'incident.created',
          field: 'occurred_at',
          column: 'Time',
          value: '02/01/2024 10:00:00.123456',
          reason:
            'has a fraction of a second, .123456, finer than the millisecond the contract holds (it would be cut to .123)',
        },
      ],
    });
    // Digits past the millisecond that are zero lose nothing; fewer digits are tenths, hundredths.
    const occurred = (time: string) => {
      const result = outcome(time);
      return result.ok ? result.events[0]?.occurred_at : result.problems;
    };
    expect(occurred('02/01/2024 10:00:00.123000')).toBe('2024-01-02T10:00:00.123Z');
    expect(occurred('02/01/2024 10:00:00.5')).toBe('2024-01-02T10:00:00.500Z');

    const timeOfDay = DUBLIN.replace(
      'cad: dd/MM/yyyy HH:mm:ss',
      'cad: dd/MM/yyyy HH:mm:ss\n  clock: HH:mm:ss.u',
    ).replace(
      'occurred_at: { timestamp: Time, format: cad }',
      'occurred_at: { time: Clock, format: clock, after: { timestamp: Time, format: cad } }',
    );
    const [record] = compileMapping(timeOfDay, 'dublin.yaml').records;
    expect(record?.mapRow(row({ Clock: '10:05:00.0001' }))).toMatchObject({
      ok: false,
      problems: [
        {
          field: 'occurred_at',
          column: 'Clock',
          reason:
            'has a fraction of a second, .0001, finer than the millisecond the contract holds (it would be cut to .000)',
        },
      ],
    });
  });

  it('imports the good rows beside one whose station code is too long, reporting its line and column', async () => {
    const directory = await mkdtemp(path.join(os.tmpdir(), 'bluelight-truncation-'));
    try {
      const file = path.join(directory, 'dublin.csv');
      await writeFile(
        file,
        [
          HEADER.join(','),
          'DFB-1,02/01/2024 10:00:00,AFA,Tara Street,Dublin City,53.3466,-6.2565,',
          'DFB-2,02/01/2024 10:05:00,F/SKIP,Dun Laoghaire Harbour,Dun Laoghaire,53.2940,-6.1340,',
          'DFB-3,02/01/2024 10:10:00,S/S RTC,Phibsborough,Dublin City,53.3600,-6.2730,',
          '',
        ].join('\n'),
      );
      const written: BluelightEvent[] = [];
      const output: EventOutput = {
        description: 'memory',
        write: async (events) => {
          written.push(...events);
        },
        close: async () => {},
      };
      const summary = await importFiles({
        mapping: compileMapping(DUBLIN, 'dublin.yaml'),
        files: [file],
        output,
      });
      expect(summary).toMatchObject({ rowsRead: 3, rowsImported: 2, rowsRejected: 1 });
      expect(summary.firstErrors).toEqual([
        expect.objectContaining({
          file,
          line: 3,
          column: 'Station',
          value: 'Dun Laoghaire Harbour',
          field: 'payload.location.station_ground',
        }),
      ]);
      expect(
        written.map(
          (event) => (event.payload as { location: { station_ground: string } }).location,
        ),
      ).toEqual([
        expect.objectContaining({ station_ground: 'TARA-STREET' }),
        expect.objectContaining({ station_ground: 'PHIBSBOROUGH' }),
      ]);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
