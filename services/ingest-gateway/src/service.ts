import { prepareFastValidation, topics } from '@bluelight/schemas';
import {
  createKafkaClients,
  type KafkaEventProducer,
  kafkaConnectionFrom,
  type Logger,
} from '@bluelight/service-kit';
import type { FastifyInstance } from 'fastify';
import { buildApp, SERVICE_NAME } from './app.js';
import type { GatewayConfig } from './config.js';

export interface GatewayService {
  app: FastifyInstance;
  /** The gateway's Kafka producer (tests check it has nothing left in hand after a 503). */
  producer: KafkaEventProducer;
  /** Stops intake and lets in-flight requests finish (their events acknowledged), then disconnects from Kafka. */
  stop: () => Promise<void>;
}

/**
 * Connects to Kafka, creates the event topics that do not exist yet (from the topic registry),
 * and starts the HTTP server (unless `listen` is false: tests use `app.inject()`).
 */
export async function startGatewayService(
  config: GatewayConfig,
  logger: Logger,
  options: { listen?: boolean } = {},
): Promise<GatewayService> {
  const kafka = createKafkaClients({
    ...kafkaConnectionFrom(config),
    clientId: SERVICE_NAME,
    logger,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.ensureTopics(
    topics.map((topic) => ({
      topic: `${config.KAFKA_TOPIC_PREFIX}${topic.name}`,
      partitions: topic.partitions,
      replicationFactor: config.KAFKA_TOPIC_REPLICATION_FACTOR,
      config: { 'retention.ms': String(topic.retentionMs) },
    })),
  );
  const producer = kafka.producer();
  await producer.connect();
  for (const { type, reason } of prepareFastValidation()) {
    logger.warn({ eventType: type, reason }, 'contract fast path unavailable: zod validates it');
  }

  let stopping = false;
  const app = await buildApp({
    config,
    producer,
    logger,
    isShuttingDown: () => stopping,
    readiness: [
      {
        name: 'kafka',
        check: async () => {
          if ((await admin.brokerCount()) < 1) throw new Error('no brokers');
        },
      },
    ],
  });
  if (options.listen !== false)
    await app.listen({ port: config.GATEWAY_PORT, host: config.BIND_HOST });

  return {
    app,
    producer,
    stop: async () => {
      stopping = true;
      // close() stops accepting connections and waits for the requests in hand, whose answers
      // wait for Kafka's acknowledgement; only then is the producer flushed and disconnected.
      await app.close();
      await producer.disconnect();
      await admin.disconnect();
    },
  };
}
