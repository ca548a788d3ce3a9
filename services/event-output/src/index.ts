import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { type BluelightEvent, partitionKey, topicFor, topics } from '@bluelight/schemas';
import {
  createKafkaClients,
  type EventProducer,
  envField,
  type KafkaSecurity,
  kafkaConnectionFrom,
  kafkaEnv,
  type Logger,
  loadConfig,
  type TopicMessages,
} from '@bluelight/service-kit';
import { z } from 'zod';

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
  | { kind: 'kafka'; brokers: string[]; security?: KafkaSecurity; topicPrefix: string }
  | { kind: 'gateway'; url: string; apiKey: string }
  | { kind: 'file'; path: string };

/** `--out` names no destination that exists. */
export class OutputChoiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputChoiceError';
  }
}

const kafkaEnvironment = z.object({
  ...kafkaEnv,
  KAFKA_TOPIC_PREFIX: z.string().default(''),
});

const gatewayEnvironment = z.object({
  GATEWAY_URL: envField.httpUrl('http://127.0.0.1:8088'),
  GATEWAY_API_KEY: envField.requiredSecret(
    'set it (or GATEWAY_API_KEY_FILE) to a producer key (npx bluelight gateway-key)',
  ),
});

/**
 * The one place an `--out` value becomes a destination: `kafka` (KAFKA_BROKERS,
 * KAFKA_TOPIC_PREFIX), `gateway` (GATEWAY_URL, GATEWAY_API_KEY) or an NDJSON file.
 * Throws the kit's ConfigError when the variables are invalid.
 */
export function outputTargetFor(out: string, env: NodeJS.ProcessEnv = process.env): OutputTarget {
  if (out === 'kafka') {
    const config = loadConfig(kafkaEnvironment, env);
    return {
      kind: 'kafka',
      ...kafkaConnectionFrom(config),
      topicPrefix: config.KAFKA_TOPIC_PREFIX,
    };
  }
  if (out === 'gateway') {
    const config = loadConfig(gatewayEnvironment, env);
    return { kind: 'gateway', url: config.GATEWAY_URL, apiKey: config.GATEWAY_API_KEY };
  }
  if (/\.(ndjson|jsonl)$/i.test(out)) return { kind: 'file', path: out };
  throw new OutputChoiceError(
    `--out must be kafka, gateway or a file ending in .ndjson (got "${out}")`,
  );
}

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

/** Events per gateway request (its limit is 5,000 events and 5 MB). */
const GATEWAY_CHUNK = 1_000;
const GATEWAY_ATTEMPTS = 10;

/**
 * Posts events to the ingest gateway. Resolves only when the gateway reported every event
 * accepted (or a duplicate of one accepted before); a refused event is an error naming it and
 * why. 429 and 503 are waited out as the gateway's Retry-After asks.
 */
class GatewayOutput implements EventOutput {
  readonly description: string;
  readonly #url: string;
  readonly #apiKey: string;

  constructor(url: string, apiKey: string) {
    this.#url = new URL('/v1/events', url).toString();
    this.#apiKey = apiKey;
    this.description = `the ingest gateway at ${url}`;
  }

  async write(events: BluelightEvent[]): Promise<void> {
    for (let index = 0; index < events.length; index += GATEWAY_CHUNK) {
      await this.#post(events.slice(index, index + GATEWAY_CHUNK));
    }
  }

  async #post(events: BluelightEvent[]): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      const response = await fetch(this.#url, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.#apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(events),
      });
      if (response.status === 200) {
        const result = (await response.json()) as {
          rejected: { index: number; errors: { path: string; message: string }[] }[];
        };
        if (result.rejected.length > 0) {
          const first = result.rejected[0];
          throw new Error(
            `the gateway refused ${result.rejected.length} of ${events.length} events; event ${first?.index}: ${first?.errors.map((error) => `${error.path}: ${error.message}`).join('; ')}`,
          );
        }
        return;
      }
      const text = await response.text();
      if ((response.status === 429 || response.status === 503) && attempt < GATEWAY_ATTEMPTS) {
        const wait = Math.min(Number(response.headers.get('retry-after') ?? 1) || 1, 30);
        await new Promise((resolve) => setTimeout(resolve, wait * 1000));
        continue;
      }
      throw new Error(`the gateway answered ${response.status}: ${text.slice(0, 500)}`);
    }
  }

  async close(): Promise<void> {}
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
  if (target.kind === 'gateway') return new GatewayOutput(target.url, target.apiKey);
  const clients = createKafkaClients({
    brokers: target.brokers,
    security: target.security,
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
