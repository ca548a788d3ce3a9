import { callFixtureEvents, landEvents } from '@bluelight/clickhouse-sink/testing/events';
import { migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CallGrouping,
  type CallKpiRow,
  type CallStandardVersion,
  callKpiQuery,
  callKpiResult,
} from './call-kpi.js';
import { loadStandards } from './load.js';

let db: Awaited<ReturnType<typeof migratedDatabase>>;

const OURS = 'staffordshire-control';
const NEIGHBOUR = 'cheshire-control';

/** A hand-built call: presentation, answer after `wait` s (or abandoned after 30 s), close after `triage` s more. */
function call(
  id: string,
  line: '999' | '101',
  presented: string,
  wait: number | null,
  triage?: number,
  outcome = '',
  agency = OURS,
) {
  return callFixtureEvents({
    id,
    agency,
    presentedAt: presented,
    line,
    service: 'police',
    queue: `${line}-general`,
    answeredAfter: wait,
    abandonedAfter: wait === null ? 30 : null,
    closedAfter: wait === null || triage === undefined ? null : wait + triage,
    ...(outcome ? { outcome } : {}),
  });
}

beforeAll(async () => {
  db = await migratedDatabase('callkpi');
  await landEvents(
    db.client,
    [
      call('c1', '999', '2024-03-31T08:00:00Z', 3),
      call('c2', '999', '2024-03-31T08:01:00Z', 9.5),
      call('c3', '999', '2024-03-31T08:02:00Z', 10),
      call('c4', '999', '2024-03-31T08:03:00Z', 10.5),
      call('c5', '999', '2024-03-31T08:04:00Z', 45),
      call('c6', '999', '2024-03-31T08:05:00Z', 75),
      call('c7', '999', '2024-03-31T08:06:00Z', null),
      // 23:59:59 GMT on 30 March: the day before in London, outside the period.
      call('c8', '999', '2024-03-30T23:59:59Z', 5),
      call('t1', '101', '2024-03-31T09:00:00Z', 60, 180, 'resolved_at_triage'),
      call('t2', '101', '2024-03-31T09:10:00Z', 60, 240, 'appointment_booked'),
      call('t3', '101', '2024-03-31T09:20:00Z', 60, 120, 'resolved_at_triage'),
      call('t4', '101', '2024-03-31T09:30:00Z', 60, 300, 'referred_to_other_agency'),
      call('t5', '101', '2024-03-31T09:40:00Z', 60, 60, 'resolved_at_triage'),
      // A neighbouring control room, the same morning and queue names: 4 of 5 within 10 s.
      ...[2, 4, 6, 8, 20].map((wait, index) =>
        call(`n${index + 1}`, '999', `2024-03-31T08:1${index}:00Z`, wait, undefined, '', NEIGHBOUR),
      ),
    ].flat(),
  );
});
afterAll(async () => {
  await db.drop();
});

async function compute(id: string, groupBy: CallGrouping = 'none', agencies = [OURS]) {
  const standard = loadStandards().find((candidate) => candidate.id === id);
  if (standard?.subject !== 'calls') throw new Error(`no call standard ${id}`);
  const version = standard.versions[0] as CallStandardVersion;
  const { query, params } = callKpiQuery(
    version,
    { from: '2024-03-31', to: '2024-04-01' },
    agencies,
    groupBy,
  );
  const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return (await result.json<CallKpiRow>()).map((row) => callKpiResult(version, row));
}

describe('call KPIs from the standards (real ClickHouse)', () => {
  it('computes 999 answered within 10 s, the mean wait and the answer bands', async () => {
    // Answered: 3, 9.5, 10, 10.5, 45, 75 s → 3 of 6 within 10 s; mean 153 / 6 = 25.5 s;
    // bands ≤ 10 s: 3 (the same 3, 10.0 s among them), 10–60 s: 2, > 60 s: 1. c7 abandoned;
    // c8 is on 30 March in London.
    expect(await compute('calls-999-answer')).toEqual([
      {
        group: 'all',
        version: 1,
        calls: 7,
        abandoned: 1,
        n: 6,
        met: 3,
        value: 0.5,
        insufficientData: false,
        meanSeconds: 25.5,
        // PERCENTILE.INC at 0.9 of the six: h = 0.9 × 5 + 1 = 5.5, 45 + 0.5 × (75 − 45) = 60.
        percentileSeconds: 60,
        bands: [3, 2, 1],
      },
    ]);
  });

  it('counts only the agencies asked for, apart and together', async () => {
    // The neighbour's 999 calls: 2, 4, 6, 8, 20 s → 4 of 5 within 10 s, mean 8 s.
    expect(await compute('calls-999-answer', 'none', [NEIGHBOUR])).toMatchObject([
      { calls: 5, abandoned: 0, n: 5, met: 4, value: 0.8, meanSeconds: 8, bands: [4, 1, 0] },
    ]);
    // Together: 7 of 11 within 10 s (10.0 counts), one abandoned.
    expect(await compute('calls-999-answer', 'none', [OURS, NEIGHBOUR])).toMatchObject([
      // The first band is exactly those within 10 s.
      { calls: 12, abandoned: 1, n: 11, met: 7, bands: [7, 3, 1] },
    ]);
    // By agency in one query: each agency's own figure.
    const byAgency = await compute('calls-999-answer', 'agency', [OURS, NEIGHBOUR]);
    expect(byAgency.map(({ group, n, met }) => ({ group, n, met }))).toEqual([
      { group: NEIGHBOUR, n: 5, met: 4 },
      { group: OURS, n: 6, met: 3 },
    ]);
    // The neighbour has no 101 calls: no row.
    expect(await compute('calls-101-triage', 'none', [NEIGHBOUR])).toEqual([]);
  });

  it('computes 101 resolution at triage and the mean triage time', async () => {
    const [result] = await compute('calls-101-triage');
    // 3 of 5 resolved at triage; triage 180, 240, 120, 300, 60 s → mean 180 s.
    expect(result).toMatchObject({
      calls: 5,
      n: 5,
      value: 0.6,
      meanSeconds: 180,
      insufficientData: false,
    });
  });

  it('groups by London hour of the week on the morning the clocks go forward', async () => {
    // Sunday 31 March 2024: 08:00 UTC is 09:00 BST (ISO day 7), 09:00 UTC is 10:00 BST.
    const rows = await compute('calls-999-answer', 'hour_of_week');
    expect(rows.map((row) => [row.group, row.calls])).toEqual([['7-09', 7]]);
    const triage = await compute('calls-101-triage', 'hour_of_week');
    expect(triage.map((row) => [row.group, row.calls])).toEqual([['7-10', 5]]);
  });
});
