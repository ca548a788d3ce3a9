import { landEvents } from '@bluelight/clickhouse-sink/testing/events';
import { migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KpiQuery } from '../kpi-common.js';
import {
  applianceSegmentsQuery,
  committedElsewhereQuery,
  concurrencyQuery,
  firstArrivalsQuery,
} from './index.js';
import { operationsScenario } from './testing/scenario.js';

let db: Awaited<ReturnType<typeof migratedDatabase>>;
const AGENCY = 'staffordshire-fire';
// The scenario in five months of two years: each fact table has five anchor months.
const STARTS = [
  '2023-10-28T23:00:00Z',
  '2024-01-07T00:00:00Z',
  '2024-03-31T00:00:00Z',
  '2024-06-01T23:00:00Z',
  '2024-10-26T23:00:00Z',
];

beforeAll(async () => {
  db = await migratedDatabase('opsexplain');
  await landEvents(
    db.client,
    STARTS.flatMap((start, index) => operationsScenario(AGENCY, start, `E${index}-`).events),
  );
});
afterAll(async () => {
  await db.drop();
});

/** For each read of `table` in the plan: the parts left after partition pruning, of how many. */
async function partsRead(query: KpiQuery, table: string): Promise<[number, number][]> {
  const result = await db.client.query({
    query: `EXPLAIN indexes = 1 ${query.query}`,
    query_params: query.params,
    format: 'TabSeparatedRaw',
  });
  const lines = (await result.text()).split('\n');
  const reads: [number, number][] = [];
  lines.forEach((line, index) => {
    if (!line.includes('ReadFromMergeTree') || !line.includes(`.${table})`)) return;
    // The first "Parts: a/b" under the read is the MinMax (partition) index's selection.
    for (const next of lines.slice(index + 1, index + 12)) {
      const match = /Parts: (\d+)\/(\d+)/.exec(next);
      if (match) {
        reads.push([Number(match[1]), Number(match[2])]);
        break;
      }
    }
  });
  return reads;
}

describe('operational figures read only the months of their period (EXPLAIN, real ClickHouse)', () => {
  const period = { from: '2024-10-27', to: '2024-10-28' };
  it.each([
    ['appliance segments', 'appliance_facts', applianceSegmentsQuery(period, [AGENCY], 'resource')],
    ['first arrivals', 'appliance_facts', firstArrivalsQuery(period, [AGENCY])],
    ['appliance segments', 'incident_facts', applianceSegmentsQuery(period, [AGENCY], 'resource')],
    ['concurrency', 'incident_facts', concurrencyQuery(period, [AGENCY])],
    ['committed elsewhere', 'incident_facts', committedElsewhereQuery(period, [AGENCY])],
  ] as const)('%s reads %s', async (_name, table, query) => {
    const reads = await partsRead(query, table);
    expect(reads.length).toBeGreaterThan(0);
    for (const [kept, of] of reads) {
      // One anchor month of the period's (October; November holds none), of the five stored.
      expect(of).toBeGreaterThanOrEqual(5);
      expect(kept).toBeLessThanOrEqual(1);
    }
  });
});
