import {
  type ClusterMetadata,
  type MessageToProduce,
  type ProduceResult,
  Producer,
  TimeoutError,
  type TopicWithPartitionAndOffset,
} from '@platformatic/kafka';
import type { Logger } from 'pino';
import { partitionForKey } from './murmur2.js';
import {
  explainKafkaSecurityFailure,
  type KafkaSecurity,
  libraryConnectionOptions,
} from './security.js';
import type {
  EventProducer,
  OutgoingMessage,
  ProducedRecord,
  SendOptions,
  TopicMessages,
} from './types.js';

/**
 * The service kit's producer, on @platformatic/kafka. KafkaJS 2.2.4 resolves `sendBatch` with
 * acks=all for messages that never reach the topic when partition leadership moves (a broker
 * stopped or killed; tulios/kafkajs#1303, reproduced by test/faults/producer-loss-repro.ts), so
 * the producer left KafkaJS; consumers and admin did not (see docs/service-kit.md).
 *
 * What it guarantees, on top of the library:
 * - acks=all and an idempotent producer (a producer id, and a sequence number per partition in
 *   each record batch): a batch sent again after an unknown outcome (a timeout, a dropped
 *   connection, a leader change) is written once by the broker, not twice and not lost;
 * - one produce at a time: the library numbers a partition's batches when it builds a request
 *   and advances the number only when the broker acknowledged it, so two requests in flight for
 *   one partition would carry the same sequence number and the broker would take the second for
 *   a duplicate of the first and acknowledge it without writing it. Sends that queue up behind
 *   the one in flight are merged into one request (up to about 1 MB), as Java's accumulator does;
 * - retries: a send is retried as a whole — only the partitions not acknowledged yet, with the
 *   same batches and sequence numbers, on fresh metadata — while the error is retriable and the
 *   delivery timeout has not passed;
 * - after any send whose outcome is unknown the producer takes a new producer id before sending
 *   anything else, so a new batch never reuses a sequence number the broker may already hold;
 * - keys are partitioned with the Java client's murmur2 (`partitionForKey`), computed here once
 *   per message so that a retry goes to the same partition.
 */

/** What the producer needs of @platformatic/kafka's Producer (the unit tests give a fake). */
export interface ProduceClient {
  metadata(options: { topics: string[]; forceUpdate?: boolean }): Promise<ClusterMetadata>;
  send(options: { messages: MessageToProduce[] }): Promise<ProduceResult>;
  /** A new producer id, and with it fresh sequence numbers, for the idempotent producer. */
  initIdempotentProducer(): Promise<unknown>;
  clearMetadata(): void;
  close(): Promise<void>;
}

export interface ProducerSettings {
  brokers: string[];
  clientId: string;
  logger: Logger;
  connectionTimeoutMs?: number;
  /** How long one produce request may wait for the brokers (acks=all); default 30 s. */
  requestTimeoutMs?: number;
  /**
   * How long `send` may take in all, retries included, before it rejects with a retriable
   * timeout error (Java's delivery.timeout.ms); default 60 s.
   */
  deliveryTimeoutMs?: number;
  /** How long `disconnect` lets the sends in hand finish; default 10 s. */
  disconnectTimeoutMs?: number;
  /** TLS and SASL (unset: PLAINTEXT). */
  security?: KafkaSecurity;
  /** How long `connect` keeps trying to reach a broker; default 30 s. */
  connectRetryMs?: number;
  /** The client under the producer; @platformatic/kafka's Producer unless a test gives one. */
  createClient?: () => ProduceClient;
}

/** A failed send. `retriable` says whether the same send may succeed later (the sink retries). */
export class KafkaProduceError extends Error {
  override readonly name = 'KafkaProduceError';
  readonly retriable: boolean;

  constructor(message: string, options: { retriable: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.retriable = options.retriable;
  }
}

/** Requests are merged up to this many bytes (the broker's default message.max.bytes is 1 MB). */
export const MAX_MERGED_BYTES = 1_000_000;
/** Per record in a batch: lengths, offset and timestamp deltas, attributes. */
const RECORD_OVERHEAD_BYTES = 32;

const SEQUENCE_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'DUPLICATE_SEQUENCE_NUMBER',
]);

/** What to do after a failed attempt. */
export type ProduceErrorVerdict = 'retry' | 'new-producer-id' | 'fatal';

/** Not an error of the library: no leader for a partition, or a topic missing from metadata. */
class MetadataNotReady extends Error {}

function leafErrors(error: unknown, depth = 0): unknown[] {
  if (depth < 8 && error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.flatMap((inner) => leafErrors(inner, depth + 1));
  }
  return [error];
}

function classifyLeaf(leaf: unknown): ProduceErrorVerdict {
  if (leaf instanceof MetadataNotReady) return 'retry';
  if (!(leaf instanceof Error)) return 'fatal';
  const info = leaf as Error & { code?: unknown; apiId?: unknown; canRetry?: unknown };
  // The broker lost track of this producer's sequence numbers: go on under a new producer id.
  if (typeof info.apiId === 'string' && SEQUENCE_ERRORS.has(info.apiId)) return 'new-producer-id';
  // No answer in time: the outcome is unknown, and the same batch sent again is deduplicated.
  if (leaf instanceof TimeoutError) return 'retry';
  // Metadata that does not know a topic yet (just created, still spreading to every broker).
  if (info.code === 'PLT_KFK_USER' && /^Unknown topic/.test(leaf.message)) return 'retry';
  // An answer the library could not read. @platformatic/kafka 1.35 misreads tagged fields, which
  // Kafka (3.7+, KIP-951) adds to a NOT_LEADER_OR_FOLLOWER answer to name the new leader: so a
  // leader move shows up as "Out of bounds". The outcome is unknown; the same batches are sent
  // again, on fresh metadata, and the broker writes each once.
  if (info.code === 'OUT_OF_BOUNDS' || leaf instanceof RangeError) return 'retry';
  if (typeof info.code === 'string' && info.code.startsWith('PLT_KFK_')) {
    return info.canRetry === false ? 'fatal' : 'retry';
  }
  return 'fatal';
}

/**
 * Retry (leader moved, broker down, not enough replicas, timeouts, network), retry under a new
 * producer id (sequence errors), or give up (message too large, invalid record, a bug).
 */
export function classifyProduceError(error: unknown): ProduceErrorVerdict {
  let verdict: ProduceErrorVerdict = 'retry';
  for (const leaf of leafErrors(error)) {
    const leafVerdict = classifyLeaf(leaf);
    if (leafVerdict === 'fatal') return 'fatal';
    if (leafVerdict === 'new-producer-id') verdict = leafVerdict;
  }
  return verdict;
}

/** The distinct innermost messages of a (possibly nested) error, for logs and rejections. */
function describeError(error: unknown): string {
  const messages = new Set<string>();
  for (const leaf of leafErrors(error)) {
    const info = leaf as { message?: unknown; apiId?: unknown; path?: unknown };
    const message = typeof info.message === 'string' ? info.message : String(leaf);
    messages.add(typeof info.apiId === 'string' ? `${info.apiId}: ${message}` : message);
  }
  const text = [...messages].join('; ');
  const outer = error instanceof AggregateError ? `${error.message} ` : '';
  return `${outer}${text}`.slice(0, 1_000);
}

function platformaticClient(settings: ProducerSettings): ProduceClient {
  const requestTimeoutMs = settings.requestTimeoutMs ?? 30_000;
  const producer = new Producer({
    clientId: settings.clientId,
    bootstrapBrokers: settings.brokers,
    // acks=all and a producer id with sequence numbers (the library sets acks=-1 and one
    // request in flight per connection for an idempotent producer).
    idempotent: true,
    acks: -1,
    // The library's own retries of one request are short; the send as a whole is retried by
    // KafkaEventProducer on fresh metadata until its delivery timeout.
    retries: 2,
    retryDelay: 250,
    // How long a broker may wait for the in-sync replicas before it answers REQUEST_TIMED_OUT...
    timeout: requestTimeoutMs,
    // ...and how long the client waits for that answer on the socket.
    requestTimeout: requestTimeoutMs + 5_000,
    connectTimeout: settings.connectionTimeoutMs ?? 3_000,
    metadataMaxAge: 5_000,
    autocreateTopics: false,
    ...libraryConnectionOptions(settings.security, settings.brokers),
  });
  return {
    metadata: (options) => producer.metadata(options),
    send: (options) => producer.send(options),
    initIdempotentProducer: () => producer.initIdempotentProducer({}),
    clearMetadata: () => producer.clearMetadata(),
    close: () => producer.close(),
  };
}

interface PendingSend {
  messages: { topic: string; message: OutgoingMessage }[];
  bytes: number;
  deadline: number;
  settled: boolean;
  /** Sent in a request of its own (after a merged request was refused). */
  alone?: boolean;
  timer?: NodeJS.Timeout;
  lastError?: unknown;
  resolve: (records: ProducedRecord[]) => void;
  reject: (error: Error) => void;
}

/** One message of a merged request, with the partition chosen for it once. */
interface Entry {
  pending: PendingSend;
  topic: string;
  partition: number;
  message: MessageToProduce;
}

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

function messageBytes({ message }: { message: OutgoingMessage }): number {
  let bytes = RECORD_OVERHEAD_BYTES + Buffer.byteLength(message.value);
  if (message.key !== null) bytes += Buffer.byteLength(message.key);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value) + 2;
  }
  return bytes;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for the promise to settle, or for `ms`, whichever comes first (never rejects). */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => {}),
    new Promise((resolve) => {
      timer = setTimeout(resolve, Math.max(0, ms));
    }),
  ]);
  clearTimeout(timer);
}

export class KafkaEventProducer implements EventProducer {
  readonly #settings: ProducerSettings;
  readonly #logger: Logger;
  readonly #deliveryTimeoutMs: number;
  #client: ProduceClient | undefined;
  #state: 'disconnected' | 'connected' | 'closing' = 'disconnected';
  readonly #queue: PendingSend[] = [];
  /** Every send not settled yet, queued or being delivered. */
  readonly #inHand = new Set<PendingSend>();
  #pumping: Promise<void> | undefined;
  /** Set after a send whose outcome is unknown: take a new producer id before the next one. */
  #needsProducerId = false;
  readonly #roundRobin = new Map<string, number>();

  constructor(settings: ProducerSettings) {
    this.#settings = settings;
    this.#logger = settings.logger.child({ component: 'kafka-producer' });
    this.#deliveryTimeoutMs = settings.deliveryTimeoutMs ?? 60_000;
  }

  async connect(): Promise<void> {
    if (this.#state === 'connected') return;
    if (this.#state === 'closing') {
      throw new KafkaProduceError('the producer is disconnecting', { retriable: false });
    }
    const client = this.#settings.createClient?.() ?? platformaticClient(this.#settings);
    const deadline = Date.now() + (this.#settings.connectRetryMs ?? 30_000);
    for (let attempt = 0; ; attempt += 1) {
      try {
        await client.metadata({ topics: [], forceUpdate: true });
        await client.initIdempotentProducer();
        break;
      } catch (error) {
        // A refused certificate or password will not pass on a retry: say so at once.
        const refused = explainKafkaSecurityFailure(
          error,
          this.#settings.brokers,
          this.#settings.security,
        );
        if (refused) {
          await client.close().catch(() => {});
          throw refused;
        }
        if (classifyProduceError(error) === 'fatal' || Date.now() >= deadline) {
          await client.close().catch(() => {});
          throw new KafkaProduceError(
            `could not connect to Kafka at ${this.#settings.brokers.join(',')}: ${describeError(error)}`,
            { retriable: true, cause: error },
          );
        }
        this.#logger.warn(
          { attempt: attempt + 1, error: describeError(error) },
          'Kafka not reachable yet; retrying',
        );
        await sleep(Math.min(200 * 2 ** attempt, 2_000));
      }
    }
    this.#client = client;
    this.#needsProducerId = false;
    this.#state = 'connected';
  }

  /**
   * True when no send is queued, being delivered or retried: after every caller got its answer,
   * nothing goes on behind its back.
   */
  isIdle(): boolean {
    return this.#inHand.size === 0 && this.#pumping === undefined;
  }

  send(batches: TopicMessages[], options: SendOptions = {}): Promise<ProducedRecord[]> {
    if (this.#state !== 'connected') {
      const state = this.#state === 'closing' ? 'disconnecting' : 'not connected';
      return Promise.reject(
        new KafkaProduceError(`the producer is ${state}`, { retriable: false }),
      );
    }
    const messages = batches.flatMap(({ topic, messages }) =>
      messages.map((message) => ({ topic, message })),
    );
    if (messages.length === 0) return Promise.resolve([]);
    // The send's own deadline, never later than the producer's: #deliver stops retrying a group
    // once none of its sends is still waiting, so a timed-out send is not delivered later.
    const timeoutMs = Math.max(0, Math.min(this.#deliveryTimeoutMs, options.timeoutMs ?? Infinity));
    return new Promise<ProducedRecord[]>((resolve, reject) => {
      const pending: PendingSend = {
        messages,
        bytes: messages.reduce((sum, message) => sum + messageBytes(message), 0),
        deadline: Date.now() + timeoutMs,
        settled: false,
        resolve,
        reject,
      };
      pending.timer = setTimeout(() => {
        const reason =
          pending.lastError === undefined ? '' : ` (${describeError(pending.lastError)})`;
        this.#fail(
          pending,
          new KafkaProduceError(
            `Kafka did not acknowledge within ${timeoutMs} ms (timed out)${reason}`,
            { retriable: true, cause: pending.lastError },
          ),
        );
      }, timeoutMs);
      this.#queue.push(pending);
      this.#inHand.add(pending);
      this.#schedule();
    });
  }

  /**
   * Refuses new sends, lets the sends in hand finish for up to `disconnectTimeoutMs` (rejecting
   * those still waiting then, as retriable), and closes the connections.
   */
  async disconnect(): Promise<void> {
    if (this.#state !== 'connected') return;
    this.#state = 'closing';
    const waitMs = this.#settings.disconnectTimeoutMs ?? 10_000;
    const deadline = Date.now() + waitMs;
    while (this.#pumping && Date.now() < deadline) {
      await settledWithin(this.#pumping, deadline - Date.now());
    }
    if (this.#pumping) {
      const failure = new KafkaProduceError(
        `the producer disconnected before Kafka acknowledged (waited ${waitMs} ms)`,
        { retriable: true },
      );
      for (const pending of [...this.#inHand]) this.#fail(pending, failure);
    }
    await this.#client?.close();
    // Closing fails the requests in flight, so the delivery loop ends; never hang on it.
    if (this.#pumping) await settledWithin(this.#pumping, 5_000);
    this.#client = undefined;
    this.#state = 'disconnected';
  }

  #schedule(): void {
    if (this.#pumping) return;
    this.#pumping = this.#pump().finally(() => {
      this.#pumping = undefined;
      if (this.#queue.some((pending) => !pending.settled)) this.#schedule();
    });
  }

  async #pump(): Promise<void> {
    for (;;) {
      const group = this.#takeGroup();
      if (group.length === 0) return;
      try {
        await this.#deliver(group);
      } catch (error) {
        // Not expected (#deliver handles the client's errors); never leave a caller hanging.
        this.#needsProducerId = true;
        const failure = new KafkaProduceError(`the send failed: ${describeError(error)}`, {
          retriable: false,
          cause: error,
        });
        for (const pending of group) this.#fail(pending, failure);
      }
    }
  }

  /** The next sends in order, merged up to MAX_MERGED_BYTES (at least one). */
  #takeGroup(): PendingSend[] {
    const group: PendingSend[] = [];
    let bytes = 0;
    while (this.#queue.length > 0) {
      const next = this.#queue[0] as PendingSend;
      if (next.settled) {
        this.#queue.shift();
        continue;
      }
      if (group.length > 0 && (next.alone || bytes + next.bytes > MAX_MERGED_BYTES)) break;
      this.#queue.shift();
      group.push(next);
      bytes += next.bytes;
      if (next.alone) break;
    }
    return group;
  }

  async #deliver(group: PendingSend[]): Promise<void> {
    const client = this.#client;
    if (!client) throw new Error('no Kafka client');
    const topics = [...new Set(group.flatMap((pending) => pending.messages.map((m) => m.topic)))];
    let entries: Entry[] | undefined;
    let remaining: Entry[] = [];
    /** Base offset of each acknowledged partition's batch. */
    const acknowledged = new Map<string, bigint>();
    const acknowledge = (offsets: TopicWithPartitionAndOffset[] | undefined) => {
      for (const { topic, partition, offset } of offsets ?? []) {
        acknowledged.set(partitionKey(topic, partition), offset);
      }
    };
    let lastError: unknown;
    for (let attempt = 0; ; attempt += 1) {
      const open = group.filter((pending) => !pending.settled);
      const deadline = Math.max(...open.map((pending) => pending.deadline));
      if (open.length === 0 || Date.now() >= deadline) {
        // Every caller was told it timed out; whatever was not acknowledged may or may not be
        // on Kafka, so the next send must not reuse its sequence numbers.
        this.#needsProducerId = true;
        return;
      }
      try {
        if (this.#needsProducerId) {
          await client.initIdempotentProducer();
          this.#needsProducerId = false;
        }
        const metadata = await client.metadata({ topics, forceUpdate: attempt > 0 });
        if (!entries) {
          entries = this.#assignPartitions(group, metadata);
          remaining = entries;
        }
        checkLeaders(remaining, metadata);
        acknowledge(
          (await client.send({ messages: remaining.map(({ message }) => message) })).offsets,
        );
        remaining = remaining.filter(
          (entry) => !acknowledged.has(partitionKey(entry.topic, entry.partition)),
        );
        if (remaining.length === 0) {
          this.#resolveGroup(group, entries, acknowledged);
          return;
        }
        lastError = new MetadataNotReady(
          `no acknowledgement for ${describePartitions(remaining)} in a successful response`,
        );
      } catch (error) {
        lastError = error;
        acknowledge((error as { produced?: ProduceResult }).produced?.offsets);
        remaining = remaining.filter(
          (entry) => !acknowledged.has(partitionKey(entry.topic, entry.partition)),
        );
        const verdict = classifyProduceError(error);
        if (verdict === 'fatal' && group.filter((pending) => !pending.settled).length > 1) {
          // One caller's message may be the one refused (too large, say): send each caller's
          // messages on their own, so only that caller fails. (Partitions already acknowledged
          // in this request are sent again: duplicates, never a loss.)
          this.#needsProducerId = true;
          const open = group.filter((pending) => !pending.settled);
          for (const pending of open) pending.alone = true;
          this.#queue.unshift(...open);
          return;
        }
        if (verdict === 'fatal') {
          this.#needsProducerId = true;
          const failure = new KafkaProduceError(
            `Kafka refused the messages: ${describeError(error)}`,
            { retriable: false, cause: error },
          );
          for (const pending of group) this.#fail(pending, failure);
          return;
        }
        if (verdict === 'new-producer-id') this.#needsProducerId = true;
      }
      for (const pending of group) pending.lastError = lastError;
      const delay = Math.min(100 * 2 ** attempt, 1_000);
      this.#logger.warn(
        {
          attempt: attempt + 1,
          messages: remaining.length,
          partitions: describePartitions(remaining),
          error: describeError(lastError),
          retryInMs: delay,
        },
        'Kafka did not acknowledge every message yet; retrying the rest',
      );
      client.clearMetadata();
      await sleep(Math.max(0, Math.min(delay, deadline - Date.now())));
    }
  }

  /** Chooses each message's partition once (murmur2 of the key, else round robin). */
  #assignPartitions(group: PendingSend[], metadata: ClusterMetadata): Entry[] {
    const entries: Entry[] = [];
    const now = Date.now();
    for (const pending of group) {
      for (const { topic, message } of pending.messages) {
        const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
        if (count < 1) throw new MetadataNotReady(`no metadata for topic ${topic}`);
        const key = message.key === null ? undefined : Buffer.from(message.key, 'utf8');
        const partition = key ? partitionForKey(key, count) : this.#nextPartition(topic, count);
        const headers = new Map<Buffer, Buffer>();
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          headers.set(Buffer.from(name, 'utf8'), Buffer.from(value, 'utf8'));
        }
        entries.push({
          pending,
          topic,
          partition,
          message: {
            topic,
            partition,
            key,
            value:
              typeof message.value === 'string'
                ? Buffer.from(message.value, 'utf8')
                : message.value,
            headers,
            // Fixed here, so a retry carries the time of the send, not of the retry.
            timestamp: BigInt(message.timestamp ?? now),
          },
        });
      }
    }
    return entries;
  }

  #nextPartition(topic: string, count: number): number {
    const next = this.#roundRobin.get(topic) ?? Math.floor(Math.random() * count);
    this.#roundRobin.set(topic, next + 1);
    return next % count;
  }

  /**
   * Each caller gets, per topic-partition it wrote to, the offset of its first message there:
   * a partition's messages of a merged request are one batch, in order, from its base offset.
   */
  #resolveGroup(group: PendingSend[], entries: Entry[], acknowledged: Map<string, bigint>): void {
    const seen = new Map<string, bigint>();
    const records = new Map<PendingSend, Map<string, ProducedRecord>>();
    for (const entry of entries) {
      const key = partitionKey(entry.topic, entry.partition);
      const index = seen.get(key) ?? 0n;
      seen.set(key, index + 1n);
      let own = records.get(entry.pending);
      if (!own) {
        own = new Map();
        records.set(entry.pending, own);
      }
      if (!own.has(key)) {
        own.set(key, {
          topic: entry.topic,
          partition: entry.partition,
          baseOffset: ((acknowledged.get(key) ?? 0n) + index).toString(),
        });
      }
    }
    for (const pending of group) {
      if (pending.settled) continue;
      pending.settled = true;
      clearTimeout(pending.timer);
      this.#inHand.delete(pending);
      pending.resolve([...(records.get(pending)?.values() ?? [])]);
    }
  }

  #fail(pending: PendingSend, error: Error): void {
    if (pending.settled) return;
    pending.settled = true;
    clearTimeout(pending.timer);
    this.#inHand.delete(pending);
    pending.reject(error);
  }
}

/** Throws a retriable error when a partition has no leader the metadata can reach. */
function checkLeaders(entries: Entry[], metadata: ClusterMetadata): void {
  const leaderless = new Set<string>();
  for (const { topic, partition } of entries) {
    const leader = metadata.topics.get(topic)?.partitions[partition]?.leader ?? -1;
    if (leader < 0 || !metadata.brokers.has(leader)) leaderless.add(`${topic}[${partition}]`);
  }
  if (leaderless.size > 0) {
    throw new MetadataNotReady(`no leader for ${[...leaderless].slice(0, 5).join(', ')}`);
  }
}

function describePartitions(entries: Entry[]): string {
  const partitions = [...new Set(entries.map(({ topic, partition }) => `${topic}[${partition}]`))];
  const shown = partitions.slice(0, 5).join(', ');
  return partitions.length > 5 ? `${shown} and ${partitions.length - 5} more` : shown;
}
