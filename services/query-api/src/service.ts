import {
  type ClickHouseClient,
  clickhouseConnectionFrom,
  createClickHouse,
  type Logger,
} from '@bluelight/service-kit';
import type { StandardDefinition } from '@bluelight/standards';
import type { FastifyInstance } from 'fastify';
import { buildApp, SERVICE_NAME } from './app.js';
import type { QueryApiConfig } from './config.js';

/**
 * The API's ClickHouse client: every query runs with the setting `readonly=1`, so the server
 * refuses anything but reading (INSERT, ALTER, DROP, CREATE, SET) whatever the SQL says.
 */
export function createReadOnlyClickHouse(config: QueryApiConfig): ClickHouseClient {
  return createClickHouse({
    ...clickhouseConnectionFrom(config),
    application: SERVICE_NAME,
    requestTimeoutMs: config.QUERY_API_QUERY_TIMEOUT_MS,
    settings: { readonly: '1' },
  });
}

export interface QueryApiService {
  app: FastifyInstance;
  /** Stops taking connections, lets the requests in hand finish, then closes the ClickHouse client. */
  stop: () => Promise<void>;
}

/**
 * Starts the HTTP server (unless `listen` is false: tests use `app.inject()`) over a read-only
 * ClickHouse client (or the one given, e.g. a test's recording wrapper).
 */
export async function startQueryApiService(
  config: QueryApiConfig,
  standards: StandardDefinition[],
  logger: Logger,
  options: { listen?: boolean; clickhouse?: ClickHouseClient } = {},
): Promise<QueryApiService> {
  const clickhouse = options.clickhouse ?? createReadOnlyClickHouse(config);
  let stopping = false;
  const app = await buildApp({
    config,
    clickhouse,
    standards,
    logger,
    isShuttingDown: () => stopping,
    readiness: [
      {
        name: 'clickhouse',
        check: async () => {
          const result = await clickhouse.ping();
          if (!result.success) throw result.error;
        },
      },
    ],
  });
  if (options.listen !== false)
    await app.listen({ port: config.QUERY_API_PORT, host: config.BIND_HOST });
  return {
    app,
    stop: async () => {
      stopping = true;
      await app.close();
      await clickhouse.close();
    },
  };
}
