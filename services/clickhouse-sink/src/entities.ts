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

const HOUR_MS = 3_600_000;
/** London months by UTC hour: London's offset is whole hours, so its months start on the hour. */
const londonMonthByHour = new Map<number, string>();

/** The first day of the Europe/London month an instant falls in, as YYYY-MM-01. */
export function londonMonthStart(instant: string | Date): string {
  const date = typeof instant === 'string' ? new Date(instant) : instant;
  const hour = Math.floor(date.getTime() / HOUR_MS);
  const cached = londonMonthByHour.get(hour);
  if (cached !== undefined) return cached;
  const parts = LONDON_MONTH.formatToParts(date);
  const year = parts.find((part) => part.type === 'year')?.value;
  const month = parts.find((part) => part.type === 'month')?.value;
  const start = `${year}-${month}-01`;
  if (londonMonthByHour.size >= 100_000) londonMonthByHour.clear();
  londonMonthByHour.set(hour, start);
  return start;
}

/** MurmurHash3 (x86, 32-bit) of a string's UTF-16 code units: fast, well mixed, seedable. */
function murmur3(text: string, seed: number): number {
  let h = seed >>> 0;
  const length = text.length;
  let i = 0;
  const mix = (k0: number) => {
    let k = Math.imul(k0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    return Math.imul(k, 0x1b873593);
  };
  for (; i + 1 < length; i += 2) {
    h ^= mix(text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16));
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < length) h ^= mix(text.charCodeAt(i));
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A Bloom filter of entity keys: "definitely not there" or "maybe". About 1% false positives at
 * capacity (10 bits and 7 hashes per key); past capacity it only answers "maybe" more often.
 */
export class KeyFilter {
  readonly #bits: Uint8Array;
  readonly #size: number;
  static readonly HASHES = 7;

  constructor(capacity: number) {
    this.#size = Math.max(64, Math.ceil(capacity * 10));
    this.#bits = new Uint8Array(Math.ceil(this.#size / 8));
  }

  // Double hashing: position i is (a + i·b) mod size (Kirsch and Mitzenmacher). Written out in
  // both methods, with no array or closure per key: this runs for every entity of every batch.
  add(key: string): void {
    const a = murmur3(key, 0x9747b28c);
    const b = murmur3(key, 0x5bd1e995) | 1;
    for (let i = 0; i < KeyFilter.HASHES; i += 1) {
      const position = ((a + Math.imul(i, b)) >>> 0) % this.#size;
      this.#bits[position >>> 3] = (this.#bits[position >>> 3] as number) | (1 << (position & 7));
    }
  }

  mightContain(key: string): boolean {
    const a = murmur3(key, 0x9747b28c);
    const b = murmur3(key, 0x5bd1e995) | 1;
    for (let i = 0; i < KeyFilter.HASHES; i += 1) {
      const position = ((a + Math.imul(i, b)) >>> 0) % this.#size;
      if (((this.#bits[position >>> 3] as number) & (1 << (position & 7))) === 0) return false;
    }
    return true;
  }
}

/** Every entity ClickHouse holds for one Kafka partition, and every one written since. */
type PartitionIndex = KeyFilter;

/** Ids per lookup: they travel as a URL query parameter, which servers cap (1 MiB). */
const KEYS_PER_LOOKUP = 5_000;

const LOOKUP = `
SELECT agency, entity_id, toString(min(anchor)) AS anchor, max(revised) AS revised
FROM fact_entities
WHERE family = {family:String}
  AND kafka_partition IN {partitions:Array(UInt32)}
  AND agency IN {agencies:Array(String)}
  AND entity_id IN {ids:Array(String)}
  AND (agency, entity_id) IN {keys:Array(Tuple(String, String))}
GROUP BY agency, entity_id`;

const PARTITION_KEYS = `
SELECT DISTINCT agency, entity_id
FROM fact_entities
WHERE family = {family:String} AND kafka_partition = {partition:UInt32}`;

/** An entity of a unit, and the Kafka partition its events are keyed to. */
export interface PlacedEntity {
  key: EntityKey;
  partition: number;
}

/**
 * Each entity's anchor and revised flag. The first time the sink meets a Kafka partition it reads
 * the keys of every entity ClickHouse holds for it (table fact_entities) into a Bloom filter, so
 * an entity the filter has never seen is known to be new without asking — in a back-fill, nearly
 * every one. Only the entities the filter may have seen are looked up, by key, and remembered.
 * Only the sink that owns a partition writes its entities' raw rows, so all of this stays true
 * until partitions move; `forget()` is called then.
 */
export class EntityDirectory {
  readonly #family: string;
  readonly #known = new Map<string, EntityState>();
  readonly #partitions = new Map<number, Promise<PartitionIndex>>();
  readonly #maxEntries: number;
  /** Keys looked up in ClickHouse, for /metrics and the tests. */
  lookedUp = 0;

  constructor(family: string, options: { maxEntries?: number } = {}) {
    this.#family = family;
    this.#maxEntries = options.maxEntries ?? 500_000;
  }

  #index(client: ClickHouseClient, partition: number): Promise<PartitionIndex> {
    let index = this.#partitions.get(partition);
    if (!index) {
      index = this.#loadIndex(client, partition);
      // A failed load is tried again with the next batch.
      index.catch(() => this.#partitions.delete(partition));
      this.#partitions.set(partition, index);
    }
    return index;
  }

  async #loadIndex(client: ClickHouseClient, partition: number): Promise<PartitionIndex> {
    const counted = await client.query({
      query: `SELECT count() AS n FROM (${PARTITION_KEYS})`,
      query_params: { family: this.#family, partition },
      format: 'JSONEachRow',
    });
    const [count] = await counted.json<{ n: number }>();
    const keys = new KeyFilter(Math.max(2 * Number(count?.n ?? 0), 1 << 20));
    // Streamed: a partition of a long history holds millions of entities.
    const result = await client.query({
      query: PARTITION_KEYS,
      query_params: { family: this.#family, partition },
      format: 'JSONCompactEachRow',
    });
    for await (const rows of result.stream<[string, string]>()) {
      for (const row of rows) {
        const [agency, id] = row.json();
        keys.add(entityKey({ agency, id }));
      }
    }
    return keys;
  }

  /** The state of each entity ClickHouse or this directory knows; new entities are absent. */
  async lookup(
    client: ClickHouseClient,
    entities: PlacedEntity[],
  ): Promise<Map<string, EntityState>> {
    const found = new Map<string, EntityState>();
    const unknown: PlacedEntity[] = [];
    for (const entity of entities) {
      const key = entityKey(entity.key);
      const state = this.#known.get(key);
      if (state) {
        found.set(key, state);
        continue;
      }
      const index = await this.#index(client, entity.partition);
      if (index.mightContain(key)) unknown.push(entity);
    }
    for (let start = 0; start < unknown.length; start += KEYS_PER_LOOKUP) {
      const chunk = unknown.slice(start, start + KEYS_PER_LOOKUP);
      this.lookedUp += chunk.length;
      const result = await client.query({
        query: LOOKUP,
        query_params: {
          family: this.#family,
          partitions: [...new Set(chunk.map((entity) => entity.partition))],
          agencies: [...new Set(chunk.map((entity) => entity.key.agency))],
          ids: [...new Set(chunk.map((entity) => entity.key.id))],
          keys: chunk.map((entity) => new TupleParam([entity.key.agency, entity.key.id])),
        },
        format: 'JSONEachRow',
      });
      for (const row of await result.json<{
        agency: string;
        entity_id: string;
        anchor: string;
        revised: number;
      }>()) {
        const key = entityKey({ agency: row.agency, id: row.entity_id });
        found.set(key, { anchor: row.anchor, revised: Number(row.revised) === 1 });
      }
    }
    return found;
  }

  /**
   * Records the states the caller is writing to ClickHouse (raw rows carrying them), before the
   * write completes, so the next unit can be prepared meanwhile. A write that fails either stops
   * the sink or leaves its partitions to be read again — by this sink, which then gives the same
   * entities the same states, or by another after a rebalance, when `forget()` has run.
   */
  async remember(
    client: ClickHouseClient,
    states: Map<string, EntityState & { partition: number }>,
  ): Promise<void> {
    for (const [key, { anchor, revised, partition }] of states) {
      (await this.#index(client, partition)).add(key);
      this.#known.delete(key);
      this.#known.set(key, { anchor, revised });
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
    this.#partitions.clear();
  }
}
