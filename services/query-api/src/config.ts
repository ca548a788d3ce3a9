import { existsSync, statSync } from 'node:fs';
import { envField, httpsEnv, platformEnv, reportRepeatedKeyHolders } from '@bluelight/service-kit';
import { z } from 'zod';
import { type ReaderEntry, readerList } from './api-keys.js';

export const queryApiConfigSchema = z
  .object({
    ...platformEnv,
    QUERY_API_PORT: envField.port(8089),
    /** HTTPS in the service (certificate and key files), or refuse plain HTTP from elsewhere. */
    ...httpsEnv,
    /** The address to listen on: this machine only by default; 0.0.0.0 in containers. */
    BIND_HOST: envField.bindHost(),
    /** A JSON file of readers `[{ id, key_sha256, agencies }]`, read once at start-up. */
    QUERY_API_KEYS_FILE: envField.jsonFile(readerList),
    /** The same list inline. */
    QUERY_API_KEYS: envField.json(readerList),
    /** The longest period (in days, both ends counted) a KPI or report request may cover. */
    QUERY_API_MAX_PERIOD_DAYS: envField.positiveInt(3_700),
    /** Per read key: a token bucket refilled at this many requests a second … */
    QUERY_API_RATE_LIMIT_PER_SECOND: envField.positiveInt(10),
    /** … holding at most this many (a burst, e.g. a dashboard opening). */
    QUERY_API_RATE_LIMIT_BURST: envField.positiveInt(30),
    /** A ClickHouse query not answered by then fails the request (503). */
    QUERY_API_QUERY_TIMEOUT_MS: envField.positiveInt(60_000),
    /** A folder of standard YAML files to serve instead of the shipped ones. */
    STANDARDS_DIR: z
      .string()
      .refine((dir) => existsSync(dir) && statSync(dir).isDirectory(), 'must be a directory')
      .optional(),
    /** A folder of the user's own standards, layered over those (same id overrides, with a warning). */
    STANDARDS_USER_DIR: z
      .string()
      .refine((dir) => existsSync(dir) && statSync(dir).isDirectory(), 'must be a directory')
      .optional(),
  })
  .superRefine((config, context) => {
    reportRepeatedKeyHolders(context, 'reader', [
      ['QUERY_API_KEYS_FILE', config.QUERY_API_KEYS_FILE],
      ['QUERY_API_KEYS', config.QUERY_API_KEYS],
    ]);
  });

export type QueryApiConfig = z.infer<typeof queryApiConfigSchema>;

/** Every reader from the keys file and the inline variable together. */
export function configuredReaders(config: QueryApiConfig): ReaderEntry[] {
  return [...(config.QUERY_API_KEYS_FILE ?? []), ...(config.QUERY_API_KEYS ?? [])];
}
