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

function interval(
  resource: string,
  crewing: string,
  start: string,
  end: string | null,
  status: string,
  reason = '',
  agency = OURS,
) {
  return {
    // A neighbour's appliance has its own id (facts are keyed by entity id alone for now).
    resource_id: agency === OURS ? resource : `${agency}/${resource}`,
    start_at: start,
    end_at: end,
    agency,
    home_station: resource.split('-')[0],
    appliance_type: 'pump',
    crewing_model: crewing,
    status,
    unavailable_reason: reason,
    available: status === 'unavailable' ? 0 : 1,
    event_id: `${resource}-${start}`,
    version: '2024-02-01 00:00:00.000000',
    is_deleted: 0,
  };
}

beforeAll(async () => {
  db = await migratedDatabase('availkpi');
  await db.client.insert({
    table: 'resource_intervals',
    format: 'JSONEachRow',
    values: [
      // 10 January 2024 (GMT, so London midnight is UTC midnight); the first interval began the day before.
      interval(
        'LEEK-P1',
        'on_call',
        '2024-01-09 22:00:00.000',
        '2024-01-10 06:00:00.000',
        'available_at_station',
      ),
      interval(
        'LEEK-P1',
        'on_call',
        '2024-01-10 06:00:00.000',
        '2024-01-10 16:00:00.000',
        'unavailable',
        'crewing',
      ),
      interval(
        'LEEK-P1',
        'on_call',
        '2024-01-10 16:00:00.000',
        '2024-01-10 20:00:00.000',
        'committed',
      ),
      interval(
        'LEEK-P1',
        'on_call',
        '2024-01-10 20:00:00.000',
        '2024-01-10 22:00:00.000',
        'unavailable',
        'driver',
      ),
      interval(
        'LEEK-P1',
        'on_call',
        '2024-01-10 22:00:00.000',
        '2024-01-11 03:00:00.000',
        'available_at_station',
      ),
      interval('HANLEY-P1', 'wholetime', '2024-01-09 00:00:00.000', null, 'available_at_station'),
      // A neighbour's on-call pump at a station of the same name, the same day: 18 h off, 6 h on.
      interval(
        'LEEK-P1',
        'on_call',
        '2024-01-10 00:00:00.000',
        '2024-01-10 18:00:00.000',
        'unavailable',
        'training',
        NEIGHBOUR,
      ),
      interval(
        'LEEK-P1',
        'on_call',
        '2024-01-10 18:00:00.000',
        null,
        'available_at_station',
        '',
        NEIGHBOUR,
      ),
    ],
  });
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
    await db.client.insert({
      table: 'resource_intervals',
      format: 'JSONEachRow',
      values: [
        // Off the run from 22:00 GMT on 30 March to 01:30 UTC (02:30 BST) on 31 March 2024.
        interval(
          'STONE-P1',
          'wholetime',
          '2024-03-30 00:00:00.000',
          '2024-03-30 22:00:00.000',
          'available_at_station',
        ),
        interval(
          'STONE-P1',
          'wholetime',
          '2024-03-30 22:00:00.000',
          '2024-03-31 01:30:00.000',
          'unavailable',
          'mechanical',
        ),
        interval(
          'STONE-P1',
          'wholetime',
          '2024-03-31 01:30:00.000',
          '2024-04-02 00:00:00.000',
          'available_at_station',
        ),
      ],
    });
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
