import { validateEvent, validExamples } from '@bluelight/schemas';
import { migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAMILIES, type Family } from './families.js';
import { type RawRow, rawRow } from './rows.js';

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
    const row = rawRow(
      result.event,
      {
        topic: family.topic.name,
        partition: 0,
        offset: String(index),
        ingestedAt: new Date('2024-06-01T12:00:00Z'),
      },
      family.entityColumn,
    );
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

// The sink sends times as the ISO 8601 text it received and the payload as the JSON object it
// parsed (RAW_INSERT_SETTINGS); ClickHouse must store exactly what the contract means by them.
describe('raw rows as the sink sends them', () => {
  const times = [
    '2024-03-31T00:59:59.999Z', // the last instant of GMT before the clocks go forward
    '2024-03-31T02:30:00+01:00', // BST, with an offset
    '2024-10-27T01:30:00+01:00', // the repeated hour, first time round
    '2024-10-27T01:30:00+00:00', // …and the second
    '2024-06-01T12:00:00.1239Z', // more precision than ClickHouse keeps: truncated, as JS does
    '2024-06-01T07:00:00.5-05:30', // a half-hour offset
    '2000-01-01T00:00:00Z', // the earliest event time accepted by default
  ];

  it('store each event time as the instant it names, and the payload as its JSON text', async () => {
    const { fixtureEvent, landEvents } = await import('./testing/land.js');
    const payloads = times.map((_, index) => ({
      call_id: `ROWS-${index}`,
      line: '999',
      service: 'fire',
      queue: index % 2 === 0 ? 'Quote " and \\ backslash' : 'Ünïcödé ✓ 🚒',
    }));
    const events = times.map((occurredAt, index) => ({
      ...fixtureEvent('call.presented', Date.parse(occurredAt), 'rows-test', payloads[index] ?? {}),
      occurred_at: occurredAt,
    }));
    await landEvents(db.client, events);
    const stored = await db.client.query({
      query: `SELECT call_id, toString(occurred_at) AS occurred_at, payload FROM calls_raw
              WHERE agency = 'rows-test' ORDER BY call_id`,
      format: 'JSONEachRow',
    });
    expect(await stored.json()).toEqual(
      times.map((occurredAt, index) => ({
        call_id: `ROWS-${index}`,
        occurred_at: new Date(occurredAt).toISOString().replace('T', ' ').replace('Z', ''),
        payload: JSON.stringify(payloads[index]),
      })),
    );
  });
});
