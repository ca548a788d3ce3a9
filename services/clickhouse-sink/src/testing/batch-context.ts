import {
  type ClickHouseClient,
  createMetricsRegistry,
  type EventProducer,
} from '@bluelight/service-kit';
import { DeadLetterGuard } from '../dead-letters.js';
import { EntityDirectory } from '../entities.js';
import type { Family } from '../families.js';
import { createSinkMetrics } from '../metrics.js';
import type { BatchContext } from '../processor.js';
import { FactRevisions } from '../revisions.js';

/**
 * A BatchContext for calling processBatches directly against a migrated database: the family's
 * entity directory and recompute prepared as the sink prepares them, no retries, a producer that
 * accepts every dead letter.
 */
export async function testBatchContext(
  client: ClickHouseClient,
  family: Family,
  overrides: Partial<BatchContext> = {},
): Promise<BatchContext> {
  return {
    family,
    clickhouse: client,
    producer: { send: async () => [] } as unknown as EventProducer,
    guard: new DeadLetterGuard({ maxConsecutive: 1_000, maxRatio: 1, window: 1_000 }),
    metrics: createSinkMetrics(createMetricsRegistry('test')),
    service: 'clickhouse-sink',
    entities: new EntityDirectory(family.name),
    revisions: await FactRevisions.prepare(client, family.revisions),
    limits: { maxRows: 100_000, maxPartitions: 100 },
    retry: (_step, work) => work(),
    ...overrides,
  };
}
