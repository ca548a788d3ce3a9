import { describe, expect, it } from 'vitest';
import { BUILT_IN_FORMATS, compileMapping, loadBuiltInMapping } from './mapping.js';
import { MappingError, type MappingProblem } from './mapping-schema.js';

/** A valid one-record mapping; each test breaks one line of it. */
const VALID = `name: test-cad
source: test-cad
agency: test-fire
time_zone: Europe/London
timestamp_formats:
  cad: dd/MM/yyyy HH:mm:ss
records:
  calls:
    values:
      received: { timestamp: Received, format: cad }
    events:
      - type: incident.created
        occurred_at: { ref: received }
        payload:
          incident_id: { column: Incident }
          call_received_at: { ref: received }
          details:
            service: fire
            category: { type: secondary_fire }
            risk_band: medium
            life_risk: false
          location:
            station_ground: { column: Station, transform: station_code }
            area: Testshire
`;

function problemsOf(text: string): MappingProblem[] {
  try {
    compileMapping(text, 'test.yaml');
  } catch (error) {
    if (error instanceof MappingError) return error.problems;
    throw error;
  }
  throw new Error('expected the mapping to be refused');
}

const lineOf = (text: string, fragment: string) =>
  text.split('\n').findIndex((line) => line.includes(fragment)) + 1;

describe('mapping validation', () => {
  it('accepts the valid mapping and both built-in mappings', async () => {
    expect(compileMapping(VALID, 'test.yaml').records.map((record) => record.name)).toEqual([
      'calls',
    ]);
    for (const format of BUILT_IN_FORMATS) {
      await expect(loadBuiltInMapping(format)).resolves.toMatchObject({ name: format });
    }
  });

  it('names the YAML path and line of an unknown event type', () => {
    const text = VALID.replace('type: incident.created', 'type: incident.create');
    expect(problemsOf(text)).toEqual([
      expect.objectContaining({
        path: 'records.calls.events[0].type',
        line: lineOf(text, 'incident.create'),
        message: expect.stringContaining('must be one of: call.presented'),
      }),
    ]);
  });

  it('names a missing top-level setting and a time zone that does not exist', () => {
    expect(problemsOf(VALID.replace('agency: test-fire\n', ''))).toEqual([
      expect.objectContaining({ path: 'agency', message: 'is required (string)' }),
    ]);
    expect(problemsOf(VALID.replace('Europe/London', 'Europe/Londn'))).toEqual([
      expect.objectContaining({ path: 'time_zone', line: 4 }),
    ]);
  });

  it('names a timestamp format, a table and a value that are not defined', () => {
    const text = VALID.replace('format: cad', 'format: cad_time')
      .replace('{ ref: received }\n        payload', '{ ref: recieved }\n        payload')
      .replace('risk_band: medium', 'risk_band: { lookup: Risk, table: risk_bands }');
    expect(problemsOf(text)).toEqual([
      expect.objectContaining({
        path: 'records.calls.values.received.format',
        message: 'no timestamp format named cad_time (timestamp_formats has: cad)',
      }),
      expect.objectContaining({
        path: 'records.calls.events[0].occurred_at.ref',
        message: 'no value named recieved defined before this point (values: received)',
      }),
      expect.objectContaining({
        path: 'records.calls.events[0].payload.details.risk_band.table',
        message: 'no table named risk_bands in tables',
      }),
    ]);
  });

  it('names a misspelt contract field and an expression missing its operator', () => {
    const text = VALID.replace('station_ground:', 'staton_ground:').replace(
      'incident_id: { column: Incident }',
      'incident_id: { colum: Incident }',
    );
    const problems = problemsOf(text);
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'records.calls.events[0].payload.incident_id',
        line: lineOf(text, 'colum: Incident'),
        message: expect.stringContaining('is a single value in the contract, not an object'),
      }),
      expect.objectContaining({
        path: 'records.calls.events[0].payload.location.staton_ground',
        message: expect.stringContaining('is not a field here (the contract has: station_ground'),
      }),
    ]);
  });

  it('names a bad expression: a missing key, an unknown key, two operators at once', () => {
    const text = VALID.replace('{ timestamp: Received, format: cad }', '{ timestamp: Received }')
      .replace('transform: station_code', 'transfrom: station_code')
      .replace('area: Testshire', 'area: { column: Area, lookup: Area, table: x }');
    expect(problemsOf(text)).toEqual([
      expect.objectContaining({
        path: 'records.calls.values.received.format',
        message: 'is required (string)',
      }),
      expect.objectContaining({
        path: 'records.calls.events[0].payload.location.station_ground',
        message: expect.stringContaining('transfrom'),
      }),
      expect.objectContaining({
        path: 'records.calls.events[0].payload.location.area',
        message: 'has column and lookup: an expression uses one of them',
      }),
    ]);
  });

  it('names a join to a record that is not read first, and a record without detect', () => {
    const twoRecords = `${VALID}  units:
    join: { record: units, column: Incident, on: Incident }
    events:
      - type: incident.resource_arrived
        occurred_at: { timestamp: Arrived, format: cad }
        payload: { incident_id: { column: Incident }, resource_id: { column: Unit } }
`;
    expect(problemsOf(twoRecords)).toEqual([
      expect.objectContaining({
        path: 'records.calls',
        message: 'needs detect: (header columns) when a mapping has several records',
      }),
      expect.objectContaining({
        path: 'records.units',
        message: 'needs detect: (header columns) when a mapping has several records',
      }),
      expect.objectContaining({
        path: 'records.units.join.record',
        message: 'must name a record listed before units (its files are read first)',
      }),
    ]);
  });

  it('reports a YAML syntax error with its line', () => {
    const text = VALID.replace('agency: test-fire', 'agency: [test-fire');
    expect(problemsOf(text)[0]).toMatchObject({ path: '(yaml)', line: expect.any(Number) });
  });

  it('puts every problem in the error message, one a line, with line numbers', () => {
    const text = VALID.replace('type: incident.created', 'type: incident.create');
    expect(() => compileMapping(text, 'test.yaml')).toThrow(
      `invalid mapping test.yaml:\n  line ${lineOf(text, 'incident.create')}: records.calls.events[0].type: must be one of:`,
    );
  });
});
