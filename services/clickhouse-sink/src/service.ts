import { prepareFastValidation } from '@bluelight/schemas';
import {
  clickhouseConnectionFrom,
  createClickHouse,
  createKafkaClients,
  createMetricsRegistry,
  type HttpApp,
  kafkaConnectionFrom,
  type Logger,
} from '@bluelight/service-kit';
import { buildApp, SERVICE_NAME } from './app.js';
import { type SinkConfig, sinkBatching } from './config.js';
import { familiesWithPrefix } from './families.js';
import { createSinkMetrics } from './metrics.js';
import { ClickHouseSink } from './sink.js';

export interface SinkService {
  sink: ClickHouseSink;
  app: HttpApp;
  /** Stops the HTTP server, then the sink (which finishes and commits the batches in hand). */
  stop: () => Promise<void>;
}

/**
 * Builds and starts the sink with its HTTP endpoints. Topics (and their dead-letter topics) that
 * do not exist yet are created from the topic registry.
 */
export async function startSinkService(
  config: SinkConfig,
  logger: Logger,
  options: { onFatal: (error: Error) => void; listen?: boolean },
): Promise<SinkService> {
  const kafka = createKafkaClients({
    ...kafkaConnectionFrom(config),
    clientId: SERVICE_NAME,
    logger,
  });
  const clickhouse = createClickHouse({
    ...clickhouseConnectionFrom(config),
    application: SERVICE_NAME,
  });
  const byName = familiesWithPrefix(config.KAFKA_TOPIC_PREFIX);
  const families = config.SINK_FAMILIES.map((name) => byName[name]);
  for (const { type, reason } of prepareFastValidation(
    families.flatMap(({ topic }) => topic.eventTypes),
  )) {
    logger.warn({ eventType: type, reason }, 'contract fast path unavailable: zod validates it');
  }

  const admin = kafka.admin();
  await admin.connect();
  await admin.ensureTopics(
    families.flatMap(({ topic }) => [
      {
        topic: topic.name,
        partitions: topic.partitions,
        replicationFactor: config.KAFKA_TOPIC_REPLICATION_FACTOR,
        config: { 'retention.ms': String(topic.retentionMs) },
      },
      {
        topic: topic.deadLetter.name,
        partitions: 1,
        replicationFactor: config.KAFKA_TOPIC_REPLICATION_FACTOR,
        config: { 'retention.ms': String(topic.deadLetter.retentionMs) },
      },
    ]),
  );

  const batching = sinkBatching(config);
  const registry = createMetricsRegistry(SERVICE_NAME);
  const sink = new ClickHouseSink({
    families,
    groupPrefix: config.SINK_GROUP_PREFIX,
    kafka,
    clickhouse,
    logger,
    metrics: createSinkMetrics(registry),
    limits: {
      maxConsecutive: config.DLQ_MAX_CONSECUTIVE,
      maxRatio: config.DLQ_MAX_RATIO,
      window: config.DLQ_WINDOW,
    },
    consumer: {
      maxWaitTimeMs: batching.fetchMaxWaitMs,
      maxBytesPerPartition: batching.fetchMaxBytesPerPartition,
      maxBatchesInFlight: config.SINK_BATCHES_IN_FLIGHT,
    },
    insertLimits: {
      maxRows: batching.maxRowsPerInsert,
      maxPartitions: config.SINK_MAX_PARTITIONS_PER_INSERT,
    },
    earliestEventTime: config.EARLIEST_EVENT_TIME,
    retry: { initialMs: config.SINK_RETRY_INITIAL_MS, maxMs: config.SINK_RETRY_MAX_MS },
    service: SERVICE_NAME,
    onFatal: options.onFatal,
  });

  let stopping = false;
  const app = await buildApp({
    config,
    logger,
    registry,
    sink,
    isShuttingDown: () => stopping,
    readiness: [
      { name: 'clickhouse', check: async () => void (await clickhouse.ping({ select: true })) },
      {
        name: 'kafka',
        check: async () => {
          if ((await admin.brokerCount()) < 1) throw new Error('no brokers');
        },
      },
    ],
  });

  await sink.start();
  if (options.listen !== false)
    await app.listen({ port: config.SINK_PORT, host: config.BIND_HOST });

  return {
    sink,
    app,
    stop: async () => {
      stopping = true;
      await app.close();
      await sink.stop();
      await admin.disconnect();
      await clickhouse.close();
    },
  };
}
