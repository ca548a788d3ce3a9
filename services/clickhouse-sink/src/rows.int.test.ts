import { validateEvent, validExamples } from '@bluelight/schemas';
import { migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAMILIES, type Family } from './families.js';
import type { RawRow } from './rows.js';

let db: Awaited<ReturnType<typeof migratedDatabase>>;
beforeAll(async () => {
  db = await migratedDatabase('sink_drift');
});
afterAll(async () => {
  await db.drop();
});

function exampleRows(family: Family) {
  return validExamples().flatMap((example, index) => {
    const result = validateEvent(example.event);
    if (!result.ok || !family.topic.eventTypes.includes(result.event.event_type)) return [];
    const row = family.toRow(result.event, {
      topic: family.topic.name,
      partition: 0,
      offset: String(index),
      ingestedAt: new Date('2024-06-01T12:00:00Z'),
    });
    // What the processor stamps on every row: its entity's anchor and revised flag.
    return [{ ...row, _anchor: '2024-06-01', _revised: 0 } as RawRow];
  });
}

// Schema drift: a column renamed in a migration but not in the row mapper (or the reverse)
// must fail here, not in production at 3 a.m.
describe.each(Object.values(FAMILIES))('$rawTable rows', (family) => {
  it('have exactly the columns of the migrated table', async () => {
    const described = await db.client.query({
      query:
        'SELECT name FROM system.columns WHERE database = {db:String} AND table = {table:String} ORDER BY position',
      query_params: { db: db.database, table: family.rawTable },
      format: 'JSONEachRow',
    });
    const columns = (await described.json<{ name: string }>()).map((row) => row.name);
    const rows = exampleRows(family);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(Object.keys(row).sort()).toEqual([...columns].sort());
  });

  it('insert without unknown or missing fields, and reach the derived facts', async () => {
    const rows = exampleRows(family);
    await db.client.insert({
      table: family.rawTable,
      values: rows,
      format: 'JSONEachRow',
      clickhouse_settings: {
        input_format_skip_unknown_fields: 0,
        input_format_defaults_for_omitted_fields: 0,
      },
    });
    const counted = await db.client.query({
      query: `SELECT count() AS n FROM ${family.rawTable}`,
      format: 'JSONEachRow',
    });
    expect(await counted.json()).toEqual([{ n: rows.length }]);
    const entities = await db.client.query({
      query: `SELECT count() AS n FROM (SELECT DISTINCT agency, entity_id FROM fact_entities
              WHERE family = {family:String})`,
      query_params: { family: family.name },
      format: 'JSONEachRow',
    });
    const ids = new Set(rows.map((row) => `${row.agency}/${row[family.entityColumn]}`));
    expect(await entities.json()).toEqual([{ n: ids.size }]);
  });
});
