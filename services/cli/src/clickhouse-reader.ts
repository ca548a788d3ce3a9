import { LocalStack, StackConfigurationError } from '@bluelight/local-stack';
import {
  type ClickHouseClient,
  createClickHouse,
  platformConfigSchema,
  platformEnv,
} from '@bluelight/service-kit';
import { ExitCode, loadCommandConfig, UserFacingError } from './exit-codes.js';
import { MAIN_JOB_DATABASE } from './main-job.js';

/** Where the figures are read: as `bluelight report` reads (the main job's database by default). */
const clickhouseConfigSchema = platformConfigSchema
  .pick({ CLICKHOUSE_USER: true, CLICKHOUSE_PASSWORD: true, CLICKHOUSE_CA_FILE: true })
  .extend({
    CLICKHOUSE_URL: platformEnv.CLICKHOUSE_URL.unwrap().optional(),
    CLICKHOUSE_DATABASE: platformEnv.CLICKHOUSE_DATABASE.unwrap().default(MAIN_JOB_DATABASE),
  });

/**
 * A read-only ClickHouse client for a command that reads the figures: CLICKHOUSE_URL, or else the
 * local stack `stack`'s ClickHouse; database CLICKHOUSE_DATABASE (default the main job's). `where`
 * says which, for error messages.
 */
export async function connectReader(
  stack: string,
  application: string,
  /**
   * `1` (default): reads only, no settings either. `2`: reads only, but a query may set its own
   * settings (as the Grafana plugin's queries do, which the dashboard previews run).
   */
  readonly: '1' | '2' = '1',
): Promise<{
  client: ClickHouseClient;
  /** Which ClickHouse and database, for messages. */
  where: string;
  url: string;
  database: string;
  /** Where the URL came from: `CLICKHOUSE_URL`, or the local stack's (it was not set). */
  source: string;
}> {
  const config = loadCommandConfig(clickhouseConfigSchema);
  let url = config.CLICKHOUSE_URL;
  let source = 'CLICKHOUSE_URL';
  if (url === undefined) {
    try {
      url = (await LocalStack.open({ name: stack })).clickhouseUrl;
    } catch (error) {
      if (error instanceof StackConfigurationError) {
        throw new UserFacingError(`--stack: ${error.message}`, ExitCode.usage);
      }
      throw error;
    }
    source = `the local stack "${stack}" (CLICKHOUSE_URL is not set)`;
  }
  const where = url === config.CLICKHOUSE_URL ? `ClickHouse at ${url}` : `${source} at ${url}`;
  const client = createClickHouse({
    url,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    database: config.CLICKHOUSE_DATABASE,
    caCertificate: config.CLICKHOUSE_CA_FILE,
    application,
    settings: { readonly },
  });
  const database = config.CLICKHOUSE_DATABASE;
  return { client, where: `${where}, database ${database}`, url, database, source };
}
