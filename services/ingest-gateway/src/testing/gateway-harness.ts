import { topics } from '@bluelight/schemas';
import { type ConsumedMessage, loadConfig } from '@bluelight/service-kit';
import {
  consumeMessages,
  kafkaFor,
  type TestEndpoints,
  testEndpoints,
  testLogger,
  uniqueName,
} from '@bluelight/test/harness';
import { murmur2 } from '@platformatic/kafka';
import { gatewayConfigSchema } from '../config.js';
import { KEY_ID_HEADER } from '../ingest.js';
import { startGatewayService } from '../service.js';
import { TEST_KEYS, testSenderKeys } from './events.js';

/**
 * A gateway of the test's own — its own topic prefix, the test senders' keys — run in-process
 * (no port: requests go through `app.inject()`) against the shared Kafka or the one given.
 */
export async function startTestGateway(
  options: { endpoints?: TestEndpoints; env?: Record<string, string> } = {},
) {
  const endpoints = options.endpoints ?? testEndpoints();
  const prefix = `${uniqueName('gw')}.`;
  const config = loadConfig(gatewayConfigSchema, {
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    GATEWAY_API_KEYS: JSON.stringify(testSenderKeys()),
    ...options.env,
  });
  const service = await startGatewayService(config, testLogger('ingest-gateway'), {
    listen: false,
  });
  const kafka = kafkaFor(endpoints.kafkaBrokers);
  const admin = kafka.admin();
  await admin.connect();
  const topicNames = topics.map((topic) => `${prefix}${topic.name}`);

  const app = () => service.app;

  /** POSTs events (a JSON array, or NDJSON lines) with a test key; `body` overrides the encoding. */
  function post(
    events: unknown[],
    options: { key?: string; format?: 'json' | 'ndjson'; body?: string } = {},
  ) {
    const ndjson = options.format === 'ndjson';
    return app().inject({
      method: 'POST',
      url: '/v1/events',
      headers: {
        'content-type': ndjson ? 'application/x-ndjson' : 'application/json',
        authorization: `Bearer ${options.key ?? TEST_KEYS.staffs}`,
      },
      payload:
        options.body ??
        (ndjson
          ? events.map((event) => `${JSON.stringify(event)}\n`).join('')
          : JSON.stringify(events)),
    });
  }

  /**
   * Every message on the gateway's topics now: as many as the partitions' end offsets say, so a
   * duplicate would show up as one more message, never be missed.
   */
  async function readAll(): Promise<ConsumedMessage[]> {
    const perTopic = await Promise.all(
      topicNames.map(async (topic) => {
        const offsets = await admin.endOffsets(topic);
        const count = offsets.reduce((sum, { offset }) => sum + Number(offset), 0);
        return count === 0
          ? []
          : consumeMessages({ brokers: endpoints.kafkaBrokers, topic, count });
      }),
    );
    return perTopic.flat();
  }

  /**
   * The partition Kafka's Java client would give this key (murmur2 of the key's UTF-8 bytes, made
   * positive, modulo the partitions), with @platformatic/kafka's murmur2 — an implementation
   * independent of the kit producer's — so a gateway sending keyed events to the wrong partition
   * is caught.
   */
  async function referencePartition(topic: string, key: string): Promise<number> {
    const partitions = (await admin.endOffsets(topic)).length;
    // Java's Utils.toPositive: the sign bit cleared, not the absolute value.
    return (murmur2(Buffer.from(key, 'utf8'), false) & 0x7fffffff) % partitions;
  }

  return {
    topic: (name: string) => `${prefix}${name}`,
    app,
    producer: () => service.producer,
    post,
    readAll,
    referencePartition,
    cleanup: async () => {
      await service.stop();
      await admin.deleteTopics(topicNames).catch(() => {});
      await admin.disconnect();
    },
  };
}

/** The parsed event and where Kafka put it. */
export function landed(message: ConsumedMessage) {
  const event = JSON.parse(String(message.value)) as { event_id: string } & Record<string, unknown>;
  return {
    topic: message.topic,
    partition: message.partition,
    key: message.key?.toString() ?? null,
    keyId: message.headers[KEY_ID_HEADER],
    event,
  };
}
