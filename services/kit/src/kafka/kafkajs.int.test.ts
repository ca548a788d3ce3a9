import {
  canControlEngines,
  consumeMessages,
  kafkaFor,
  startPrivateStack,
  testEndpoints,
  uniqueName,
} from '@bluelight/test/harness';
import { afterEach, describe, expect, it } from 'vitest';
import type { KafkaAdmin, OutgoingMessage } from './types.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** Events for `entities` incidents, `perEntity` each, keyed by incident with a sequence number. */
function incidentEvents(entities: number, perEntity: number, firstSeq = 0): OutgoingMessage[] {
  const messages: OutgoingMessage[] = [];
  for (let seq = firstSeq; seq < firstSeq + perEntity; seq += 1) {
    for (let entity = 0; entity < entities; entity += 1) {
      const key = `INC-${String(entity).padStart(4, '0')}`;
      messages.push({ key, value: JSON.stringify({ incident: key, seq }) });
    }
  }
  return messages;
}

async function adminFor(brokers: string[]): Promise<KafkaAdmin> {
  const admin = kafkaFor(brokers).admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  return admin;
}

describe('Kafka through the service kit (real broker)', () => {
  it('delivers keyed events in order per key, and commits the group offsets', async () => {
    const { kafkaBrokers } = testEndpoints();
    const topic = uniqueName('kit_roundtrip');
    const group = uniqueName('kit_group');
    const admin = await adminFor(kafkaBrokers);
    await admin.ensureTopics([{ topic, partitions: 3, replicationFactor: 1 }]);
    cleanups.push(() => admin.deleteTopics([topic]));

    const producer = kafkaFor(kafkaBrokers).producer();
    await producer.connect();
    const sent = incidentEvents(40, 5);
    const records = await producer.send([{ topic, messages: sent }]);
    await producer.disconnect();
    expect(records.every((record) => record.topic === topic)).toBe(true);

    const received = await consumeMessages({
      brokers: kafkaBrokers,
      topic,
      count: sent.length,
      groupId: group,
    });
    expect(received).toHaveLength(200);

    const byKey = new Map<string, { partitions: Set<number>; seqs: number[] }>();
    for (const message of received) {
      const key = message.key?.toString() ?? '';
      const entry = byKey.get(key) ?? { partitions: new Set(), seqs: [] };
      entry.partitions.add(message.partition);
      entry.seqs.push(JSON.parse(message.value?.toString() ?? '{}').seq);
      byKey.set(key, entry);
    }
    expect(byKey.size).toBe(40);
    for (const { partitions, seqs } of byKey.values()) {
      expect(partitions.size).toBe(1);
      expect(seqs).toEqual([0, 1, 2, 3, 4]);
    }
    // Keys spread over more than one partition (murmur2 of 40 keys over 3 partitions).
    expect(new Set(received.map((message) => message.partition)).size).toBeGreaterThan(1);

    const committed = await admin.committedOffsets(group, topic);
    const perPartition = new Map<number, number>();
    for (const message of received) {
      perPartition.set(message.partition, (perPartition.get(message.partition) ?? 0) + 1);
    }
    expect(committed.map(({ partition, offset }) => [partition, Number(offset)])).toEqual(
      [0, 1, 2].map((partition) => [partition, perPartition.get(partition) ?? -1]),
    );
  });

  it('hands each message to the handler once when every batch succeeds', async () => {
    const { kafkaBrokers } = testEndpoints();
    const topic = uniqueName('kit_once');
    const admin = await adminFor(kafkaBrokers);
    await admin.ensureTopics([{ topic, partitions: 2, replicationFactor: 1 }]);
    cleanups.push(() => admin.deleteTopics([topic]));
    const producer = kafkaFor(kafkaBrokers).producer();
    await producer.connect();
    await producer.send([{ topic, messages: incidentEvents(20, 10) }]);
    await producer.disconnect();

    const consumer = kafkaFor(kafkaBrokers).consumer(uniqueName('kit_group'));
    await consumer.connect();
    await consumer.subscribe([topic]);
    const offsets: string[] = [];
    await consumer.run(async (batch) => {
      offsets.push(...batch.messages.map((message) => `${message.partition}/${message.offset}`));
    });
    // Long enough for several more fetch cycles: a batch fetched again would show up here.
    const deadline = Date.now() + 20_000;
    while (offsets.length < 200 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await consumer.disconnect();
    expect(offsets).toHaveLength(200);
    expect(new Set(offsets).size).toBe(200);
  });

  it('does not commit a batch whose handler failed, so it is delivered again', async () => {
    const { kafkaBrokers } = testEndpoints();
    const topic = uniqueName('kit_redeliver');
    const group = uniqueName('kit_group');
    const admin = await adminFor(kafkaBrokers);
    await admin.ensureTopics([{ topic, partitions: 1, replicationFactor: 1 }]);
    cleanups.push(() => admin.deleteTopics([topic]));
    const producer = kafkaFor(kafkaBrokers).producer();
    await producer.connect();
    await producer.send([{ topic, messages: incidentEvents(1, 10) }]);
    await producer.disconnect();

    const consumer = kafkaFor(kafkaBrokers).consumer(group);
    await consumer.connect();
    await consumer.subscribe([topic]);
    const attempts: string[][] = [];
    await new Promise<void>((resolve) => {
      void consumer.run(async (batch) => {
        attempts.push(batch.messages.map((message) => message.offset));
        if (attempts.length === 1)
          throw new Error('ClickHouse unavailable (simulated in the handler)');
        resolve();
      });
    });
    await consumer.disconnect();
    expect(attempts[0]?.[0]).toBe('0');
    // The retry starts again at offset 0: nothing of the failed batch was committed.
    expect(attempts[1]?.[0]).toBe('0');
    expect(await admin.committedOffsets(group, topic)).toEqual([
      { partition: 0, offset: String(attempts[1]?.length) },
    ]);
  });

  it.skipIf(!canControlEngines())(
    'keeps committed offsets across a broker restart: the group resumes where it stopped',
    async () => {
      const { stack, cleanup } = await startPrivateStack({ components: ['kafka'] });
      cleanups.push(cleanup);
      const brokers = stack.kafkaBrokers;
      const topic = uniqueName('kit_restart');
      const group = uniqueName('kit_group');
      const admin = kafkaFor(brokers).admin();
      await admin.connect();
      await admin.ensureTopics([{ topic, partitions: 2, replicationFactor: 1 }]);

      const producer = kafkaFor(brokers).producer();
      await producer.connect();
      await producer.send([{ topic, messages: incidentEvents(10, 10) }]);
      await producer.disconnect();
      expect(await consumeMessages({ brokers, topic, count: 100, groupId: group })).toHaveLength(
        100,
      );
      const before = await admin.committedOffsets(group, topic);
      await admin.disconnect();
      expect(before.reduce((sum, { offset }) => sum + Number(offset), 0)).toBe(100);

      await stack.stop('kafka-1');
      await stack.start('kafka-1');

      const adminAfter = kafkaFor(brokers).admin();
      await adminAfter.connect();
      expect(await adminAfter.committedOffsets(group, topic)).toEqual(before);
      await adminAfter.disconnect();

      const producerAfter = kafkaFor(brokers).producer();
      await producerAfter.connect();
      await producerAfter.send([{ topic, messages: incidentEvents(10, 3, 100) }]);
      await producerAfter.disconnect();
      const resumed = await consumeMessages({ brokers, topic, count: 30, groupId: group });
      // Only the 30 new events: none of the 100 committed before the restart come back.
      expect(resumed).toHaveLength(30);
      expect(
        resumed.every((message) => JSON.parse(message.value?.toString() ?? '{}').seq >= 100),
      ).toBe(true);
    },
  );
});
