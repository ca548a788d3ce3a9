import type { ClickHouseClient } from '@bluelight/service-kit';
import {
  AFFECTED_CALL_BUCKETS,
  MARK_CALLS_ROLLED,
  REFRESH_CALL_FACTS,
  REFRESH_CALLS_5MIN,
} from './calls.js';
import {
  AFFECTED_INCIDENT_DAYS,
  MARK_INCIDENTS_ROLLED,
  REFRESH_INCIDENT_FACTS,
  REFRESH_INCIDENTS_DAILY,
} from './incidents.js';
import { REFRESH_RESOURCE_INTERVALS } from './resources.js';

/**
 * Ids per statement: few, large statements are what ClickHouse does well, but query parameters
 * travel in the URL, which servers cap (1 MiB by default): 5,000 ids of up to 64 characters fit.
 */
const IDS_PER_STATEMENT = 5_000;

function chunks<T>(items: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let index = 0; index < items.length; index += size) {
    result.push(items.slice(index, index + size));
  }
  return result;
}

async function strings(
  client: ClickHouseClient,
  query: string,
  params: Record<string, unknown>,
  column: string,
): Promise<string[]> {
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  const rows = await result.json<Record<string, string>>();
  return rows.map((row) => row[column] ?? '').filter((value) => value !== '');
}

/**
 * Recomputes the derived facts of these entities, then the rollup buckets they are in or have
 * left, then records which bucket counts them. Each step is idempotent and the bookkeeping is
 * written last, so a crash at any point is repaired by running it again for the same ids.
 */
async function refreshWithRollup(
  client: ClickHouseClient,
  ids: string[],
  steps: {
    facts: string;
    affected: string;
    affectedColumn: string;
    rollup: string;
    rollupParam: string;
    markRolled: string;
  },
): Promise<void> {
  for (const idChunk of chunks(ids, IDS_PER_STATEMENT)) {
    await client.command({ query: steps.facts, query_params: { ids: idChunk } });
    const buckets = await strings(client, steps.affected, { ids: idChunk }, steps.affectedColumn);
    for (const bucketChunk of chunks(buckets, IDS_PER_STATEMENT)) {
      await client.command({
        query: steps.rollup,
        query_params: { [steps.rollupParam]: bucketChunk },
      });
    }
    await client.command({ query: steps.markRolled, query_params: { ids: idChunk } });
  }
}

export function refreshIncidents(client: ClickHouseClient, incidentIds: string[]): Promise<void> {
  return refreshWithRollup(client, incidentIds, {
    facts: REFRESH_INCIDENT_FACTS,
    affected: AFFECTED_INCIDENT_DAYS,
    affectedColumn: 'day',
    rollup: REFRESH_INCIDENTS_DAILY,
    rollupParam: 'days',
    markRolled: MARK_INCIDENTS_ROLLED,
  });
}

export function refreshCalls(client: ClickHouseClient, callIds: string[]): Promise<void> {
  return refreshWithRollup(client, callIds, {
    facts: REFRESH_CALL_FACTS,
    affected: AFFECTED_CALL_BUCKETS,
    affectedColumn: 'bucket',
    rollup: REFRESH_CALLS_5MIN,
    rollupParam: 'buckets',
    markRolled: MARK_CALLS_ROLLED,
  });
}

export async function refreshResources(
  client: ClickHouseClient,
  resourceIds: string[],
  eventIds: string[],
): Promise<void> {
  // Appliances are few (tens), events many: the event ids are what needs chunking.
  for (const eventChunk of chunks(eventIds, IDS_PER_STATEMENT)) {
    await client.command({
      query: REFRESH_RESOURCE_INTERVALS,
      query_params: { ids: resourceIds, events: eventChunk },
    });
  }
}
