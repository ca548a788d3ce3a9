import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { type BluelightEvent, partitionKey, topicFor, topics } from '@bluelight/schemas';
import {
  createKafkaClients,
  type EventProducer,
  type Logger,
  type TopicMessages,
} from '@bluelight/service-kit';

/**
 * A destination for generated or imported events. `write` keeps the order it is given and
 * resolves once the events are durable there (acknowledged by Kafka, accepted by the gateway,
 * written to the file).
 */
export interface EventOutput {
  readonly description: string;
  write(events: BluelightEvent[]): Promise<void>;
  close(): Promise<void>;
}

export type OutputTarget =
  | { kind: 'kafka'; brokers: string[]; topicPrefix: string }
  | { kind: 'file'; path: string };

/** Events per Kafka produce request: large enough to be efficient, small enough for one request. */
const KAFKA_CHUNK = 2_000;
/** Produce requests in flight at once (ordering per key is kept by the idempotent producer). */
const KAFKA_IN_FLIGHT = 4;

/** Groups events by topic, keyed by their entity id, keeping order within each topic. */
export function toTopicMessages(events: BluelightEvent[], topicPrefix = ''): TopicMessages[] {
  const byTopic = new Map<string, TopicMessages>();
  for (const event of events) {
    const topic = `${topicPrefix}${topicFor(event.event_type).name}`;
    let entry = byTopic.get(topic);
    if (!entry) {
      entry = { topic, messages: [] };
      byTopic.set(topic, entry);
    }
    entry.messages.push({ key: partitionKey(event), value: JSON.stringify(event) });
  }
  return [...byTopic.values()];
}

class KafkaOutput implements EventOutput {
  readonly description: string;
  readonly #producer: EventProducer;
  readonly #topicPrefix: string;

  constructor(producer: EventProducer, brokers: string[], topicPrefix: string) {
    this.#producer = producer;
    this.#topicPrefix = topicPrefix;
    this.description = `Kafka ${brokers.join(',')}${topicPrefix ? ` (topic prefix ${topicPrefix})` : ''}`;
  }

  async write(events: BluelightEvent[]): Promise<void> {
    const chunks: BluelightEvent[][] = [];
    for (let index = 0; index < events.length; index += KAFKA_CHUNK) {
      chunks.push(events.slice(index, index + KAFKA_CHUNK));
    }
    // A few requests in flight; the idempotent producer keeps each partition in order.
    for (let index = 0; index < chunks.length; index += KAFKA_IN_FLIGHT) {
      await Promise.all(
        chunks
          .slice(index, index + KAFKA_IN_FLIGHT)
          .map((chunk) => this.#producer.send(toTopicMessages(chunk, this.#topicPrefix))),
      );
    }
  }

  close(): Promise<void> {
    return this.#producer.disconnect();
  }
}

class FileOutput implements EventOutput {
  readonly description: string;
  readonly #stream: WriteStream;

  constructor(path: string) {
    this.description = path;
    this.#stream = createWriteStream(path, { encoding: 'utf8' });
  }

  async write(events: BluelightEvent[]): Promise<void> {
    const text = events.map((event) => `${JSON.stringify(event)}\n`).join('');
    if (!this.#stream.write(text)) await once(this.#stream, 'drain');
  }

  async close(): Promise<void> {
    this.#stream.end();
    await once(this.#stream, 'finish');
  }
}

export async function openEventOutput(target: OutputTarget, logger: Logger): Promise<EventOutput> {
  if (target.kind === 'file') return new FileOutput(target.path);
  const clients = createKafkaClients({
    brokers: target.brokers,
    clientId: 'bluelight-events',
    logger,
  });
  // The broker does not create topics by itself (a typo must fail): make the registry's topics.
  const admin = clients.admin();
  await admin.connect();
  await admin.ensureTopics(
    topics.map((topic) => ({
      topic: `${target.topicPrefix}${topic.name}`,
      partitions: topic.partitions,
      replicationFactor: -1,
      config: { 'retention.ms': String(topic.retentionMs) },
    })),
  );
  await admin.disconnect();
  const producer = clients.producer();
  await producer.connect();
  return new KafkaOutput(producer, target.brokers, target.topicPrefix);
}
