import { anyEvent } from '@bluelight/schemas';
import {
  API_KEY_SECURITY_SCHEMES,
  createMetricsRegistry,
  decodeUtf8,
  type EventProducer,
  httpsServerOptions,
  type Logger,
  observability,
  type ReadinessCheck,
  refusePlainHttpHook,
  TokenBucketLimiter,
} from '@bluelight/service-kit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import {
  createJsonSchemaTransform,
  createJsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AcceptedEventIds } from './accepted-ids.js';
import { ApiKeys, presentedKey, type SenderKey } from './api-keys.js';
import {
  decodeItems,
  EMPTY_BODY_MESSAGE,
  eventCount,
  JSON_TYPE,
  NDJSON_TYPE,
  type ParsedBody,
  parseJsonArrayBody,
  RequestError,
  splitNdjsonBody,
} from './body.js';
import { configuredSenderKeys, type GatewayConfig } from './config.js';
import { EventIngestor } from './ingest.js';
import { createGatewayMetrics } from './metrics.js';

export const SERVICE_NAME = 'ingest-gateway';

/** Seconds a sender should wait before retrying when Kafka is unavailable. */
export const KAFKA_RETRY_AFTER_SECONDS = 5;

export interface GatewayDeps {
  config: GatewayConfig;
  producer: EventProducer;
  logger: Logger;
  readiness?: ReadinessCheck[];
  isShuttingDown?: () => boolean;
}

const fieldError = z.object({
  path: z.string().describe('Where: a dotted field path, `(event)` or `(line N)`.'),
  message: z.string().describe('What is wrong.'),
});

const acceptedItem = z.object({
  index: z
    .int()
    .describe('Position of the event in the request (0-based; NDJSON: non-blank lines).'),
  line: z
    .int()
    .nonnegative()
    .optional()
    .describe('NDJSON only: the line number in the body (1-based).'),
  event_id: z.string(),
  duplicate: z
    .boolean()
    .describe('True when Kafka already had it from an earlier request: it was not sent again.'),
});

const rejectedItem = z.object({
  index: z.int().nonnegative(),
  line: z.int().nonnegative().optional(),
  event_id: z.string().optional().describe('When the event carried one.'),
  errors: z.array(fieldError).min(1),
});

const ingestResponse = z.object({
  summary: z.object({
    received: z.int().nonnegative(),
    accepted: z.int().nonnegative().describe('Events on Kafka now, duplicates included.'),
    duplicates: z.int().nonnegative(),
    rejected: z.int().nonnegative(),
  }),
  accepted: z.array(acceptedItem),
  rejected: z.array(rejectedItem),
});

const errorResponse = z.object({
  error: z.string().describe('A stable code, e.g. unauthenticated, payload_too_large.'),
  message: z.string().describe('What is wrong with the request, in words.'),
  rejected: z
    .array(rejectedItem)
    .optional()
    .describe('403 only: the events the key may not write.'),
});

type ErrorBody = z.infer<typeof errorResponse>;

/** A JSON response with its description, as OpenAPI shows it. */
function json<Schema extends z.ZodType>(schema: Schema, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

/** The documentation's name for the event contract; its JSON Schema is a component of the OpenAPI document. */
const docsSchemas = z.registry<{ id: string }>();
docsSchemas.add(anyEvent, { id: 'Event' });

/** Codes for the client errors fastify itself raises (e.g. a Content-Length that does not match). */
const FASTIFY_ERROR_CODES: Record<number, string> = {
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/** What a failed request is answered with; anything unexpected is a 500 that says nothing more. */
function describeError(
  error: FastifyError | RequestError,
  config: GatewayConfig,
): { status: number; body: ErrorBody; headers: Record<string, string> } {
  if (error instanceof RequestError) {
    const headers: Record<string, string> = { ...error.headers };
    if (error.statusCode === 401) headers['www-authenticate'] = 'Bearer realm="bluelight"';
    return {
      status: error.statusCode,
      body: { error: error.code, message: error.message },
      headers,
    };
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return {
      status: 413,
      body: {
        error: 'payload_too_large',
        message: `the body is larger than ${config.GATEWAY_MAX_BYTES} bytes; split the batch`,
      },
      headers: {},
    };
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return {
      status: 415,
      body: {
        error: 'unsupported_media_type',
        message: `Content-Type must be ${JSON_TYPE} (a JSON array of events) or ${NDJSON_TYPE} (one event per line)`,
      },
      headers: {},
    };
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return {
      status,
      body: { error: FASTIFY_ERROR_CODES[status] ?? 'bad_request', message: error.message },
      headers: {},
    };
  }
  return { status: 500, body: { error: 'internal_error', message: 'internal error' }, headers: {} };
}

interface RequestContext {
  sender?: SenderKey;
  summary?: { received: number; accepted: number; duplicates: number; rejected: number };
}

/**
 * The gateway's HTTP application, without listening: tests drive it with `inject()`, main.ts
 * listens. Kafka is reached only through `deps.producer`.
 */
export async function buildApp(deps: GatewayDeps): Promise<FastifyInstance> {
  const { config, producer: kafkaProducer } = deps;
  const registry = createMetricsRegistry(SERVICE_NAME);
  const metrics = createGatewayMetrics(registry);
  const apiKeys = new ApiKeys(configuredSenderKeys(config));
  // Tokens are events, not requests: a batch of 5,000 costs 5,000.
  const limiter = new TokenBucketLimiter({
    perSecond: config.GATEWAY_RATE_LIMIT_EVENTS_PER_SECOND,
    burst: config.GATEWAY_RATE_LIMIT_BURST,
  });
  const ingestor = new EventIngestor({
    producer: kafkaProducer,
    acceptedIds: new AcceptedEventIds({
      windowMs: config.GATEWAY_DEDUP_WINDOW_SECONDS * 1000,
      maxIds: config.GATEWAY_DEDUP_MAX_IDS,
    }),
    metrics,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
    produceTimeoutMs: config.GATEWAY_PRODUCE_TIMEOUT_MS,
    earliestEventTime: config.EARLIEST_EVENT_TIME,
  });
  const contexts = new WeakMap<FastifyRequest, RequestContext>();

  const app = Fastify({
    // HTTPS when the service has a certificate of its own (HTTPS_CERT_FILE, HTTPS_KEY_FILE).
    ...(httpsServerOptions(config) as object),
    loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger,
    bodyLimit: config.GATEWAY_MAX_BYTES,
    // One line per ingest request (below), with the key id; probes and docs are not logged.
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<ZodTypeProvider>();
  const refusePlainHttp = refusePlainHttpHook(config);
  if (refusePlainHttp) app.addHook('onRequest', refusePlainHttp);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

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

  // Answers finished while the server closes tell the client to drop the connection; otherwise
  // an idle keep-alive connection would hold close() open for the keep-alive timeout (72 s).
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  app.setErrorHandler((error: FastifyError | RequestError, request, reply) => {
    const { status, body, headers } = describeError(error, config);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(status).headers(headers).send(body);
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Bluelight ingest gateway',
        version: '1.0.0',
        description:
          'CAD, telephony and station-end systems send events here. A 200 lists, per event, whether it was accepted (Kafka acknowledged it) or rejected (with field paths). See docs/ingest-gateway.md.',
      },
      components: { securitySchemes: API_KEY_SECURITY_SCHEMES },
    },
    transform: createJsonSchemaTransform({ schemaRegistry: docsSchemas, skipList: [] }),
    transformObject: createJsonSchemaTransformObject({ schemaRegistry: docsSchemas }),
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  await app.register(observability, {
    registry,
    readiness: deps.readiness ?? [],
    isShuttingDown: deps.isShuttingDown,
  });

  async function authenticate(request: FastifyRequest) {
    const key = presentedKey(request.headers);
    if (key === undefined) {
      throw new RequestError(
        401,
        'unauthenticated',
        'no API key: send it as Authorization: Bearer <key> or X-API-Key: <key>',
      );
    }
    const sender = apiKeys.identify(key);
    if (!sender) throw new RequestError(401, 'unauthenticated', 'the API key is not recognised');
    contexts.set(request, { sender });
  }

  async function ingestEvents(request: FastifyRequest, reply: FastifyReply) {
    const context = contexts.get(request);
    const sender = context?.sender;
    if (!context || !sender) throw new Error('authentication did not run');
    // No body at all (and so no Content-Type): fastify leaves it null.
    const body = request.body as ParsedBody | null | undefined;
    if (body == null) throw new RequestError(400, 'bad_request', EMPTY_BODY_MESSAGE);
    const received = eventCount(body);
    if (received > config.GATEWAY_MAX_EVENTS) {
      throw new RequestError(
        413,
        'payload_too_large',
        `${received} events; at most ${config.GATEWAY_MAX_EVENTS} per request: split the batch`,
      );
    }
    const decision = limiter.take(sender.id, received);
    if (!decision.allowed) {
      metrics.events.inc({ outcome: 'rejected', reason: 'rate_limited' }, received);
      throw new RequestError(
        429,
        'rate_limited',
        `key "${sender.id}" may send ${config.GATEWAY_RATE_LIMIT_EVENTS_PER_SECOND} events a second (bursts of ${config.GATEWAY_RATE_LIMIT_BURST}); nothing from this request was accepted, retry after ${decision.retryAfterSeconds} s`,
        { 'retry-after': String(decision.retryAfterSeconds) },
      );
    }

    const outcome = await ingestor.ingest(decodeItems(body), sender);
    if (outcome.kind === 'forbidden') {
      return reply.code(403).send({
        error: 'forbidden',
        message: `key "${sender.id}" may not write ${outcome.rejected.length} of these events (see rejected); nothing from this request was accepted`,
        rejected: outcome.rejected,
      });
    }
    if (outcome.kind === 'kafka_unavailable') {
      request.log.warn({ key_id: sender.id, reason: outcome.message }, 'Kafka unavailable');
      return reply
        .code(503)
        .header('retry-after', String(KAFKA_RETRY_AFTER_SECONDS))
        .send({
          error: 'kafka_unavailable',
          message: `Kafka did not acknowledge the events (${outcome.message}); nothing from this request was accepted, send it again`,
        });
    }
    const duplicates = outcome.accepted.filter((item) => item.duplicate).length;
    const summary = {
      received,
      accepted: outcome.accepted.length,
      duplicates,
      rejected: outcome.rejected.length,
    };
    context.summary = summary;
    return reply
      .code(200)
      .send({ summary, accepted: outcome.accepted, rejected: outcome.rejected });
  }

  app.post(
    '/v1/events',
    {
      schema: {
        summary: 'Send events',
        description: `A JSON array (${JSON_TYPE}) or NDJSON (${NDJSON_TYPE}) of events, at most ${config.GATEWAY_MAX_EVENTS} events and ${config.GATEWAY_MAX_BYTES} bytes. Each event is checked against the contract on its own: good events beside bad ones are still accepted. The answer comes only after Kafka acknowledged every accepted event.`,
        tags: ['events'],
        consumes: [JSON_TYPE, NDJSON_TYPE],
        security: [{ bearer: [] }, { apiKey: [] }],
        body: z
          .array(anyEvent)
          .describe('JSON: an array of events. NDJSON: the same events, one per line.'),
        response: {
          200: json(ingestResponse, 'Per-event results: every accepted event is on Kafka.'),
          400: json(errorResponse, 'Not JSON, not an array, or empty.'),
          401: json(errorResponse, 'No API key, or one not recognised.'),
          403: json(errorResponse, 'Events of agencies or sources the key may not write.'),
          413: json(errorResponse, 'Too many events or bytes.'),
          415: json(errorResponse, 'Neither JSON nor NDJSON.'),
          429: json(errorResponse, 'Over the key’s event rate: nothing accepted; see Retry-After.'),
          500: json(errorResponse, 'A fault in the gateway.'),
          503: json(errorResponse, 'Kafka unavailable: nothing accepted; see Retry-After.'),
        },
      },
      // The body schema is for the documentation: events are validated one by one in the
      // handler, so one bad event cannot fail the others.
      validatorCompiler: () => (body) => ({ value: body }),
      onRequest: authenticate,
      onResponse: async (request, reply) => {
        metrics.requests.inc({ status: String(reply.statusCode) });
        const context = contexts.get(request);
        const level = reply.statusCode >= 500 ? 'warn' : 'info';
        request.log[level](
          {
            key_id: context?.sender?.id,
            status: reply.statusCode,
            ms: Math.round(reply.elapsedTime),
            ...context?.summary,
          },
          'POST /v1/events',
        );
      },
    },
    async (request, reply) => {
      metrics.inFlight.inc();
      try {
        return await ingestEvents(request, reply);
      } finally {
        metrics.inFlight.dec();
      }
    },
  );

  if (apiKeys.size === 0) {
    deps.logger.warn(
      'no API keys configured (GATEWAY_API_KEYS_FILE, GATEWAY_API_KEYS): every request will be refused with 401',
    );
  }
  return app;
}
