import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyRequest,
  LogController,
} from 'fastify';
import {
  createJsonSchemaTransform,
  createJsonSchemaTransformObject,
  hasZodFastifySchemaValidationErrors,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import { API_KEY_SECURITY_SCHEMES, presentedKey } from './api-keys.js';
import type { HttpsEnvConfig } from './config.js';
import { httpsServerOptions, refusePlainHttpHook } from './https.js';
import type { Logger } from './logger.js';
import { observability, type ReadinessCheck } from './observability.js';

/** One part of a request that cannot be used: a query parameter, or a field path of the body. */
export type Problem = { parameter: string; message: string } | { path: string; message: string };

/**
 * A request a service refuses: answered with this status and `{ error: code, message }`
 * (plus `problems` when given). A 401 also gets `WWW-Authenticate: Bearer`.
 */
export class HttpError extends Error {
  readonly problems?: Problem[];
  readonly headers: Record<string, string>;

  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    options: { problems?: Problem[]; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'HttpError';
    if (options.problems) this.problems = options.problems;
    this.headers = options.headers ?? {};
  }
}

/** Every service's error body: a stable code, the reason in words, and the parts at fault. */
export interface ErrorBody {
  error: string;
  message: string;
  problems?: Problem[];
}

/** What a failed request is answered with, and how the failure is logged (5xx: an error by default). */
export interface ErrorAnswer {
  status: number;
  body: ErrorBody;
  headers?: Record<string, string>;
  /** A failure that is not a fault of the service (e.g. a dependency down) is logged as a warning. */
  warn?: { message: string; fields?: Record<string, unknown> };
}

/** Codes for the client errors fastify itself raises (e.g. a Content-Length that does not match). */
const FASTIFY_ERROR_CODES: Record<number, string> = {
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/** The parts named by zod's validation issues (`/from`, `/station/0`, unknown keys). */
function validationProblems(
  validation: { instancePath: string; message?: string; keyword: string; params: unknown }[],
  context: string | undefined,
): Problem[] {
  const name = (part: string, message: string): Problem =>
    context === 'body' ? { path: part, message } : { parameter: part, message };
  const problems: Problem[] = [];
  for (const issue of validation) {
    const parts = issue.instancePath.split('/').filter(Boolean);
    if (issue.keyword === 'unrecognized_keys') {
      const keys = (issue.params as { keys?: string[] }).keys ?? [];
      for (const key of keys) {
        if (context === 'body') problems.push(name([...parts, key].join('.'), 'unknown field'));
        else problems.push(name(key, 'unknown parameter'));
      }
      continue;
    }
    const part = context === 'body' ? parts.join('.') || '(body)' : (parts[0] ?? '(query)');
    problems.push(name(part, issue.message ?? 'invalid'));
  }
  return problems;
}

function problemWhere(problem: Problem): string {
  return 'parameter' in problem ? problem.parameter : problem.path;
}

/**
 * The answer every service gives to an error no service-specific rule claimed: an HttpError as it
 * says, a failed zod schema as a 400 naming each part, fastify's own client errors with a code, and
 * anything else as a 500 that says nothing more.
 */
export function describeHttpError(error: unknown): ErrorAnswer {
  if (error instanceof HttpError) {
    return {
      status: error.statusCode,
      body: {
        error: error.code,
        message: error.message,
        ...(error.problems ? { problems: error.problems } : {}),
      },
      headers: error.headers,
    };
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const problems = validationProblems(error.validation, error.validationContext);
    return {
      status: 400,
      body: {
        error: 'bad_request',
        message: problems.map((p) => `${problemWhere(p)}: ${p.message}`).join('; '),
        problems,
      },
    };
  }
  const status = (error as FastifyError).statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return {
      status,
      body: {
        error: FASTIFY_ERROR_CODES[status] ?? 'bad_request',
        message: (error as Error).message,
      },
    };
  }
  return { status: 500, body: { error: 'internal_error', message: 'internal error' } };
}

/** The onRequest hook that identifies a key holder, and what it found for each request. */
export interface BearerAuthentication<Holder> {
  authenticate: (request: FastifyRequest) => Promise<void>;
  /** The key holder of a request that passed `authenticate`. */
  holderOf: (request: FastifyRequest) => Holder | undefined;
}

/**
 * Bearer-key authentication (`Authorization: Bearer <key>` or `X-API-Key: <key>`): a 401
 * `unauthenticated` unless `identify` knows the key. `unconfigured`, when it gives a message,
 * refuses every request with it (no keys configured at all).
 */
export function bearerAuthentication<Holder>(options: {
  identify: (key: string) => Holder | undefined;
  unconfigured?: () => string | undefined;
}): BearerAuthentication<Holder> {
  const holders = new WeakMap<FastifyRequest, Holder>();
  return {
    authenticate: async (request) => {
      const unconfigured = options.unconfigured?.();
      if (unconfigured !== undefined) throw new HttpError(401, 'unauthenticated', unconfigured);
      const key = presentedKey(request.headers);
      if (key === undefined) {
        throw new HttpError(
          401,
          'unauthenticated',
          'no API key: send it as Authorization: Bearer <key> or X-API-Key: <key>',
        );
      }
      const holder = options.identify(key);
      if (holder === undefined)
        throw new HttpError(401, 'unauthenticated', 'the API key is not recognised');
      holders.set(request, holder);
    },
    holderOf: (request) => holders.get(request),
  };
}

export interface HttpAppOptions {
  /** HTTPS_CERT_FILE / HTTPS_KEY_FILE (HTTPS on the port) and HTTP_REQUIRE_TLS; plain HTTP without. */
  config?: HttpsEnvConfig;
  logger: Logger;
  /** Fastify's body limit in bytes (its default, 1 MiB, otherwise). */
  bodyLimit?: number;
  /** /healthz, /readyz and /metrics. */
  observability: {
    registry: Registry;
    readiness?: ReadinessCheck[];
    liveness?: ReadinessCheck[];
    isShuttingDown?: () => boolean;
  };
  /** The OpenAPI document (served at /docs/json, with Swagger UI at /docs); none without it. */
  openapi?: {
    title: string;
    description: string;
    /** Schemas shown as named components (e.g. the event contract). */
    schemaRegistry?: z.core.$ZodRegistry<{ id?: string | undefined }>;
  };
  /** A service's own errors, before the kit's (undefined: not one of them). */
  describeError?: (error: unknown) => ErrorAnswer | undefined;
}

/**
 * A service's fastify application, before its routes: the kit's logger (one line per request is
 * the service's to write, so fastify's own request lines are off), HTTPS or the plain-HTTP
 * refusal, zod validation and serialization, one error shape, a 404 in that shape, OpenAPI with
 * Swagger UI, the probes and /metrics, and `Connection: close` on answers sent while closing.
 */
export async function createHttpApp(options: HttpAppOptions) {
  const { config } = options;
  const app = Fastify({
    ...((config ? httpsServerOptions(config) : {}) as object),
    loggerInstance: options.logger.child({ component: 'http' }) as FastifyBaseLogger,
    ...(options.bodyLimit !== undefined ? { bodyLimit: options.bodyLimit } : {}),
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<ZodTypeProvider>();
  const refusePlainHttp = config && refusePlainHttpHook(config);
  if (refusePlainHttp) app.addHook('onRequest', refusePlainHttp);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

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

  app.setErrorHandler((error, request, reply) => {
    const answer = options.describeError?.(error) ?? describeHttpError(error);
    const headers: Record<string, string> = { ...answer.headers };
    if (answer.status === 401) headers['www-authenticate'] = 'Bearer realm="bluelight"';
    if (answer.warn) request.log.warn(answer.warn.fields ?? {}, answer.warn.message);
    else if (answer.status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(answer.status).headers(headers).type('application/json').send(answer.body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: 'not_found',
      message: `no route ${request.method} ${request.url.split('?')[0]}`,
    }),
  );

  if (options.openapi) {
    const { schemaRegistry } = options.openapi;
    await app.register(fastifySwagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: options.openapi.title,
          version: '1.0.0',
          description: options.openapi.description,
        },
        // No document-wide security: each route states its own, and the probes, /metrics and
        // /docs need no key (a document-wide one would mark them as needing one).
        components: { securitySchemes: API_KEY_SECURITY_SCHEMES },
      },
      transform: createJsonSchemaTransform({
        ...(schemaRegistry ? { schemaRegistry } : {}),
        skipList: [],
      }),
      ...(schemaRegistry
        ? { transformObject: createJsonSchemaTransformObject({ schemaRegistry }) }
        : {}),
    });
    await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  }
  await app.register(observability, options.observability);
  return app;
}

/** A service's application as `createHttpApp` makes it (routes are registered on it as plugins). */
export type HttpApp = Awaited<ReturnType<typeof createHttpApp>>;

/** A JSON response with its description, as OpenAPI shows it. */
export function jsonResponse<Schema extends z.ZodType>(schema: Schema, description: string) {
  return { description, content: { 'application/json': { schema } } };
}
