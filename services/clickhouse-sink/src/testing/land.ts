import { type BluelightEvent, partitionKey, topicFor } from '@bluelight/schemas';
import type { ClickHouseClient, ConsumedBatch } from '@bluelight/service-kit';
import { FAMILIES, type Family } from '../families.js';
import { decodeBatch, processBatches } from '../processor.js';
import { testBatchContext } from './batch-context.js';

export * from './appliance-reference.js';
export * from './fact-events.js';

/** Offsets never repeat across calls, so each landing has insert tokens of its own. */
let nextOffset = 0;

/**
 * Writes events to ClickHouse the way the sink does — decoded, validated, anchored, inserted
 * into the raw tables (the views keep the facts) and revised entities recomputed — without
 * Kafka: each family's events become one batch of one partition, in the order given. For tests
 * whose subject is what reads the facts. Throws if any event breaks the contract.
 */
export async function landEvents(client: ClickHouseClient, events: object[]): Promise<void> {
  const byFamily = new Map<Family, object[]>();
  for (const event of events) {
    const family = FAMILIES[topicFor((event as BluelightEvent).event_type).family];
    const own = byFamily.get(family);
    if (own) own.push(event);
    else byFamily.set(family, [event]);
  }
  for (const [family, own] of byFamily) {
    const firstOffset = nextOffset;
    nextOffset += own.length;
    const batch: ConsumedBatch = {
      topic: family.topic.name,
      partition: 0,
      highWatermark: String(nextOffset),
      heartbeat: async () => {},
      messages: own.map((event, index) => ({
        topic: family.topic.name,
        partition: 0,
        offset: String(firstOffset + index),
        key: Buffer.from(partitionKey(event as BluelightEvent)),
        value: Buffer.from(JSON.stringify(event)),
        headers: {},
        timestamp: '0',
      })),
    };
    const { rejections } = decodeBatch(batch.messages, family, new Date());
    if (rejections.length > 0) {
      throw new Error(
        `fixture events break the contract: ${rejections.map((rejection) => rejection.reason).join('; ')}`,
      );
    }
    await processBatches([batch], await testBatchContext(client, family));
  }
}
