import {
  type BearerAuthentication,
  type ClickHouseClient,
  HttpError,
  jsonResponse as json,
  type TokenBucketLimiter,
} from '@bluelight/service-kit';
import type { StandardDefinition } from '@bluelight/standards';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { decideAgencies, type Reader } from '../api-keys.js';
import type { QueryApiConfig } from '../config.js';
import { toCsv, wantsCsv } from '../csv.js';
import type { querySchemas } from '../params.js';

const problem = z.object({
  parameter: z.string().describe('The query parameter at fault.'),
  message: z.string().describe('What is wrong with it.'),
});

const errorResponse = z.object({
  error: z
    .string()
    .describe(
      'A stable code: bad_request, unauthenticated, forbidden_agency, rate_limited, clickhouse_unavailable, …',
    ),
  message: z.string().describe('What is wrong, in words.'),
  problems: z.array(problem).optional().describe('400 only: each parameter at fault.'),
});

const CSV_TYPE = 'text/csv; charset=utf-8';

/** A 200 answer in JSON (this schema) or, with `Accept: text/csv`, CSV. */
export function jsonOrCsv<Schema extends z.ZodType>(schema: Schema, description: string) {
  return {
    description,
    content: {
      'application/json': { schema },
      'text/csv': { schema: z.string().describe('RFC 4180 CSV with a header row.') },
    },
  };
}

/** The error answers every /v1 route documents. */
export const errorResponses = {
  400: json(errorResponse, 'A query parameter is missing, unknown or bad; `problems` names it.'),
  401: json(errorResponse, 'No API key, or one not recognised (or no keys configured).'),
  403: json(
    errorResponse,
    '`forbidden_agency`: an agency the key may not read (named); decided from the key alone.',
  ),
  429: json(errorResponse, 'Over the key’s request rate; see Retry-After.'),
  500: json(errorResponse, 'A fault in the API.'),
  503: json(errorResponse, 'ClickHouse did not answer; see Retry-After.'),
};

/** Whose rows an answer counts: the agencies read, sorted. */
export const agenciesRead = z
  .array(z.string())
  .describe('The agencies whose rows were read, sorted.');

export const security: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }];

interface RequestContext {
  /** The agencies the request reads, once the key's scope allowed them. */
  agencies?: string[];
  /** The agencies asked for that the key may not read (a 403). */
  refused?: string[];
  rows?: number;
  format?: 'json' | 'csv';
}

/** What every /v1 route of the query API is given (see app.ts). */
export interface V1RouteOptions {
  standards: StandardDefinition[];
  clickhouse: ClickHouseClient;
  schemas: ReturnType<typeof querySchemas>;
  v1: V1Hooks;
}

export type V1Hooks = ReturnType<typeof createV1Hooks>;

/**
 * The hooks of every /v1 route (key, rate, one log line) and of the data routes (the agencies
 * read), and how a route answers in JSON or CSV.
 */
export function createV1Hooks(options: {
  config: QueryApiConfig;
  authentication: BearerAuthentication<Reader>;
  limiter: TokenBucketLimiter;
}) {
  const { config, authentication, limiter } = options;
  const contexts = new WeakMap<FastifyRequest, RequestContext>();
  function contextOf(request: FastifyRequest): RequestContext {
    let context = contexts.get(request);
    if (!context) {
      context = {};
      contexts.set(request, context);
    }
    return context;
  }

  /** After authenticate: one token per request from the reader's bucket, else 429. */
  async function limitRate(request: FastifyRequest) {
    const reader = authentication.holderOf(request);
    if (!reader) return;
    const decision = limiter.take(reader.id);
    if (decision.allowed) return;
    throw new HttpError(
      429,
      'rate_limited',
      `key "${reader.id}" may make ${config.QUERY_API_RATE_LIMIT_PER_SECOND} requests a second (bursts of ${config.QUERY_API_RATE_LIMIT_BURST}); retry after ${decision.retryAfterSeconds} s`,
      { headers: { 'retry-after': String(decision.retryAfterSeconds) } },
    );
  }

  /**
   * Before a data endpoint's handler (its parameters already checked): the agencies it reads,
   * from `agency` and the key's scope. A 403 is decided from the key alone, before any query, so
   * it says nothing about whether the agency has data.
   */
  async function scopeAgencies(request: FastifyRequest) {
    const reader = authentication.holderOf(request);
    if (!reader) throw new Error('scopeAgencies runs after authenticate');
    const context = contextOf(request);
    const { agency } = request.query as { agency?: string[] };
    const decision = decideAgencies(reader, agency);
    if (decision.outcome === 'unspecified') {
      throw new HttpError(400, 'bad_request', `agency: ${decision.message}`, {
        problems: [{ parameter: 'agency', message: decision.message }],
      });
    }
    if (decision.outcome === 'forbidden') {
      context.refused = decision.agencies;
      throw new HttpError(403, 'forbidden_agency', decision.message);
    }
    context.agencies = decision.agencies;
  }

  async function logRequest(request: FastifyRequest, reply: FastifyReply) {
    const context = contexts.get(request);
    const level = reply.statusCode >= 500 ? 'warn' : 'info';
    request.log[level](
      {
        key_id: authentication.holderOf(request)?.id,
        agencies: context?.agencies,
        refused_agencies: context?.refused,
        route: request.routeOptions.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        format: context?.format,
        rows: context?.rows,
      },
      `GET ${request.routeOptions.url}`,
    );
  }

  const v1 = { onRequest: [authentication.authenticate, limitRate], onResponse: logRequest };
  return {
    /** Every /v1 endpoint: a key, its rate, one log line. */
    v1,
    /** Every endpoint that reads agencies' rows: scoped to the agencies the key may read. */
    data: { ...v1, preHandler: scopeAgencies },

    /** The agencies `scopeAgencies` allowed this request. */
    agenciesOf(request: FastifyRequest): string[] {
      const agencies = contexts.get(request)?.agencies;
      if (!agencies) throw new Error('a data endpoint without scopeAgencies');
      return agencies;
    },

    /** Sends records as CSV or a body as JSON, as the request's Accept header asks. */
    answer(
      request: FastifyRequest,
      reply: FastifyReply,
      name: string,
      body: unknown,
      csv: () => { records: Record<string, unknown>[]; columns?: string[] },
    ) {
      const context = contextOf(request);
      if (wantsCsv(request.headers.accept)) {
        const { records, columns } = csv();
        context.format = 'csv';
        context.rows = records.length;
        return reply
          .code(200)
          .header('content-type', CSV_TYPE)
          .header('content-disposition', `inline; filename="${name}.csv"`)
          .send(toCsv(records, columns));
      }
      context.format = 'json';
      return reply.code(200).type('application/json').send(body);
    },
  };
}
