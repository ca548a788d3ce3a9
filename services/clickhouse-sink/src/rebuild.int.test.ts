import { ALL_FACTS, migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RebuildProgress, rebuildFacts } from './rebuild.js';
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
  db = await migratedDatabase('rebuild');
});
afterAll(async () => {
  await db.drop();
});

async function everyFact() {
  const read = async (source: string, order: string) => {
    const result = await db.client.query({
      query: `SELECT * EXCEPT (last_ingested_at) FROM ${source} ORDER BY ${order}`,
      format: 'JSONEachRow',
    });
    return result.json();
  };
  return {
    incidents: await read(ALL_FACTS.incidents, 'agency, incident_id'),
    calls: await read(ALL_FACTS.calls, 'agency, call_id'),
    intervals: await read(ALL_FACTS.intervals, 'agency, resource_id, start_at'),
  };
}

describe('bluelight facts rebuild (real ClickHouse)', () => {
  it('rebuilds from the raw events exactly the facts the views and revisions keep', async () => {
    const incident = incidentFixtureEvents({
      id: 'INC-RB-1',
      receivedAt: '2023-12-31T23:50:00Z',
      mobilisedAfter: 60,
      mobileAfter: 120,
      arrivalsAfter: [420, 600],
      closedAfter: 3_600,
    });
    const arrival = incident.find(
      (event) => event.event_type === 'incident.resource_arrived',
    ) as FixtureEvent;
    const correction: FixtureEvent = {
      ...fixtureEvent(
        arrival.event_type,
        Date.parse(arrival.occurred_at) + 90_000,
        arrival.agency,
        arrival.payload,
      ),
      corrects: { event_id: arrival.event_id, reason: 'AVL' },
    };
    await landEvents(db.client, [
      ...incident,
      ...incidentFixtureEvents({
        id: 'INC-RB-1',
        agency: 'westmids-fire',
        receivedAt: '2024-02-10T10:00:00Z',
        arrivalsAfter: [300],
      }),
      ...callFixtureEvents({ id: 'C-RB-1', presentedAt: '2024-01-05T09:00:00Z', answeredAfter: 7 }),
      ...statusFixtureEvents({ id: 'RB-P1', station: 'RB', crewing: 'on_call' }, [
        { at: '2023-11-30T08:00:00Z', status: 'available_at_station' },
        { at: '2024-01-02T08:00:00Z', status: 'unavailable', reason: 'crewing' },
      ]),
    ]);
    await landEvents(db.client, [correction]);
    const before = await everyFact();
    expect(before.incidents).toHaveLength(2);

    const progress: RebuildProgress[] = [];
    const result = await rebuildFacts(db.client, (step) => progress.push(step));
    expect(await everyFact()).toEqual(before);
    // Raw months 2023-11, 2023-12, 2024-01 and 2024-02, each through the views reading them.
    expect(result.partitions).toBeGreaterThanOrEqual(4);
    expect(result.revised).toBe(1);
    expect(progress.at(-1)).toEqual({ step: 'revisions', done: 1, total: 1 });
  });
});
