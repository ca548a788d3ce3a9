import { EVERY_AGENCY, resourceIntervalsSql } from '@bluelight/clickhouse-schema';
import { ALL_FACTS, migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAMILIES } from './families.js';
import { FactRevisions } from './revisions.js';
import {
  callFixtureEvents,
  type FixtureEvent,
  fixtureEvent,
  incidentFixtureEvents,
  landEvents,
  statusFixtureEvents,
} from './testing/land.js';

let db: Awaited<ReturnType<typeof migratedDatabase>>;
beforeAll(async () => {
  db = await migratedDatabase('revisions');
});
afterAll(async () => {
  await db.drop();
});

async function rows<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}

/** A retraction of `event`, or a correction: the same event with other fields and its own id. */
function retraction(event: FixtureEvent, atMs: number): FixtureEvent {
  const family = event.event_type.split('.')[0] as 'incident' | 'call' | 'resource';
  const idField = `${family}_id`;
  return {
    ...fixtureEvent(`${family}.event_retracted`, atMs, event.agency, {
      [idField]: event.payload[idField],
    }),
    corrects: { event_id: event.event_id, reason: 'sent in error' },
  };
}

function correction(event: FixtureEvent, atMs: number): FixtureEvent {
  return {
    ...fixtureEvent(event.event_type, atMs, event.agency, event.payload),
    corrects: { event_id: event.event_id, reason: 'time taken from AVL' },
  };
}

describe('resource availability intervals (real ClickHouse)', () => {
  const T = (minutes: number) => new Date(Date.parse('2024-03-31T00:00:00Z') + minutes * 60_000);
  const appliance = { id: 'LEEK-P1', station: 'LEEK', crewing: 'on_call' as const };
  const change = (minutes: number, status: 'available_at_station' | 'committed' | 'unavailable') =>
    statusFixtureEvents(appliance, [{ at: T(minutes).toISOString(), status }])[0] as FixtureEvent;

  async function intervals(agency = 'staffordshire-fire') {
    return rows<{ start: number; end: number | null; status: string }>(
      `SELECT toUnixTimestamp64Milli(start_at) AS start, toUnixTimestamp64Milli(end_at) AS end, status
       FROM (${resourceIntervalsSql({ from: `toDateTime64('2024-03-30 00:00:00', 3, 'UTC')`, to: `toDateTime64('2024-04-02 00:00:00', 3, 'UTC')` }, EVERY_AGENCY)})
       WHERE resource_id = 'LEEK-P1' AND agency = {agency:String} ORDER BY start_at`,
      { agency },
    );
  }

  it('follow late changes and retractions, and keep following after a revision', async () => {
    const unavailable = change(180, 'unavailable');
    await landEvents(db.client, [
      change(0, 'available_at_station'),
      unavailable,
      change(300, 'available_at_station'),
    ]);
    expect(await intervals()).toEqual([
      { start: +T(0), end: +T(180), status: 'available_at_station' },
      { start: +T(180), end: +T(300), status: 'unavailable' },
      { start: +T(300), end: null, status: 'available_at_station' },
    ]);

    // A change from before the others arrives late: it splits the first interval.
    await landEvents(db.client, [change(60, 'committed')]);
    expect(await intervals()).toEqual([
      { start: +T(0), end: +T(60), status: 'available_at_station' },
      { start: +T(60), end: +T(180), status: 'committed' },
      { start: +T(180), end: +T(300), status: 'unavailable' },
      { start: +T(300), end: null, status: 'available_at_station' },
    ]);

    // The off-the-run change was sent in error: its interval disappears, the one before grows.
    await landEvents(db.client, [retraction(unavailable, +T(400))]);
    expect(await intervals()).toEqual([
      { start: +T(0), end: +T(60), status: 'available_at_station' },
      { start: +T(60), end: +T(300), status: 'committed' },
      { start: +T(300), end: null, status: 'available_at_station' },
    ]);

    // The appliance is revised now: a new change and a late copy of the retracted one.
    await landEvents(db.client, [change(500, 'unavailable'), unavailable]);
    expect(await intervals()).toEqual([
      { start: +T(0), end: +T(60), status: 'available_at_station' },
      { start: +T(60), end: +T(300), status: 'committed' },
      { start: +T(300), end: +T(500), status: 'available_at_station' },
      { start: +T(500), end: null, status: 'unavailable' },
    ]);
  });

  it('give a period the status an appliance had when it began, however long before it changed', async () => {
    const quiet = { id: 'QUIET-P1', station: 'QUIET', crewing: 'wholetime' as const };
    await landEvents(
      db.client,
      statusFixtureEvents(quiet, [
        { at: '2023-11-01T08:00:00Z', status: 'available_at_station' },
        { at: '2023-12-20T08:00:00Z', status: 'unavailable', reason: 'mechanical' },
        { at: '2024-03-10T08:00:00Z', status: 'available_at_station' },
      ]),
    );
    const during = (from: string, to: string) =>
      rows<{ start: string; status: string }>(
        `SELECT toString(start_at) AS start, status
         FROM (${resourceIntervalsSql({ from: `toDateTime64({from:String}, 3, 'UTC')`, to: `toDateTime64({to:String}, 3, 'UTC')` }, EVERY_AGENCY)})
         WHERE resource_id = 'QUIET-P1' ORDER BY start_at`,
        { from, to },
      );
    // February: off the run since 20 December (70 days before), nothing changed in the month.
    expect(await during('2024-02-01 00:00:00', '2024-03-01 00:00:00')).toEqual([
      { start: '2023-12-20 08:00:00.000', status: 'unavailable' },
    ]);
    // 15–31 December: on the run from 1 November (six weeks before), then off the run.
    expect(await during('2023-12-15 00:00:00', '2024-01-01 00:00:00')).toEqual([
      { start: '2023-11-01 08:00:00.000', status: 'available_at_station' },
      { start: '2023-12-20 08:00:00.000', status: 'unavailable' },
    ]);
    // Before its first change it has no status at all.
    expect(await during('2023-10-01 00:00:00', '2023-11-01 00:00:00')).toEqual([]);
  });
});

describe('recomputes wider than one INSERT may write (real ClickHouse)', () => {
  // ClickHouse refuses an INSERT that writes more than 100 partitions; a recompute writes an
  // entity's rows wherever they belong, so it must not be bound by that.
  const month = (index: number) => new Date(Date.UTC(2010, index, 5, 9)).toISOString();

  it('rewrites an appliance whose changes span 150 months after one is retracted', async () => {
    const appliance = { id: 'DECADE-P1', station: 'LEEK', crewing: 'wholetime' as const };
    const changes = statusFixtureEvents(
      appliance,
      Array.from({ length: 150 }, (_, index) => ({
        at: month(index),
        status: index % 2 === 0 ? ('available_at_station' as const) : ('unavailable' as const),
      })),
    );
    await landEvents(db.client, changes);
    const retracted = changes[75] as FixtureEvent;
    await landEvents(db.client, [retraction(retracted, Date.parse('2023-01-10T09:00:00Z'))]);
    const found = await rows<{ start: string }>(
      `SELECT toString(start_at) AS start
       FROM (${resourceIntervalsSql({ from: `toDateTime64('2009-01-01 00:00:00', 3, 'UTC')`, to: `toDateTime64('2023-01-01 00:00:00', 3, 'UTC')` }, EVERY_AGENCY)})
       WHERE resource_id = 'DECADE-P1' ORDER BY start_at`,
    );
    const expected = Array.from({ length: 150 }, (_, index) => index)
      .filter((index) => index !== 75)
      .map((index) => month(index).replace('T', ' ').replace('Z', ''));
    expect(found.map((row) => row.start)).toEqual(expected);
  });

  it('rewrites 150 incidents of 150 anchor months revised by one batch', async () => {
    const incidents = Array.from({ length: 150 }, (_, index) =>
      incidentFixtureEvents({
        id: `INC-DECADE-${index}`,
        receivedAt: month(index),
        arrivalsAfter: [300],
      }),
    );
    await landEvents(db.client, incidents.flat());
    // One batch retracts every first arrival: 150 revised entities in 150 anchor months.
    await landEvents(
      db.client,
      incidents.map((events) =>
        retraction(
          events.find((event) => event.event_type === 'incident.resource_arrived') as FixtureEvent,
          Date.parse('2023-02-01T09:00:00Z'),
        ),
      ),
    );
    const [counted] = await rows<{ incidents: number; arrived: number }>(
      `SELECT count() AS incidents, countIf(first_arrival_at IS NOT NULL) AS arrived
       FROM ${ALL_FACTS.incidents} WHERE startsWith(incident_id, 'INC-DECADE-')`,
    );
    expect(counted).toEqual({ incidents: 150, arrived: 0 });
  });
});

describe('revised incidents and calls (real ClickHouse)', () => {
  async function incident(id: string, agency = 'staffordshire-fire') {
    const [found] = await rows<Record<string, unknown>>(
      `SELECT agency, incident_id, toString(first_arrival_at) AS first_arrival, toString(second_arrival_at) AS second_arrival,
         first_arrival_resource_id, category, cancelled, stop_code
       FROM ${ALL_FACTS.incidents} WHERE incident_id = {id:String} AND agency = {agency:String}`,
      { id, agency },
    );
    return found;
  }

  it('take a correction or retraction into account, and keep doing so as more events arrive', async () => {
    const events = incidentFixtureEvents({
      id: 'INC-REV-1',
      receivedAt: '2024-05-01T10:00:00Z',
      mobilisedAfter: 60,
      mobileAfter: 120,
      arrivalsAfter: [400, 500],
    });
    await landEvents(db.client, events);
    expect(await incident('INC-REV-1')).toMatchObject({
      first_arrival: '2024-05-01 10:06:40.000',
      second_arrival: '2024-05-01 10:08:20.000',
      first_arrival_resource_id: 'INC-REV-1-R1',
    });

    // R1 pressed "arrived" early: it arrived at 10:10, after R2.
    const early = events.find(
      (event) =>
        event.event_type === 'incident.resource_arrived' &&
        event.payload.resource_id === 'INC-REV-1-R1',
    ) as FixtureEvent;
    await landEvents(db.client, [correction(early, Date.parse('2024-05-01T10:10:00Z'))]);
    expect(await incident('INC-REV-1')).toMatchObject({
      first_arrival: '2024-05-01 10:08:20.000',
      second_arrival: '2024-05-01 10:10:00.000',
      first_arrival_resource_id: 'INC-REV-1-R2',
    });

    // Later: a plain event (closure), and the corrected event delivered once more.
    await landEvents(db.client, [
      fixtureEvent('incident.closed', Date.parse('2024-05-01T11:00:00Z'), 'staffordshire-fire', {
        incident_id: 'INC-REV-1',
        stop_code: 'FD07',
        exclusions: { late_call: false, derelict_property: false, abandoned_road_vehicle: false },
      }),
      early,
    ]);
    expect(await incident('INC-REV-1')).toMatchObject({
      first_arrival: '2024-05-01 10:08:20.000',
      first_arrival_resource_id: 'INC-REV-1-R2',
      stop_code: 'FD07',
    });
  });

  it('drop an incident whose every event was retracted, and no other agency’s', async () => {
    const own = incidentFixtureEvents({
      id: 'INC-GONE',
      receivedAt: '2024-05-02T10:00:00Z',
      arrivalsAfter: [300],
    });
    const other = incidentFixtureEvents({
      id: 'INC-GONE',
      agency: 'westmids-fire',
      receivedAt: '2024-05-02T10:00:00Z',
      arrivalsAfter: [420],
    });
    await landEvents(db.client, [...own, ...other]);
    expect(await incident('INC-GONE')).toBeDefined();
    // Westmids retracts "its" copies of staffordshire's event ids: they name no event of its own.
    const foreign = own.map((event) => ({
      ...retraction(event, Date.parse('2024-05-02T12:00:00Z')),
      agency: 'westmids-fire',
    }));
    await landEvents(db.client, foreign);
    expect(await incident('INC-GONE')).toMatchObject({ first_arrival: '2024-05-02 10:05:00.000' });
    expect(await incident('INC-GONE', 'westmids-fire')).toMatchObject({
      first_arrival: '2024-05-02 10:07:00.000',
    });

    await landEvents(
      db.client,
      own.map((event) => retraction(event, Date.parse('2024-05-02T12:00:00Z'))),
    );
    expect(await incident('INC-GONE')).toBeUndefined();
    expect(await incident('INC-GONE', 'westmids-fire')).toMatchObject({
      first_arrival: '2024-05-02 10:07:00.000',
    });
  });

  it('give a revised call the facts of its effective events', async () => {
    const events = callFixtureEvents({
      id: 'CALL-REV',
      presentedAt: '2024-05-03T09:00:00Z',
      answeredAfter: 4,
      closedAfter: 60,
    });
    await landEvents(db.client, events);
    const answered = events.find((event) => event.event_type === 'call.answered') as FixtureEvent;
    await landEvents(db.client, [correction(answered, Date.parse('2024-05-03T09:00:12Z'))]);
    const [call] = await rows<{ answer_seconds: number }>(
      `SELECT answer_seconds FROM ${ALL_FACTS.calls} WHERE call_id = 'CALL-REV'`,
    );
    expect(call).toEqual({ answer_seconds: 12 });
  });

  it('read every month an entity has rows in, however far apart: a retraction years later', async () => {
    // Incidents in 60 months around it, so the raw table has many partitions beside this one's.
    const neighbours = Array.from({ length: 60 }, (_, month) =>
      incidentFixtureEvents({
        id: `INC-NEIGHBOUR-${month}`,
        receivedAt: new Date(Date.UTC(2019, month, 10, 12)).toISOString(),
        arrivalsAfter: [300],
      }),
    ).flat();
    const events = incidentFixtureEvents({
      id: 'INC-LONG',
      receivedAt: '2020-11-30T23:50:00Z',
      arrivalsAfter: [900, 1_200], // 00:05 and 00:10 on 1 December: the next month
    });
    await landEvents(db.client, [...neighbours, ...events]);
    const arrival = events.find(
      (event) =>
        event.event_type === 'incident.resource_arrived' &&
        event.payload.resource_id === 'INC-LONG-R1',
    ) as FixtureEvent;
    // Three years on, an audit moves the first arrival to after the second.
    await landEvents(db.client, [
      {
        ...correction(arrival, Date.parse('2020-12-01T00:15:00Z')),
        occurred_at: '2020-12-01T00:15:00Z',
      },
    ]);
    // The correction's own time is the corrected arrival, so no new month: retract the second
    // arrival from 2023 instead, which is one.
    const second = events.find(
      (event) =>
        event.event_type === 'incident.resource_arrived' &&
        event.payload.resource_id === 'INC-LONG-R2',
    ) as FixtureEvent;
    await landEvents(db.client, [retraction(second, Date.parse('2023-12-01T09:00:00Z'))]);
    expect(await incident('INC-LONG')).toMatchObject({
      first_arrival: '2020-12-01 00:15:00.000',
      second_arrival: null,
      first_arrival_resource_id: 'INC-LONG-R1',
    });
    const [months] = await rows<{ months: number[] }>(
      `SELECT arraySort(groupUniqArrayArray(raw_months)) AS months FROM fact_entities
       WHERE family = 'incidents' AND entity_id = 'INC-LONG'`,
    );
    expect(months).toEqual({ months: [202011, 202012, 202312] });
    // The neighbours' facts are untouched by the recompute.
    expect(await incident('INC-NEIGHBOUR-23')).toMatchObject({
      first_arrival: '2020-12-10 12:05:00.000',
    });
  });

  it('are computed by the same definition as the views: a recompute of any entity changes nothing', async () => {
    await landEvents(
      db.client,
      incidentFixtureEvents({
        id: 'INC-SAME',
        receivedAt: '2024-05-04T10:00:00Z',
        mobilisedAfter: 60,
        mobileAfter: 120,
        arrivalsAfter: [400, 450, 480],
        closedAfter: 3_600,
        exclusions: { derelictProperty: true },
        delayReason: 'traffic',
      }),
    );
    const columns = `* EXCEPT (ordered_arrivals, last_ingested_at)`;
    const read = () =>
      rows(`SELECT ${columns} FROM ${ALL_FACTS.incidents} WHERE incident_id = 'INC-SAME'`);
    const fromViews = await read();
    expect(fromViews).toHaveLength(1);
    const revisions = await FactRevisions.prepare(db.client, FAMILIES.incidents.revisions);
    await revisions.recompute(db.client, [{ agency: 'staffordshire-fire', id: 'INC-SAME' }]);
    const recomputed = await rows(
      `SELECT count() AS n FROM incident_fact_revisions FINAL WHERE incident_id = 'INC-SAME'`,
    );
    expect(recomputed).toEqual([{ n: 1 }]);
    // Readers take the revision only once the entity is marked revised; compare the rows apart.
    const [aggregate] = await rows(
      `SELECT * EXCEPT (revised) FROM incident_facts FINAL WHERE incident_id = 'INC-SAME'`,
    );
    const [revision] = await rows(
      `SELECT * EXCEPT (generation, is_deleted) FROM incident_fact_revisions FINAL WHERE incident_id = 'INC-SAME'`,
    );
    expect(revision).toEqual(aggregate);
  });
});
