import { applianceFactsSql, EVERY_AGENCY } from '@bluelight/clickhouse-schema';
import { migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildFacts } from './rebuild.js';
import {
  type FixtureEvent,
  fixtureEvent,
  landEvents,
  referenceAppliances,
  statusFixtureEvents,
} from './testing/land.js';

let db: Awaited<ReturnType<typeof migratedDatabase>>;
beforeAll(async () => {
  db = await migratedDatabase('appliancefacts');
});
afterAll(async () => {
  await db.drop();
});

const AGENCY = 'staffordshire-fire';

function incident(id: string, receivedAt: string, ground: string): FixtureEvent {
  return fixtureEvent('incident.created', Date.parse(receivedAt) + 20_000, AGENCY, {
    incident_id: id,
    call_received_at: receivedAt,
    details: {
      service: 'fire',
      category: { type: 'secondary_fire' },
      risk_band: 'high',
      life_risk: true,
    },
    location: { station_ground: ground, area: 'Stoke' },
  });
}

function move(
  type: 'mobilised' | 'mobile' | 'arrived' | 'left_scene',
  id: string,
  resource: string,
  at: string,
): FixtureEvent {
  return fixtureEvent(`incident.resource_${type}`, Date.parse(at), AGENCY, {
    incident_id: id,
    resource_id: resource,
  });
}

function retraction(event: FixtureEvent, atMs: number): FixtureEvent {
  return {
    ...fixtureEvent('incident.event_retracted', atMs, event.agency, {
      incident_id: event.payload.incident_id,
    }),
    corrects: { event_id: event.event_id, reason: 'sent in error' },
  };
}

/** What the facts source gives, in the reference's shape (times as epoch ms). */
async function stored() {
  const result = await db.client.query({
    query: `SELECT agency, incident_id, resource_id,
        toUnixTimestamp64Milli(mobilised_at) AS mobilised_at, toUnixTimestamp64Milli(mobile_at) AS mobile_at,
        toUnixTimestamp64Milli(arrived_at) AS arrived_at, toUnixTimestamp64Milli(left_at) AS left_at,
        arrival_order, toUnixTimestamp64Milli(call_received_at) AS call_received_at, station_ground,
        cancelled = 1 AS cancelled, home_station, crossed_border
      FROM (${applianceFactsSql({ from: `toDate('2024-03-01')`, to: `toDate('2024-05-01')` }, EVERY_AGENCY)})
      ORDER BY agency, incident_id, resource_id`,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return result.json<Record<string, unknown>>();
}

const HOMES: Record<string, string> = {
  'HANLEY-P1': 'HANLEY',
  'LEEK-P1': 'LEEK',
  'BURSLEM-P1': 'BURSLEM',
};

function expected(events: FixtureEvent[]) {
  return referenceAppliances(events).map((row) => ({
    ...row,
    cancelled: row.cancelled ? 1 : 0,
    home_station: HOMES[row.resource_id] ?? '',
    crossed_border:
      HOMES[row.resource_id] !== undefined && HOMES[row.resource_id] !== row.station_ground ? 1 : 0,
  }));
}

describe('per-appliance facts (real ClickHouse, through the sink path)', () => {
  // The night the clocks go forward (31 March 2024, 01:00 UTC): an incident across it.
  const race = [
    incident('INC-RACE', '2024-03-31T00:50:00.000Z', 'HANLEY'),
    move('mobilised', 'INC-RACE', 'HANLEY-P1', '2024-03-31T00:51:00.000Z'),
    move('mobilised', 'INC-RACE', 'LEEK-P1', '2024-03-31T00:51:00.000Z'),
    move('mobilised', 'INC-RACE', 'BURSLEM-P1', '2024-03-31T00:51:30.000Z'),
    move('mobile', 'INC-RACE', 'HANLEY-P1', '2024-03-31T00:53:00.000Z'),
    move('mobile', 'INC-RACE', 'LEEK-P1', '2024-03-31T00:52:00.000Z'),
    move('mobile', 'INC-RACE', 'BURSLEM-P1', '2024-03-31T00:52:30.000Z'),
    // The second mobilised arrives first, from another station's ground.
    move('arrived', 'INC-RACE', 'LEEK-P1', '2024-03-31T00:58:00.000Z'),
    move('arrived', 'INC-RACE', 'HANLEY-P1', '2024-03-31T01:02:00.000Z'),
    move('left_scene', 'INC-RACE', 'LEEK-P1', '2024-03-31T02:10:00.000Z'),
    move('left_scene', 'INC-RACE', 'HANLEY-P1', '2024-03-31T02:30:00.000Z'),
    // BURSLEM-P1 is stood down en route: no arrival.
  ];
  const revisedArrival = move('arrived', 'INC-REV', 'HANLEY-P1', '2024-04-02T10:09:00.000Z');
  const lonelyMobilisation = move('mobilised', 'INC-REV', 'BURSLEM-P1', '2024-04-02T10:02:00.000Z');
  const revised = [
    incident('INC-REV', '2024-04-02T10:00:00.000Z', 'HANLEY'),
    move('mobilised', 'INC-REV', 'HANLEY-P1', '2024-04-02T10:01:00.000Z'),
    move('mobile', 'INC-REV', 'HANLEY-P1', '2024-04-02T10:02:00.000Z'),
    revisedArrival,
    lonelyMobilisation,
  ];
  const registry = Object.entries(HOMES).flatMap(([id, station]) =>
    statusFixtureEvents({ id, station, crewing: 'wholetime' }, [
      { at: '2024-03-01T00:00:00Z', status: 'available_at_station' },
    ]),
  );

  it('keeps each appliance’s own times, order of arrival and border crossing, duplicates changing nothing', async () => {
    await landEvents(db.client, [...registry, ...race, ...race.slice(0, 5)]);
    // Delivered again in a later batch.
    await landEvents(db.client, race);
    const rows = await stored();
    expect(rows).toEqual(expected(race));
    const leek = rows.find((row) => row.resource_id === 'LEEK-P1');
    expect(leek).toMatchObject({ arrival_order: 1, crossed_border: 1 });
    expect(rows.find((row) => row.resource_id === 'BURSLEM-P1')).toMatchObject({
      arrival_order: null,
      arrived_at: null,
    });
  });

  it('recomputes a revised incident’s appliances: a corrected arrival, a retracted mobilisation', async () => {
    await landEvents(db.client, revised);
    const correctedArrival: FixtureEvent = {
      ...move('arrived', 'INC-REV', 'HANLEY-P1', '2024-04-02T10:07:30.000Z'),
      corrects: { event_id: revisedArrival.event_id, reason: 'time from AVL' },
    };
    const changes = [
      correctedArrival,
      retraction(lonelyMobilisation, Date.parse('2024-04-02T11:00:00Z')),
    ];
    await landEvents(db.client, changes);
    const all = [...race, ...revised, ...changes];
    const rows = await stored();
    expect(rows).toEqual(expected(all));
    expect(
      rows.filter((row) => row.incident_id === 'INC-REV').map((row) => row.resource_id),
    ).toEqual(['HANLEY-P1']);
  });

  it('is rebuilt by `bluelight facts rebuild` to the same rows', async () => {
    const before = await stored();
    await rebuildFacts(db.client);
    expect(await stored()).toEqual(before);
    expect(before.length).toBeGreaterThan(0);
  });
});
