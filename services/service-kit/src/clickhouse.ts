import {
  type ClickHouseClient,
  ClickHouseLogLevel,
  type ClickHouseSettings,
  createClient,
} from '@clickhouse/client';

import type { ClickHouseEnvConfig } from './config.js';

export type { ClickHouseClient } from '@clickhouse/client';
export { ClickHouseError } from '@clickhouse/client';

export interface ClickHouseSettingsInput {
  url: string;
  username?: string;
  password?: string;
  database?: string;
  /** Name sent with every query so `system.query_log` shows which service asked. */
  application: string;
  requestTimeoutMs?: number;
  settings?: ClickHouseSettings;
  /** PEM CA bundle the server's certificate is checked against (an https:// URL). */
  caCertificate?: string;
}

/** Where ClickHouse is and who to be there, from the validated configuration. */
export function clickhouseConnectionFrom(
  config: ClickHouseEnvConfig,
): Pick<ClickHouseSettingsInput, 'url' | 'username' | 'password' | 'database' | 'caCertificate'> {
  return {
    url: config.CLICKHOUSE_URL,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    database: config.CLICKHOUSE_DATABASE,
    caCertificate: config.CLICKHOUSE_CA_FILE,
  };
}

/**
 * A ClickHouse client configured the Bluelight way: timestamps read and written in UTC, and the
 * server waits for the end of the query before answering, so an HTTP 200 means the query
 * succeeded (otherwise an error may arrive after the status line).
 */
export function createClickHouse(input: ClickHouseSettingsInput): ClickHouseClient {
  return createClient({
    url: input.url,
    username: input.username ?? 'default',
    password: input.password ?? '',
    database: input.database ?? 'default',
    application: input.application,
    request_timeout: input.requestTimeoutMs ?? 60_000,
    ...(input.caCertificate ? { tls: { ca_cert: Buffer.from(input.caCertificate) } } : {}),
    // The client would print every failed request to stderr; callers get the error and log it
    // in their own structured logs instead.
    log: { level: ClickHouseLogLevel.OFF },
    clickhouse_settings: {
      wait_end_of_query: 1,
      date_time_input_format: 'best_effort',
      // Counts come back as JSON numbers, whatever the server's default (it changed across
      // releases); Bluelight's counts never approach 2^53.
      output_format_json_quote_64bit_integers: 0,
      ...input.settings,
    },
  });
}
