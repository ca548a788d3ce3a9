import type { ClickHouseClient } from '@bluelight/service-kit';
import { TupleParam } from '@clickhouse/client';

/** An entity of one family, as ClickHouse identifies it: (agency, entity id). */
export interface EntityKey {
  agency: string;
  id: string;
}

/** What the sink must know about an entity before writing its raw rows. */
export interface EntityState {
  /** First day of the Europe/London month its facts are partitioned by (YYYY-MM-01). */
  anchor: string;
  /** It has a correction or retraction: its facts are recomputed by the sink (0006). */
  revised: boolean;
}

export const entityKey = ({ agency, id }: EntityKey): string => `${agency}\u0000${id}`;

const LONDON_MONTH = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  year: 'numeric',
  month: '2-digit',
});

/** The first day of the Europe/London month an instant falls in, as YYYY-MM-01. */
export function londonMonthStart(instant: string | Date): string {
  const date = typeof instant === 'string' ? new Date(instant) : instant;
  const parts = LONDON_MONTH.formatToParts(date);
  const year = parts.find((part) => part.type === 'year')?.value;
  const month = parts.find((part) => part.type === 'month')?.value;
  return `${year}-${month}-01`;
}

/** Ids per lookup: they travel as a URL query parameter, which servers cap (1 MiB). */
const KEYS_PER_LOOKUP = 5_000;

const LOOKUP = `
SELECT agency, entity_id, toString(min(anchor)) AS anchor, max(revised) AS revised
FROM fact_entities
WHERE family = {family:String}
  AND agency IN {agencies:Array(String)}
  AND entity_id IN {ids:Array(String)}
  AND (agency, entity_id) IN {keys:Array(Tuple(String, String))}
GROUP BY agency, entity_id`;

/**
 * Each entity's anchor and revised flag, from ClickHouse (table fact_entities) the first time the
 * sink meets it, then from memory. Only the sink that owns an entity's Kafka partition writes its
 * raw rows, so what it remembers stays true until partitions move; `forget()` is called then.
 * An entity ClickHouse does not know yet is new: the caller anchors it from its first event.
 */
export class EntityDirectory {
  readonly #family: string;
  readonly #known = new Map<string, EntityState>();
  readonly #maxEntries: number;

  constructor(family: string, options: { maxEntries?: number } = {}) {
    this.#family = family;
    this.#maxEntries = options.maxEntries ?? 500_000;
  }

  get size(): number {
    return this.#known.size;
  }

  /** The state of each entity ClickHouse or this directory knows; new entities are absent. */
  async lookup(client: ClickHouseClient, keys: EntityKey[]): Promise<Map<string, EntityState>> {
    const found = new Map<string, EntityState>();
    const unknown: EntityKey[] = [];
    for (const key of keys) {
      const state = this.#known.get(entityKey(key));
      if (state) found.set(entityKey(key), state);
      else unknown.push(key);
    }
    for (let start = 0; start < unknown.length; start += KEYS_PER_LOOKUP) {
      const chunk = unknown.slice(start, start + KEYS_PER_LOOKUP);
      const result = await client.query({
        query: LOOKUP,
        query_params: {
          family: this.#family,
          agencies: [...new Set(chunk.map((key) => key.agency))],
          ids: [...new Set(chunk.map((key) => key.id))],
          keys: chunk.map((key) => new TupleParam([key.agency, key.id])),
        },
        format: 'JSONEachRow',
      });
      for (const row of await result.json<{
        agency: string;
        entity_id: string;
        anchor: string;
        revised: number;
      }>()) {
        const state = { anchor: row.anchor, revised: Number(row.revised) === 1 };
        const key = entityKey({ agency: row.agency, id: row.entity_id });
        found.set(key, state);
      }
    }
    return found;
  }

  /** Records states the caller has written to ClickHouse (raw rows carrying them). */
  remember(states: Map<string, EntityState>): void {
    for (const [key, state] of states) {
      this.#known.delete(key);
      this.#known.set(key, state);
    }
    // Oldest first: Map iterates in insertion order and remembered entries are re-inserted.
    for (const key of this.#known.keys()) {
      if (this.#known.size <= this.#maxEntries) break;
      this.#known.delete(key);
    }
  }

  /** Forgets everything: partitions moved, so another sink may have changed these entities. */
  forget(): void {
    this.#known.clear();
  }
}
