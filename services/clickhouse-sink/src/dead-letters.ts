import type { ConsumedMessage, EventProducer } from '@bluelight/service-kit';
import { DeadLetterLimitExceeded } from './errors.js';

type DeadLetterClass = 'undecodable' | 'contract' | 'wrong_topic';

/** A message the sink cannot accept, and why. */
export interface Rejection {
  message: ConsumedMessage;
  errorClass: DeadLetterClass;
  reason: string;
  eventId: string;
  eventType: string;
  /** The agency and entity id the message claims, where it can be read ('' otherwise). */
  agency: string;
  entity: string;
}

/** Header names on dead-lettered messages (documented in docs/clickhouse-sink.md). */
export const DLQ_HEADERS = {
  originalTopic: 'bluelight.dlq.original_topic',
  originalPartition: 'bluelight.dlq.original_partition',
  originalOffset: 'bluelight.dlq.original_offset',
  errorClass: 'bluelight.dlq.error_class',
  reason: 'bluelight.dlq.reason',
  service: 'bluelight.dlq.service',
  failedAt: 'bluelight.dlq.failed_at',
} as const;

/**
 * Sends rejected messages to the dead-letter topic with their original key, bytes and headers
 * plus where they came from and why. Resolves only when Kafka acknowledged them: a failed send
 * fails the batch, so nothing is dropped silently.
 */
export async function sendToDeadLetterTopic(
  producer: EventProducer,
  deadLetterTopic: string,
  rejections: Rejection[],
  service: string,
  failedAt: Date,
): Promise<void> {
  if (rejections.length === 0) return;
  await producer.send([
    {
      topic: deadLetterTopic,
      messages: rejections.map(({ message, errorClass, reason }) => ({
        key: message.key ? message.key.toString('utf8') : null,
        value: message.value ?? Buffer.alloc(0),
        headers: {
          ...message.headers,
          [DLQ_HEADERS.originalTopic]: message.topic,
          [DLQ_HEADERS.originalPartition]: String(message.partition),
          [DLQ_HEADERS.originalOffset]: message.offset,
          [DLQ_HEADERS.errorClass]: errorClass,
          [DLQ_HEADERS.reason]: reason,
          [DLQ_HEADERS.service]: service,
          [DLQ_HEADERS.failedAt]: failedAt.toISOString(),
        },
      })),
    },
  ]);
}

export interface DeadLetterLimits {
  /** Stop after this many invalid messages in a row. */
  maxConsecutive: number;
  /** Stop when more than this share of the last `window` messages was invalid. */
  maxRatio: number;
  window: number;
}

/**
 * Watches the share of invalid messages. A bad deploy upstream makes every message invalid; the
 * guard stops the sink before it dead-letters the whole topic (Arroyo's DlqLimit).
 */
export class DeadLetterGuard {
  #consecutive = 0;
  /** Recent outcomes, true for invalid; a ring of `window` entries. */
  readonly #recent: boolean[] = [];
  #invalidInWindow = 0;

  constructor(readonly limits: DeadLetterLimits) {}

  /** Records one batch's outcomes in order; throws DeadLetterLimitExceeded when a limit trips. */
  check(outcomes: boolean[], where: string): void {
    let consecutive = this.#consecutive;
    const recent = [...this.#recent];
    let invalid = this.#invalidInWindow;
    for (const isInvalid of outcomes) {
      consecutive = isInvalid ? consecutive + 1 : 0;
      recent.push(isInvalid);
      if (isInvalid) invalid += 1;
      if (recent.length > this.limits.window && recent.shift()) invalid -= 1;
      if (consecutive > this.limits.maxConsecutive) {
        throw new DeadLetterLimitExceeded(
          `${where}: ${consecutive} invalid messages in a row (limit ${this.limits.maxConsecutive}); stopping instead of dead-lettering them`,
        );
      }
      if (recent.length >= this.limits.window && invalid / recent.length > this.limits.maxRatio) {
        throw new DeadLetterLimitExceeded(
          `${where}: ${invalid} of the last ${recent.length} messages were invalid (limit ${Math.round(this.limits.maxRatio * 100)}%); stopping instead of dead-lettering them`,
        );
      }
    }
    // Only a batch that passes is remembered, so a retried batch is judged the same way again.
    this.#consecutive = consecutive;
    this.#recent.splice(0, this.#recent.length, ...recent);
    this.#invalidInWindow = invalid;
  }
}
