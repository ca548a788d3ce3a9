import {
  type Admin,
  type Consumer,
  type IHeaders,
  Kafka,
  type KafkaConfig,
  type Batch as KafkaJsBatch,
  logLevel as KafkaLogLevel,
  type LogEntry,
} from 'kafkajs';
import type { Logger } from 'pino';
import { KafkaEventProducer } from './producer.js';
import type {
  BatchConsumer,
  BatchHandler,
  ConsumedMessage,
  ConsumerOptions,
  KafkaAdmin,
  TopicPartitions,
} from './types.js';

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Connection and request timeouts; defaults suit a broker on the same network. */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** KafkaJS's retries (consumer and admin); the producer retries until deliveryTimeoutMs. */
  retries?: number;
  /** How long a producer's send may take, retries included, before it rejects (default 60 s). */
  deliveryTimeoutMs?: number;
}

function kafkaLogLevelName(level: KafkaLogLevel): 'error' | 'warn' | 'info' | 'debug' {
  switch (level) {
    case KafkaLogLevel.ERROR:
    case KafkaLogLevel.NOTHING:
      return 'error';
    case KafkaLogLevel.WARN:
      return 'warn';
    case KafkaLogLevel.INFO:
      return 'info';
    default:
      return 'debug';
  }
}

/** Sends KafkaJS's own log lines through the service's pino logger. */
function pinoLogCreator(logger: Logger): KafkaConfig['logCreator'] {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, ...fields } = log;
      kafkaLogger[kafkaLogLevelName(level)](fields, message);
    };
}

export function createKafka(settings: KafkaSettings): Kafka {
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    connectionTimeout: settings.connectionTimeoutMs ?? 3_000,
    requestTimeout: settings.requestTimeoutMs ?? 30_000,
    retry: { retries: settings.retries ?? 8, initialRetryTime: 200, maxRetryTime: 5_000 },
    logLevel: KafkaLogLevel.WARN,
    logCreator: pinoLogCreator(settings.logger),
  });
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    result[name] = Array.isArray(value) ? value.map(String).join(',') : String(value);
  }
  return result;
}

const MEMBERSHIP_ERRORS = new Set([
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
]);

/**
 * True when the consumer has lost (or is losing) its group membership, so the batch in hand is
 * no longer its to commit: the handler should give it up and let the consumer rejoin, after
 * which the partition's new owner reads it again. Not a fault of the data or of ClickHouse.
 */
export function isGroupMembershipLost(error: unknown): boolean {
  return MEMBERSHIP_ERRORS.has(String((error as { type?: unknown })?.type));
}

class KafkaJsBatchConsumer implements BatchConsumer {
  readonly #consumer: Consumer;
  /** Batches being handled or committed right now; disconnect() lets them finish first. */
  readonly #inFlight = new Set<Promise<void>>();
  #stopping = false;

  #lastActivityAt = Date.now();

  readonly #partitionsConsumedConcurrently: number;

  constructor(kafka: Kafka, groupId: string, options: ConsumerOptions = {}) {
    this.#partitionsConsumedConcurrently = options.partitionsConsumedConcurrently ?? 1;
    this.#consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 250,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 5 * 1024 * 1024,
      minBytes: options.minBytes ?? 1,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    });
    const alive = () => {
      this.#lastActivityAt = Date.now();
    };
    const { events } = this.#consumer;
    for (const event of [events.FETCH_START, events.HEARTBEAT, events.START_BATCH_PROCESS]) {
      this.#consumer.on(event, alive);
    }
    const onAssignment = options.onAssignment;
    if (onAssignment) this.#consumer.on(events.GROUP_JOIN, () => onAssignment());
  }

  lastActivityAt(): number {
    return this.#lastActivityAt;
  }

  connect(): Promise<void> {
    return this.#consumer.connect();
  }

  async subscribe(topics: string[], options: { fromBeginning?: boolean } = {}): Promise<void> {
    await this.#consumer.subscribe({ topics, fromBeginning: options.fromBeginning ?? true });
  }

  run(handler: BatchHandler): Promise<void> {
    return this.#consumer.run({
      // Offsets are committed below, after the handler's work is durable, never on a timer.
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#partitionsConsumedConcurrently,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        if (this.#stopping || !isRunning() || isStale() || batch.messages.length === 0) return;
        const work = this.#handleAndCommit(handler, batch, heartbeat, resolveOffset);
        this.#inFlight.add(work);
        try {
          await work;
        } finally {
          this.#inFlight.delete(work);
        }
      },
    });
  }

  async #handleAndCommit(
    handler: BatchHandler,
    batch: KafkaJsBatch,
    heartbeat: () => Promise<void>,
    resolveOffset: (offset: string) => void,
  ): Promise<void> {
    const messages: ConsumedMessage[] = batch.messages.map((message) => ({
      topic: batch.topic,
      partition: batch.partition,
      offset: message.offset,
      key: message.key,
      value: message.value,
      headers: headersToStrings(message.headers),
      timestamp: message.timestamp,
    }));
    const outcome = await handler({
      topic: batch.topic,
      partition: batch.partition,
      messages,
      highWatermark: batch.highWatermark,
      heartbeat: async () => {
        this.#lastActivityAt = Date.now();
        await heartbeat();
      },
    });
    // The committed offset is the next one to read, hence +1.
    const next = BigInt(outcome?.commitOffset ?? BigInt(batch.lastOffset()) + 1n);
    // Resolving moves KafkaJS's fetch position past the handled messages; without it the same
    // batch would be fetched again. What is not resolved is fetched again, as it must be.
    if (next > BigInt(batch.firstOffset() ?? next)) resolveOffset((next - 1n).toString());
    await this.#consumer.commitOffsets([
      { topic: batch.topic, partition: batch.partition, offset: next.toString() },
    ]);
  }

  pause(partitions: TopicPartitions[]): void {
    this.#consumer.pause(partitions);
  }

  resume(partitions: TopicPartitions[]): void {
    this.#consumer.resume(partitions);
  }

  /**
   * Takes no new batches, lets the batches in hand finish and commit, then leaves the group.
   * (So it must not be awaited from inside a handler.)
   */
  async disconnect(): Promise<void> {
    this.#stopping = true;
    await Promise.allSettled([...this.#inFlight]);
    await this.#consumer.disconnect();
  }
}

/**
 * Retries KafkaJS calls that have no retry of their own (admin offset fetches) while the error is
 * retriable — e.g. NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS just after a broker restart.
 */
async function retryRetriable<T>(work: () => Promise<T>, attempts = 20, delayMs = 250): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      const retriable = (error as { retriable?: boolean }).retriable === true;
      if (!retriable || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

class KafkaJsAdmin implements KafkaAdmin {
  readonly #admin: Admin;

  constructor(kafka: Kafka) {
    this.#admin = kafka.admin();
  }

  connect(): Promise<void> {
    return this.#admin.connect();
  }

  async ensureTopics(topics: Parameters<KafkaAdmin['ensureTopics']>[0]): Promise<void> {
    const existing = new Set(await this.#admin.listTopics());
    const missing = topics.filter((spec) => !existing.has(spec.topic));
    if (missing.length > 0) {
      await this.#admin.createTopics({
        // KafkaJS's own wait gives up on "unknown topic" while metadata is still spreading.
        waitForLeaders: false,
        topics: missing.map((spec) => ({
          topic: spec.topic,
          numPartitions: spec.partitions,
          replicationFactor: spec.replicationFactor,
          configEntries: Object.entries(spec.config ?? {}).map(([name, value]) => ({
            name,
            value,
          })),
        })),
      });
    }
    // Ready means every partition has a leader, so the first produce does not fail.
    await retryRetriable(async () => {
      const { topics: described } = await this.#admin.fetchTopicMetadata({
        topics: topics.map((spec) => spec.topic),
      });
      const leaderless = described.filter((topic) =>
        topic.partitions.some((partition) => partition.leader < 0),
      );
      if (leaderless.length > 0) {
        throw Object.assign(new Error(`no leader yet for ${leaderless[0]?.name}`), {
          retriable: true,
        });
      }
    }, 120);
  }

  async deleteTopics(topics: string[]): Promise<void> {
    await this.#admin.deleteTopics({ topics });
  }

  async committedOffsets(groupId: string, topic: string) {
    const [entry] = await retryRetriable(() =>
      this.#admin.fetchOffsets({ groupId, topics: [topic] }),
    );
    return (entry?.partitions ?? [])
      .map(({ partition, offset }) => ({ partition, offset }))
      .sort((a, b) => a.partition - b.partition);
  }

  async setCommittedOffsets(
    groupId: string,
    topic: string,
    offsets: { partition: number; offset: string }[],
  ): Promise<void> {
    await retryRetriable(() => this.#admin.setOffsets({ groupId, topic, partitions: offsets }));
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    await this.#admin.deleteGroups(groupIds);
  }

  async endOffsets(topic: string) {
    const offsets = await retryRetriable(() => this.#admin.fetchTopicOffsets(topic));
    return offsets
      .map(({ partition, offset }) => ({ partition, offset }))
      .sort((a, b) => a.partition - b.partition);
  }

  async describeTopic(topic: string) {
    // Right after creation another broker may not know the topic yet (a retriable error).
    const { topics } = await retryRetriable(() =>
      this.#admin.fetchTopicMetadata({ topics: [topic] }),
    );
    return (topics[0]?.partitions ?? [])
      .map(({ partitionId, leader, replicas, isr }) => ({
        partition: partitionId,
        leader,
        replicas: [...replicas].sort(),
        isr: [...isr].sort(),
      }))
      .sort((a, b) => a.partition - b.partition);
  }

  async brokerCount(): Promise<number> {
    const cluster = await this.#admin.describeCluster();
    return cluster.brokers.length;
  }

  disconnect(): Promise<void> {
    return this.#admin.disconnect();
  }
}

/**
 * The Kafka clients behind Bluelight's interfaces, the one place that knows which library each
 * is: the producer is @platformatic/kafka (./producer.ts: KafkaJS lost acknowledged messages when
 * partition leadership moved), the consumer and admin are KafkaJS (this file).
 */
export function createKafkaClients(settings: KafkaSettings) {
  const kafka = createKafka(settings);
  return {
    producer: (): KafkaEventProducer =>
      new KafkaEventProducer({
        brokers: settings.brokers,
        clientId: settings.clientId,
        logger: settings.logger,
        connectionTimeoutMs: settings.connectionTimeoutMs,
        requestTimeoutMs: settings.requestTimeoutMs,
        deliveryTimeoutMs: settings.deliveryTimeoutMs,
      }),
    consumer: (groupId: string, options?: ConsumerOptions): BatchConsumer =>
      new KafkaJsBatchConsumer(kafka, groupId, options),
    admin: (): KafkaAdmin => new KafkaJsAdmin(kafka),
  };
}

export type KafkaClients = ReturnType<typeof createKafkaClients>;
