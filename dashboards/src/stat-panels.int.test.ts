/**
 * Every stat and gauge panel, run as Grafana would on the fixtures (real ClickHouse), then drawn
 * as Grafana's reduction would draw it (grafana-reduce.ts): the wall screen shows every row the
 * query returns — one line's, family's or station's number never stands for all of them.
 */
import { landEvents } from '@bluelight/clickhouse-sink/testing/events';
import { migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  displayedValues,
  displayNameOverrides,
  frameOf,
  type ReduceOptions,
} from './grafana-reduce.js';
import { NEIGHBOUR_DATA, OUR_DATA, PLATFORM_DEAD_LETTERS, T1 } from './testing/fixtures.js';
import { allValues, provisionedDashboards, runPanel } from './testing/grafana-run.js';

type Database = Awaited<ReturnType<typeof migratedDatabase>>;
let db: Database;

beforeAll(async () => {
  db = await migratedDatabase('stat_panels');
  const data = [OUR_DATA, NEIGHBOUR_DATA];
  await landEvents(
    db.client,
    data.flatMap((agency) => agency.events),
  );
  for (const table of Object.keys(OUR_DATA.raw) as (keyof typeof OUR_DATA.raw)[]) {
    const values = data.flatMap((agency) => agency.raw[table]);
    if (values.length > 0) await db.client.insert({ table, format: 'JSONEachRow', values });
  }
  await db.client.insert({
    table: 'dead_letters',
    format: 'JSONEachRow',
    values: PLATFORM_DEAD_LETTERS(),
  });
});
afterAll(async () => {
  await db?.drop();
});

const NUMERIC = /^(Nullable\()?(U?Int\d+|Float\d+|Decimal)/;

describe('stat panels show every row their query returns (real ClickHouse, Grafana reduction model)', () => {
  it('at T1, over the last day, with every variable at All', async () => {
    const range = { from: new Date(T1.getTime() - 86_400_000), to: T1, intervalSeconds: 300 };
    let multiRow = 0;
    let checked = 0;
    for (const dashboard of provisionedDashboards()) {
      const all = await allValues(db.client, dashboard, range);
      for (const panel of dashboard.panels) {
        if (panel.type !== 'stat' && panel.type !== 'gauge') continue;
        const raw = panel as unknown as {
          options?: { reduceOptions?: ReduceOptions };
          fieldConfig?: unknown;
        };
        const reduceOptions = raw.options?.reduceOptions ?? {};
        const names = displayNameOverrides(raw.fieldConfig);
        const [result] = await runPanel(db.client, panel, {
          ...range,
          variables: all,
          all: Object.keys(all),
        });
        if (!result) throw new Error(`${panel.title}: no result`);
        const shown = displayedValues(frameOf(result.meta, result.rows, names), reduceOptions);
        // Which numbers the panel means to show: the columns its `fields` names, or (none named)
        // every numeric column. Computed here from the result, not by the model.
        const pattern = reduceOptions.fields
          ? new RegExp(reduceOptions.fields.replace(/^\/(.*)\/$/, '$1'))
          : undefined;
        const meant = result.meta.filter((column) =>
          pattern ? pattern.test(names[column.name] ?? column.name) : NUMERIC.test(column.type),
        );
        if (result.rows.length > 1) multiRow++;
        for (const [index, row] of result.rows.entries()) {
          for (const column of meant) {
            const value = row[column.name] === null ? null : Number(row[column.name]);
            const label = result.meta
              .filter((other) => /String/.test(other.type))
              .map((other) => String(row[other.name]));
            const found = shown.some(
              (one) =>
                one.field === column.name &&
                one.value === value &&
                (result.rows.length === 1 || label.every((part) => one.title.includes(part))),
            );
            expect(
              found,
              `${dashboard.title} → ${panel.title}: row ${index} (${label.join(' ')}) ${column.name} = ${value} is not on screen; shown: ${JSON.stringify(shown)}`,
            ).toBe(true);
            checked++;
          }
        }
      }
    }
    // Calls waiting (2 lines), ingestion delay twice (3 families), appliances on the run (3).
    expect(multiRow).toBeGreaterThanOrEqual(4);
    expect(checked).toBeGreaterThan(15);
  });
});
