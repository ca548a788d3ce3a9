import { landEvents } from '@bluelight/clickhouse-sink/testing/events';
import {
  operationsScenario,
  refApplianceSegments,
  refConcurrency,
  refUtilisation,
} from '@bluelight/standards/testing/operations';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestQueryApi } from './testing/harness.js';
import { AGENCIES } from './testing/keys.js';

const SCENARIO = operationsScenario(AGENCIES.fire, '2024-10-26T23:00:00Z', 'OPS-');
const PERIOD = `from=${SCENARIO.period.from}&to=${SCENARIO.period.to}`;

let api: Awaited<ReturnType<typeof startTestQueryApi>>;
beforeAll(async () => {
  api = await startTestQueryApi('qapiops');
  await landEvents(api.db.client, SCENARIO.events);
});
afterAll(async () => {
  await api?.cleanup();
});

describe('GET /v1/operations/* (real ClickHouse)', () => {
  it('gives per-appliance segments equal to a plain recomputation', async () => {
    const response = await api.get(`/v1/operations/appliances?${PERIOD}&groupBy=resource`);
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    expect(body.agencies).toEqual([AGENCIES.fire]);
    const expected = refApplianceSegments(
      SCENARIO.events,
      [AGENCIES.fire],
      SCENARIO.period,
      (row) => row.resource,
    );
    expect(
      body.rows.map((row: { group: string; mobilisations: number }) => row.mobilisations),
    ).toEqual(expected.map((row) => row.mobilisations));
    expect(
      body.rows.map((row: { segments: { travel: { n: number } } }) => row.segments.travel.n),
    ).toEqual(expected.map((row) => row.segments.travel.n));
  });

  it('pages the per-appliance records, JSON and CSV', async () => {
    const first = await api.get(`/v1/operations/appliances/records?${PERIOD}&limit=4`);
    expect(first.statusCode, first.body).toBe(200);
    const page = first.json();
    expect(page.records).toHaveLength(4);
    expect(page.next_cursor).toBe('4');
    const rest = await api.get(`/v1/operations/appliances/records?${PERIOD}&limit=1000&cursor=4`);
    const expected = refApplianceSegments(
      SCENARIO.events,
      [AGENCIES.fire],
      SCENARIO.period,
      () => 'all',
    );
    expect(4 + rest.json().records.length).toBe(expected[0]?.mobilisations);
    expect(rest.json().next_cursor).toBeNull();
    const csv = await api.get(`/v1/operations/appliances/records?${PERIOD}&limit=2`, {
      accept: 'text/csv',
    });
    expect(csv.body.split('\r\n')[0]).toMatch(/^agency,incident_id,resource_id,home_station/);
    expect(csv.headers['x-next-cursor']).toBe('2');
  });

  it('answers utilisation in CSV, one line per appliance and hour of week', async () => {
    const response = await api.get(
      `/v1/operations/utilisation?${PERIOD}&groupBy=resource&byHourOfWeek=true`,
      { accept: 'text/csv' },
    );
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/csv/);
    const lines = response.body.trimEnd().split('\r\n');
    expect(lines[0]).toBe('group,hourOfWeek,availableHours,committedHours,utilisation');
    const expected = refUtilisation(
      SCENARIO.events,
      [AGENCIES.fire],
      SCENARIO.period,
      (change) => change.resource,
      true,
    );
    expect(lines).toHaveLength(expected.length + 1);
  });

  it('pages the concurrency series', async () => {
    const expected = refConcurrency(
      SCENARIO.events,
      [AGENCIES.fire],
      SCENARIO.period,
      () => 'all',
      2,
    );
    const first = await api.get(`/v1/operations/concurrency?${PERIOD}&limit=3`);
    expect(first.statusCode, first.body).toBe(200);
    const page = first.json();
    expect(page.series).toEqual(expected.series.slice(0, 3));
    expect(page.next_cursor).toBe('3');
    expect(first.headers['x-next-cursor']).toBe('3');
    const second = await api.get(`/v1/operations/concurrency?${PERIOD}&limit=3&cursor=3`);
    expect(second.json().series).toEqual(expected.series.slice(3, 6));
    expect(page.distribution[0].peak).toBe(expected.distribution[0]?.peak);
  });

  it('gives the cover split with its sample sizes and guard', async () => {
    const response = await api.get(`/v1/operations/cover?${PERIOD}&byStation=true`);
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    expect(body.standard.id).toBe('fire-attendance-standard');
    expect(body.minimumSample).toBe(30);
    expect(body.differences).toHaveLength(1);
    expect(body.differences[0]).toMatchObject({
      station: 'LEEK',
      insufficientData: true,
      shareDifference: null,
    });
    const committed = await api.get(`/v1/operations/committed-elsewhere?${PERIOD}`);
    expect(committed.statusCode, committed.body).toBe(200);
    const first = await api.get(`/v1/operations/first-arrivals?${PERIOD}`);
    expect(first.statusCode, first.body).toBe(200);
  });

  it('refuses a bad parameter by name, and an agency the key may not read', async () => {
    const bad = await api.get(`/v1/operations/appliances?${PERIOD}&groupBy=colour`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().problems[0].parameter).toBe('groupBy');
    const unknown = await api.get(`/v1/operations/utilisation?${PERIOD}&station=LEEK`);
    expect(unknown.statusCode).toBe(400);
    const forbidden = await api.get(
      `/v1/operations/concurrency?${PERIOD}&agency=${AGENCIES.neighbour}`,
    );
    expect(forbidden.statusCode).toBe(403);
  });
});
