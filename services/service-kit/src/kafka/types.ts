/**
 * Bluelight's own small view of a Kafka client. Services depend on these interfaces only, so the
 * client library can be replaced in one package. All three are on @platformatic/kafka: the
 * producer (producer.ts; KafkaJS lost acknowledged messages when leadership moved), the batch
 * consumer (consumer.ts, which runs the consumer group itself on the library's protocol APIs)
 * and the admin client (admin.ts).
 */

export interface OutgoingMessage {
  /** The entity key (incident, call or resource id): one entity's events stay on one partition. */
  key: string | null;
  value: string | Buffer;
  headers?: Record<string, string>;
  /** Milliseconds since the epoch, as a string (Kafka's record timestamp). */
  timestamp?: string;
}

export interface TopicMessages {
  topic: string;
  messages: OutgoingMessage[];
}

/** Where the broker put one produce request's messages for one partition. */
export interface ProducedRecord {
  topic: string;
  partition: number;
  /** Offset of the first message of this request on that partition. */
  baseOffset: string;
}

export interface SendOptions {
  /**
   * This send's own delivery deadline, in ms from now (it only shortens the producer's delivery
   * timeout). When it passes the send rejects, as retriable, and is neither retried nor sent
   * again: a caller that answers "not accepted" then (the gateway's 503) is not contradicted by
   * a retry landing the messages later. A request already on the wire may still be written.
   */
  timeoutMs?: number;
}

export interface EventProducer {
  connect(): Promise<void>;
  /**
   * Sends messages for one or more topics in one request per broker and resolves only when every
   * broker has acknowledged them (acks=all), so a caller may report them as accepted. Resolves
   * with, per topic-partition written, the offset of this call's first message there; rejects
   * when Kafka refuses them or does not acknowledge them within the delivery timeout (or the
   * send's own `timeoutMs`), with `retriable: true` when sending them again may succeed.
   */
  send(batches: TopicMessages[], options?: SendOptions): Promise<ProducedRecord[]>;
  disconnect(): Promise<void>;
}

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: string;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  messages: ConsumedMessage[];
  /** The partition's high watermark when fetched: lag = highWatermark - last offset - 1. */
  highWatermark: string;
  /**
   * Aborted when this consumer will not commit the batch whatever its handler does: an earlier
   * batch of the same partition failed (or kept part of its messages), or the partition was
   * revoked by a rebalance. The batch will be delivered again (here or to the partition's new
   * owner), so a handler may give up early — or finish: its work must be idempotent anyway.
   * (Always set by the kit's consumer; optional so that hand-made batches in tests need none.)
   */
  signal?: AbortSignal;
  /**
   * Kept for handlers written for a client that needed it: the consumer heartbeats on a timer of
   * its own, whatever the handlers are doing, so a handler busy for longer than the session
   * timeout keeps the group membership. This only marks the consumer as alive (lastActivityAt).
   */
  heartbeat(): Promise<void>;
}

/**
 * How the consumer fetches and how far it reads ahead. The broker accumulates a partition's
 * batch for up to maxWaitTimeMs (or until minBytes are there).
 */
export interface ConsumerOptions {
  maxWaitTimeMs?: number;
  /** Bytes per partition per fetch (default 5 MiB). */
  maxBytesPerPartition?: number;
  minBytes?: number;
  /** The group's session timeout (default 30 s): a member silent for this long is removed. */
  sessionTimeoutMs?: number;
  /** How long the group waits for its members to rejoin a rebalance (default 60 s). */
  rebalanceTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /**
   * Read-ahead: at most this many batches handed to the handler and not yet committed (or given
   * up), across the consumer's partitions (default 16). Fetching pauses at the bound.
   */
  maxBatchesInFlight?: number;
  /**
   * Read-ahead in bytes (keys and values of the batches in flight, default 64 MiB); a fetch is
   * only sent when its partitions' maxBytesPerPartition still fit (one at least, always).
   */
  maxBytesInFlight?: number;
  /**
   * At a rebalance, how long the batches in hand may take to finish and commit before the
   * consumer gives their partitions up and rejoins (default half the rebalance timeout).
   */
  revokeTimeoutMs?: number;
  /** Called after every (re)join of the group: the partitions this consumer owns may have moved. */
  onAssignment?: () => void;
}

/**
 * Handles one batch from one partition. The consumer hands over a partition's batches in offset
 * order as they are fetched, **without waiting for the previous batch's handler to resolve**:
 * batch N+1 may arrive while batch N is still being handled (up to maxBatchesInFlight).
 *
 * - Committing: a batch's offsets are committed only after its handler resolved AND every
 *   earlier batch of its partition was committed (commits go in order, never with a gap). The
 *   committed offset is the next one to read — after the batch's last message, or the
 *   `commitOffset` the handler returns (only the messages before it count as done; the rest and
 *   every later batch are read again).
 * - Failing: when a handler rejects, nothing of that batch or of any later batch of the same
 *   partition is committed (their `signal` aborts); once the partition's handlers in flight have
 *   settled, the consumer reads again from the first uncommitted offset (at-least-once).
 * - So a handler must be prepared for: a batch delivered again (after a failure, a rebalance or
 *   a crash), later batches of its partition already handed over while an earlier one failed
 *   (they are redelivered too), and, after a rebalance, the partition's new owner handling the
 *   same messages while a revoked batch still runs here (that one is never committed).
 * - Rebalances: the consumer lets the batches in hand finish and commit (up to revokeTimeoutMs)
 *   before it rejoins; a batch of a partition this consumer no longer owns is never committed by
 *   it (commits carry the generation they were fetched in, and the broker refuses a stale one).
 */
// biome-ignore lint/suspicious/noConfusingVoidType: handlers that return nothing must fit too.
export type BatchHandler = (batch: ConsumedBatch) => Promise<void | { commitOffset: string }>;

export interface TopicPartitions {
  topic: string;
  partitions?: number[];
}

export interface BatchConsumer {
  connect(): Promise<void>;
  /** fromBeginning (default true): where a partition without a committed offset starts. */
  subscribe(topics: string[], options?: { fromBeginning?: boolean }): Promise<void>;
  /**
   * Joins the group and starts fetching; resolves once this member has its partitions and
   * knows where to start (the handler is then called as batches arrive, see BatchHandler).
   */
  run(handler: BatchHandler): Promise<void>;
  /**
   * Backpressure: stop fetching from these partitions (a topic without partitions: all of it)
   * until resumed. Batches already fetched are still handed over.
   */
  pause(partitions: TopicPartitions[]): void;
  resume(partitions: TopicPartitions[]): void;
  /** When the consumer last showed life (a fetch, a heartbeat, a batch, a commit), ms since epoch. */
  lastActivityAt(): number;
  /**
   * Fetches nothing more, lets the batches in hand finish and commit, then leaves the group
   * (its partitions move to the other members at once). Not to be awaited inside a handler.
   */
  disconnect(): Promise<void>;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  config?: Record<string, string>;
}

export interface PartitionOffsets {
  partition: number;
  offset: string;
}

export interface PartitionReplicas {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface KafkaAdmin {
  connect(): Promise<void>;
  /** Creates the topics that do not exist yet; existing ones are left as they are. */
  ensureTopics(topics: TopicSpec[]): Promise<void>;
  deleteTopics(topics: string[]): Promise<void>;
  /** The group's committed offsets for a topic ('-1' where nothing is committed). */
  committedOffsets(groupId: string, topic: string): Promise<PartitionOffsets[]>;
  /** Sets a consumer group's committed offsets (the group must have no active members). */
  setCommittedOffsets(groupId: string, topic: string, offsets: PartitionOffsets[]): Promise<void>;
  deleteGroups(groupIds: string[]): Promise<void>;
  /** Each partition's end offset (the offset the next message will get). */
  endOffsets(topic: string): Promise<PartitionOffsets[]>;
  /** Each partition's leader, replicas and in-sync replicas (broker ids). */
  describeTopic(topic: string): Promise<PartitionReplicas[]>;
  /** The number of brokers in the cluster as the controller sees it. */
  brokerCount(): Promise<number>;
  disconnect(): Promise<void>;
}
