import { validateEvent } from '@bluelight/schemas';
import type { ConsumedMessage, KafkaClients, OutgoingMessage } from '@bluelight/service-kit';
import { DLQ_HEADERS } from './dead-letters.js';
import type { Family } from './families.js';
import { decodeMessageValue } from './processor.js';

/**
 * - reinsert: send every dead letter back to its topic (the sink checks it again; one that still
 *   fails returns to the dead-letter topic);
 * - drop: send back those that now pass the contract, skip those that still fail;
 * - stop: send back those that now pass, and stop at the first that still fails, leaving it and
 *   everything after it in the dead-letter topic.
 */
export type ReplayPolicy = 'stop' | 'reinsert' | 'drop';

export interface ReplayOptions {
  kafka: KafkaClients;
  family: Family;
  policy: ReplayPolicy;
  /** The consumer group that remembers how far replay got (default: bluelight-dlq-replay-<family>). */
  groupId?: string;
  /** EARLIEST_EVENT_TIME, as the sink judges event times (the contract's default when absent). */
  earliestEventTime?: Date;
  /** Report what would happen (re-sent counts those that would be); send and commit nothing. */
  dryRun?: boolean;
  log?: (line: string) => void;
  timeoutMs?: number;
}

export interface ReplayResult {
  examined: number;
  reinserted: number;
  dropped: number;
  /** Set when the stop policy stopped: the dead letter that still fails, and why. */
  stoppedAt?: { partition: number; offset: string; reason: string };
}

const DLQ_HEADER_NAMES = new Set<string>(Object.values(DLQ_HEADERS));

function stillFails(
  message: ConsumedMessage,
  family: Family,
  earliestEventTime: Date | undefined,
): string | undefined {
  // As the sink reads it: bytes that are not UTF-8 still fail, never repaired into U+FFFD.
  const decoded = decodeMessageValue(message.value);
  if (!decoded.ok) return decoded.reason;
  const result = validateEvent(
    decoded.parsed,
    earliestEventTime === undefined ? {} : { earliestEventTime },
  );
  if (!result.ok) return result.errors.map((error) => `${error.path}: ${error.message}`).join('; ');
  if (!family.topic.eventTypes.includes(result.event.event_type)) {
    return `${result.event.event_type} does not belong on ${family.topic.name}`;
  }
  return undefined;
}

function toOriginal(message: ConsumedMessage): OutgoingMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (!DLQ_HEADER_NAMES.has(name)) headers[name] = value;
  }
  headers['bluelight.dlq.replayed_from'] =
    `${message.topic}/${message.partition}/${message.offset}`;
  return {
    key: message.key ? message.key.toString('utf8') : null,
    value: message.value ?? Buffer.alloc(0),
    headers,
  };
}

/**
 * Replays a family's dead-letter topic up to its current end, by policy. Progress is kept as the
 * replay group's committed offsets, committed only after Kafka acknowledged the re-sent messages.
 */
export async function replayDeadLetters(options: ReplayOptions): Promise<ReplayResult> {
  const { kafka, family, policy } = options;
  const log = options.log ?? (() => {});
  const dlqTopic = family.topic.deadLetter.name;
  const groupId = options.groupId ?? `bluelight-dlq-replay-${family.name}`;
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map(
    (await admin.endOffsets(dlqTopic)).map((p) => [p.partition, BigInt(p.offset)]),
  );
  const committed = await admin.committedOffsets(groupId, dlqTopic);
  await admin.disconnect();
  const position = new Map<number, bigint>();
  for (const [partition] of ends) {
    const offset = committed.find((c) => c.partition === partition)?.offset ?? '-1';
    position.set(partition, BigInt(offset) < 0n ? 0n : BigInt(offset));
  }
  const result: ReplayResult = { examined: 0, reinserted: 0, dropped: 0 };
  const remaining = () =>
    [...ends].filter(([partition, end]) => (position.get(partition) ?? 0n) < end).length;
  if (remaining() === 0) {
    log(`${dlqTopic}: nothing to replay`);
    return result;
  }

  // A dry run reads through a throwaway group that starts where the real one stands.
  const readerGroup = options.dryRun ? `${groupId}-dry-run-${Date.now()}` : groupId;
  if (options.dryRun) {
    const setup = kafka.admin();
    await setup.connect();
    await setup.setCommittedOffsets(
      readerGroup,
      dlqTopic,
      [...position].map(([partition, offset]) => ({ partition, offset: offset.toString() })),
    );
    await setup.disconnect();
  }
  const producer = kafka.producer();
  const consumer = kafka.consumer(readerGroup);
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe([dlqTopic], { fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `replay of ${dlqTopic} did not finish within ${options.timeoutMs ?? 120_000} ms`,
            ),
          ),
        options.timeoutMs ?? 120_000,
      );
      const finish = () => {
        clearTimeout(timer);
        resolve();
      };
      void consumer
        .run(async (batch) => {
          const end = ends.get(batch.partition) ?? 0n;
          const start = batch.messages[0]?.offset ?? '0';
          if (result.stoppedAt) return { commitOffset: start };
          const resend: OutgoingMessage[] = [];
          const byTopic = new Map<string, OutgoingMessage[]>();
          let next = BigInt(start);
          for (const message of batch.messages) {
            if (BigInt(message.offset) >= end) break;
            result.examined += 1;
            const reason = stillFails(message, family, options.earliestEventTime);
            if (reason && policy === 'stop') {
              result.stoppedAt = { partition: message.partition, offset: message.offset, reason };
              // The whole replay stops here; the rest stays in the dead-letter topic.
              for (const [partition, partitionEnd] of ends) position.set(partition, partitionEnd);
              break;
            }
            next = BigInt(message.offset) + 1n;
            if (reason && policy === 'drop') {
              result.dropped += 1;
              log(`dropped ${message.partition}/${message.offset}: ${reason}`);
              continue;
            }
            if (options.dryRun) {
              log(
                `${message.partition}/${message.offset}: ${reason ? `still fails (${reason})` : 'passes now'}`,
              );
              if (!reason || policy === 'reinsert') result.reinserted += 1;
              continue;
            }
            const topic = message.headers[DLQ_HEADERS.originalTopic] ?? family.topic.name;
            const outgoing = toOriginal(message);
            resend.push(outgoing);
            byTopic.set(topic, [...(byTopic.get(topic) ?? []), outgoing]);
          }
          if (resend.length > 0) {
            await producer.send([...byTopic].map(([topic, messages]) => ({ topic, messages })));
            result.reinserted += resend.length;
          }
          if (!result.stoppedAt) position.set(batch.partition, next >= end ? end : next);
          if (remaining() === 0) finish();
          return { commitOffset: next.toString() };
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    if (options.dryRun) {
      const cleanup = kafka.admin();
      await cleanup.connect();
      await cleanup.deleteGroups([readerGroup]).catch(() => {});
      await cleanup.disconnect();
    }
  }
  log(
    `${dlqTopic}: examined ${result.examined}, re-sent ${result.reinserted}, dropped ${result.dropped}${
      result.stoppedAt
        ? `; stopped at ${result.stoppedAt.partition}/${result.stoppedAt.offset}: ${result.stoppedAt.reason}`
        : ''
    }`,
  );
  return result;
}
