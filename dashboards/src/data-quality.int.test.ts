/**
 * The "Data quality" row of the response-standards dashboard, run as Grafana would (the
 * provisioned JSON, its macros and the agency variable expanded) over the data-quality
 * scenario's hand-built records: the counts and the latest records equal the hand-made list.
 */
import { landEvents } from '@bluelight/clickhouse-sink/testing/events';
import { DATA_QUALITY_CHECKS } from '@bluelight/standards';
import { dataQualityScenario, expectedCounts } from '@bluelight/standards/testing/data-quality';
import { migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA_QUALITY_LABELS } from './dashboards/data-quality.js';
import { panel, provisionedDashboards, runPanel } from './testing/grafana-run.js';

const FIRE = 'staffordshire-fire';
const CONTROL = 'staffordshire-control';
const NEIGHBOUR = 'cheshire-fire';
const scenario = dataQualityScenario({ fire: FIRE, calls: CONTROL, neighbour: NEIGHBOUR });

let db: Awaited<ReturnType<typeof migratedDatabase>>;
beforeAll(async () => {
  db = await migratedDatabase('dash_quality');
  await landEvents(db.client, scenario.events);
});
afterAll(async () => {
  await db?.drop();
});

const dashboard = () => {
  const found = provisionedDashboards().find((each) => each.uid === 'bluelight-response-standards');
  if (!found) throw new Error('no response-standards dashboard');
  return found;
};
// The last two days, as the scenario's period.
const range = () => ({ from: new Date(scenario.now - 86_400_000), to: new Date(scenario.now) });

describe('the Data quality panels (real ClickHouse, provisioned dashboard)', () => {
  it('counts the records of each check for the agencies chosen, and lists them latest first', async () => {
    const chosen = { ...range(), variables: { agency: [FIRE, CONTROL] } };
    const [counts] = await runPanel(
      db.client,
      panel(dashboard(), 'Data quality: records flagged per check'),
      chosen,
    );
    const expected = scenario.expected.filter((record) => record.agency !== NEIGHBOUR);
    const totals = expectedCounts(expected);
    expect(counts?.rows).toEqual([
      Object.fromEntries(
        DATA_QUALITY_CHECKS.map((check) => [DATA_QUALITY_LABELS[check], totals[check]]),
      ),
    ]);
    const [records] = await runPanel(
      db.client,
      panel(dashboard(), 'Data quality: latest records flagged'),
      chosen,
    );
    const rows = records?.rows ?? [];
    expect(rows.map((row) => `${row.check}|${row.id}`).sort()).toEqual(
      expected.map((record) => `${record.check}|${record.id}`).sort(),
    );
    // Latest day first.
    const days = rows.map((row) => String(row.day));
    expect(days).toEqual([...days].sort().reverse());
  });

  it('at All, counts every agency (the neighbour too)', async () => {
    const [counts] = await runPanel(
      db.client,
      panel(dashboard(), 'Data quality: records flagged per check'),
      { ...range(), variables: { agency: [FIRE, CONTROL, NEIGHBOUR] }, all: ['agency'] },
    );
    const totals = expectedCounts(scenario.expected);
    expect(counts?.rows).toEqual([
      Object.fromEntries(
        DATA_QUALITY_CHECKS.map((check) => [DATA_QUALITY_LABELS[check], totals[check]]),
      ),
    ]);
  });
});
