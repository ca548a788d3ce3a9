/**
 * Bluelight's own small view of a Kafka client. Services depend on these interfaces only, so the
 * client library can be replaced in one package: the producer is @platformatic/kafka
 * (producer.ts; KafkaJS lost acknowledged messages when leadership moved), the consumer and admin
 * KafkaJS (kafkajs.ts, no longer maintained).
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
  /** Keeps group membership alive during long work on one batch (e.g. a slow insert). */
  heartbeat(): Promise<void>;
}

/** How much a consumer fetches at once: the broker accumulates a batch for up to maxWaitTimeMs. */
export interface ConsumerOptions {
  maxWaitTimeMs?: number;
  maxBytesPerPartition?: number;
  minBytes?: number;
  sessionTimeoutMs?: number;
  /** How many partitions' batches the handler may be given at once (default 1). */
  partitionsConsumedConcurrently?: number;
  /** Called after every (re)join of the group: the partitions this consumer owns may have moved. */
  onAssignment?: () => void;
}

/**
 * Handles one batch from one partition. When it resolves, the batch's offsets are committed —
 * all of them, or only those before `commitOffset` when it returns one (the next offset to read);
 * when it rejects, nothing is committed and the batch is delivered again (at-least-once).
 */
// biome-ignore lint/suspicious/noConfusingVoidType: handlers that return nothing must fit too.
export type BatchHandler = (batch: ConsumedBatch) => Promise<void | { commitOffset: string }>;

export interface TopicPartitions {
  topic: string;
  partitions?: number[];
}

export interface BatchConsumer {
  connect(): Promise<void>;
  subscribe(topics: string[], options?: { fromBeginning?: boolean }): Promise<void>;
  run(handler: BatchHandler): Promise<void>;
  /** Backpressure: stop fetching from these partitions until resumed. */
  pause(partitions: TopicPartitions[]): void;
  resume(partitions: TopicPartitions[]): void;
  /** When the consumer loop last showed life (a fetch, a heartbeat, a batch), in ms since epoch. */
  lastActivityAt(): number;
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
