import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  canControlEngines,
  consumeMessages,
  kafkaFor,
  startPrivateStack,
  testEndpoints,
  uniqueName,
} from '@bluelight/test/harness';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConsumedBatch, ConsumerOptions, KafkaAdmin, OutgoingMessage } from './types.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

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

async function topicWith(admin: KafkaAdmin, prefix: string, partitions: number) {
  const topic = uniqueName(prefix);
  await admin.ensureTopics([{ topic, partitions, replicationFactor: 1 }]);
  cleanups.push(() => admin.deleteTopics([topic]));
  return topic;
}

/**
 * Writes `chunks` sends of `perChunk` messages to partition 0 of a one-partition topic, each
 * send its own record batch, so a fetch limited to 1 byte per partition returns one chunk.
 */
async function produceChunks(brokers: string[], topic: string, chunks: number, perChunk: number) {
  const producer = kafkaFor(brokers).producer();
  await producer.connect();
  for (let chunk = 0; chunk < chunks; chunk += 1) {
    await producer.send([{ topic, messages: incidentEvents(1, perChunk, chunk * perChunk) }]);
  }
  await producer.disconnect();
}

async function produce(brokers: string[], topic: string, messages: OutgoingMessage[]) {
  const producer = kafkaFor(brokers).producer();
  await producer.connect();
  const records = await producer.send([{ topic, messages }]);
  await producer.disconnect();
  return records;
}

function consumerFor(brokers: string[], group: string, options: ConsumerOptions = {}) {
  const consumer = kafkaFor(brokers).consumer(group, options);
  let disconnected = false;
  cleanups.push(async () => {
    if (!disconnected) await consumer.disconnect();
  });
  return {
    consumer,
    disconnect: async () => {
      disconnected = true;
      await consumer.disconnect();
    },
  };
}

/** A promise whose settling the test decides. */
function gate() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const committedOf = async (admin: KafkaAdmin, group: string, topic: string) =>
  Object.fromEntries(
    (await admin.committedOffsets(group, topic)).map(({ partition, offset }) => [
      partition,
      Number(offset),
    ]),
  );

const firstOffset = (batch: ConsumedBatch) => Number(batch.messages[0]?.offset);

describe('the kit consumer on @platformatic/kafka (real broker)', () => {
  it('delivers keyed events in order per key, and commits the group offsets', async () => {
    const { kafkaBrokers } = testEndpoints();
    const admin = await adminFor(kafkaBrokers);
    const topic = await topicWith(admin, 'kit_roundtrip', 3);
    const group = uniqueName('kit_group');
    const sent = incidentEvents(40, 5);
    const records = await produce(kafkaBrokers, topic, sent);
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
    const perPartition = new Map<number, number>();
    for (const message of received) {
      perPartition.set(message.partition, (perPartition.get(message.partition) ?? 0) + 1);
    }
    expect(await committedOf(admin, group, topic)).toEqual({
      0: perPartition.get(0) ?? -1,
      1: perPartition.get(1) ?? -1,
      2: perPartition.get(2) ?? -1,
    });
  });

  it('hands each message to the handler once when every batch succeeds', async () => {
    const { kafkaBrokers } = testEndpoints();
    const admin = await adminFor(kafkaBrokers);
    const topic = await topicWith(admin, 'kit_once', 2);
    await produce(kafkaBrokers, topic, incidentEvents(20, 10));
    const { consumer, disconnect } = consumerFor(kafkaBrokers, uniqueName('kit_group'), {
      maxBytesPerPartition: 512,
    });
    await consumer.connect();
    await consumer.subscribe([topic]);
    const offsets: string[] = [];
    await consumer.run(async (batch) => {
      offsets.push(...batch.messages.map((message) => `${message.partition}/${message.offset}`));
      await sleep(Math.random() * 20);
    });
    await until('200 messages', () => offsets.length >= 200);
    // Long enough for several more fetch cycles: a batch fetched again would show up here.
    await sleep(2_000);
    await disconnect();
    expect(offsets).toHaveLength(200);
    expect(new Set(offsets).size).toBe(200);
  });

  it('hands over batch N+1 before batch N resolved, and commits in order only after each resolved', async () => {
    const { kafkaBrokers } = testEndpoints();
    const admin = await adminFor(kafkaBrokers);
    const topic = await topicWith(admin, 'kit_ahead', 1);
    const group = uniqueName('kit_group');
    await produceChunks(kafkaBrokers, topic, 4, 10);

    const { consumer, disconnect } = consumerFor(kafkaBrokers, group, {
      maxBytesPerPartition: 1,
      maxBatchesInFlight: 8,
    });
    await consumer.connect();
    await consumer.subscribe([topic]);
    const handed: { first: number; gate: ReturnType<typeof gate> }[] = [];
    await consumer.run((batch) => {
      const held = gate();
      handed.push({ first: firstOffset(batch), gate: held });
      return held.promise;
    });
    // Every chunk is handed over while the first handler is still held back.
    await until('four batches handed over', () => handed.length === 4);
    expect(handed.map((entry) => entry.first)).toEqual([0, 10, 20, 30]);
    expect(await committedOf(admin, group, topic)).toEqual({ 0: -1 });

    // Batch 2 done first: nothing may be committed while batch 1 is not.
    handed[1]?.gate.resolve();
    await sleep(1_500);
    expect(await committedOf(admin, group, topic)).toEqual({ 0: -1 });
    // Batch 1 done: both are committed (the next offset to read is 20).
    handed[0]?.gate.resolve();
    await until(
      'offset 20 committed',
      async () => (await committedOf(admin, group, topic))[0] === 20,
    );
    // Batch 4 done, batch 3 not: still 20.
    handed[3]?.gate.resolve();
    await sleep(1_500);
    expect(await committedOf(admin, group, topic)).toEqual({ 0: 20 });
    handed[2]?.gate.resolve();
    await until(
      'offset 40 committed',
      async () => (await committedOf(admin, group, topic))[0] === 40,
    );
    await disconnect();
    // Nothing was handed over twice.
    expect(handed.map((entry) => entry.first)).toEqual([0, 10, 20, 30]);
  });

  it('redelivers a failed batch and the later ones, committing nothing after the failure', async () => {
    const { kafkaBrokers } = testEndpoints();
    const admin = await adminFor(kafkaBrokers);
    const topic = await topicWith(admin, 'kit_redeliver', 1);
    const group = uniqueName('kit_group');
    await produceChunks(kafkaBrokers, topic, 4, 10);

    const { consumer, disconnect } = consumerFor(kafkaBrokers, group, {
      maxBytesPerPartition: 1,
    });
    await consumer.connect();
    await consumer.subscribe([topic]);
    const deliveries: number[] = [];
    const laterDone = gate();
    const committedAtRedelivery: number[] = [];
    const abortedWhenFailed: boolean[] = [];
    const batches: ConsumedBatch[] = [];
    await consumer.run(async (batch) => {
      const first = firstOffset(batch);
      const attempt = deliveries.filter((offset) => offset === first).length;
      deliveries.push(first);
      batches.push(batch);
      if (first === 10 && attempt === 0) {
        // Fails only after the batches after it were handed over and resolved.
        await laterDone.promise;
        throw new Error('ClickHouse unavailable (simulated in the handler)');
      }
      if (first === 10 && attempt === 1) {
        abortedWhenFailed.push(...batches.slice(2, 4).map((b) => b.signal?.aborted === true));
        committedAtRedelivery.push((await committedOf(admin, group, topic))[0] as number);
      }
      if (first === 30 && attempt === 0) laterDone.resolve();
    });
    await until('the batches redelivered and committed to 40', async () =>
      deliveries.length >= 7 ? (await committedOf(admin, group, topic))[0] === 40 : false,
    );
    await disconnect();
    // First 0, 10 (fails), 20, 30 (done but after the failure); then 10, 20, 30 again.
    expect(deliveries).toEqual([0, 10, 20, 30, 10, 20, 30]);
    // When 10 came again, only batch 0 was committed: 20 and 30 had resolved, uncommitted.
    expect(committedAtRedelivery).toEqual([10]);
    // The batches after the failure were told they would not be committed.
    expect(abortedWhenFailed).toEqual([true, true]);
  });

  it('keeps its membership while a handler is busy for longer than the session timeout', async () => {
    const { kafkaBrokers } = testEndpoints();
    const admin = await adminFor(kafkaBrokers);
    const topic = await topicWith(admin, 'kit_slow', 1);
    const group = uniqueName('kit_group');
    await produce(kafkaBrokers, topic, incidentEvents(5, 2));
    let assignments = 0;
    const { consumer, disconnect } = consumerFor(kafkaBrokers, group, {
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 1_000,
      onAssignment: () => {
        assignments += 1;
      },
    });
    await consumer.connect();
    await consumer.subscribe([topic]);
    const received: number[] = [];
    await consumer.run(async (batch) => {
      received.push(...batch.messages.map((message) => Number(message.offset)));
      // Twice the session timeout, without calling heartbeat().
      await sleep(12_000);
    });
    await until(
      'the batch committed',
      async () => (await committedOf(admin, group, topic))[0] === 10,
      40_000,
    );
    await disconnect();
    expect(received).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // One join: the group never removed the member, and the commit was accepted.
    expect(assignments).toBe(1);
  }, 60_000);

  it('splits partitions between two members; after one leaves the other reads on from its commits', async () => {
    const { kafkaBrokers } = testEndpoints();
    const admin = await adminFor(kafkaBrokers);
    const topic = await topicWith(admin, 'kit_pair', 4);
    const group = uniqueName('kit_group');
    const firstRound = incidentEvents(40, 3);
    const received = { a: [] as string[], b: [] as string[] };
    const partitionsOf = { a: new Set<number>(), b: new Set<number>() };
    const member = async (name: 'a' | 'b') => {
      const { consumer, disconnect } = consumerFor(kafkaBrokers, group);
      await consumer.connect();
      await consumer.subscribe([topic]);
      await consumer.run(async (batch) => {
        partitionsOf[name].add(batch.partition);
        received[name].push(...batch.messages.map((m) => `${m.partition}/${m.offset}`));
      });
      return { consumer, disconnect };
    };
    const a = await member('a');
    const b = await member('b');
    await produce(kafkaBrokers, topic, firstRound);
    await until('every message of the first round', () => {
      const all = new Set([...received.a, ...received.b]);
      return all.size === firstRound.length;
    });
    await until('every first-round offset committed', async () => {
      const committed = await admin.committedOffsets(group, topic);
      const ends = await admin.endOffsets(topic);
      return committed.every((entry, index) => entry.offset === ends[index]?.offset);
    });
    // Both members had partitions.
    expect(partitionsOf.a.size).toBeGreaterThan(0);
    expect(partitionsOf.b.size).toBeGreaterThan(0);
    const bPartitions = [...partitionsOf.b];
    const beforeLeave = received.a.length;

    await b.disconnect();
    const secondRound = incidentEvents(40, 2, 3);
    const ends = await admin.endOffsets(topic);
    await produce(kafkaBrokers, topic, secondRound);
    await until(
      'a read the second round',
      () => received.a.length - beforeLeave >= secondRound.length,
    );
    await sleep(1_000);
    const later = received.a.slice(beforeLeave);
    // Exactly the second round: nothing b had committed came back, nothing twice.
    expect(later).toHaveLength(secondRound.length);
    expect(new Set(later).size).toBe(secondRound.length);
    for (const id of later) {
      const [partition, offset] = id.split('/').map(Number) as [number, number];
      expect(offset).toBeGreaterThanOrEqual(Number(ends[partition]?.offset));
    }
    // And a now reads b's partitions too.
    const laterPartitions = new Set(later.map((id) => Number(id.split('/')[0])));
    for (const partition of bPartitions) expect(laterPartitions.has(partition)).toBe(true);
    await a.disconnect();
  }, 90_000);

  it('takes over the partitions of a member that was SIGKILLed, from its committed offsets', async () => {
    const { kafkaBrokers } = testEndpoints();
    const admin = await adminFor(kafkaBrokers);
    const topic = await topicWith(admin, 'kit_kill', 4);
    const group = uniqueName('kit_group');
    await produce(kafkaBrokers, topic, incidentEvents(40, 3));
    const phaseOneEnds = await admin.endOffsets(topic);

    // The child handles every batch of the first round and holds every later one.
    const child: ChildProcess = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(path.dirname(fileURLToPath(import.meta.url)), 'testing', 'consumer-child.ts'),
      ],
      {
        env: {
          ...process.env,
          BROKERS: kafkaBrokers.join(','),
          TOPIC: topic,
          GROUP: group,
          HOLD_FROM: JSON.stringify(
            Object.fromEntries(phaseOneEnds.map(({ partition, offset }) => [partition, offset])),
          ),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    cleanups.push(async () => {
      child.kill('SIGKILL');
    });
    const childLines: { batch?: { partition: number; first: string }; held?: boolean }[] = [];
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) childLines.push(JSON.parse(line));
    });
    await until('the child consuming', () => childLines.some((line) => line.batch), 60_000);

    // The parent joins: the partitions are split between the two.
    const parentGot: string[] = [];
    const { consumer, disconnect } = consumerFor(kafkaBrokers, group, {
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 1_000,
    });
    await consumer.connect();
    await consumer.subscribe([topic]);
    await consumer.run(async (batch) => {
      parentGot.push(...batch.messages.map((m) => `${m.partition}/${m.offset}`));
    });
    await until(
      'the first round committed',
      async () => {
        const committed = await admin.committedOffsets(group, topic);
        return committed.every((entry, index) => entry.offset === phaseOneEnds[index]?.offset);
      },
      60_000,
    );

    // The second round: the child holds its batches, then is killed without committing them.
    const secondRound = incidentEvents(40, 2, 3);
    await produce(kafkaBrokers, topic, secondRound);
    const roundTwoEnds = await admin.endOffsets(topic);
    const heldBy = (partition: number) =>
      childLines.some((line) => line.held === true && line.batch?.partition === partition);
    const parentReadToEnd = (partition: number) =>
      parentGot.filter((id) => Number(id.split('/')[0]) === partition).length >=
      Number(roundTwoEnds[partition]?.offset) - Number(phaseOneEnds[partition]?.offset);
    // Each partition's second round is either read by the parent or held by the child.
    await until('every partition read or held', () =>
      [0, 1, 2, 3].every((partition) => heldBy(partition) || parentReadToEnd(partition)),
    );
    const childPartitions = [0, 1, 2, 3].filter(heldBy);
    expect(childPartitions.length).toBeGreaterThan(0);
    expect(childPartitions.length).toBeLessThan(4);
    const beforeKill = parentGot.length;
    child.kill('SIGKILL');
    const finalEnds = await admin.endOffsets(topic);
    // After the child's session expires the parent owns everything and reads the second round.
    const readSince = (partition: number) =>
      parentGot
        .slice(beforeKill)
        .filter((id) => Number(id.split('/')[0]) === partition)
        .map((id) => Number(id.split('/')[1]));
    await until(
      "the parent read the child's partitions to their ends",
      () =>
        childPartitions.every(
          (partition) =>
            new Set(readSince(partition)).size ===
            Number(finalEnds[partition]?.offset) - Number(phaseOneEnds[partition]?.offset),
        ),
      60_000,
    );
    const after = parentGot.slice(beforeKill);
    for (const partition of childPartitions) {
      const from = Number(phaseOneEnds[partition]?.offset);
      const to = Number(finalEnds[partition]?.offset);
      const got = readSince(partition).sort((x, y) => x - y);
      // From the child's committed offset exactly: nothing it committed came back.
      expect(got).toEqual(Array.from({ length: to - from }, (_, index) => from + index));
    }
    // Nothing twice.
    expect(new Set(after).size).toBe(after.length);
    await until('everything committed', async () => {
      const committed = await admin.committedOffsets(group, topic);
      return committed.every((entry, index) => entry.offset === finalEnds[index]?.offset);
    });
    await disconnect();
  }, 120_000);

  it('reads from offsets set with setCommittedOffsets, and reads them back with committedOffsets', async () => {
    const { kafkaBrokers } = testEndpoints();
    const admin = await adminFor(kafkaBrokers);
    const topic = await topicWith(admin, 'kit_setoffsets', 2);
    const group = uniqueName('kit_group');
    await produce(kafkaBrokers, topic, incidentEvents(30, 4));
    const ends = await admin.endOffsets(topic);
    expect(ends.every(({ offset }) => Number(offset) > 8)).toBe(true);
    await admin.setCommittedOffsets(group, topic, [
      { partition: 0, offset: '3' },
      { partition: 1, offset: '7' },
    ]);
    expect(await admin.committedOffsets(group, topic)).toEqual([
      { partition: 0, offset: '3' },
      { partition: 1, offset: '7' },
    ]);
    const expected = ends.reduce((sum, { offset }) => sum + Number(offset), 0) - 10;
    const received = await consumeMessages({
      brokers: kafkaBrokers,
      topic,
      count: expected,
      groupId: group,
    });
    const firstOf = (partition: number) =>
      Math.min(...received.filter((m) => m.partition === partition).map((m) => Number(m.offset)));
    expect([firstOf(0), firstOf(1)]).toEqual([3, 7]);
    expect(received).toHaveLength(expected);
    expect(await admin.committedOffsets(group, topic)).toEqual(ends);
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
      await produce(brokers, topic, incidentEvents(10, 10));
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

      await produce(brokers, topic, incidentEvents(10, 3, 100));
      const resumed = await consumeMessages({ brokers, topic, count: 30, groupId: group });
      // Only the 30 new events: none of the 100 committed before the restart come back.
      expect(resumed).toHaveLength(30);
      expect(
        resumed.every((message) => JSON.parse(message.value?.toString() ?? '{}').seq >= 100),
      ).toBe(true);
    },
  );
});
