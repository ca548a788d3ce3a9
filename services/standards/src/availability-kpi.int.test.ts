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

const OURS = 'staffordshire-fire';
const NEIGHBOUR = 'cheshire-fire';

const iso = (utc: string) => `${utc.replace(' ', 'T')}Z`;

/**
 * One appliance's status changes for back-to-back intervals [start, end) (end null: still open);
 * the last interval is closed by a change to `unavailable` (other) at its end. A neighbour's
 * appliance may have the same id: identity is (agency, id).
 */
function intervals(
  resource: string,
  crewing: 'wholetime' | 'on_call',
  spans: [start: string, end: string | null, status: StatusFixture['status'], reason?: string][],
  agency = OURS,
) {
  const changes: StatusFixture[] = spans.map(([start, , status, reason]) => ({
    at: iso(start),
    status,
    ...(reason ? { reason } : {}),
  }));
  const last = spans.at(-1)?.[1];
  if (last) changes.push({ at: iso(last), status: 'unavailable', reason: 'other' });
  return statusFixtureEvents(
    { id: resource, agency, station: resource.split('-')[0] as string, crewing },
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
    // A neighbour's on-call pump of the same call sign at a station of the same name, the same
    // day: 18 h off, 6 h on.
    ...intervals(
      'LEEK-P1',
      'on_call',
      [
        ['2024-01-10 00:00:00.000', '2024-01-10 18:00:00.000', 'unavailable', 'training'],
        ['2024-01-10 18:00:00.000', null, 'available_at_station'],
      ],
      NEIGHBOUR,
    ),
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
    const compute = async (agencies: string[], groupBy: 'none' | 'station' = 'none') => {
      const { query, params } = availabilityKpiQuery(
        version,
        { from: '2024-01-10', to: '2024-01-11' },
        agencies,
        groupBy,
      );
      const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
      return (await result.json<AvailabilityKpiRow>()).map((r) =>
        availabilityKpiResult(version, r),
      );
    };
    const [row] = await compute([OURS]);
    // On 10 January: on the run 00–06, 16–20 (committed) and 22–24 = 12 h of 24; off the run
    // 10 h crewing and 2 h driver. The whole-time appliance is out of scope.
    expect(row).toEqual({
      group: 'all',
      version: 1,
      hours: 24,
      value: 0.5,
      offRunHoursByReason: { crewing: 10, driver: 2 },
    });
    // The neighbour's LEEK: on the run 18–24 (6 h of 24), 18 h off for training.
    expect(await compute([NEIGHBOUR], 'station')).toEqual([
      {
        group: 'LEEK',
        version: 1,
        hours: 24,
        value: 0.25,
        offRunHoursByReason: { training: 18 },
      },
    ]);
    // Both: 18 of 48 hours, one LEEK row of both appliances when asked together.
    expect(await compute([OURS, NEIGHBOUR], 'station')).toEqual([
      {
        group: 'LEEK',
        version: 1,
        hours: 48,
        value: 18 / 48,
        offRunHoursByReason: { crewing: 10, driver: 2, training: 18 },
      },
    ]);
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
      [OURS],
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
