import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BatchConsumer,
  type ClickHouseClient,
  type ConsumedBatch,
  type ConsumerOptions,
  type EventProducer,
  isGroupMembershipLost,
  type KafkaClients,
  type Logger,
} from '@bluelight/service-kit';
import { DeadLetterGuard, type DeadLetterLimits } from './dead-letters.js';
import { EntityDirectory } from './entities.js';
import { isRetriable } from './errors.js';
import type { Family } from './families.js';
import type { SinkMetrics } from './metrics.js';
import {
  type BatchContext,
  type InsertLimits,
  type PreparedUnit,
  prepareBatches,
  writePrepared,
} from './processor.js';
import { FactRevisions } from './revisions.js';

const HEARTBEAT_EVERY_MS = 3_000;

export interface SinkOptions {
  families: Family[];
  /** Consumer group per family: `${groupPrefix}-${family}`. */
  groupPrefix: string;
  kafka: KafkaClients;
  clickhouse: ClickHouseClient;
  logger: Logger;
  metrics: SinkMetrics;
  limits: DeadLetterLimits;
  consumer: ConsumerOptions;
  insertLimits: InsertLimits;
  /** EARLIEST_EVENT_TIME: earlier event times are dead-lettered as contract errors. */
  earliestEventTime?: Date;
  retry: { initialMs: number; maxMs: number };
  service: string;
  /** Called once when a batch fails in a way retrying cannot fix; the process should stop. */
  onFatal: (error: Error) => void;
}

/**
 * The Kafka → ClickHouse sink: one consumer group per event family. Offsets are committed only
 * after a batch's raw rows (whose views keep the derived facts), dead letters and recomputed
 * facts of revised entities are all in ClickHouse (and dead letters acknowledged by Kafka). Infrastructure errors pause the partition and retry with jittered
 * backoff; anything else stops the sink with the batch uncommitted.
 */
export class ClickHouseSink {
  readonly #options: SinkOptions;
  readonly #consumers: { family: Family; consumer: BatchConsumer }[] = [];
  readonly #entities = new Map<string, EntityDirectory>();
  readonly #revisions = new Map<string, FactRevisions>();
  #producer: EventProducer | undefined;
  #stopping = false;
  #fatal: Error | undefined;

  constructor(options: SinkOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    const { kafka, families, groupPrefix, logger } = this.#options;
    this.#producer = kafka.producer();
    await this.#producer.connect();
    for (const family of families) {
      this.#revisions.set(
        family.name,
        await FactRevisions.prepare(this.#options.clickhouse, family.revisions),
      );
      const entities = new EntityDirectory(family.name);
      this.#entities.set(family.name, entities);
      // Exported as 0 from the start: a series that first appears at the first outage gives
      // rate() and absence alerts nothing to compare with.
      this.#options.metrics.pausedSeconds.inc({ family: family.name }, 0);
      const consumer = kafka.consumer(`${groupPrefix}-${family.name}`, {
        ...this.#options.consumer,
        // Partitions moved: another sink may have changed the entities this one remembers.
        onAssignment: () => entities.forget(),
      });
      await consumer.connect();
      await consumer.subscribe([family.topic.name], { fromBeginning: true });
      this.#consumers.push({ family, consumer });
      const guard = new DeadLetterGuard(this.#options.limits);
      const coalescer = new BatchCoalescer<PreparedUnit>({
        prepare: (batches) => this.#handle(family, consumer, guard, batches, prepareBatches),
        write: (unit) =>
          this.#handle(family, consumer, guard, unit.batches, (_, ctx) => writePrepared(unit, ctx)),
      });
      // Resolves once the consumer has joined its group and started fetching.
      await consumer.run((batch) => coalescer.submit(batch));
      logger.info({ family: family.name, topic: family.topic.name }, 'consuming');
    }
  }

  /** The oldest "last sign of life" across the consumers (ms since epoch). */
  lastActivityAt(): number {
    return Math.min(
      ...this.#consumers.map(({ consumer }) => consumer.lastActivityAt()),
      Date.now(),
    );
  }

  get fatalError(): Error | undefined {
    return this.#fatal;
  }

  /** Stops taking batches, lets the ones in hand finish and commit, then disconnects. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await Promise.all(this.#consumers.map(({ consumer }) => consumer.disconnect()));
    await this.#producer?.disconnect();
  }

  /** Runs one half of a unit's handling (prepare or write) with retries, heartbeats and stops. */
  async #handle<T>(
    family: Family,
    consumer: BatchConsumer,
    guard: DeadLetterGuard,
    batches: ConsumedBatch[],
    step: (batches: ConsumedBatch[], ctx: BatchContext) => Promise<T>,
  ): Promise<T> {
    const topic = (batches[0] as ConsumedBatch).topic;
    const heartbeat = () => Promise.all(batches.map((batch) => batch.heartbeat()));
    const { metrics, logger } = this.#options;
    if (this.#fatal) throw this.#fatal;
    const retry = async <T>(step: string, work: () => Promise<T>): Promise<T> => {
      let pausedAt: number | undefined;
      for (let attempt = 1; ; attempt += 1) {
        try {
          const result = await work();
          if (pausedAt !== undefined) {
            consumer.resume([{ topic }]);
            metrics.pausedSeconds.inc({ family: family.name }, (Date.now() - pausedAt) / 1000);
            logger.info({ family: family.name, step, attempt }, 'recovered; resuming');
          }
          return result;
        } catch (error) {
          if (this.#stopping || !isRetriable(error)) throw error;
          if (pausedAt === undefined) {
            // Backpressure: stop fetching more while this batch cannot be written. All of the
            // topic's partitions: they share the ClickHouse that failed, and the family's next
            // unit waits for this one anyway, so their fetches would only pile up in memory.
            consumer.pause([{ topic }]);
            pausedAt = Date.now();
          }
          const { initialMs, maxMs } = this.#options.retry;
          const ceiling = Math.min(maxMs, initialMs * 2 ** (attempt - 1));
          const delay = ceiling / 2 + Math.random() * (ceiling / 2);
          metrics.retries.inc({ family: family.name, step });
          logger.warn(
            { family: family.name, step, attempt, delayMs: Math.round(delay), err: error },
            'retriable error; paused, will retry',
          );
          await sleep(delay);
          await heartbeat();
        }
      }
    };
    // Marks the consumer alive during a long insert (it heartbeats the group on its own).
    const heartbeats = setInterval(() => {
      heartbeat().catch(() => {});
    }, HEARTBEAT_EVERY_MS);
    try {
      const result = await step(batches, {
        family,
        clickhouse: this.#options.clickhouse,
        producer: this.#producer as EventProducer,
        guard,
        metrics,
        service: this.#options.service,
        entities: this.#entities.get(family.name) as EntityDirectory,
        revisions: this.#revisions.get(family.name) as FactRevisions,
        limits: this.#options.insertLimits,
        ...(this.#options.earliestEventTime
          ? { earliestEventTime: this.#options.earliestEventTime }
          : {}),
        retry,
      });
      metrics.lastBatch.set({ family: family.name }, Date.now() / 1000);
      return result;
    } catch (error) {
      if (isGroupMembershipLost(error)) {
        // The group moved this unit's partitions (e.g. a rebalance while it was being written):
        // what was written stays (idempotent), nothing is committed, the new owner reads it again.
        logger.warn(
          { family: family.name, partitions: batches.map((batch) => batch.partition), err: error },
          'lost the partitions while writing; leaving the batch to their new owner',
        );
        throw error;
      }
      if (!this.#stopping && !this.#fatal) {
        this.#fatal = error instanceof Error ? error : new Error(String(error));
        logger.error(
          { family: family.name, partitions: batches.map((batch) => batch.partition), err: error },
          'batch failed and cannot be retried; stopping with it uncommitted',
        );
        this.#options.onFatal(this.#fatal);
      }
      throw error;
    } finally {
      clearInterval(heartbeats);
    }
  }
}

/**
 * Gathers the batches the consumer hands over at the same time (one per partition) into units
 * of work, and handles each unit in two halves: `prepare` (decode, validate, place: this
 * process's CPU) and `write` (ClickHouse and the dead-letter topic). Units are prepared one at a
 * time and written one at a time, in arrival order, but the next unit is prepared while the one
 * before is being written, so the sink's own work overlaps ClickHouse's. Each batch's promise
 * settles with its unit's write, so a batch is committed only after its unit is durable, and
 * not at all if either half fails. Batches the consumer has given up by the time their unit is
 * taken (`signal` aborted: an earlier batch of their partition failed, or the partition was
 * revoked) are not written: they are delivered again, after the failed ones.
 */
export class BatchCoalescer<Prepared> {
  readonly #prepare: (batches: ConsumedBatch[]) => Promise<Prepared>;
  readonly #write: (unit: Prepared) => Promise<void>;
  readonly #gatherMs: number;
  #waiting: { batch: ConsumedBatch; settle: (error?: unknown) => void }[] = [];
  #busy = false;
  /** The last unit's write; the next unit's write waits for it to settle. */
  #lastWrite: Promise<void> = Promise.resolve();

  constructor(
    handlers: {
      prepare: (batches: ConsumedBatch[]) => Promise<Prepared>;
      write: (unit: Prepared) => Promise<void>;
    },
    gatherMs = 5,
  ) {
    this.#prepare = handlers.prepare;
    this.#write = handlers.write;
    this.#gatherMs = gatherMs;
  }

  submit(batch: ConsumedBatch): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({
        batch,
        settle: (error) => (error === undefined ? resolve() : reject(error)),
      });
      if (!this.#busy) {
        this.#busy = true;
        // A moment for the other partitions of the same fetch to arrive.
        setTimeout(() => void this.#drain(), this.#gatherMs);
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#waiting.length > 0) {
      const taken = this.#waiting.splice(0, this.#waiting.length);
      const unit = taken.filter((entry) => !entry.batch.signal?.aborted);
      for (const entry of taken) {
        if (entry.batch.signal?.aborted)
          entry.settle(entry.batch.signal.reason ?? new Error('batch given up'));
      }
      if (unit.length === 0) continue;
      const previous = this.#lastWrite;
      let written: Promise<void>;
      try {
        const prepared = await this.#prepare(unit.map((entry) => entry.batch));
        // Writes stay in order: a unit's rows may revise entities the unit before wrote.
        written = previous.then(() => this.#write(prepared));
      } catch (error) {
        written = Promise.reject(error ?? new Error('batch failed'));
      }
      written.then(
        () => {
          for (const entry of unit) entry.settle();
        },
        (error) => {
          for (const entry of unit) entry.settle(error ?? new Error('batch failed'));
        },
      );
      // The next write waits for this one to settle, whatever its outcome: a failed write stops
      // the sink or leaves its batches uncommitted, and the consumer commits no later offset of
      // a partition past a batch that failed.
      this.#lastWrite = written.catch(() => {});
      // One unit being written while the next is prepared, no more: wait for the previous write
      // before preparing another.
      await previous;
    }
    this.#busy = false;
  }
}
