import { earliestEventTimeSetting } from '@bluelight/schemas';
import { envField, platformEnv } from '@bluelight/service-kit';
import { z } from 'zod';

// No default here: an unset variable takes the profile's value (sinkBatching).
const optionalPositiveInt = z.coerce.number().int().positive().optional();

export const sinkConfigSchema = z.object({
  ...platformEnv,
  SINK_PORT: envField.port(9464),
  /** The address to listen on: this machine only by default; 0.0.0.0 in containers. */
  BIND_HOST: envField.bindHost(),
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
  /** Batching defaults: `live` (flush within ~250 ms) or `backfill` (fewer, larger batches). */
  SINK_PROFILE: z.enum(['live', 'backfill']).default('live'),
  /** Rows per INSERT (default from SINK_PROFILE); only splits very large partition batches. */
  SINK_MAX_ROWS_PER_INSERT: optionalPositiveInt,
  /**
   * ClickHouse partitions one INSERT may write in any table (raw or a view's target); the server
   * refuses more (max_partitions_per_insert_block, 100 by default), so keep this at or below it.
   */
  SINK_MAX_PARTITIONS_PER_INSERT: z.coerce.number().int().min(1).max(10_000).default(100),
  /** How long the broker may wait to fill a fetch (default from SINK_PROFILE). */
  SINK_FETCH_MAX_WAIT_MS: optionalPositiveInt,
  /**
   * Read-ahead per family: batches fetched and handed over but not yet committed. While one unit
   * is being written the next batches are fetched and gathered into the next unit (those that
   * arrive together share one refresh of the derived facts).
   */
  SINK_BATCHES_IN_FLIGHT: envField.positiveInt(24),
  /** Bytes per partition per fetch (default from SINK_PROFILE). */
  SINK_FETCH_MAX_BYTES_PER_PARTITION: optionalPositiveInt,
  SINK_RETRY_INITIAL_MS: envField.positiveInt(200),
  SINK_RETRY_MAX_MS: envField.positiveInt(10_000),
  /** /healthz fails when the consumer loop showed no life for this long. */
  SINK_STALL_TIMEOUT_MS: envField.positiveInt(120_000),
  DLQ_MAX_CONSECUTIVE: envField.positiveInt(1_000),
  DLQ_MAX_RATIO: z.coerce.number().gt(0).max(1).default(0.5),
  DLQ_WINDOW: envField.positiveInt(1_000),
  /** Events dated before this are dead-lettered as contract errors (see docs/events.md). */
  EARLIEST_EVENT_TIME: earliestEventTimeSetting,
  /** Prepended to every topic name, to keep environments (or tests) apart on one cluster. */
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, . _ - only')
    .default(''),
  /** Replication factor for topics the sink creates if missing (-1: the broker's default). */
  KAFKA_TOPIC_REPLICATION_FACTOR: z.coerce.number().int().min(-1).default(-1),
});

export type SinkConfig = z.infer<typeof sinkConfigSchema>;

type SinkProfile = SinkConfig['SINK_PROFILE'];

export interface SinkBatching {
  profile: SinkProfile;
  fetchMaxWaitMs: number;
  fetchMaxBytesPerPartition: number;
  maxRowsPerInsert: number;
}

/**
 * Defaults per profile. Live: the broker answers as soon as there is data, or after 250 ms, so
 * events are written within ~250–500 ms. Back-fill: one partition may fill a whole fetch
 * (KafkaJS caps a fetch at 10 MiB) and an insert is never split below that, so a lagging topic
 * is written in fewer, larger inserts; the longer wait only matters once caught up.
 */
export const SINK_PROFILES: Record<SinkProfile, Omit<SinkBatching, 'profile'>> = {
  live: {
    fetchMaxWaitMs: 250,
    fetchMaxBytesPerPartition: 5 * 1024 * 1024,
    maxRowsPerInsert: 100_000,
  },
  backfill: {
    fetchMaxWaitMs: 1_000,
    fetchMaxBytesPerPartition: 10 * 1024 * 1024,
    maxRowsPerInsert: 500_000,
  },
};

/** The batching settings in effect: the profile's defaults, overridden by explicit variables. */
export function sinkBatching(config: SinkConfig): SinkBatching {
  const defaults = SINK_PROFILES[config.SINK_PROFILE];
  return {
    profile: config.SINK_PROFILE,
    fetchMaxWaitMs: config.SINK_FETCH_MAX_WAIT_MS ?? defaults.fetchMaxWaitMs,
    fetchMaxBytesPerPartition:
      config.SINK_FETCH_MAX_BYTES_PER_PARTITION ?? defaults.fetchMaxBytesPerPartition,
    maxRowsPerInsert: config.SINK_MAX_ROWS_PER_INSERT ?? defaults.maxRowsPerInsert,
  };
}
