import { execFile } from 'node:child_process';
import path from 'node:path';
import { applianceFactsSql, EVERY_AGENCY } from '@bluelight/clickhouse-schema';
import { FAMILIES, rawRow } from '@bluelight/clickhouse-sink';
import {
  callFixtureEvents,
  type FixtureEvent,
  fixtureEvent,
  incidentFixtureEvents,
  statusFixtureEvents,
} from '@bluelight/clickhouse-sink/testing/events';
import { validateEvent } from '@bluelight/schemas';
import { ALL_FACTS, clickhouseFor, testEndpoints, uniqueName } from '@bluelight/test/harness';
import { afterAll, describe, expect, it } from 'vitest';

const bin = path.resolve(import.meta.dirname, '../../bin/bluelight.mjs');

function bluelight(database: string, args: string[]) {
  const endpoints = testEndpoints();
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      {
        env: {
          ...process.env,
          CLICKHOUSE_URL: endpoints.clickhouseUrl,
          CLICKHOUSE_USER: endpoints.clickhouseUser,
          CLICKHOUSE_PASSWORD: endpoints.clickhousePassword,
          CLICKHOUSE_DATABASE: database,
        },
      },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

const database = uniqueName('migrate_move');
const server = clickhouseFor(testEndpoints());
const client = clickhouseFor(testEndpoints(), database);
afterAll(async () => {
  await client.close();
  await server.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await server.close();
});

/**
 * Raw rows as the sink wrote them before 0004: no anchor, no revised flag (and columns copied out
 * of the payload, of which the move needs only the incident's call time; the rest default).
 */
function oldRows(events: FixtureEvent[]) {
  return events.map((event, index) => {
    const result = validateEvent(event);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const family = Object.values(FAMILIES).find((candidate) =>
      candidate.topic.eventTypes.includes(result.event.event_type),
    );
    const row = rawRow(
      result.event,
      {
        topic: family?.topic.name as string,
        partition: 0,
        offset: String(index),
        ingestedAt: new Date('2024-06-01T00:00:00Z'),
      },
      family?.entityColumn as string,
    );
    const payload = result.event.payload as { call_received_at?: string };
    if (result.event.event_type === 'incident.created' && payload.call_received_at) {
      row.call_received_at = payload.call_received_at.replace('T', ' ').replace('Z', '');
    }
    return { table: family?.rawTable as string, row };
  });
}

describe('bluelight migrate from the entity-keyed schema (real ClickHouse)', () => {
  it('moves existing rows under agency keys and builds their facts, corrections included', {
    timeout: 120_000,
  }, async () => {
    const first = await bluelight(database, ['migrate', '--to', '3']);
    expect(first.code, first.stderr).toBe(0);

    // Two agencies numbered an incident the same; Staffordshire corrected its arrival.
    const staffs = incidentFixtureEvents({
      id: 'INC-77',
      receivedAt: '2024-05-10T10:00:00Z',
      mobilisedAfter: 60,
      mobileAfter: 120,
      arrivalsAfter: [480],
    });
    const arrival = staffs.find((event) => event.event_type === 'incident.resource_arrived');
    const correction = {
      ...fixtureEvent(
        'incident.resource_arrived',
        Date.parse('2024-05-10T10:09:00Z'),
        'staffordshire-fire',
        arrival?.payload ?? {},
      ),
      corrects: { event_id: arrival?.event_id as string, reason: 'AVL' },
    };
    const westmids = incidentFixtureEvents({
      id: 'INC-77',
      agency: 'westmids-fire',
      receivedAt: '2024-05-11T10:00:00Z',
      arrivalsAfter: [300],
    });
    const calls = callFixtureEvents({
      id: 'C-1',
      presentedAt: '2024-05-10T09:59:00Z',
      answeredAfter: 6,
    });
    const changes = statusFixtureEvents({ id: 'LEEK-P1', station: 'LEEK', crewing: 'on_call' }, [
      { at: '2024-05-10T06:00:00Z', status: 'available_at_station' },
      { at: '2024-05-10T18:00:00Z', status: 'unavailable', reason: 'crewing' },
    ]);
    const rows = oldRows([...staffs, correction, ...westmids, ...calls, ...changes]);
    for (const table of new Set(rows.map(({ table }) => table))) {
      await client.insert({
        table,
        format: 'JSONEachRow',
        values: rows.filter((entry) => entry.table === table).map(({ row }) => row),
      });
    }

    const moved = await bluelight(database, ['migrate']);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(/applied 5 migrations/);
    expect(moved.stdout).toMatch(/recomputed the facts of 1 revised entities/);

    const incidents = await client.query({
      query: `SELECT agency, incident_id, toString(first_arrival_at) AS arrival
              FROM ${ALL_FACTS.incidents} ORDER BY agency`,
      format: 'JSONEachRow',
    });
    expect(await incidents.json()).toEqual([
      { agency: 'staffordshire-fire', incident_id: 'INC-77', arrival: '2024-05-10 10:09:00.000' },
      { agency: 'westmids-fire', incident_id: 'INC-77', arrival: '2024-05-11 10:05:00.000' },
    ]);
    // 0008 backfilled the per-appliance facts, and the recompute revised them: the first to
    // arrive is the incident's first arrival, corrected time included.
    const firstAppliances = await client.query({
      query: `SELECT agency, incident_id, toString(arrived_at) AS arrival
              FROM (${applianceFactsSql({ from: `toDate('2024-01-01')`, to: `toDate('2025-01-01')` }, EVERY_AGENCY)})
              WHERE arrival_order = 1 ORDER BY agency`,
      format: 'JSONEachRow',
    });
    expect(await firstAppliances.json()).toEqual([
      { agency: 'staffordshire-fire', incident_id: 'INC-77', arrival: '2024-05-10 10:09:00.000' },
      { agency: 'westmids-fire', incident_id: 'INC-77', arrival: '2024-05-11 10:05:00.000' },
    ]);
    const others = await client.query({
      query: `SELECT
                (SELECT count() FROM ${ALL_FACTS.calls}) AS calls,
                (SELECT count() FROM ${ALL_FACTS.intervals}) AS intervals,
                (SELECT count() FROM incidents_raw FINAL) AS incident_events,
                (SELECT count() FROM system.tables WHERE database = currentDatabase() AND endsWith(name, '_v1')) AS left_behind`,
      format: 'JSONEachRow',
    });
    expect(await others.json()).toEqual([
      {
        calls: 1,
        intervals: 2,
        incident_events: staffs.length + 1 + westmids.length,
        left_behind: 0,
      },
    ]);
  });
});
