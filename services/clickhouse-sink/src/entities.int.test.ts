import { migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntityDirectory } from './entities.js';
import { incidentFixtureEvents, landEvents } from './testing/land.js';

let db: Awaited<ReturnType<typeof migratedDatabase>>;
beforeAll(async () => {
  db = await migratedDatabase('entities');
});
afterAll(async () => {
  await db.drop();
});

describe('the entity directory (real ClickHouse)', () => {
  it('knows the entities ClickHouse holds after a restart, asking only about those it may have seen', async () => {
    // Landed as the sink lands them (partition 0), anchored on their calls' London months.
    await landEvents(db.client, [
      ...incidentFixtureEvents({ id: 'INC-OLD-1', receivedAt: '2024-01-31T23:30:00Z' }),
      ...incidentFixtureEvents({ id: 'INC-OLD-2', receivedAt: '2024-03-31T23:30:00Z' }),
    ]);
    const restarted = new EntityDirectory('incidents');
    const found = await restarted.lookup(db.client, [
      { key: { agency: 'staffordshire-fire', id: 'INC-OLD-1' }, partition: 0 },
      { key: { agency: 'staffordshire-fire', id: 'INC-OLD-2' }, partition: 0 },
      { key: { agency: 'staffordshire-fire', id: 'INC-NEW' }, partition: 0 },
      // The same id in another agency is another entity, and new.
      { key: { agency: 'westmids-fire', id: 'INC-OLD-1' }, partition: 0 },
    ]);
    expect(Object.fromEntries(found)).toEqual({
      'staffordshire-fire\u0000INC-OLD-1': { anchor: '2024-01-01', revised: false },
      'staffordshire-fire\u0000INC-OLD-2': { anchor: '2024-04-01', revised: false },
    });
    // The two it holds were looked up; the new ones were known new without asking.
    expect(restarted.lookedUp).toBe(2);

    // What it is told it wrote, it remembers without asking again.
    await restarted.remember(
      db.client,
      new Map([
        ['staffordshire-fire\u0000INC-NEW', { anchor: '2024-05-01', revised: false, partition: 0 }],
      ]),
    );
    const again = await restarted.lookup(db.client, [
      { key: { agency: 'staffordshire-fire', id: 'INC-NEW' }, partition: 0 },
      { key: { agency: 'staffordshire-fire', id: 'INC-OLD-1' }, partition: 0 },
    ]);
    expect(again.get('staffordshire-fire\u0000INC-NEW')).toEqual({
      anchor: '2024-05-01',
      revised: false,
    });
    expect(restarted.lookedUp).toBe(3);
  });
});
