import { envField, platformEnv } from '@bluelight/service-kit';
import { z } from 'zod';

export const sinkConfigSchema = z.object({
  ...platformEnv,
  SINK_PORT: envField.port(9464),
  SINK_GROUP_PREFIX: z.string().min(1).default('bluelight-sink'),
  SINK_FAMILIES: z
    .string()
    .default('calls,incidents,resources')
    .transform((value) =>
      value
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(['calls', 'incidents', 'resources'])).min(1)),
  /** Rows per INSERT; one fetch is one batch, so this only splits very large fetches. */
  SINK_MAX_ROWS_PER_INSERT: envField.positiveInt(100_000),
  /** How long the broker may wait to fill a fetch: the live flush interval. */
  SINK_FETCH_MAX_WAIT_MS: envField.positiveInt(250),
  /**
   * Partitions' batches handled at once; those that arrive together are written as one insert and
   * one refresh of the derived facts (fewer, larger queries: lower latency, higher throughput).
   */
  SINK_PARTITIONS_AT_ONCE: envField.positiveInt(12),
  /** Bytes per partition per fetch: raise for back-fills (larger batches, fewer inserts). */
  SINK_FETCH_MAX_BYTES_PER_PARTITION: envField.positiveInt(5 * 1024 * 1024),
  SINK_RETRY_INITIAL_MS: envField.positiveInt(200),
  SINK_RETRY_MAX_MS: envField.positiveInt(10_000),
  /** /healthz fails when the consumer loop showed no life for this long. */
  SINK_STALL_TIMEOUT_MS: envField.positiveInt(120_000),
  DLQ_MAX_CONSECUTIVE: envField.positiveInt(1_000),
  DLQ_MAX_RATIO: z.coerce.number().gt(0).max(1).default(0.5),
  DLQ_WINDOW: envField.positiveInt(1_000),
  /** Prepended to every topic name, to keep environments (or tests) apart on one cluster. */
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, . _ - only')
    .default(''),
  /** Replication factor for topics the sink creates if missing (-1: the broker's default). */
  KAFKA_TOPIC_REPLICATION_FACTOR: z.coerce.number().int().min(-1).default(-1),
});

export type SinkConfig = z.infer<typeof sinkConfigSchema>;
