import { setTimeout as sleep } from 'node:timers/promises';
import { Admin, ListOffsetTimestamps, TimeoutError } from '@platformatic/kafka';
import type { Logger } from 'pino';
import { protocolErrorIds } from './errors.js';
import {
  explainKafkaSecurityFailure,
  type KafkaSecurity,
  KafkaSecurityError,
  libraryConnectionOptions,
} from './security.js';
import type { KafkaAdmin, PartitionOffsets, PartitionReplicas, TopicSpec } from './types.js';

export interface AdminSettings {
  brokers: string[];
  clientId: string;
  logger: Logger;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** TLS and SASL (unset: PLAINTEXT). */
  security?: KafkaSecurity;
}

/** Errors worth asking again: a broker restarting, a coordinator loading, metadata spreading. */
function isRetriable(error: unknown): boolean {
  if (error instanceof KafkaSecurityError) return false;
  if (error instanceof TimeoutError) return true;
  const info = error as { code?: unknown; findBy?: (key: string, value: unknown) => unknown };
  if (info?.code === 'PLT_KFK_NETWORK') return true;
  if (info?.code === 'PLT_KFK_USER' && /^Unknown topic/.test(String((error as Error).message))) {
    return true;
  }
  if (typeof info?.findBy === 'function') {
    if (info.findBy('code', 'PLT_KFK_NETWORK')) return true;
    return !info.findBy('canRetry', false) && protocolErrorIds(error).size > 0;
  }
  return false;
}

async function retryRetriable<T>(work: () => Promise<T>, attempts = 40, delayMs = 250): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (!isRetriable(error) || attempt >= attempts) throw error;
      await sleep(delayMs);
    }
  }
}

/** The kit's KafkaAdmin on @platformatic/kafka's Admin client (every call it needs is there). */
export class PlatformaticKafkaAdmin implements KafkaAdmin {
  readonly #settings: AdminSettings;
  #admin: Admin | undefined;

  constructor(settings: AdminSettings) {
    this.#settings = settings;
  }

  #client(): Admin {
    if (!this.#admin) throw new Error('connect() the admin client first');
    return this.#admin;
  }

  async connect(): Promise<void> {
    if (this.#admin) return;
    const requestTimeout = this.#settings.requestTimeoutMs ?? 30_000;
    const admin = new Admin({
      clientId: this.#settings.clientId,
      bootstrapBrokers: this.#settings.brokers,
      connectTimeout: this.#settings.connectionTimeoutMs ?? 3_000,
      requestTimeout,
      timeout: requestTimeout,
      retries: 2,
      retryDelay: 250,
      metadataMaxAge: 5_000,
      autocreateTopics: false,
      ...libraryConnectionOptions(this.#settings.security, this.#settings.brokers),
    });
    const log = this.#settings.logger.child({ component: 'kafka-admin' });
    admin.on('client:broker:failed', ({ broker }) =>
      log.debug({ broker: `${broker.host}:${broker.port}` }, 'Kafka broker connection failed'),
    );
    this.#admin = admin;
    try {
      await retryRetriable(async () => {
        try {
          return await admin.metadata({ topics: [] });
        } catch (error) {
          // A refused certificate or password will not pass on a retry: say so at once.
          throw (
            explainKafkaSecurityFailure(error, this.#settings.brokers, this.#settings.security) ??
            error
          );
        }
      }, 40);
    } catch (error) {
      this.#admin = undefined;
      await admin.close().catch(() => {});
      throw error;
    }
  }

  async #partitionCount(topic: string): Promise<number> {
    const metadata = await retryRetriable(() =>
      this.#client().metadata({ topics: [topic], forceUpdate: true }),
    );
    return metadata.topics.get(topic)?.partitionsCount ?? 0;
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    const admin = this.#client();
    const existing = new Set(await retryRetriable(() => admin.listTopics({})));
    for (const spec of topics.filter((candidate) => !existing.has(candidate.topic))) {
      try {
        await retryRetriable(() =>
          admin.createTopics({
            topics: [spec.topic],
            partitions: spec.partitions,
            replicas: spec.replicationFactor,
            configs: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
          }),
        );
      } catch (error) {
        // Another service (a second sink starting at the same moment) created it first.
        if (!protocolErrorIds(error).has('TOPIC_ALREADY_EXISTS')) throw error;
      }
    }
    // Ready means every partition has a leader, so the first produce or fetch does not fail.
    const names = topics.map((spec) => spec.topic);
    for (let attempt = 1; ; attempt += 1) {
      const metadata = await retryRetriable(() =>
        admin.metadata({ topics: names, forceUpdate: true }),
      ).catch((error) => {
        if (attempt >= 120) throw error;
        return undefined;
      });
      const leaderless = metadata
        ? names.filter((name) => {
            const topic = metadata.topics.get(name);
            return !topic || topic.partitions.some((partition) => (partition?.leader ?? -1) < 0);
          })
        : names;
      if (leaderless.length === 0) return;
      if (attempt >= 120) throw new Error(`no leader yet for ${leaderless[0]}`);
      await sleep(250);
    }
  }

  async deleteTopics(topics: string[]): Promise<void> {
    await retryRetriable(() => this.#client().deleteTopics({ topics }));
  }

  async committedOffsets(groupId: string, topic: string): Promise<PartitionOffsets[]> {
    const count = await this.#partitionCount(topic);
    const partitionIndexes = Array.from({ length: count }, (_, index) => index);
    const [group] = await retryRetriable(() =>
      this.#client().listConsumerGroupOffsets({
        groups: [{ groupId, topics: [{ name: topic, partitionIndexes }] }],
      }),
    );
    const committed = new Map<number, bigint>();
    for (const entry of group?.topics ?? []) {
      if (entry.name !== topic) continue;
      for (const partition of entry.partitions) {
        committed.set(partition.partitionIndex, partition.committedOffset);
      }
    }
    return partitionIndexes.map((partition) => {
      const offset = committed.get(partition);
      return { partition, offset: offset === undefined || offset < 0n ? '-1' : offset.toString() };
    });
  }

  async setCommittedOffsets(
    groupId: string,
    topic: string,
    offsets: PartitionOffsets[],
  ): Promise<void> {
    await retryRetriable(() =>
      this.#client().alterConsumerGroupOffsets({
        groupId,
        topics: [
          {
            name: topic,
            partitionOffsets: offsets.map(({ partition, offset }) => ({
              partition,
              offset: BigInt(offset),
            })),
          },
        ],
      }),
    );
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    await retryRetriable(() => this.#client().deleteGroups({ groups: groupIds }));
  }

  async endOffsets(topic: string): Promise<PartitionOffsets[]> {
    const count = await this.#partitionCount(topic);
    const listed = await retryRetriable(() =>
      this.#client().listOffsets({
        topics: [
          {
            name: topic,
            partitions: Array.from({ length: count }, (_, partitionIndex) => ({
              partitionIndex,
              timestamp: ListOffsetTimestamps.LATEST,
            })),
          },
        ],
      }),
    );
    return (listed.find((entry) => entry.name === topic)?.partitions ?? [])
      .map(({ partitionIndex, offset }) => ({
        partition: partitionIndex,
        offset: offset.toString(),
      }))
      .sort((a, b) => a.partition - b.partition);
  }

  async describeTopic(topic: string): Promise<PartitionReplicas[]> {
    // Right after creation another broker may not know the topic yet (a retriable error).
    const metadata = await retryRetriable(() =>
      this.#client().metadata({ topics: [topic], forceUpdate: true }),
    );
    return (metadata.topics.get(topic)?.partitions ?? [])
      .map(({ leader, replicas, isr }, partition) => ({
        partition,
        leader,
        replicas: [...replicas].sort(),
        isr: [...isr].sort(),
      }))
      .sort((a, b) => a.partition - b.partition);
  }

  async brokerCount(): Promise<number> {
    const metadata = await this.#client().metadata({ topics: [], forceUpdate: true });
    return metadata.brokers.size;
  }

  async disconnect(): Promise<void> {
    const admin = this.#admin;
    this.#admin = undefined;
    await admin?.close();
  }
}
