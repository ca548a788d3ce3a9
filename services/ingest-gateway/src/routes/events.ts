import { anyEvent } from '@bluelight/schemas';
import {
  type BearerAuthentication,
  HttpError,
  jsonResponse as json,
  type TokenBucketLimiter,
} from '@bluelight/service-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SenderKey } from '../api-keys.js';
import {
  decodeItems,
  EMPTY_BODY_MESSAGE,
  eventCount,
  JSON_TYPE,
  NDJSON_TYPE,
  type ParsedBody,
} from '../body.js';
import type { GatewayConfig } from '../config.js';
import type { EventIngestor } from '../ingest.js';
import type { GatewayMetrics } from '../metrics.js';

/** Seconds a sender should wait before retrying when Kafka is unavailable. */
export const KAFKA_RETRY_AFTER_SECONDS = 5;

export interface EventsRouteOptions {
  config: GatewayConfig;
  ingestor: EventIngestor;
  /** Tokens are events, not requests: a batch of 5,000 costs 5,000. */
  limiter: TokenBucketLimiter;
  metrics: GatewayMetrics;
  authentication: BearerAuthentication<SenderKey>;
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

/** The documentation's name for the event contract; its JSON Schema is a component of the OpenAPI document. */
export const docsSchemas = z.registry<{ id: string }>();
docsSchemas.add(anyEvent, { id: 'Event' });

/** `POST /v1/events`: events checked one by one, answered once Kafka acknowledged the good ones. */
export const eventsRoute: FastifyPluginAsyncZod<EventsRouteOptions> = async (app, options) => {
  const { config, ingestor, limiter, metrics, authentication } = options;
  const summaries = new WeakMap<
    FastifyRequest,
    { received: number; accepted: number; duplicates: number; rejected: number }
  >();

  async function ingestEvents(request: FastifyRequest, reply: FastifyReply) {
    const sender = authentication.holderOf(request);
    if (!sender) throw new Error('authentication did not run');
    // No body at all (and so no Content-Type): fastify leaves it null.
    const body = request.body as ParsedBody | null | undefined;
    if (body == null) throw new HttpError(400, 'bad_request', EMPTY_BODY_MESSAGE);
    const received = eventCount(body);
    if (received > config.GATEWAY_MAX_EVENTS) {
      throw new HttpError(
        413,
        'payload_too_large',
        `${received} events; at most ${config.GATEWAY_MAX_EVENTS} per request: split the batch`,
      );
    }
    const decision = limiter.take(sender.id, received);
    if (!decision.allowed) {
      metrics.events.inc({ outcome: 'rejected', reason: 'rate_limited' }, received);
      throw new HttpError(
        429,
        'rate_limited',
        `key "${sender.id}" may send ${config.GATEWAY_RATE_LIMIT_EVENTS_PER_SECOND} events a second (bursts of ${config.GATEWAY_RATE_LIMIT_BURST}); nothing from this request was accepted, retry after ${decision.retryAfterSeconds} s`,
        { headers: { 'retry-after': String(decision.retryAfterSeconds) } },
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
    summaries.set(request, summary);
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
      onRequest: authentication.authenticate,
      onResponse: async (request, reply) => {
        metrics.requests.inc({ status: String(reply.statusCode) });
        const level = reply.statusCode >= 500 ? 'warn' : 'info';
        request.log[level](
          {
            key_id: authentication.holderOf(request)?.id,
            status: reply.statusCode,
            ms: Math.round(reply.elapsedTime),
            ...summaries.get(request),
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
};
