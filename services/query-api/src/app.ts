import {
  API_KEY_SECURITY_SCHEMES,
  type ClickHouseClient,
  ClickHouseError,
  createMetricsRegistry,
  httpsServerOptions,
  type Logger,
  observability,
  presentedKey,
  type ReadinessCheck,
  refusePlainHttpHook,
  TokenBucketLimiter,
} from '@bluelight/service-kit';
import {
  annualReport,
  computeKpi,
  FILTERS,
  GROUPINGS,
  KpiRequestError,
  reportLines,
  type StandardDefinition,
} from '@bluelight/standards';
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
  hasZodFastifySchemaValidationErrors,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { decideAgencies, type Reader, ReadKeys } from './api-keys.js';
import { configuredReaders, type QueryApiConfig } from './config.js';
import { toCsv, wantsCsv } from './csv.js';
import { INCIDENT_CSV_COLUMNS, searchIncidents } from './incidents.js';
import { INCIDENT_SEARCH_FILTERS, type Problem, querySchemas } from './params.js';

export const SERVICE_NAME = 'query-api';

/** Seconds a client should wait before retrying when ClickHouse is unavailable. */
const CLICKHOUSE_RETRY_AFTER_SECONDS = 5;

export interface QueryApiDeps {
  config: QueryApiConfig;
  /** A read-only ClickHouse client (see createReadOnlyClickHouse). */
  clickhouse: ClickHouseClient;
  standards: StandardDefinition[];
  logger: Logger;
  readiness?: ReadinessCheck[];
  isShuttingDown?: () => boolean;
}

/** A request the API refuses, with its status, stable code and (for 400) the parameters at fault. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly problems?: Problem[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

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
type ErrorBody = z.infer<typeof errorResponse>;

const CSV_TYPE = 'text/csv; charset=utf-8';

/** A 200 answer in JSON (this schema) or, with `Accept: text/csv`, CSV. */
function jsonOrCsv<Schema extends z.ZodType>(schema: Schema, description: string) {
  return {
    description,
    content: {
      'application/json': { schema },
      'text/csv': { schema: z.string().describe('RFC 4180 CSV with a header row.') },
    },
  };
}

function json<Schema extends z.ZodType>(schema: Schema, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

const errorResponses = {
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

const standardSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  subject: z.enum(['incidents', 'calls', 'availability']),
  description: z.string(),
  source: z.string(),
  groupings: z.array(z.string()).describe('groupBy values this standard takes.'),
  filters: z.array(z.string()).describe('Filter parameters this standard takes.'),
  versions: z.array(
    z
      .looseObject({
        version: z.int(),
        effective_from: z.string(),
        effective_to: z.string().optional(),
        minimum_sample: z.int(),
      })
      .describe('Scope (applies_to), clock, statistic, exclusions, as configured.'),
  ),
});

/** Whose rows an answer counts: the agencies read, sorted. */
const agenciesRead = z.array(z.string()).describe('The agencies whose rows were read, sorted.');

const kpiResponse = z.looseObject({
  standard: z.looseObject({ id: z.string(), subject: z.string() }),
  period: z.object({ from: z.string(), to: z.string() }),
  agencies: agenciesRead,
  groupBy: z.string(),
  filters: z.record(z.string(), z.array(z.string())),
  versions: z.array(z.object({ version: z.int(), from: z.string(), to: z.string() })),
  target: z.looseObject({ statistic: z.string() }),
  minimumSample: z.int(),
  rows: z.array(z.looseObject({ group: z.string() })),
});

const incidentsResponse = z.object({
  period: z.object({ from: z.string(), to: z.string() }),
  agencies: agenciesRead,
  limit: z.int(),
  incidents: z.array(
    z.looseObject({
      incident_id: z.string(),
      times: z.record(z.string(), z.string().nullable()),
      segments_seconds: z
        .record(z.string(), z.number().nullable())
        .describe('call_handling, turnout, travel, total; null when an end is missing.'),
    }),
  ),
  next_cursor: z
    .string()
    .nullable()
    .describe('Pass as `cursor` for the next page; null on the last.'),
});

const reportResponse = z.looseObject({
  agencies: agenciesRead,
  current: z.looseObject({ period: z.object({ from: z.string(), to: z.string() }) }),
  previous: z.looseObject({ period: z.object({ from: z.string(), to: z.string() }) }).nullable(),
  lines: z.array(
    z.object({
      key: z.string(),
      label: z.string(),
      unit: z.string(),
      value: z.number().nullable(),
      previous: z.number().nullable(),
      target: z.number().nullable(),
    }),
  ),
});

/** The parameters named by zod's validation issues (`/from`, `/station/0`, unknown keys). */
function validationProblems(
  validation: { instancePath: string; message?: string; keyword: string; params: unknown }[],
): Problem[] {
  const problems: Problem[] = [];
  for (const issue of validation) {
    if (issue.keyword === 'unrecognized_keys') {
      const keys = (issue.params as { keys?: string[] }).keys ?? [];
      for (const key of keys) problems.push({ parameter: key, message: 'unknown parameter' });
      continue;
    }
    const parameter = issue.instancePath.split('/').filter(Boolean)[0] ?? '(query)';
    problems.push({ parameter, message: issue.message ?? 'invalid' });
  }
  return problems;
}

/** Errors of the connection to ClickHouse (refused, reset, timed out), as opposed to bugs. */
function isClickHouseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error) || error instanceof ClickHouseError) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^(ECONN|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND|UND_ERR)/.test(code))
    return true;
  return /timeout|socket hang up/i.test(error.message);
}

function describeError(error: unknown): {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
} {
  if (error instanceof ApiError) {
    const headers = { ...error.headers };
    if (error.statusCode === 401) headers['www-authenticate'] = 'Bearer realm="bluelight"';
    return {
      status: error.statusCode,
      body: {
        error: error.code,
        message: error.message,
        ...(error.problems ? { problems: error.problems } : {}),
      },
      headers,
    };
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const problems = validationProblems(error.validation);
    return {
      status: 400,
      body: {
        error: 'bad_request',
        message: problems.map((p) => `${p.parameter}: ${p.message}`).join('; '),
        problems,
      },
      headers: {},
    };
  }
  if (error instanceof KpiRequestError && error.parameter !== 'standards') {
    const message = error.message.replace(`${error.parameter}: `, '');
    return {
      status: 400,
      body: {
        error: 'bad_request',
        message: error.message,
        problems: [{ parameter: error.parameter, message }],
      },
      headers: {},
    };
  }
  if (error instanceof KpiRequestError) {
    // The report needs standards this deployment did not load (STANDARDS_DIR): not the caller's fault.
    return {
      status: 500,
      body: { error: 'standards_missing', message: error.message },
      headers: {},
    };
  }
  if (isClickHouseUnavailable(error)) {
    return {
      status: 503,
      body: {
        error: 'clickhouse_unavailable',
        message: 'ClickHouse did not answer; try again shortly',
      },
      headers: { 'retry-after': String(CLICKHOUSE_RETRY_AFTER_SECONDS) },
    };
  }
  const fastifyError = error as FastifyError;
  const status = fastifyError.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return {
      status,
      body: { error: status === 404 ? 'not_found' : 'bad_request', message: fastifyError.message },
      headers: {},
    };
  }
  return { status: 500, body: { error: 'internal_error', message: 'internal error' }, headers: {} };
}

/** Everything the API says about a standard: its definition and how it may be asked for. */
function describeStandard(standard: StandardDefinition) {
  return {
    id: standard.id,
    name: standard.name,
    subject: standard.subject,
    description: standard.description,
    source: standard.source,
    groupings: [...GROUPINGS[standard.subject]],
    filters: [...FILTERS[standard.subject]],
    versions: standard.versions,
  };
}

/** Calls-standard rows carry band counts as a list; CSV names each band by its bounds. */
function bandColumns(bandsSeconds: number[], bands: number[]): Record<string, number> {
  const columns: Record<string, number> = {};
  bands.forEach((count, index) => {
    const low = bandsSeconds[index - 1];
    const high = bandsSeconds[index];
    const name =
      low === undefined
        ? `under_${high}s`
        : high === undefined
          ? `${low}s_and_over`
          : `${low}s_to_under_${high}s`;
    columns[name] = count;
  });
  return columns;
}

interface RequestContext {
  reader?: Reader;
  /** The agencies the request reads, once the key's scope allowed them. */
  agencies?: string[];
  /** The agencies asked for that the key may not read (a 403). */
  refused?: string[];
  rows?: number;
  format?: 'json' | 'csv';
}

/**
 * The query API's HTTP application, without listening: tests drive it with `inject()`, main.ts
 * listens. ClickHouse is reached only through `deps.clickhouse`, which should be read-only.
 */
export async function buildApp(deps: QueryApiDeps): Promise<FastifyInstance> {
  const { config, clickhouse, standards } = deps;
  const registry = createMetricsRegistry(SERVICE_NAME);
  const readKeys = new ReadKeys(configuredReaders(config));
  const schemas = querySchemas(standards, config.QUERY_API_MAX_PERIOD_DAYS);
  const contexts = new WeakMap<FastifyRequest, RequestContext>();

  const app = Fastify({
    // HTTPS when the service has a certificate of its own (HTTPS_CERT_FILE, HTTPS_KEY_FILE).
    ...(httpsServerOptions(config) as object),
    loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // One line per /v1 request (below), with the reader's key id; probes and docs are not logged.
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<ZodTypeProvider>();
  const refusePlainHttp = refusePlainHttpHook(config);
  if (refusePlainHttp) app.addHook('onRequest', refusePlainHttp);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.setErrorHandler((error, request, reply) => {
    const { status, body, headers } = describeError(error);
    if (status === 503)
      request.log.warn({ reason: (error as Error).message }, 'ClickHouse unavailable');
    else if (status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(status).headers(headers).type('application/json').send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: 'not_found',
      message: `no route ${request.method} ${request.url.split('?')[0]}`,
    }),
  );

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Bluelight query API',
        version: '1.0.0',
        description:
          'Read-only figures from ClickHouse: response standards, KPIs, incidents with their response segments and the annual report, as JSON or (Accept: text/csv) CSV. See docs/query-api.md.',
      },
      // No document-wide security: each /v1 route states its own, and the probes, /metrics and
      // /docs need no key (a document-wide one would mark them as needing one).
      components: { securitySchemes: API_KEY_SECURITY_SCHEMES },
    },
    transform: createJsonSchemaTransform({ skipList: [] }),
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  await app.register(observability, {
    registry,
    readiness: deps.readiness ?? [],
    isShuttingDown: deps.isShuttingDown,
  });

  async function authenticate(request: FastifyRequest) {
    const context: RequestContext = {};
    contexts.set(request, context);
    if (readKeys.size === 0) {
      throw new ApiError(
        401,
        'unauthenticated',
        'no API keys are configured: set QUERY_API_KEYS_FILE or QUERY_API_KEYS (entries { "id", "key_sha256", "agencies" }; `npx bluelight query-key --id <reader> --agencies <codes>` makes one) and restart the query API',
      );
    }
    const key = presentedKey(request.headers);
    if (key === undefined) {
      throw new ApiError(
        401,
        'unauthenticated',
        'no API key: send it as Authorization: Bearer <key> or X-API-Key: <key>',
      );
    }
    const reader = readKeys.identify(key);
    if (!reader) throw new ApiError(401, 'unauthenticated', 'the API key is not recognised');
    context.reader = reader;
  }

  const limiter = new TokenBucketLimiter({
    perSecond: config.QUERY_API_RATE_LIMIT_PER_SECOND,
    burst: config.QUERY_API_RATE_LIMIT_BURST,
  });

  /** After authenticate: one token per request from the reader's bucket, else 429. */
  async function limitRate(request: FastifyRequest) {
    const reader = contexts.get(request)?.reader;
    if (!reader) return;
    const decision = limiter.take(reader.id);
    if (decision.allowed) return;
    throw new ApiError(
      429,
      'rate_limited',
      `key "${reader.id}" may make ${config.QUERY_API_RATE_LIMIT_PER_SECOND} requests a second (bursts of ${config.QUERY_API_RATE_LIMIT_BURST}); retry after ${decision.retryAfterSeconds} s`,
      undefined,
      { 'retry-after': String(decision.retryAfterSeconds) },
    );
  }

  /**
   * Before a data endpoint's handler (its parameters already checked): the agencies it reads,
   * from `agency` and the key's scope. A 403 is decided from the key alone, before any query, so
   * it says nothing about whether the agency has data.
   */
  async function scopeAgencies(request: FastifyRequest) {
    const context = contexts.get(request);
    const reader = context?.reader;
    if (!context || !reader) throw new Error('scopeAgencies runs after authenticate');
    const { agency } = request.query as { agency?: string[] };
    const decision = decideAgencies(reader, agency);
    if (decision.outcome === 'unspecified') {
      throw new ApiError(400, 'bad_request', `agency: ${decision.message}`, [
        { parameter: 'agency', message: decision.message },
      ]);
    }
    if (decision.outcome === 'forbidden') {
      context.refused = decision.agencies;
      throw new ApiError(403, 'forbidden_agency', decision.message);
    }
    context.agencies = decision.agencies;
  }

  /** The agencies `scopeAgencies` allowed this request. */
  function agenciesOf(request: FastifyRequest): string[] {
    const agencies = contexts.get(request)?.agencies;
    if (!agencies) throw new Error('a data endpoint without scopeAgencies');
    return agencies;
  }

  async function logRequest(request: FastifyRequest, reply: FastifyReply) {
    const context = contexts.get(request);
    const level = reply.statusCode >= 500 ? 'warn' : 'info';
    request.log[level](
      {
        key_id: context?.reader?.id,
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

  /** Sends records as CSV or a body as JSON, as the request's Accept header asks. */
  function answer(
    request: FastifyRequest,
    reply: FastifyReply,
    name: string,
    body: unknown,
    csv: () => { records: Record<string, unknown>[]; columns?: string[] },
  ) {
    const context = contexts.get(request);
    if (wantsCsv(request.headers.accept)) {
      const { records, columns } = csv();
      if (context) {
        context.format = 'csv';
        context.rows = records.length;
      }
      return reply
        .code(200)
        .header('content-type', CSV_TYPE)
        .header('content-disposition', `inline; filename="${name}.csv"`)
        .send(toCsv(records, columns));
    }
    if (context) context.format = 'json';
    return reply.code(200).type('application/json').send(body);
  }

  const v1 = { onRequest: [authenticate, limitRate], onResponse: logRequest };
  /** Every endpoint that reads agencies' rows: scoped to the agencies the key may read. */
  const data = { ...v1, preHandler: scopeAgencies };
  const security: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }];

  app.get(
    '/v1/standards',
    {
      ...v1,
      schema: {
        summary: 'Every response standard the API computes',
        description:
          'Each standard with its versions (effective dates, scope, clock, statistic, exclusions, minimum sample) and the groupings and filters /v1/kpis takes for it. CSV: one line per version.',
        tags: ['standards'],
        security,
        querystring: schemas.none,
        response: {
          200: jsonOrCsv(z.object({ standards: z.array(standardSchema) }), 'The standards.'),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const described = standards.map(describeStandard);
      return answer(request, reply, 'standards', { standards: described }, () => ({
        records: described.flatMap(({ versions, groupings, filters, ...standard }) =>
          (versions as Record<string, unknown>[]).map((version) => ({
            ...standard,
            groupings,
            filters,
            ...version,
          })),
        ),
      }));
    },
  );

  app.get(
    '/v1/kpis',
    {
      ...data,
      schema: {
        summary: 'Compute a standard over a period',
        description:
          'The standard over London days from..to (inclusive) from the rows of the agencies asked for (together; groupBy=agency to split them), with the version(s) in force on each day, optionally grouped and filtered. CSV: one line per row (group).',
        tags: ['kpis'],
        security,
        querystring: schemas.kpis,
        response: {
          200: jsonOrCsv(kpiResponse, 'The figure, one row per group.'),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const {
        standard,
        from,
        to,
        groupBy,
        agency: _agency,
        ...rest
      } = request.query as z.output<typeof schemas.kpis>;
      const filters: Record<string, string[]> = {};
      for (const [name, values] of Object.entries(rest)) {
        if (values !== undefined) filters[name] = values as string[];
      }
      const result = await computeKpi(clickhouse, standards, {
        standard,
        agencies: agenciesOf(request),
        from,
        to,
        ...(groupBy !== undefined ? { groupBy } : {}),
        filters,
      });
      return answer(request, reply, 'kpis', result, () => ({
        records: result.rows.map((row) => {
          const { bands, ...others } = row as Record<string, unknown> & { bands?: number[] };
          return {
            standard: result.standard.id,
            agencies: result.agencies,
            from: result.period.from,
            to: result.period.to,
            groupBy: result.groupBy,
            ...others,
            ...(bands !== undefined && 'bandsSeconds' in result
              ? { bands: bandColumns(result.bandsSeconds, bands) }
              : {}),
          };
        }),
      }));
    },
  );

  app.get(
    '/v1/incidents',
    {
      ...data,
      schema: {
        summary: 'Search incidents',
        description:
          'Incidents of the agencies asked for whose London day is in from..to (inclusive), filtered, ordered by call time then id, a page at a time, with their times and response segments in seconds. CSV: one line per incident; the next cursor is in the X-Next-Cursor header.',
        tags: ['incidents'],
        security,
        querystring: schemas.incidents,
        response: {
          200: jsonOrCsv(incidentsResponse, 'A page of incidents.'),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const query = request.query as z.output<typeof schemas.incidents>;
      const filters: Partial<Record<(typeof INCIDENT_SEARCH_FILTERS)[number], string[]>> = {};
      for (const name of INCIDENT_SEARCH_FILTERS) {
        const values = query[name];
        if (values !== undefined) filters[name] = values;
      }
      const agencies = agenciesOf(request);
      const page = await searchIncidents(clickhouse, {
        agencies,
        from: query.from,
        to: query.to,
        filters,
        ...(query.q !== undefined ? { q: query.q } : {}),
        ...(query.limit !== undefined ? { limit: query.limit } : {}),
        ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
      });
      if (page.next_cursor) reply.header('x-next-cursor', page.next_cursor);
      const body = {
        period: { from: query.from, to: query.to },
        agencies,
        limit: query.limit ?? 100,
        incidents: page.incidents,
        next_cursor: page.next_cursor,
      };
      return answer(request, reply, 'incidents', body, () => ({
        records: page.incidents,
        columns: INCIDENT_CSV_COLUMNS,
      }));
    },
  );

  app.get(
    '/v1/reports/annual',
    {
      ...data,
      schema: {
        summary: 'The annual report',
        description:
          'The annual report’s figures of the agencies asked for (together) for London days from..to (inclusive), each from the standard that defines it, and with comparePrevious=true the previous period of the same length beside them. CSV: the report’s table lines.',
        tags: ['reports'],
        security,
        querystring: schemas.report,
        response: { 200: jsonOrCsv(reportResponse, 'The report.'), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { from, to, comparePrevious } = request.query as z.output<typeof schemas.report>;
      const report = await annualReport(clickhouse, standards, { from, to }, agenciesOf(request), {
        comparePrevious,
      });
      const lines = reportLines(report);
      return answer(request, reply, 'annual-report', { ...report, lines }, () => ({
        records: lines as unknown as Record<string, unknown>[],
        columns: ['key', 'label', 'unit', 'value', 'previous', 'target'],
      }));
    },
  );

  if (readKeys.size === 0) {
    deps.logger.warn(
      'no API keys configured (QUERY_API_KEYS_FILE, QUERY_API_KEYS): every /v1 request will be refused with 401',
    );
  }
  return app;
}
