import {
  landEvents,
  type StatusFixture,
  statusFixtureEvents,
} from '@bluelight/clickhouse-sink/testing/events';
import { migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AvailabilityKpiRow,
  type AvailabilityStandardVersion,
  availabilityKpiQuery,
  availabilityKpiResult,
} from './availability-kpi.js';
import { loadStandards } from './load.js';

let db: Awaited<ReturnType<typeof migratedDatabase>>;

const iso = (utc: string) => `${utc.replace(' ', 'T')}Z`;

/**
 * One appliance's status changes for back-to-back intervals [start, end) (end null: still open);
 * the last interval is closed by a change to `unavailable` (other) at its end.
 */
function intervals(
  resource: string,
  crewing: 'wholetime' | 'on_call',
  spans: [start: string, end: string | null, status: StatusFixture['status'], reason?: string][],
) {
  const changes: StatusFixture[] = spans.map(([start, , status, reason]) => ({
    at: iso(start),
    status,
    ...(reason ? { reason } : {}),
  }));
  const last = spans.at(-1)?.[1];
  if (last) changes.push({ at: iso(last), status: 'unavailable', reason: 'other' });
  return statusFixtureEvents(
    { id: resource, station: resource.split('-')[0] as string, crewing },
    changes,
  );
}

beforeAll(async () => {
  db = await migratedDatabase('availkpi');
  await landEvents(db.client, [
    // 10 January 2024 (GMT, so London midnight is UTC midnight); the first interval began the day before.
    ...intervals('LEEK-P1', 'on_call', [
      ['2024-01-09 22:00:00.000', '2024-01-10 06:00:00.000', 'available_at_station'],
      ['2024-01-10 06:00:00.000', '2024-01-10 16:00:00.000', 'unavailable', 'crewing'],
      ['2024-01-10 16:00:00.000', '2024-01-10 20:00:00.000', 'committed'],
      ['2024-01-10 20:00:00.000', '2024-01-10 22:00:00.000', 'unavailable', 'driver'],
      ['2024-01-10 22:00:00.000', '2024-01-11 03:00:00.000', 'available_at_station'],
    ]),
    ...intervals('HANLEY-P1', 'wholetime', [
      ['2024-01-09 00:00:00.000', null, 'available_at_station'],
    ]),
  ]);
});
afterAll(async () => {
  await db.drop();
});

describe('availability KPIs from the standards (real ClickHouse)', () => {
  it('gives on-call time on the run within the period, with off-run hours by reason', async () => {
    const standard = loadStandards().find(
      (candidate) => candidate.id === 'appliance-availability-on-call',
    );
    if (standard?.subject !== 'availability') throw new Error('no availability standard');
    const version = standard.versions[0] as AvailabilityStandardVersion;
    const { query, params } = availabilityKpiQuery(version, {
      from: '2024-01-10',
      to: '2024-01-11',
    });
    const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
    const [row] = (await result.json<AvailabilityKpiRow>()).map((r) =>
      availabilityKpiResult(version, r),
    );
    // On 10 January: on the run 00–06, 16–20 (committed) and 22–24 = 12 h of 24; off the run
    // 10 h crewing and 2 h driver. The whole-time appliance is out of scope.
    expect(row).toEqual({
      group: 'all',
      version: 1,
      hours: 24,
      value: 0.5,
      offRunHoursByReason: { crewing: 10, driver: 2 },
    });
  });

  it('splits time into London days, 23 hours on the night the clocks go forward', async () => {
    const standard = loadStandards().find(
      (candidate) => candidate.id === 'appliance-availability-wholetime',
    );
    if (standard?.subject !== 'availability') throw new Error('no availability standard');
    const version = standard.versions[0] as AvailabilityStandardVersion;
    await landEvents(
      db.client,
      // Off the run from 22:00 GMT on 30 March to 01:30 UTC (02:30 BST) on 31 March 2024.
      intervals('STONE-P1', 'wholetime', [
        ['2024-03-30 00:00:00.000', '2024-03-30 22:00:00.000', 'available_at_station'],
        ['2024-03-30 22:00:00.000', '2024-03-31 01:30:00.000', 'unavailable', 'mechanical'],
        ['2024-03-31 01:30:00.000', '2024-04-02 00:00:00.000', 'available_at_station'],
      ]),
    );
    const { query, params } = availabilityKpiQuery(
      version,
      { from: '2024-03-30', to: '2024-04-01' },
      'day',
      { station: ['STONE'] },
    );
    const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
    const rows = (await result.json<AvailabilityKpiRow>()).map((r) =>
      availabilityKpiResult(version, r),
    );
    // 30 March: 22 h on, 2 h off. 31 March (23 h in London): 1.5 h off (00:00–02:30 BST), 21.5 h on.
    expect(rows).toEqual([
      {
        group: '2024-03-30',
        version: 1,
        hours: 24,
        value: 22 / 24,
        offRunHoursByReason: { mechanical: 2 },
      },
      {
        group: '2024-03-31',
        version: 1,
        hours: 23,
        value: 21.5 / 23,
        offRunHoursByReason: { mechanical: 1.5 },
      },
    ]);
  });
});
