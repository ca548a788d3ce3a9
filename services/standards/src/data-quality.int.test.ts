import {
  callFixtureEvents,
  incidentFixtureEvents,
  landEvents,
} from '@bluelight/clickhouse-sink/testing/events';
import { migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DataQualityCheck,
  type DataQualityRecord,
  DataQualityRequestError,
  dataQualityRecords,
  dataQualityRecordsQuery,
  dataQualitySummary,
  dataQualitySummaryQuery,
} from './data-quality.js';
import {
  dataQualityScenario,
  type ExpectedRecord,
  expectedCounts,
  iso,
  londonDay,
} from './testing/data-quality.js';

let db: Awaited<ReturnType<typeof migratedDatabase>>;

const FIRE = 'staffordshire-fire';
const CONTROL = 'staffordshire-control';
const NEIGHBOUR = 'cheshire-fire';

const scenario = dataQualityScenario({ fire: FIRE, calls: CONTROL, neighbour: NEIGHBOUR });
const { from: FROM, to: TO, now: NOW, base: BASE } = scenario;
const EVENTS = scenario.events;
const EXPECTED = scenario.expected.filter((record) => record.agency !== NEIGHBOUR);
type Expected = ExpectedRecord;

let landedAt = 0;
beforeAll(async () => {
  db = await migratedDatabase('quality');
  // Clean incidents and calls in four months of 2023, so the facts have partitions a period of
  // today's must not read (EXPLAIN below); in one landing, one part per partition.
  const history = ['2023-01-15', '2023-04-15', '2023-07-15', '2023-10-15'].flatMap((day, index) => [
    ...incidentFixtureEvents({
      id: `HIST-${index}`,
      agency: FIRE,
      receivedAt: `${day}T12:00:00Z`,
      mobilisedAfter: 60,
      mobileAfter: 90,
      arrivalsAfter: [300],
      closedAfter: 1_800,
    }),
    ...callFixtureEvents({
      id: `HIST-C${index}`,
      agency: CONTROL,
      presentedAt: `${day}T11:59:00Z`,
      answeredAfter: 4,
      closedAfter: 60,
      outcome: 'no_further_action',
    }),
  ]);
  await landEvents(db.client, [...EVENTS, ...history]);
  landedAt = Date.now();
});
afterAll(async () => {
  await db.drop();
});

const key = (record: { check: string; agency: string; id: string }) =>
  `${record.check}|${record.agency}|${record.id}`;

async function allRecords(agencies: string[], checks?: DataQualityCheck[]) {
  const page = await dataQualityRecords(db.client, {
    agencies,
    from: FROM,
    to: TO,
    limit: 1_000,
    ...(checks ? { checks } : {}),
  });
  expect(page.nextOffset).toBeNull();
  return page.records;
}

function expectRecords(records: DataQualityRecord[], expected: Expected[]) {
  expect(records.map(key).sort()).toEqual(expected.map(key).sort());
  for (const want of expected) {
    const got = records.find((record) => key(record) === key(want));
    expect(got).toMatchObject({
      source: want.source,
      entity: want.entity,
      day: londonDay(want.at),
      at: iso(want.at),
    });
    if (want.check === 'late_ingest') {
      // The latest event (the closure, 1,800 s after the call) to when the events landed.
      const latest = want.at + 1_800_000;
      expect(got?.seconds).toBeGreaterThan((NOW - latest) / 1000 - 1);
      expect(got?.seconds).toBeLessThanOrEqual((landedAt - latest) / 1000 + 1);
    } else {
      expect(got?.seconds).toBe(want.seconds);
    }
  }
}

const countsOf = expectedCounts;

describe('the data-quality report (real ClickHouse)', () => {
  it('lists exactly the records each check flags, with their source, and none of the clean ones', async () => {
    const records = await allRecords([FIRE, CONTROL]);
    expectRecords(records, EXPECTED);
    const oos = records.find((record) => record.id === 'OOS');
    expect(oos?.detail).toBe(
      `first_arrival_at ${iso(BASE + 150_000)
        .replace('T', ' ')
        .replace('Z', '')} is before first_mobilised_at ${iso(BASE + 200_000)
        .replace('T', ' ')
        .replace('Z', '')}`,
    );
  });

  it('counts the records per check, in total and per agency and source', async () => {
    const summary = await dataQualitySummary(db.client, {
      agencies: [FIRE, CONTROL],
      from: FROM,
      to: TO,
    });
    expect(summary.totals).toEqual(countsOf(EXPECTED));
    const bySource = new Map<string, Expected[]>();
    for (const record of EXPECTED) {
      const at = `${record.agency}|${record.source}`;
      bySource.set(at, [...(bySource.get(at) ?? []), record]);
    }
    expect(
      Object.fromEntries(
        summary.sources.map((entry) => [`${entry.agency}|${entry.source}`, entry.checks]),
      ),
    ).toEqual(Object.fromEntries([...bySource].map(([at, records]) => [at, countsOf(records)])));
    expect(summary.agencies).toEqual([CONTROL, FIRE]);
  });

  it('reads only the agencies asked for: a call of an agency not asked for is not linked', async () => {
    const fireOnly = EXPECTED.filter((record) => record.agency === FIRE && record.id !== 'INC-C2');
    expectRecords(await allRecords([FIRE]), fireOnly);
    expectRecords(
      await allRecords([NEIGHBOUR]),
      scenario.expected.filter((record) => record.agency === NEIGHBOUR),
    );
  });

  it('filters by check and pages the records in a stable order', async () => {
    const skew = await allRecords([FIRE, CONTROL], ['clock_skew']);
    expectRecords(
      skew,
      EXPECTED.filter((record) => record.check === 'clock_skew'),
    );
    const all = await allRecords([FIRE, CONTROL]);
    const paged: DataQualityRecord[] = [];
    let offset: number | null = 0;
    while (offset !== null) {
      const page = await dataQualityRecords(db.client, {
        agencies: [FIRE, CONTROL],
        from: FROM,
        to: TO,
        limit: 3,
        offset,
      });
      paged.push(...page.records);
      offset = page.nextOffset;
    }
    expect(paged).toEqual(all);
  });

  it('finds nothing outside the period', async () => {
    const summary = await dataQualitySummary(db.client, {
      agencies: [FIRE, CONTROL],
      from: '2024-01-01',
      to: '2024-01-31',
    });
    expect(summary.totals).toEqual(countsOf([]));
    expect(summary.sources).toEqual([]);
  });

  it('refuses a request without an agency, naming it', async () => {
    await expect(
      dataQualitySummary(db.client, { agencies: [], from: FROM, to: TO }),
    ).rejects.toThrow(DataQualityRequestError);
  });
});

/** For each read of `table` in the plan: the parts left after partition pruning, of how many. */
async function partsRead(query: { query: string; params: Record<string, unknown> }, table: string) {
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

describe('the data-quality report reads only the months of its period (EXPLAIN, real ClickHouse)', () => {
  const request = { agencies: [FIRE, CONTROL], from: FROM, to: TO };
  it.each([
    ['the summary', 'incident_facts', dataQualitySummaryQuery(request)],
    ['the summary', 'call_facts', dataQualitySummaryQuery(request)],
    ['the records', 'incident_facts', dataQualityRecordsQuery({ ...request, limit: 10 })],
    ['the records', 'call_facts', dataQualityRecordsQuery({ ...request, limit: 10 })],
  ] as const)('%s reads %s', async (_name, table, query) => {
    const reads = await partsRead(query, table);
    expect(reads.length).toBeGreaterThan(0);
    for (const [kept, of] of reads) {
      // This month's part (and last month's, on the 1st), of the five or more stored.
      expect(of).toBeGreaterThanOrEqual(5);
      expect(kept).toBeLessThanOrEqual(2);
    }
  });
});
