import { landEvents } from '@bluelight/clickhouse-sink/testing/events';
import { loadConfig } from '@bluelight/service-kit';
import { loadStandards, type StandardDefinition } from '@bluelight/standards';
import { migratedDatabase, testEndpoints, testLogger } from '@bluelight/test/harness';
import { queryApiConfigSchema } from '../config.js';
import { createReadOnlyClickHouse, startQueryApiService } from '../service.js';
import { recordingClickHouse } from './clickhouse.js';
import { callEvents, incidentEvents, statusEvents } from './facts.js';
import { TEST_KEYS, type TestKey, testReaders } from './keys.js';

/**
 * A database of the test's own holding the hand-built facts, and a query API over it run
 * in-process (requests through `app.inject()`) with its real read-only ClickHouse client,
 * wrapped so every query it sends is recorded.
 */
export async function startTestQueryApi(
  prefix: string,
  options: {
    standards?: StandardDefinition[] /** Instead of the hand-built facts. */;
    events?: object[];
  } = {},
) {
  const db = await migratedDatabase(prefix);
  await landEvents(
    db.client,
    options.events ?? [...incidentEvents(), ...callEvents(), ...statusEvents()],
  );
  const endpoints = testEndpoints();
  const config = loadConfig(queryApiConfigSchema, {
    CLICKHOUSE_URL: endpoints.clickhouseUrl,
    CLICKHOUSE_USER: endpoints.clickhouseUser,
    CLICKHOUSE_PASSWORD: endpoints.clickhousePassword,
    CLICKHOUSE_DATABASE: db.database,
    QUERY_API_KEYS: JSON.stringify(testReaders()),
    // These tests send hundreds of requests with one key at once; the limit has its own tests.
    QUERY_API_RATE_LIMIT_PER_SECOND: '100000',
    QUERY_API_RATE_LIMIT_BURST: '100000',
  });
  const readOnly = createReadOnlyClickHouse(config);
  const { client, sent } = recordingClickHouse(readOnly);
  const service = await startQueryApiService(
    config,
    options.standards ?? loadStandards(),
    testLogger('query-api'),
    { listen: false, clickhouse: client },
  );
  /** A GET with a test key (by default Staffordshire fire's alone, `dashboards`). */
  const get = (url: string, headers: Record<string, string> = {}, key: TestKey = 'dashboards') =>
    service.app.inject({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${TEST_KEYS[key]}`, ...headers },
    });
  return {
    db,
    app: service.app,
    /** The API's own (read-only) client, unwrapped. */
    readOnly,
    sent,
    get,
    cleanup: async () => {
      await service.stop();
      await db.drop();
    },
  };
}
