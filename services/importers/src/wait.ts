import type { ClickHouseClient } from '@bluelight/service-kit';
import type { ImportedEntities, ImportedEntity } from './imported.js';

/** Ids asked about per query: query parameters travel in the URL, which must stay short. */
const IDS_PER_QUERY = 500;

/** How many of each family's imported entities the figures hold so far. */
export interface WaitProgress {
  incidents: { landed: number; total: number };
  calls: { landed: number; total: number };
  resources: { landed: number; total: number };
  elapsedMs: number;
}

interface Family {
  name: 'incidents' | 'calls' | 'resources';
  /** SQL giving (agency, id, latest) for {agency:String} and {ids:Array(String)}: the latest event time the facts hold. */
  latestSql: string;
}

const factLatest = (facts: string, revisions: string, idColumn: string) => `
SELECT toString(agency) AS agency, ${idColumn} AS id, toString(max(last_event_at)) AS latest
FROM (
  SELECT agency, ${idColumn}, last_event_at FROM ${facts}
  WHERE agency = {agency:String} AND ${idColumn} IN {ids:Array(String)}
  UNION ALL
  SELECT agency, ${idColumn}, last_event_at FROM ${revisions}
  WHERE agency = {agency:String} AND ${idColumn} IN {ids:Array(String)}
)
GROUP BY agency, ${idColumn}`;

const FAMILIES: Family[] = [
  {
    name: 'incidents',
    latestSql: factLatest('incident_facts', 'incident_fact_revisions', 'incident_id'),
  },
  { name: 'calls', latestSql: factLatest('call_facts', 'call_fact_revisions', 'call_id') },
  {
    name: 'resources',
    latestSql: `
SELECT toString(agency) AS agency, resource_id AS id, toString(max(last_change_at)) AS latest
FROM resource_registry
WHERE agency = {agency:String} AND resource_id IN {ids:Array(String)}
GROUP BY agency, resource_id`,
  },
];

/** ClickHouse's `2024-03-31 10:00:00.000` (UTC) in milliseconds. */
const utcMs = (text: string) => Date.parse(`${text.replace(' ', 'T')}Z`);

/** Of `pending`, the entities whose latest imported event the figures now hold. */
async function landedOf(
  client: ClickHouseClient,
  family: Family,
  pending: ImportedEntity[],
): Promise<Set<ImportedEntity>> {
  const landed = new Set<ImportedEntity>();
  const byAgency = new Map<string, ImportedEntity[]>();
  for (const entity of pending) {
    byAgency.set(entity.agency, [...(byAgency.get(entity.agency) ?? []), entity]);
  }
  for (const [agency, entities] of byAgency) {
    for (let start = 0; start < entities.length; start += IDS_PER_QUERY) {
      const chunk = entities.slice(start, start + IDS_PER_QUERY);
      const wanted = new Map(chunk.map((entity) => [entity.id, entity]));
      const result = await client.query({
        query: family.latestSql,
        query_params: { agency, ids: [...wanted.keys()] },
        format: 'JSONEachRow',
      });
      for (const row of await result.json<{ id: string; latest: string }>()) {
        const entity = wanted.get(row.id);
        if (entity && utcMs(row.latest) >= entity.latestMs) landed.add(entity);
      }
    }
  }
  return landed;
}

export class WaitTimeoutError extends Error {
  constructor(
    message: string,
    readonly progress: WaitProgress,
  ) {
    super(message);
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Waits until the figures hold every imported entity with its latest imported event — the facts
 * ClickHouse keeps (and the sink's recomputes) have taken the import in — polling every
 * `intervalMs` and asking again only about the entities still missing. Throws WaitTimeoutError
 * after `timeoutMs`, with how far it got.
 */
export async function waitForFigures(
  client: ClickHouseClient,
  imported: ImportedEntities,
  options: {
    timeoutMs: number;
    intervalMs?: number;
    onProgress?: (progress: WaitProgress) => void;
  },
): Promise<WaitProgress> {
  const started = Date.now();
  const pending = {
    incidents: [...imported.incidents.values()] as ImportedEntity[],
    calls: [...imported.calls.values()] as ImportedEntity[],
    resources: [...imported.resources.values()],
  };
  const totals = {
    incidents: pending.incidents.length,
    calls: pending.calls.length,
    resources: pending.resources.length,
  };
  const progress = (): WaitProgress => {
    const of = (name: keyof typeof totals) => ({
      landed: totals[name] - pending[name].length,
      total: totals[name],
    });
    return {
      incidents: of('incidents'),
      calls: of('calls'),
      resources: of('resources'),
      elapsedMs: Date.now() - started,
    };
  };
  for (;;) {
    for (const family of FAMILIES) {
      if (pending[family.name].length === 0) continue;
      const landed = await landedOf(client, family, pending[family.name]);
      pending[family.name] = pending[family.name].filter((entity) => !landed.has(entity));
    }
    const now = progress();
    options.onProgress?.(now);
    if (FAMILIES.every((family) => pending[family.name].length === 0)) return now;
    if (Date.now() - started >= options.timeoutMs) {
      throw new WaitTimeoutError(
        `timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for the figures: ${describeWait(now)}`,
        now,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 1_000));
  }
}

/** "9,500 of 10,000 incidents, 0 of 0 calls in the figures" (families with nothing left out). */
export function describeWait(progress: WaitProgress): string {
  const number = new Intl.NumberFormat('en-GB');
  const parts = (['incidents', 'calls', 'resources'] as const)
    .filter((name) => progress[name].total > 0)
    .map(
      (name) =>
        `${number.format(progress[name].landed)} of ${number.format(progress[name].total)} ${name === 'resources' ? 'appliances' : name}`,
    );
  return `${parts.length > 0 ? parts.join(', ') : 'nothing imported'} in the figures`;
}
