import { describe, expect, it } from 'vitest';
import { type CompiledRecord, compileMapping, type RowOutcome, type SourceRow } from './mapping.js';

/**
 * A CAD export with a date column, time-only columns and codes: one row is one unit's response,
 * as in many real exports.
 */
const MAPPING = `name: test-cad
source: test-cad
agency: test-fire
time_zone: Europe/London
timestamp_formats:
  date_time: dd/MM/yyyy HH:mm:ss
  time: HH:mm:ss
tables:
  categories:
    FIRE-HOUSE: { type: primary_fire, location_type: dwelling }
    RTC: { type: special_service, special_service_type: road_traffic_collision }
records:
  responses:
    row_key: [Response Id]
    values:
      received: { timestamp: [Date, Call Time], format: date_time }
      mobilised: { time: Mobilised, format: time, after: { ref: received } }
      arrived: { time: Arrived, format: time, after: { ref: mobilised } }
    events:
      - type: incident.created
        once_per: { column: Incident }
        occurred_at: { ref: received }
        payload:
          incident_id: { column: Incident }
          call_received_at: { ref: received }
          details:
            service: fire
            category:
              cases:
                - when: { Code: [AFA, ALARM] }
                  then: { type: false_alarm, false_alarm_type: due_to_apparatus }
              default: { lookup: Code, table: categories }
            risk_band: { lookup: Risk, table: { H: high, L: low }, default: medium }
            life_risk: { lookup: Persons Reported, table: { 'Y': true }, default: false }
          location:
            station_ground: { column: Station, transform: station_code }
            area: { first_of: [{ column: District }, Unknown district] }
            coordinates:
              lat: { column: Lat, transform: number, treat_as_empty: ['0'] }
              lon: { column: Lon, transform: number, treat_as_empty: ['0'] }
      - type: incident.resource_mobilised
        occurred_at: { ref: mobilised }
        payload: { incident_id: { column: Incident }, resource_id: { column: Unit } }
      - type: incident.resource_arrived
        needs: [Arrived]
        occurred_at: { ref: arrived }
        payload: { incident_id: { column: Incident }, resource_id: { column: Unit } }
`;

const HEADER = [
  'Response Id',
  'Incident',
  'Date',
  'Call Time',
  'Mobilised',
  'Arrived',
  'Code',
  'Risk',
  'Persons Reported',
  'Station',
  'District',
  'Lat',
  'Lon',
  'Unit',
];

const BASE_ROW: Record<string, string> = {
  'Response Id': 'R1',
  Incident: 'INC-1',
  Date: '31/12/2023',
  'Call Time': '23:58:30',
  Mobilised: '23:59:10',
  Arrived: '00:04:40',
  Code: 'FIRE-HOUSE',
  Risk: 'H',
  'Persons Reported': 'Y',
  Station: 'Stoke Newington',
  District: 'Hackney',
  Lat: '51.55',
  Lon: '-0.07',
  Unit: 'A211',
};

function recordOf(text = MAPPING): CompiledRecord {
  const [record] = compileMapping(text, 'test.yaml').records;
  if (!record) throw new Error('no record');
  return record;
}

function rowOf(changes: Record<string, string> = {}): SourceRow {
  const values = { ...BASE_ROW, ...changes };
  return {
    cells: HEADER.map((column) => values[column] ?? ''),
    columnIndex: new Map(HEADER.map((column, index) => [column, index])),
  };
}

function accepted(outcome: RowOutcome) {
  if (!outcome.ok) throw new Error(`row rejected: ${JSON.stringify(outcome.problems)}`);
  outcome.accept();
  return outcome.events;
}

function problems(outcome: RowOutcome) {
  if (outcome.ok) throw new Error('row accepted');
  return outcome.problems;
}

describe('mapping rows to events', () => {
  it('builds the events of a row: combined date + time, times rolling past midnight, lookups', () => {
    const events = accepted(recordOf().mapRow(rowOf()));
    expect(events.map((event) => [event.event_type, event.occurred_at])).toEqual([
      ['incident.created', '2023-12-31T23:58:30.000Z'],
      ['incident.resource_mobilised', '2023-12-31T23:59:10.000Z'],
      // 00:04:40 is after the mobilisation at 23:59:10: the next day.
      ['incident.resource_arrived', '2024-01-01T00:04:40.000Z'],
    ]);
    expect(events[0]?.payload).toEqual({
      incident_id: 'INC-1',
      call_received_at: '2023-12-31T23:58:30.000Z',
      details: {
        service: 'fire',
        category: { type: 'primary_fire', location_type: 'dwelling' },
        risk_band: 'high',
        life_risk: true,
      },
      location: {
        station_ground: 'STOKE-NEWINGTON',
        area: 'Hackney',
        coordinates: { lat: 51.55, lon: -0.07 },
      },
    });
    expect(
      events.every((event) => event.source === 'test-cad' && event.agency === 'test-fire'),
    ).toBe(true);
  });

  it('uses defaults, first_of and cases; leaves out coordinates that are all placeholders', () => {
    const [created] = accepted(
      recordOf().mapRow(
        rowOf({
          Code: 'ALARM',
          Risk: '',
          'Persons Reported': 'N',
          District: '',
          Lat: '0',
          Lon: '0',
        }),
      ),
    );
    expect(created?.payload).toMatchObject({
      details: {
        category: { type: 'false_alarm', false_alarm_type: 'due_to_apparatus' },
        risk_band: 'medium',
        life_risk: false,
      },
      location: { station_ground: 'STOKE-NEWINGTON', area: 'Unknown district' },
    });
    expect(created?.payload).not.toHaveProperty('location.coordinates');
  });

  it('leaves out an event whose needed column is empty, without an error', () => {
    const events = accepted(recordOf().mapRow(rowOf({ Arrived: '' })));
    expect(events.map((event) => event.event_type)).toEqual([
      'incident.created',
      'incident.resource_mobilised',
    ]);
  });

  it('rejects the whole row for a malformed time, naming the value, column and event field', () => {
    expect(problems(recordOf().mapRow(rowOf({ Arrived: '25:04:40' })))).toEqual([
      {
        field: 'values.arrived',
        column: 'Arrived',
        value: '25:04:40',
        reason: 'is not a time in format time (HH:mm:ss)',
      },
    ]);
    expect(problems(recordOf().mapRow(rowOf({ Date: '31/13/2023' })))).toEqual([
      {
        field: 'values.received',
        column: 'Date + Call Time',
        value: '31/13/2023 23:58:30',
        reason: 'is not a timestamp in format date_time (dd/MM/yyyy HH:mm:ss)',
      },
    ]);
  });

  it('rejects a code missing from its table and an event the contract refuses, naming the column', () => {
    expect(problems(recordOf().mapRow(rowOf({ Code: 'CHEMICAL' })))).toEqual([
      {
        eventType: 'incident.created',
        field: 'payload.details.category',
        column: 'Code',
        value: 'CHEMICAL',
        reason: 'code "CHEMICAL" is not in table categories',
      },
    ]);
    expect(problems(recordOf().mapRow(rowOf({ Station: '' })))).toEqual([
      {
        eventType: 'incident.created',
        field: 'payload.location.station_ground',
        column: 'Station',
        value: '',
        reason: 'is required (expected string)',
      },
    ]);
    expect(problems(recordOf().mapRow(rowOf({ Lat: '55.5', Lon: '' })))).toEqual([
      {
        eventType: 'incident.created',
        field: 'payload.location.coordinates.lon',
        column: 'Lon',
        value: '',
        reason: 'is required (expected number)',
      },
    ]);
  });

  it('creates an incident once, from the first accepted row of it', () => {
    const record = recordOf();
    const types = (changes: Record<string, string>) =>
      accepted(record.mapRow(rowOf(changes))).map((event) => event.event_type);
    expect(problems(record.mapRow(rowOf({ 'Response Id': 'R1', Station: '' })))).toHaveLength(1);
    // The first row was rejected, so the second still creates the incident; the third does not.
    expect(types({ 'Response Id': 'R2', Unit: 'A212' })).toContain('incident.created');
    expect(types({ 'Response Id': 'R3', Unit: 'A213' })).not.toContain('incident.created');
  });

  it('gives the same events the same ids on a re-import, and other rows other ids', () => {
    const ids = (record: CompiledRecord, changes: Record<string, string> = {}) =>
      accepted(record.mapRow(rowOf(changes))).map((event) => event.event_id);
    const first = ids(recordOf());
    expect(ids(recordOf())).toEqual(first);
    const another = ids(recordOf(), { 'Response Id': 'R2', Unit: 'A212' });
    // The incident.created id depends on the incident, not on which row created it.
    expect(another[0]).toBe(first[0]);
    expect(another.slice(1)).not.toEqual(first.slice(1));
    expect(new Set([...first, ...another.slice(1)]).size).toBe(5);
  });
});
