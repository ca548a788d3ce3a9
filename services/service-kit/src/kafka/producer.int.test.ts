import { consumeMessages, kafkaFor, testEndpoints, uniqueName } from '@bluelight/test/harness';
import { afterEach, describe, expect, it } from 'vitest';
import { partitionForKey } from './murmur2.js';
import type { OutgoingMessage } from './types.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function topicWith(partitions: number): Promise<string> {
  const { kafkaBrokers } = testEndpoints();
  const topic = uniqueName('kit_producer');
  const admin = kafkaFor(kafkaBrokers).admin();
  await admin.connect();
  await admin.ensureTopics([{ topic, partitions, replicationFactor: 1 }]);
  cleanups.push(async () => {
    await admin.deleteTopics([topic]).catch(() => {});
    await admin.disconnect();
  });
  return topic;
}

describe('the kit producer (@platformatic/kafka) against a real broker', () => {
  it('puts keys on the Java partitioner’s partitions, passes headers and timestamps, and reports base offsets', async () => {
    const { kafkaBrokers } = testEndpoints();
    const topic = await topicWith(6);
    const producer = kafkaFor(kafkaBrokers).producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());

    const messages: OutgoingMessage[] = Array.from({ length: 60 }, (_, index) => ({
      key: `INC-${String(index).padStart(4, '0')}`,
      value: JSON.stringify({ index }),
      headers: { 'bluelight-key-id': `key-${index % 3}`, 'x-empty': '' },
      timestamp: String(1_700_000_000_000 + index),
    }));
    const records = await producer.send([{ topic, messages }]);
    expect(records.map((record) => record.partition).sort()).toEqual(
      [...new Set(messages.map((message) => partitionForKey(message.key as string, 6)))].sort(),
    );
    // A fresh topic: each partition's batch starts at offset 0.
    expect(records.every((record) => record.topic === topic && record.baseOffset === '0')).toBe(
      true,
    );

    const received = await consumeMessages({ brokers: kafkaBrokers, topic, count: 60 });
    expect(received).toHaveLength(60);
    for (const message of received) {
      const { index } = JSON.parse(String(message.value)) as { index: number };
      const sent = messages[index] as OutgoingMessage;
      expect(message.key?.toString()).toBe(sent.key);
      expect(message.partition).toBe(partitionForKey(sent.key as string, 6));
      expect(message.headers).toEqual(sent.headers);
      expect(message.timestamp).toBe(sent.timestamp);
    }
  });

  it('acknowledges concurrent sends once each, every base offset pointing at the caller’s first message there', async () => {
    const { kafkaBrokers } = testEndpoints();
    const topic = await topicWith(3);
    const producer = kafkaFor(kafkaBrokers).producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());

    const sends = Array.from({ length: 40 }, (_, sendIndex) =>
      Array.from({ length: 25 }, (_, index) => ({
        key: `K-${sendIndex}-${index}`,
        value: `${sendIndex}/${index}`,
      })),
    );
    const results = await Promise.all(
      sends.map((messages) => producer.send([{ topic, messages }])),
    );
    const received = await consumeMessages({ brokers: kafkaBrokers, topic, count: 1_000 });
    // Exactly once each: the producer merged and retried nothing twice.
    expect(received).toHaveLength(1_000);
    expect(new Set(received.map((message) => String(message.value))).size).toBe(1_000);

    const at = new Map(
      received.map((message) => [`${message.partition}/${message.offset}`, String(message.value)]),
    );
    for (const [sendIndex, records] of results.entries()) {
      const messages = sends[sendIndex] ?? [];
      for (const record of records) {
        const first = messages.find(
          (message) => partitionForKey(message.key, 3) === record.partition,
        );
        expect(at.get(`${record.partition}/${record.baseOffset}`)).toBe(first?.value);
      }
    }
    // Each key's messages kept their order within a send (one batch per partition, in order).
    const byPartition = new Map<number, string[]>();
    for (const message of [...received].sort((a, b) => Number(a.offset) - Number(b.offset))) {
      byPartition.set(message.partition, [
        ...(byPartition.get(message.partition) ?? []),
        String(message.value),
      ]);
    }
    for (const values of byPartition.values()) {
      for (const sendIndex of sends.keys()) {
        const own = values
          .filter((value) => value.startsWith(`${sendIndex}/`))
          .map((value) => Number(value.split('/')[1]));
        expect(own).toEqual([...own].sort((a, b) => a - b));
      }
    }
  });

  it('rejects a message larger than the broker accepts, as not retriable, and goes on sending', async () => {
    const { kafkaBrokers } = testEndpoints();
    const topic = await topicWith(1);
    const producer = kafkaFor(kafkaBrokers).producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());

    const error = await producer
      .send([{ topic, messages: [{ key: 'big', value: 'x'.repeat(2 * 1024 * 1024) }] }])
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as { retriable?: boolean }).retriable).toBe(false);
    expect((error as Error).message).toMatch(/MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE|too large/i);

    const [record] = await producer.send([{ topic, messages: [{ key: 'small', value: 'ok' }] }]);
    expect(record).toEqual({ topic, partition: 0, baseOffset: '0' });
  });
});
