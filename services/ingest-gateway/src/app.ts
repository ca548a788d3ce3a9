import {
  bearerAuthentication,
  createHttpApp,
  createMetricsRegistry,
  decodeUtf8,
  type ErrorAnswer,
  type EventProducer,
  type HttpApp,
  type Logger,
  type ReadinessCheck,
  TokenBucketLimiter,
} from '@bluelight/service-kit';
import type { FastifyError } from 'fastify';
import { AcceptedEventIds } from './accepted-ids.js';
import { ApiKeys } from './api-keys.js';
import { JSON_TYPE, NDJSON_TYPE, parseJsonArrayBody, splitNdjsonBody } from './body.js';
import { configuredSenderKeys, type GatewayConfig } from './config.js';
import { EventIngestor } from './ingest.js';
import { createGatewayMetrics } from './metrics.js';
import { docsSchemas, eventsRoute } from './routes/events.js';

export { KAFKA_RETRY_AFTER_SECONDS } from './routes/events.js';

export const SERVICE_NAME = 'ingest-gateway';

export interface GatewayDeps {
  config: GatewayConfig;
  producer: EventProducer;
  logger: Logger;
  readiness?: ReadinessCheck[];
  isShuttingDown?: () => boolean;
}

/** The gateway's wording for the two body errors fastify raises itself; the kit answers the rest. */
function describeGatewayError(error: unknown, config: GatewayConfig): ErrorAnswer | undefined {
  const code = (error as FastifyError).code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return {
      status: 413,
      body: {
        error: 'payload_too_large',
        message: `the body is larger than ${config.GATEWAY_MAX_BYTES} bytes; split the batch`,
      },
    };
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return {
      status: 415,
      body: {
        error: 'unsupported_media_type',
        message: `Content-Type must be ${JSON_TYPE} (a JSON array of events) or ${NDJSON_TYPE} (one event per line)`,
      },
    };
  }
  return undefined;
}

/**
 * The gateway's HTTP application, without listening: tests drive it with `inject()`, main.ts
 * listens. Kafka is reached only through `deps.producer`.
 */
export async function buildApp(deps: GatewayDeps): Promise<HttpApp> {
  const { config } = deps;
  const registry = createMetricsRegistry(SERVICE_NAME);
  const metrics = createGatewayMetrics(registry);
  const apiKeys = new ApiKeys(configuredSenderKeys(config));

  const app = await createHttpApp({
    config,
    logger: deps.logger,
    bodyLimit: config.GATEWAY_MAX_BYTES,
    observability: {
      registry,
      readiness: deps.readiness ?? [],
      ...(deps.isShuttingDown ? { isShuttingDown: deps.isShuttingDown } : {}),
    },
    openapi: {
      title: 'Bluelight ingest gateway',
      description:
        'CAD, telephony and station-end systems send events here. A 200 lists, per event, whether it was accepted (Kafka acknowledged it) or rejected (with field paths). See docs/ingest-gateway.md.',
      schemaRegistry: docsSchemas,
    },
    describeError: (error) => describeGatewayError(error, config),
  });

  // Only the two formats the API takes; anything else is a 415 before the body is read.
  app.removeAllContentTypeParsers();
  // Bodies are read as bytes and decoded by the kit's decodeUtf8, not as fastify strings (which
  // put U+FFFD where bytes are not UTF-8): an event holding such bytes is refused, naming the field.
  app.addContentTypeParser(JSON_TYPE, { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, parseJsonArrayBody(decodeUtf8(body as Buffer).text));
    } catch (error) {
      done(error as Error);
    }
  });
  app.addContentTypeParser(NDJSON_TYPE, { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, splitNdjsonBody(decodeUtf8(body as Buffer).text));
    } catch (error) {
      done(error as Error);
    }
  });

  await app.register(eventsRoute, {
    config,
    metrics,
    authentication: bearerAuthentication({ identify: (key) => apiKeys.identify(key) }),
    limiter: new TokenBucketLimiter({
      perSecond: config.GATEWAY_RATE_LIMIT_EVENTS_PER_SECOND,
      burst: config.GATEWAY_RATE_LIMIT_BURST,
    }),
    ingestor: new EventIngestor({
      producer: deps.producer,
      acceptedIds: new AcceptedEventIds({
        windowMs: config.GATEWAY_DEDUP_WINDOW_SECONDS * 1000,
        maxIds: config.GATEWAY_DEDUP_MAX_IDS,
      }),
      metrics,
      topicPrefix: config.KAFKA_TOPIC_PREFIX,
      produceTimeoutMs: config.GATEWAY_PRODUCE_TIMEOUT_MS,
      earliestEventTime: config.EARLIEST_EVENT_TIME,
    }),
  });

  if (apiKeys.size === 0) {
    deps.logger.warn(
      'no API keys configured (GATEWAY_API_KEYS_FILE, GATEWAY_API_KEYS): every request will be refused with 401',
    );
  }
  return app;
}
