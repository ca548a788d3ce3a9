import {
  bearerAuthentication,
  type ClickHouseClient,
  ClickHouseError,
  createHttpApp,
  createMetricsRegistry,
  type ErrorAnswer,
  type HttpApp,
  type Logger,
  type ReadinessCheck,
  TokenBucketLimiter,
} from '@bluelight/service-kit';
import {
  DataQualityRequestError,
  KpiRequestError,
  type StandardDefinition,
} from '@bluelight/standards';
import { ReadKeys } from './api-keys.js';
import { configuredReaders, type QueryApiConfig } from './config.js';
import { querySchemas } from './params.js';
import { createV1Hooks, type V1RouteOptions } from './routes/common.js';
import { dataQualityRoute } from './routes/data-quality.js';
import { incidentsRoute } from './routes/incidents.js';
import { kpisRoute } from './routes/kpis.js';
import { operationsRoute } from './routes/operations.js';
import { reportsRoute } from './routes/reports.js';
import { standardsRoute } from './routes/standards.js';

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

/** Errors of the connection to ClickHouse (refused, reset, timed out), as opposed to bugs. */
function isClickHouseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error) || error instanceof ClickHouseError) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^(ECONN|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND|UND_ERR)/.test(code))
    return true;
  return /timeout|socket hang up/i.test(error.message);
}

/** The query API's own errors: a standard's bad request, and ClickHouse not answering. */
function describeQueryError(error: unknown): ErrorAnswer | undefined {
  if (
    (error instanceof KpiRequestError && error.parameter !== 'standards') ||
    error instanceof DataQualityRequestError
  ) {
    const message = error.message.replace(`${error.parameter}: `, '');
    return {
      status: 400,
      body: {
        error: 'bad_request',
        message: error.message,
        problems: [{ parameter: error.parameter, message }],
      },
    };
  }
  if (error instanceof KpiRequestError) {
    // The report needs standards this deployment did not load (STANDARDS_DIR): not the caller's fault.
    return { status: 500, body: { error: 'standards_missing', message: error.message } };
  }
  if (isClickHouseUnavailable(error)) {
    return {
      status: 503,
      body: {
        error: 'clickhouse_unavailable',
        message: 'ClickHouse did not answer; try again shortly',
      },
      headers: { 'retry-after': String(CLICKHOUSE_RETRY_AFTER_SECONDS) },
      warn: { message: 'ClickHouse unavailable', fields: { reason: (error as Error).message } },
    };
  }
  return undefined;
}

/**
 * The query API's HTTP application, without listening: tests drive it with `inject()`, main.ts
 * listens. ClickHouse is reached only through `deps.clickhouse`, which should be read-only.
 */
export async function buildApp(deps: QueryApiDeps): Promise<HttpApp> {
  const { config, clickhouse, standards } = deps;
  const readKeys = new ReadKeys(configuredReaders(config));

  const app = await createHttpApp({
    config,
    logger: deps.logger,
    observability: {
      registry: createMetricsRegistry(SERVICE_NAME),
      readiness: deps.readiness ?? [],
      ...(deps.isShuttingDown ? { isShuttingDown: deps.isShuttingDown } : {}),
    },
    openapi: {
      title: 'Bluelight query API',
      description:
        'Read-only figures from ClickHouse: response standards, KPIs, incidents with their response segments and the annual report, as JSON or (Accept: text/csv) CSV. See docs/query-api.md.',
    },
    describeError: describeQueryError,
  });

  const routeOptions: V1RouteOptions = {
    standards,
    clickhouse,
    schemas: querySchemas(standards, config.QUERY_API_MAX_PERIOD_DAYS),
    v1: createV1Hooks({
      config,
      authentication: bearerAuthentication({
        identify: (key) => readKeys.identify(key),
        unconfigured: () =>
          readKeys.size === 0
            ? 'no API keys are configured: set QUERY_API_KEYS_FILE or QUERY_API_KEYS (entries { "id", "key_sha256", "agencies" }; `npx bluelight query-key --id <reader> --agencies <codes>` makes one) and restart the query API'
            : undefined,
      }),
      limiter: new TokenBucketLimiter({
        perSecond: config.QUERY_API_RATE_LIMIT_PER_SECOND,
        burst: config.QUERY_API_RATE_LIMIT_BURST,
      }),
    }),
  };
  await app.register(standardsRoute, routeOptions);
  await app.register(kpisRoute, routeOptions);
  await app.register(incidentsRoute, routeOptions);
  await app.register(reportsRoute, routeOptions);
  await app.register(operationsRoute, routeOptions);
  await app.register(dataQualityRoute, routeOptions);

  if (readKeys.size === 0) {
    deps.logger.warn(
      'no API keys configured (QUERY_API_KEYS_FILE, QUERY_API_KEYS): every /v1 request will be refused with 401',
    );
  }
  return app;
}
