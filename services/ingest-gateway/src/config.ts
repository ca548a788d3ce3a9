import { earliestEventTimeSetting } from '@bluelight/schemas';
import { envField, httpsEnv, platformEnv, reportRepeatedKeyHolders } from '@bluelight/service-kit';
import { z } from 'zod';
import { type SenderKeyEntry, senderKeyList } from './api-keys.js';

/** Inline JSON: a list of sender keys `{ id, key_sha256, agencies, sources }`. */
const inlineSenderKeys = envField.json(senderKeyList);

/** A JSON file holding the same list, read once at start-up. */
const senderKeysFile = envField.jsonFile(senderKeyList);

export const gatewayConfigSchema = z
  .object({
    ...platformEnv,
    GATEWAY_PORT: envField.port(8088),
    /** HTTPS in the service (certificate and key files), or refuse plain HTTP from elsewhere. */
    ...httpsEnv,
    /** The address to listen on: this machine only by default; 0.0.0.0 in containers. */
    BIND_HOST: envField.bindHost(),
    /** Events per request (JSON array items or NDJSON lines). */
    GATEWAY_MAX_EVENTS: envField.positiveInt(5_000),
    /** Bytes per request body. */
    GATEWAY_MAX_BYTES: envField.positiveInt(5 * 1024 * 1024),
    GATEWAY_API_KEYS_FILE: senderKeysFile,
    GATEWAY_API_KEYS: inlineSenderKeys,
    /** Per key: a token bucket refilled at this many events a second … */
    GATEWAY_RATE_LIMIT_EVENTS_PER_SECOND: envField.positiveInt(1_000),
    /** … holding at most this many (a burst; at least GATEWAY_MAX_EVENTS, or a full request could never pass). */
    GATEWAY_RATE_LIMIT_BURST: envField.positiveInt(10_000),
    /** How long an accepted event id is remembered, so a retry does not produce it again. */
    GATEWAY_DEDUP_WINDOW_SECONDS: envField.positiveInt(600),
    /** At most this many ids are remembered (the oldest go first); about 100 bytes each. */
    GATEWAY_DEDUP_MAX_IDS: envField.positiveInt(1_000_000),
    /** A send Kafka has not acknowledged by then is answered 503, so a dead broker fails fast. */
    GATEWAY_PRODUCE_TIMEOUT_MS: envField.positiveInt(10_000),
    /** Events dated before this are refused, naming the field (see docs/events.md). */
    EARLIEST_EVENT_TIME: earliestEventTimeSetting,
    /** Prepended to every topic name, to keep environments (or tests) apart on one cluster. */
    KAFKA_TOPIC_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, . _ - only')
      .default(''),
    /** Replication factor for topics the gateway creates if missing (-1: the broker's default). */
    KAFKA_TOPIC_REPLICATION_FACTOR: z.coerce.number().int().min(-1).default(-1),
  })
  .superRefine((config, context) => {
    if (config.GATEWAY_RATE_LIMIT_BURST < config.GATEWAY_MAX_EVENTS) {
      context.addIssue({
        code: 'custom',
        path: ['GATEWAY_RATE_LIMIT_BURST'],
        message: `must be at least GATEWAY_MAX_EVENTS (${config.GATEWAY_MAX_EVENTS}), or a full request could never pass`,
      });
    }
    reportRepeatedKeyHolders(context, 'sender', [
      ['GATEWAY_API_KEYS_FILE', config.GATEWAY_API_KEYS_FILE],
      ['GATEWAY_API_KEYS', config.GATEWAY_API_KEYS],
    ]);
  });

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

/** Every sender key from the keys file and the inline variable together. */
export function configuredSenderKeys(config: GatewayConfig): SenderKeyEntry[] {
  return [...(config.GATEWAY_API_KEYS_FILE ?? []), ...(config.GATEWAY_API_KEYS ?? [])];
}
