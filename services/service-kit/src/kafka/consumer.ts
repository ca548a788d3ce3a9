import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Broker,
  type ClusterMetadata,
  type Connection,
  ConnectionPool,
  Consumer,
  FetchIsolationLevels,
  FindCoordinatorKeyTypes,
  findCoordinatorV4,
  heartbeatV4,
  IS_CONTROL,
  joinGroupV9,
  ListOffsetTimestamps,
  leaveGroupV5,
  offsetCommitV8,
  offsetFetchV8,
  protocolErrors,
  syncGroupV5,
} from '@platformatic/kafka';
import type { Logger } from 'pino';
import {
  COORDINATOR_ERRORS,
  GroupMembershipLostError,
  MEMBERSHIP_LOST_ERRORS,
  protocolErrorIds,
  responseOf,
} from './errors.js';
import {
  assignRoundRobin,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  type TopicAssignment,
} from './group-protocol.js';
import {
  explainKafkaSecurityFailure,
  type KafkaSecurity,
  KafkaSecurityError,
  libraryConnectionOptions,
} from './security.js';
import type {
  BatchConsumer,
  BatchHandler,
  ConsumedBatch,
  ConsumedMessage,
  ConsumerOptions,
  TopicPartitions,
} from './types.js';

/**
 * The kit's BatchConsumer on @platformatic/kafka: its client for metadata, fetches and list
 * offsets, and its raw protocol APIs (FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
 * LeaveGroup, OffsetFetch, OffsetCommit) for the consumer group, which the kit runs itself:
 * the library's own group client (1.35) keeps the first coordinator it found for ever
 * (platformatic/kafka#290, so a consumer never recovers once that broker stops), rejoins a
 * rebalance at once while batches are still being handled, and retries a refused commit under
 * the new generation — committing partitions the member may no longer own. Here:
 *
 * - fetching runs ahead of the handler (bounded by maxBatchesInFlight and maxBytesInFlight) and
 *   each partition's batches are handed over in offset order as they arrive;
 * - a partition's offsets are committed in order, each batch once its handler resolved and every
 *   earlier batch was committed, with the generation the batch was fetched in (so the broker
 *   refuses it once the group has moved on);
 * - a rebalance first lets the batches in hand finish and commit (up to revokeTimeoutMs), then
 *   rejoins; batches still running after that are never committed by this member;
 * - heartbeats run on a timer of their own, whatever the handlers are doing.
 */

export interface ConsumerSettings {
  brokers: string[];
  clientId: string;
  logger: Logger;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** TLS and SASL (unset: PLAINTEXT). */
  security?: KafkaSecurity;
}

interface Generation {
  id: number;
  memberId: string;
  /** The group moved on (a heartbeat or commit said so): nothing more is committed under it. */
  lost: boolean;
}

interface HandedBatch {
  first: bigint;
  /** The offset after the batch's last message (control records included). */
  next: bigint;
  bytes: number;
  status: 'running' | 'done' | 'failed';
  /** What to commit once done: `next`, or less when the handler returned a commitOffset. */
  commitOffset: bigint;
  abort: AbortController;
}

class PartitionState {
  readonly key: string;
  /** The next offset to fetch; undefined until the starting offset is known. */
  position: bigint | undefined;
  /** The group's committed offset as this member last set or read it. */
  committed: bigint | undefined;
  /** Handed to the handler and not yet committed or given up, in offset order. */
  batches: HandedBatch[] = [];
  fetching = false;
  committing = false;
  /** A handler failed (or kept part of its batch): read again from `committed` once settled. */
  rewind = false;
  retryAt = 0;
  lastFetchAt = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly generation: number,
  ) {
    this.key = `${topic}:${partition}`;
  }

  get running(): number {
    return this.batches.filter((batch) => batch.status === 'running').length;
  }
}

type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;

const DEFAULTS = {
  maxWaitTimeMs: 250,
  maxBytesPerPartition: 5 * 1024 * 1024,
  minBytes: 1,
  sessionTimeoutMs: 30_000,
  rebalanceTimeoutMs: 60_000,
  heartbeatIntervalMs: 3_000,
  maxBatchesInFlight: 16,
  maxBytesInFlight: 64 * 1024 * 1024,
};

const OFFSET_OUT_OF_RANGE = protocolErrors.OFFSET_OUT_OF_RANGE?.code ?? 1;

/** Per message, beyond key and value: what the budget counts for offsets, headers, objects. */
const MESSAGE_OVERHEAD_BYTES = 96;

function headersToStrings(headers: [Buffer | null, Buffer | null][]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (name === null) continue;
    result[name.toString()] = value === null ? '' : value.toString();
  }
  return result;
}

function brokerFromAddress(address: string): Broker {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}

export class PlatformaticBatchConsumer implements BatchConsumer {
  readonly #settings: ConsumerSettings;
  readonly #groupId: string;
  readonly #options: Required<Omit<ConsumerOptions, 'onAssignment' | 'revokeTimeoutMs'>> & {
    revokeTimeoutMs: number;
  };
  readonly #onAssignment: (() => void) | undefined;
  readonly #logger: Logger;

  #client: Consumer | undefined;
  /** Fetches: a pool of their own, so a fetch waiting on the broker delays no group request. */
  #fetchPool: ConnectionPool | undefined;
  /** Heartbeats, commits, offset fetches, leave. */
  #groupPool: ConnectionPool | undefined;
  /** JoinGroup and SyncGroup, which the coordinator holds until the whole group has joined. */
  #joinPool: ConnectionPool | undefined;

  #topics: string[] = [];
  #fromBeginning = true;
  #handler: BatchHandler | undefined;

  #memberId = '';
  #generation: Generation | undefined;
  #coordinator: Broker | undefined;
  /** The partitions of the current generation. */
  #partitions = new Map<string, PartitionState>();
  /** Partitions of earlier generations whose handlers are still running (never committed). */
  readonly #retired = new Set<PartitionState>();
  #rejoining: Promise<void> | undefined;
  #stable = false;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #lastHeartbeatOk = 0;

  readonly #paused = new Set<string>();
  readonly #leadersFetching = new Set<number>();
  #batchesInFlight = 0;
  #bytesInFlight = 0;

  #wakeUp: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #stopping = false;
  #closed = false;
  #lastActivityAt = Date.now();
  #lastFetchWarningAt = 0;

  constructor(settings: ConsumerSettings, groupId: string, options: ConsumerOptions = {}) {
    this.#settings = settings;
    this.#groupId = groupId;
    const sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULTS.sessionTimeoutMs;
    const rebalanceTimeoutMs = Math.max(
      options.rebalanceTimeoutMs ?? DEFAULTS.rebalanceTimeoutMs,
      sessionTimeoutMs,
    );
    this.#options = {
      maxWaitTimeMs: options.maxWaitTimeMs ?? DEFAULTS.maxWaitTimeMs,
      maxBytesPerPartition: options.maxBytesPerPartition ?? DEFAULTS.maxBytesPerPartition,
      minBytes: options.minBytes ?? DEFAULTS.minBytes,
      sessionTimeoutMs,
      rebalanceTimeoutMs,
      heartbeatIntervalMs: Math.min(
        options.heartbeatIntervalMs ?? DEFAULTS.heartbeatIntervalMs,
        Math.floor(sessionTimeoutMs / 3),
      ),
      maxBatchesInFlight: Math.max(1, options.maxBatchesInFlight ?? DEFAULTS.maxBatchesInFlight),
      maxBytesInFlight: Math.max(1, options.maxBytesInFlight ?? DEFAULTS.maxBytesInFlight),
      // The coordinator waits rebalanceTimeoutMs for every member to rejoin: leave it room.
      revokeTimeoutMs: Math.min(
        options.revokeTimeoutMs ?? rebalanceTimeoutMs / 2,
        rebalanceTimeoutMs - 5_000,
      ),
    };
    this.#onAssignment = options.onAssignment;
    this.#logger = settings.logger.child({ component: 'kafka-consumer', group: groupId });
  }

  lastActivityAt(): number {
    return this.#lastActivityAt;
  }

  async connect(): Promise<void> {
    if (this.#client) return;
    const { clientId, brokers } = this.#settings;
    const connectTimeout = this.#settings.connectionTimeoutMs ?? 3_000;
    const requestTimeout = this.#settings.requestTimeoutMs ?? 30_000;
    // Every connection, the client's and the pools', is made with the same TLS and SASL.
    const security = libraryConnectionOptions(this.#settings.security, brokers);
    const client = new Consumer({
      clientId,
      bootstrapBrokers: brokers,
      groupId: this.#groupId,
      autocommit: false,
      connectTimeout,
      requestTimeout,
      timeout: requestTimeout,
      // One quick retry inside the library; the consumer's own loops retry on fresh metadata.
      retries: 1,
      retryDelay: 250,
      metadataMaxAge: 5_000,
      autocreateTopics: false,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      maxWaitTime: this.#options.maxWaitTimeMs,
      minBytes: this.#options.minBytes,
      sessionTimeout: this.#options.sessionTimeoutMs,
      rebalanceTimeout: this.#options.rebalanceTimeoutMs,
      heartbeatInterval: this.#options.heartbeatIntervalMs,
      ...security,
    });
    const log = this.#logger;
    client.on('error', (error: Error) => log.warn({ err: error }, 'Kafka client error'));
    client.on('client:broker:failed', ({ broker }) =>
      log.warn({ broker: `${broker.host}:${broker.port}` }, 'Kafka broker connection failed'),
    );
    client.on('client:broker:disconnect', ({ broker }) =>
      log.debug({ broker: `${broker.host}:${broker.port}` }, 'Kafka broker disconnected'),
    );
    this.#client = client;
    this.#fetchPool = new ConnectionPool(clientId, { connectTimeout, requestTimeout, ...security });
    this.#groupPool = new ConnectionPool(clientId, { connectTimeout, requestTimeout, ...security });
    this.#joinPool = new ConnectionPool(clientId, {
      ...security,
      connectTimeout,
      requestTimeout: this.#options.rebalanceTimeoutMs + requestTimeout,
    });
    for (const pool of [this.#fetchPool, this.#groupPool, this.#joinPool]) {
      pool.on('failed', ({ broker }) =>
        log.debug({ broker: `${broker.host}:${broker.port}` }, 'Kafka connection failed'),
      );
    }
    // Fails here, not in run(), when no broker answers.
    await this.#retry(
      'connect',
      async () => {
        try {
          return await client.metadata({ topics: [] });
        } catch (error) {
          // A refused certificate or password will not pass on a retry: say so at once.
          throw explainKafkaSecurityFailure(error, brokers, this.#settings.security) ?? error;
        }
      },
      10,
    );
  }

  async subscribe(topics: string[], options: { fromBeginning?: boolean } = {}): Promise<void> {
    this.#topics = [...new Set([...this.#topics, ...topics])];
    this.#fromBeginning = options.fromBeginning ?? true;
    for (const topic of topics) this.#requireClient().topics.track(topic);
  }

  async run(handler: BatchHandler): Promise<void> {
    if (this.#handler) throw new Error('run() was already called on this consumer');
    this.#handler = handler;
    // Resolves once this member has joined the group and knows where to start reading.
    await this.#joinUntilMember();
    this.#loop = this.#fetchLoop();
  }

  pause(partitions: TopicPartitions[]): void {
    for (const { topic, partitions: numbers } of partitions) {
      if (numbers === undefined) this.#paused.add(topic);
      else for (const partition of numbers) this.#paused.add(`${topic}:${partition}`);
    }
  }

  resume(partitions: TopicPartitions[]): void {
    for (const { topic, partitions: numbers } of partitions) {
      if (numbers === undefined) {
        for (const key of [...this.#paused]) {
          if (key === topic || key.startsWith(`${topic}:`)) this.#paused.delete(key);
        }
      } else for (const partition of numbers) this.#paused.delete(`${topic}:${partition}`);
    }
    this.#wake();
  }

  /**
   * Takes no new batches, lets the batches in hand finish and commit, then leaves the group.
   * (So it must not be awaited from inside a handler.)
   */
  async disconnect(): Promise<void> {
    if (this.#closed) return;
    this.#stopping = true;
    this.#wake();
    while (this.#anyHandlerRunning() || this.#anyCommitting()) {
      await this.#nextWake(200);
    }
    await this.#loop;
    this.#closed = true;
    clearTimeout(this.#heartbeatTimer);
    const generation = this.#generation;
    this.#generation = undefined;
    if (generation && !generation.lost) {
      try {
        const connection = await this.#coordinatorConnection();
        await leaveGroupV5.api.async(connection, this.#groupId, [
          { memberId: generation.memberId, groupInstanceId: null, reason: 'consumer disconnected' },
        ]);
        this.#logger.info({ generation: generation.id }, 'left the consumer group');
      } catch (error) {
        // The group removes the member when its session expires instead.
        this.#logger.warn({ err: error }, 'could not leave the consumer group');
      }
    }
    await Promise.allSettled([
      this.#fetchPool?.close(),
      this.#groupPool?.close(),
      this.#joinPool?.close(),
    ]);
    await this.#client?.close().catch(() => {});
  }

  // ---- fetching -------------------------------------------------------------------------

  #wake(): void {
    const wake = this.#wakeUp;
    this.#wakeUp = undefined;
    wake?.();
  }

  #nextWake(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      const previous = this.#wakeUp;
      this.#wakeUp = () => {
        clearTimeout(timer);
        previous?.();
        resolve();
      };
    });
  }

  async #fetchLoop(): Promise<void> {
    while (!this.#stopping) {
      let started = 0;
      try {
        started = await this.#startFetches();
      } catch (error) {
        this.#warnFetch(error, 'could not plan a fetch');
      }
      if (started === 0) await this.#nextWake(this.#options.maxWaitTimeMs);
    }
  }

  #eligible(state: PartitionState, now: number): boolean {
    if (state.position === undefined || state.fetching || state.rewind) return false;
    if (state.retryAt > now) return false;
    if (this.#paused.has(state.topic) || this.#paused.has(state.key)) return false;
    // Batches an earlier generation handed over for this partition finish first.
    for (const retired of this.#retired) if (retired.key === state.key) return false;
    return true;
  }

  async #startFetches(): Promise<number> {
    const generation = this.#generation;
    const now = Date.now();
    if (!this.#stable || !generation || generation.lost || this.#rejoining) return 0;
    // Without a heartbeat answered for a whole session, the partitions may be someone else's.
    if (now - this.#lastHeartbeatOk > this.#options.sessionTimeoutMs) return 0;
    const roomBatches = this.#options.maxBatchesInFlight - this.#batchesInFlight;
    const roomBytes = Math.floor(
      (this.#options.maxBytesInFlight - this.#bytesInFlight) / this.#options.maxBytesPerPartition,
    );
    const room = Math.min(
      roomBatches,
      this.#batchesInFlight === 0 ? Math.max(roomBytes, 1) : roomBytes,
    );
    if (room <= 0) return 0;
    const candidates = [...this.#partitions.values()]
      .filter((state) => this.#eligible(state, now))
      .sort((a, b) => a.lastFetchAt - b.lastFetchAt);
    if (candidates.length === 0) return 0;

    const client = this.#requireClient();
    const metadata = await client.metadata({ topics: this.#topics });
    if (this.#generation !== generation) return 0;
    const byLeader = new Map<number, PartitionState[]>();
    let taken = 0;
    for (const state of candidates) {
      if (taken >= room) break;
      const leader = metadata.topics.get(state.topic)?.partitions[state.partition]?.leader ?? -1;
      if (leader < 0 || !metadata.brokers.has(leader)) {
        state.retryAt = now + 500;
        client.clearMetadata();
        continue;
      }
      if (this.#leadersFetching.has(leader)) continue;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), state]);
      taken += 1;
    }
    for (const [leader, states] of byLeader) {
      void this.#fetchFrom(leader, states, metadata, generation);
    }
    return byLeader.size;
  }

  async #fetchFrom(
    leader: number,
    states: PartitionState[],
    metadata: ClusterMetadata,
    generation: Generation,
  ): Promise<void> {
    const client = this.#requireClient();
    this.#leadersFetching.add(leader);
    const requested = new Map<string, { state: PartitionState; offset: bigint }>();
    const byTopic = new Map<string, { topicId: string; partitions: PartitionState[] }>();
    for (const state of states) {
      state.fetching = true;
      state.lastFetchAt = Date.now();
      const topicId = metadata.topics.get(state.topic)?.id as string;
      requested.set(`${topicId}:${state.partition}`, {
        state,
        offset: state.position as bigint,
      });
      const entry = byTopic.get(state.topic) ?? { topicId, partitions: [] };
      entry.partitions.push(state);
      byTopic.set(state.topic, entry);
    }
    try {
      let response: FetchResponse | undefined;
      try {
        response = await client.fetch({
          node: leader,
          maxWaitTime: this.#options.maxWaitTimeMs,
          minBytes: this.#options.minBytes,
          maxBytes: this.#options.maxBytesPerPartition * states.length,
          connectionPool: this.#fetchPool as ConnectionPool,
          topics: [...byTopic.values()].map(({ topicId, partitions }) => ({
            topicId,
            partitions: partitions.map((state) => ({
              partition: state.partition,
              fetchOffset: state.position as bigint,
              partitionMaxBytes: this.#options.maxBytesPerPartition,
              currentLeaderEpoch: -1,
              lastFetchedEpoch: -1,
            })),
          })),
        });
      } catch (error) {
        // A partition's error fails the whole call; the others' records are still in it.
        response = responseOf<FetchResponse>(error);
        if (!response?.responses) throw error;
      }
      this.#lastActivityAt = Date.now();
      for (const topicResponse of response.responses) {
        for (const partitionResponse of topicResponse.partitions) {
          const entry = requested.get(
            `${topicResponse.topicId}:${partitionResponse.partitionIndex}`,
          );
          if (!entry) continue;
          const { state, offset } = entry;
          // Stopping, revoked, rewound or moved on meanwhile: what this fetch brought is not wanted.
          if (
            this.#stopping ||
            this.#generation !== generation ||
            this.#partitions.get(state.key) !== state ||
            state.position !== offset ||
            state.rewind
          ) {
            continue;
          }
          if (partitionResponse.errorCode !== 0) {
            this.#partitionFetchError(state, partitionResponse.errorCode);
            continue;
          }
          this.#takeRecords(state, offset, partitionResponse);
        }
      }
    } catch (error) {
      this.#warnFetch(error, 'fetch failed; retrying on fresh metadata', leader);
      client.clearMetadata();
      for (const state of states) state.retryAt = Date.now() + 1_000;
    } finally {
      for (const state of states) state.fetching = false;
      this.#leadersFetching.delete(leader);
      this.#wake();
    }
  }

  #partitionFetchError(state: PartitionState, errorCode: number): void {
    const client = this.#requireClient();
    if (errorCode === OFFSET_OUT_OF_RANGE) {
      // Retention removed what was to be read next: start again at the earliest offset kept.
      this.#logger.warn(
        { topic: state.topic, partition: state.partition, offset: String(state.position) },
        'fetch offset out of range; reading from the earliest offset',
      );
      const position = state.position;
      state.retryAt = Date.now() + 60_000;
      void this.#listOffsets(state.topic, [state.partition], ListOffsetTimestamps.EARLIEST)
        .then((offsets) => {
          const earliest = offsets.get(state.partition);
          if (earliest !== undefined && state.position === position && state.batches.length === 0) {
            state.position = earliest;
            state.committed ??= earliest;
          }
        })
        .catch((error) => this.#warnFetch(error, 'could not list the earliest offset'))
        .finally(() => {
          state.retryAt = 0;
          this.#wake();
        });
      return;
    }
    // A leader moved or is not known yet: read metadata again and retry shortly.
    client.clearMetadata();
    state.retryAt = Date.now() + 500;
  }

  #takeRecords(
    state: PartitionState,
    requestedOffset: bigint,
    partitionResponse: FetchResponse['responses'][number]['partitions'][number],
  ): void {
    const recordBatches = partitionResponse.records ?? [];
    if (recordBatches.length === 0) return;
    const messages: ConsumedMessage[] = [];
    let next = requestedOffset;
    let bytes = 0;
    for (const recordBatch of recordBatches) {
      const last = recordBatch.firstOffset + BigInt(recordBatch.lastOffsetDelta);
      if (last + 1n > next) next = last + 1n;
      // Transaction markers take an offset but are no message.
      if (recordBatch.attributes & IS_CONTROL) continue;
      for (const record of recordBatch.records) {
        const offset = recordBatch.firstOffset + BigInt(record.offsetDelta);
        // A compressed batch starts where it starts, possibly before the offset asked for.
        if (offset < requestedOffset) continue;
        const key = record.key ?? null;
        const value = record.value ?? null;
        bytes += (key?.length ?? 0) + (value?.length ?? 0) + MESSAGE_OVERHEAD_BYTES;
        messages.push({
          topic: state.topic,
          partition: state.partition,
          offset: offset.toString(),
          key,
          value,
          headers: headersToStrings(record.headers),
          timestamp: (recordBatch.firstTimestamp + record.timestampDelta).toString(),
        });
      }
    }
    state.position = next;
    if (messages.length === 0) return;
    this.#handOver(state, messages, requestedOffset, next, bytes, partitionResponse.highWatermark);
  }

  #handOver(
    state: PartitionState,
    messages: ConsumedMessage[],
    first: bigint,
    next: bigint,
    bytes: number,
    highWatermark: bigint,
  ): void {
    const handed: HandedBatch = {
      first,
      next,
      bytes,
      status: 'running',
      commitOffset: next,
      abort: new AbortController(),
    };
    state.batches.push(handed);
    this.#batchesInFlight += 1;
    this.#bytesInFlight += bytes;
    this.#lastActivityAt = Date.now();
    const batch: ConsumedBatch = {
      topic: state.topic,
      partition: state.partition,
      messages,
      highWatermark: highWatermark.toString(),
      signal: handed.abort.signal,
      // Heartbeats run on the consumer's own timer; this only shows the handler is alive.
      heartbeat: async () => {
        this.#lastActivityAt = Date.now();
      },
    };
    let outcome: ReturnType<BatchHandler>;
    try {
      outcome = (this.#handler as BatchHandler)(batch);
    } catch (error) {
      outcome = Promise.reject(error);
    }
    Promise.resolve(outcome).then(
      (result) => {
        handed.status = 'done';
        if (result?.commitOffset !== undefined) {
          const offset = BigInt(result.commitOffset);
          if (offset >= handed.first && offset < handed.next) handed.commitOffset = offset;
        }
        this.#settled(state);
      },
      (error: unknown) => {
        handed.status = 'failed';
        if (this.#partitions.get(state.key) === state && !state.rewind) {
          this.#logger.warn(
            {
              topic: state.topic,
              partition: state.partition,
              offset: first.toString(),
              err: error,
            },
            'batch handler failed; the partition is read again from its committed offset',
          );
        }
        this.#startRewind(state, handed, error);
        this.#settled(state);
      },
    );
  }

  /** Nothing from `from` on is committed; later batches are told (their signal aborts). */
  #startRewind(state: PartitionState, from: HandedBatch, reason: unknown): void {
    state.rewind = true;
    const index = state.batches.indexOf(from);
    for (const later of state.batches.slice(Math.max(index, 0))) {
      if (!later.abort.signal.aborted) later.abort.abort(reason);
    }
  }

  #release(batches: HandedBatch[]): void {
    for (const batch of batches) {
      this.#batchesInFlight -= 1;
      this.#bytesInFlight -= batch.bytes;
    }
  }

  #settled(state: PartitionState): void {
    this.#lastActivityAt = Date.now();
    if (this.#partitions.get(state.key) !== state) {
      // An earlier generation's partition: nothing of it is committed by this member.
      const settled = state.batches.filter((batch) => batch.status !== 'running');
      state.batches = state.batches.filter((batch) => batch.status === 'running');
      this.#release(settled);
      if (state.batches.length === 0) this.#retired.delete(state);
      this.#wake();
      return;
    }
    void this.#commitReady(state);
  }

  // ---- committing -----------------------------------------------------------------------

  async #commitReady(state: PartitionState): Promise<void> {
    if (state.committing) return;
    state.committing = true;
    try {
      for (;;) {
        if (this.#partitions.get(state.key) !== state) break;
        const generation = this.#generation;
        if (!generation || generation.lost || generation.id !== state.generation) break;
        // The batches at the head that are done, up to one that keeps part of its messages.
        let count = 0;
        let partial = false;
        for (const batch of state.batches) {
          if (batch.status !== 'done' || batch.abort.signal.aborted) break;
          count += 1;
          if (batch.commitOffset < batch.next) {
            partial = true;
            break;
          }
        }
        if (count === 0) break;
        const offset = (state.batches[count - 1] as HandedBatch).commitOffset;
        if (offset !== state.committed) {
          try {
            await this.#commit(generation, state, offset);
          } catch (error) {
            if (this.#isMembershipError(error)) {
              this.#membershipLost(generation, error);
              break;
            }
            this.#logger.warn(
              { topic: state.topic, partition: state.partition, err: error },
              'offset commit failed; retrying',
            );
            await sleep(500);
            continue;
          }
          state.committed = offset;
        }
        this.#release(state.batches.splice(0, count));
        this.#lastActivityAt = Date.now();
        if (partial) this.#startRewind(state, state.batches[0] as HandedBatch, 'kept for later');
        this.#wake();
      }
    } finally {
      state.committing = false;
    }
    this.#finishRewind(state);
  }

  /** Once every batch in hand has settled, read again from the committed offset. */
  #finishRewind(state: PartitionState): void {
    if (!state.rewind || state.committing || state.running > 0) return;
    if (this.#partitions.get(state.key) !== state) return;
    this.#release(state.batches.splice(0, state.batches.length));
    state.position = state.committed;
    state.rewind = false;
    this.#wake();
  }

  #isMembershipError(error: unknown): boolean {
    if (error instanceof GroupMembershipLostError) return true;
    const ids = protocolErrorIds(error);
    return [...ids].some((id) => MEMBERSHIP_LOST_ERRORS.has(id));
  }

  async #commit(generation: Generation, state: PartitionState, offset: bigint): Promise<void> {
    const connection = await this.#coordinatorConnection();
    try {
      await offsetCommitV8.api.async(
        connection,
        this.#groupId,
        generation.id,
        generation.memberId,
        null,
        [
          {
            name: state.topic,
            partitions: [
              {
                partitionIndex: state.partition,
                committedOffset: offset,
                committedLeaderEpoch: -1,
                committedMetadata: null,
              },
            ],
          },
        ],
      );
    } catch (error) {
      this.#coordinatorFailed(error);
      throw error;
    }
  }

  // ---- group membership -----------------------------------------------------------------

  #anyHandlerRunning(): boolean {
    for (const state of this.#partitions.values()) if (state.running > 0) return true;
    return this.#retired.size > 0;
  }

  #anyCommitting(): boolean {
    for (const state of this.#partitions.values()) {
      if (state.committing) return true;
      if (state.batches.some((batch) => batch.status === 'done' && !batch.abort.signal.aborted)) {
        // Done and still to be committed (unless the generation cannot commit any more).
        if (this.#generation && !this.#generation.lost) return true;
      }
    }
    return false;
  }

  #coordinatorFailed(error: unknown): void {
    const ids = protocolErrorIds(error);
    const network = ids.size === 0 || [...ids].some((id) => COORDINATOR_ERRORS.has(id));
    if (network) this.#coordinator = undefined;
  }

  async #findCoordinator(): Promise<Broker> {
    const client = this.#requireClient();
    let brokers: Broker[];
    try {
      brokers = [...(await client.metadata({ topics: this.#topics })).brokers.values()];
    } catch {
      brokers = this.#settings.brokers.map(brokerFromAddress);
    }
    let lastError: unknown = new Error('no broker answered FindCoordinator');
    // Any broker knows the coordinator; start at a random one so a dead broker is not always first.
    const start = Math.floor(Math.random() * brokers.length);
    for (let index = 0; index < brokers.length; index += 1) {
      const broker = brokers[(start + index) % brokers.length] as Broker;
      try {
        const connection = await (this.#groupPool as ConnectionPool).get(broker);
        const response = await findCoordinatorV4.api.async(
          connection,
          FindCoordinatorKeyTypes.GROUP,
          [this.#groupId],
        );
        const found = response.coordinators[0];
        if (found && found.errorCode === 0 && found.nodeId >= 0) {
          return { host: found.host, port: found.port };
        }
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  async #coordinatorConnection(pool = this.#groupPool as ConnectionPool): Promise<Connection> {
    if (!this.#coordinator) this.#coordinator = await this.#findCoordinator();
    try {
      return await pool.get(this.#coordinator);
    } catch (error) {
      this.#coordinator = undefined;
      throw error;
    }
  }

  /** Asks for a rejoin: after a rebalance notice (lost=false) or the generation's end (true). */
  #requestRejoin(reason: string, lost: boolean): void {
    if (this.#stopping || this.#rejoining) return;
    this.#logger.info({ generation: this.#generation?.id, reason }, 'rejoining the consumer group');
    this.#rejoining = (async () => {
      try {
        this.#stable = false;
        if (!lost) await this.#drainForRevoke();
        this.#retireAll();
        await this.#joinUntilMember();
      } finally {
        this.#rejoining = undefined;
        this.#wake();
      }
    })();
  }

  #membershipLost(generation: Generation, error: unknown): void {
    if (generation.lost) return;
    generation.lost = true;
    if (protocolErrorIds(error).has('UNKNOWN_MEMBER_ID')) this.#memberId = '';
    this.#logger.warn(
      { generation: generation.id, err: error },
      'the group moved on without this member; its batches in hand will not be committed',
    );
    this.#stable = false;
    this.#wake();
    if (this.#rejoining) return;
    this.#requestRejoin('membership lost', true);
  }

  /** Lets the batches in hand finish and commit before the partitions are given up. */
  async #drainForRevoke(): Promise<void> {
    const deadline = Date.now() + this.#options.revokeTimeoutMs;
    while (Date.now() < deadline && !this.#generation?.lost) {
      let busy = false;
      for (const state of this.#partitions.values()) {
        if (state.running > 0 || state.committing) busy = true;
        else if (
          state.batches.some((batch) => batch.status === 'done' && !batch.abort.signal.aborted)
        )
          busy = true;
      }
      if (!busy) return;
      await this.#nextWake(100);
    }
  }

  /** The partitions are given up: batches still running are told and never committed. */
  #retireAll(): void {
    clearTimeout(this.#heartbeatTimer);
    for (const state of this.#partitions.values()) {
      for (const batch of state.batches) {
        if (!batch.abort.signal.aborted) batch.abort.abort(new GroupMembershipLostError('revoked'));
      }
      const settled = state.batches.filter((batch) => batch.status !== 'running');
      state.batches = state.batches.filter((batch) => batch.status === 'running');
      this.#release(settled);
      if (state.batches.length > 0) this.#retired.add(state);
    }
    this.#partitions = new Map();
    this.#generation = undefined;
    this.#stable = false;
  }

  async #joinUntilMember(): Promise<void> {
    for (let attempt = 0; !this.#stopping; attempt += 1) {
      try {
        await this.#joinOnce();
        return;
      } catch (error) {
        const ids = protocolErrorIds(error);
        if (ids.has('UNKNOWN_MEMBER_ID') || ids.has('FENCED_INSTANCE_ID')) this.#memberId = '';
        this.#coordinatorFailed(error);
        if (this.#generation) this.#retireAll();
        const delay = Math.min(250 * 2 ** attempt, 5_000);
        this.#logger.warn(
          { err: error, attempt, delayMs: delay },
          'joining the group failed; retrying',
        );
        await sleep(delay);
      }
    }
  }

  async #joinOnce(): Promise<void> {
    const connection = await this.#coordinatorConnection(this.#joinPool as ConnectionPool);
    const protocols = [{ name: 'roundrobin', metadata: encodeSubscription(this.#topics) }];
    let join: Awaited<ReturnType<typeof joinGroupV9.api.async>> | undefined;
    for (let attempt = 0; join === undefined; attempt += 1) {
      try {
        join = await joinGroupV9.api.async(
          connection,
          this.#groupId,
          this.#options.sessionTimeoutMs,
          this.#options.rebalanceTimeoutMs,
          this.#memberId,
          null,
          'consumer',
          protocols,
          null,
        );
      } catch (error) {
        // KIP-394: the first join is answered with the member id to join with.
        const memberId = responseOf<{ memberId?: string | null }>(error)?.memberId;
        if (protocolErrorIds(error).has('MEMBER_ID_REQUIRED') && memberId && attempt < 3) {
          this.#memberId = memberId;
          continue;
        }
        throw error;
      }
    }
    this.#memberId = join.memberId ?? this.#memberId;
    let assignments: { memberId: string; assignment: Buffer }[] = [];
    if (join.leader === this.#memberId) {
      const members = new Map(
        join.members.map((member) => [member.memberId, decodeSubscription(member.metadata)]),
      );
      const topics = [...new Set([...members.values()].flat())];
      const metadata = await this.#requireClient().metadata({ topics, forceUpdate: true });
      const counts = new Map(
        topics.map((topic) => [topic, metadata.topics.get(topic)?.partitionsCount ?? 0]),
      );
      assignments = [...assignRoundRobin(members, counts)].map(([memberId, assignment]) => ({
        memberId,
        assignment: encodeAssignment(assignment),
      }));
    }
    const sync = await syncGroupV5.api.async(
      connection,
      this.#groupId,
      join.generationId,
      this.#memberId,
      null,
      'consumer',
      join.protocolName,
      assignments,
    );
    await this.#adopt(
      { id: join.generationId, memberId: this.#memberId, lost: false },
      decodeAssignment(sync.assignment),
    );
  }

  async #adopt(generation: Generation, assignment: TopicAssignment[]): Promise<void> {
    this.#generation = generation;
    this.#lastHeartbeatOk = Date.now();
    this.#scheduleHeartbeat();
    const states = assignment.flatMap(({ topic, partitions }) =>
      partitions.map((partition) => new PartitionState(topic, partition, generation.id)),
    );
    await this.#loadPositions(generation, assignment, states);
    if (this.#generation !== generation || generation.lost) {
      throw new GroupMembershipLostError('the group moved on while loading committed offsets');
    }
    this.#partitions = new Map(states.map((state) => [state.key, state]));
    this.#stable = true;
    this.#lastActivityAt = Date.now();
    this.#logger.info(
      {
        generation: generation.id,
        memberId: generation.memberId,
        assignment: assignment.map(({ topic, partitions }) => `${topic}:${partitions.join(',')}`),
      },
      'joined the consumer group',
    );
    this.#onAssignment?.();
    this.#wake();
  }

  /** Where each assigned partition starts: the committed offset, else earliest or latest. */
  async #loadPositions(
    generation: Generation,
    assignment: TopicAssignment[],
    states: PartitionState[],
  ): Promise<void> {
    if (states.length === 0) return;
    const committed = await this.#retry('offset fetch', async () => {
      const connection = await this.#coordinatorConnection();
      try {
        return await offsetFetchV8.api.async(
          connection,
          [
            {
              groupId: this.#groupId,
              memberId: generation.memberId,
              memberEpoch: -1,
              topics: assignment.map(({ topic, partitions }) => ({
                name: topic,
                partitionIndexes: partitions,
              })),
            },
          ],
          true,
        );
      } catch (error) {
        this.#coordinatorFailed(error);
        throw error;
      }
    });
    const offsets = new Map<string, bigint>();
    for (const group of committed.groups) {
      for (const topic of group.topics) {
        for (const partition of topic.partitions) {
          if (partition.committedOffset >= 0n) {
            offsets.set(`${topic.name}:${partition.partitionIndex}`, partition.committedOffset);
          }
        }
      }
    }
    const missing = states.filter((state) => !offsets.has(state.key));
    for (const topic of new Set(missing.map((state) => state.topic))) {
      const partitions = missing.filter((state) => state.topic === topic).map((s) => s.partition);
      const listed = await this.#retry('list offsets', () =>
        this.#listOffsets(
          topic,
          partitions,
          this.#fromBeginning ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST,
        ),
      );
      for (const [partition, offset] of listed) offsets.set(`${topic}:${partition}`, offset);
    }
    for (const state of states) {
      state.position = offsets.get(state.key);
      state.committed = state.position;
    }
  }

  async #listOffsets(
    topic: string,
    partitions: number[],
    timestamp: bigint,
  ): Promise<Map<number, bigint>> {
    const listed = await this.#requireClient().listOffsets({
      topics: [topic],
      partitions: { [topic]: partitions },
      timestamp,
    });
    const offsets = listed.get(topic) ?? [];
    return new Map(partitions.map((partition) => [partition, offsets[partition] as bigint]));
  }

  #scheduleHeartbeat(): void {
    clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = setTimeout(
      () => void this.#heartbeat(),
      this.#options.heartbeatIntervalMs,
    );
  }

  async #heartbeat(): Promise<void> {
    const generation = this.#generation;
    if (!generation || this.#closed) return;
    try {
      const connection = await this.#coordinatorConnection();
      await heartbeatV4.api.async(
        connection,
        this.#groupId,
        generation.id,
        generation.memberId,
        null,
      );
      if (this.#generation === generation) {
        this.#lastHeartbeatOk = Date.now();
        this.#lastActivityAt = this.#lastHeartbeatOk;
      }
    } catch (error) {
      if (this.#generation === generation) {
        const ids = protocolErrorIds(error);
        if (ids.has('REBALANCE_IN_PROGRESS')) {
          // Still a member: heartbeats go on while the batches in hand finish.
          this.#lastHeartbeatOk = Date.now();
          this.#requestRejoin('the group is rebalancing', false);
        } else if ([...ids].some((id) => MEMBERSHIP_LOST_ERRORS.has(id))) {
          this.#membershipLost(generation, error);
        } else {
          this.#coordinatorFailed(error);
          this.#logger.warn({ err: error }, 'heartbeat failed; retrying');
        }
      }
    } finally {
      if (this.#generation === generation && !generation.lost) {
        if (Date.now() - this.#lastHeartbeatOk > this.#options.sessionTimeoutMs) {
          this.#membershipLost(
            generation,
            new GroupMembershipLostError('no heartbeat answered within the session timeout'),
          );
        } else {
          this.#scheduleHeartbeat();
        }
      }
    }
  }

  // ---- helpers --------------------------------------------------------------------------

  #requireClient(): Consumer {
    if (!this.#client) throw new Error('connect() the consumer first');
    return this.#client;
  }

  async #retry<T>(what: string, work: () => Promise<T>, attempts = 20): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await work();
      } catch (error) {
        if (attempt >= attempts || this.#closed) throw error;
        if (this.#isMembershipError(error) || error instanceof KafkaSecurityError) throw error;
        this.#logger.debug({ err: error, attempt }, `${what} failed; retrying`);
        await sleep(Math.min(200 * attempt, 2_000));
      }
    }
  }

  #warnFetch(error: unknown, message: string, leader?: number): void {
    // disconnect() closes the connections under the last fetch: nothing to report.
    if (this.#stopping) return;
    // A broker that is down fails every fetch: say so every few seconds, not every time.
    if (Date.now() - this.#lastFetchWarningAt < 5_000) return;
    this.#lastFetchWarningAt = Date.now();
    this.#logger.warn({ err: error, leader }, message);
  }
}
