import { validateEvent } from '@bluelight/schemas';
import { migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAMILIES } from '../families.js';
import { uuidV7 } from '../testing/incident-scenario.js';

let db: Awaited<ReturnType<typeof migratedDatabase>>;
beforeAll(async () => {
  db = await migratedDatabase('intervals');
});
afterAll(async () => {
  await db.drop();
});

const T = (minutes: number) => Date.parse('2024-03-31T00:00:00Z') + minutes * 60_000;
const family = FAMILIES.resources;

function statusChange(minutes: number, state: Record<string, unknown>, corrects?: string) {
  const result = validateEvent({
    event_id: uuidV7(T(minutes)),
    event_type:
      corrects && !('status' in state) ? 'resource.event_retracted' : 'resource.status_changed',
    schema_version: 1,
    occurred_at: new Date(T(minutes)).toISOString(),
    source: 'station-end-test',
    agency: 'staffordshire-fire',
    ...(corrects ? { corrects: { event_id: corrects, reason: 'sent in error' } } : {}),
    payload:
      'status' in state
        ? {
            resource_id: 'LEEK-P1',
            home_station: 'LEEK',
            appliance_type: 'pump',
            crewing_model: 'on_call',
            state,
          }
        : { resource_id: 'LEEK-P1' },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.event;
}

/** Inserts one batch of events and refreshes the intervals, as the sink does. */
async function deliver(events: ReturnType<typeof statusChange>[]) {
  const rows = events.map((event, index) =>
    family.toRow(event, {
      topic: 't',
      partition: 0,
      offset: String(index),
      ingestedAt: new Date(),
    }),
  );
  await db.client.insert({ table: family.rawTable, values: rows, format: 'JSONEachRow' });
  await family.refresh(
    db.client,
    ['LEEK-P1'],
    rows.map((row) => String(row.event_id)),
  );
}

async function intervals() {
  const result = await db.client.query({
    query: `SELECT toUnixTimestamp64Milli(start_at) AS start, toUnixTimestamp64Milli(end_at) AS end, status
            FROM resource_intervals FINAL WHERE resource_id = 'LEEK-P1' ORDER BY start_at`,
    format: 'JSONEachRow',
  });
  return result.json<{ start: number; end: number | null; status: string }>();
}

describe('resource availability intervals (real ClickHouse)', () => {
  it('follow late changes and retractions, recomputing only from the last change before them', async () => {
    const unavailable = statusChange(180, { status: 'unavailable', reason: 'crewing' });
    await deliver([
      statusChange(0, { status: 'available_at_station' }),
      unavailable,
      statusChange(300, { status: 'available_at_station' }),
    ]);
    expect(await intervals()).toEqual([
      { start: T(0), end: T(180), status: 'available_at_station' },
      { start: T(180), end: T(300), status: 'unavailable' },
      { start: T(300), end: null, status: 'available_at_station' },
    ]);

    // A change from before the others arrives late: it splits the first interval.
    await deliver([statusChange(60, { status: 'committed', incident_id: 'SFRS-1' })]);
    expect(await intervals()).toEqual([
      { start: T(0), end: T(60), status: 'available_at_station' },
      { start: T(60), end: T(180), status: 'committed' },
      { start: T(180), end: T(300), status: 'unavailable' },
      { start: T(300), end: null, status: 'available_at_station' },
    ]);

    // The off-the-run change was sent in error: its interval disappears, the one before grows.
    await deliver([statusChange(400, {}, unavailable.event_id)]);
    expect(await intervals()).toEqual([
      { start: T(0), end: T(60), status: 'available_at_station' },
      { start: T(60), end: T(300), status: 'committed' },
      { start: T(300), end: null, status: 'available_at_station' },
    ]);

    // A new change at the end leaves earlier intervals untouched (same versions).
    const versionsBefore = await db.client.query({
      query: `SELECT toString(start_at) AS s, toString(version) AS v FROM resource_intervals FINAL WHERE start_at < {cut:DateTime64(3, 'UTC')} ORDER BY s`,
      query_params: { cut: '2024-03-31 05:00:00.000' },
      format: 'JSONEachRow',
    });
    const before = await versionsBefore.json();
    await deliver([statusChange(500, { status: 'unavailable', reason: 'driver' })]);
    const versionsAfter = await db.client.query({
      query: `SELECT toString(start_at) AS s, toString(version) AS v FROM resource_intervals FINAL WHERE start_at < {cut:DateTime64(3, 'UTC')} ORDER BY s`,
      query_params: { cut: '2024-03-31 05:00:00.000' },
      format: 'JSONEachRow',
    });
    expect(await versionsAfter.json()).toEqual(before);
    expect((await intervals()).slice(-2)).toEqual([
      { start: T(300), end: T(500), status: 'available_at_station' },
      { start: T(500), end: null, status: 'unavailable' },
    ]);
  });
});
