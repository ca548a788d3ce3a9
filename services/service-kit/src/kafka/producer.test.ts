import {
  type ClusterMetadata,
  type MessageToProduce,
  MultipleErrors,
  NetworkError,
  type ProduceResult,
  ResponseError,
  TimeoutError,
} from '@platformatic/kafka';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { partitionForKey } from './murmur2.js';
import {
  classifyProduceError,
  KafkaEventProducer,
  KafkaProduceError,
  MAX_MERGED_BYTES,
  type ProduceClient,
} from './producer.js';
import type { OutgoingMessage } from './types.js';

const PRODUCE = 0;

/** A produce response error for these partitions (with error code), as the library throws it. */
function responseError(failed: [topic: string, partition: number, code: number][]) {
  return new ResponseError(
    PRODUCE,
    11,
    Object.fromEntries(
      failed.map(([, , code], index) => [
        `/responses/0/partition_responses/${index}`,
        [code, null],
      ]),
    ),
    {},
  );
}

/**
 * A broker in memory: a log per partition, the producer's sequence numbers checked as Kafka
 * does (a batch whose sequence numbers it already has is acknowledged with its first offset and
 * not written again). `failNext` scripts what the next sends do.
 */
/**
 * What a scripted send does: write every batch and answer (`'write'`), or write only the batches
 * of `writeOnly`, report those of `acknowledge` as produced (a destination that answered) and
 * throw `error`.
 */
type Step = 'write' | { writeOnly: string[]; acknowledge?: string[]; error: Error };

class FakeKafka implements ProduceClient {
  readonly partitions = new Map<string, number>([
    ['events', 3],
    ['other', 2],
  ]);
  /** Partitions without a leader ("topic:partition"). */
  readonly leaderless = new Set<string>();
  readonly logs = new Map<string, MessageToProduce[]>();
  readonly sends: MessageToProduce[][] = [];
  producerId = 0;
  closed = false;
  /** Called on close: a request in flight then fails, as the library's do. */
  onClose: () => void = () => {};
  /** Per partition, this producer id's next sequence number (what the broker expects). */
  #sequences = new Map<string, number>();
  /** Per partition, the client's idea of the next sequence number (the library's map). */
  #clientSequences = new Map<string, number>();
  readonly #batches = new Map<
    string,
    { id: number; first: number; count: number; offset: number }[]
  >();
  /** Scripted behaviour of the next sends: write some partitions, then throw. */
  readonly script: ((messages: MessageToProduce[]) => Promise<Step>)[] = [];

  async metadata({ topics }: { topics: string[] }): Promise<ClusterMetadata> {
    const brokers = new Map([[1, { host: 'localhost', port: 9092, rack: null }]]);
    const map = new Map(
      topics.map((topic) => {
        const count = this.partitions.get(topic) ?? 0;
        const partitions = Array.from({ length: count }, (_, partition) => ({
          leader: this.leaderless.has(`${topic}:${partition}`) ? -1 : 1,
          leaderEpoch: 0,
          replicas: [1],
          isr: [1],
          offlineReplicas: [],
        }));
        return [topic, { id: topic, partitions, partitionsCount: count, lastUpdate: Date.now() }];
      }),
    );
    return { id: 'fake', brokers, controllerId: 1, topics: map, lastUpdate: Date.now() };
  }

  async initIdempotentProducer() {
    this.producerId += 1;
    this.#sequences = new Map();
    this.#clientSequences = new Map();
    return { producerId: BigInt(this.producerId), producerEpoch: 0 };
  }

  clearMetadata() {}

  async close() {
    this.closed = true;
    this.onClose();
  }

  async send({ messages }: { messages: MessageToProduce[] }): Promise<ProduceResult> {
    this.sends.push(messages);
    const step = (await this.script.shift()?.(messages)) ?? 'write';
    const byPartition = new Map<string, MessageToProduce[]>();
    for (const message of messages) {
      const key = `${message.topic}:${message.partition}`;
      byPartition.set(key, [...(byPartition.get(key) ?? []), message]);
    }
    const offsets: ProduceResult['offsets'] = [];
    for (const [key, batch] of byPartition) {
      if (step !== 'write' && !step.writeOnly.includes(key)) continue;
      const first = this.#clientSequences.get(key) ?? 0;
      const batches = this.#batches.get(key) ?? [];
      const duplicate = batches.find(
        (known) =>
          known.id === this.producerId && known.first === first && known.count === batch.length,
      );
      let offset: number;
      if (duplicate) {
        offset = duplicate.offset;
      } else {
        if (first !== (this.#sequences.get(key) ?? 0)) throw new Error(`out of order on ${key}`);
        const log = this.logs.get(key) ?? [];
        offset = log.length;
        log.push(...batch);
        this.logs.set(key, log);
        batches.push({ id: this.producerId, first, count: batch.length, offset });
        this.#batches.set(key, batches);
        this.#sequences.set(key, first + batch.length);
      }
      // The library advances its sequence number only for acknowledged partitions.
      if (step === 'write' || step.acknowledge?.includes(key)) {
        const [topic, partition] = key.split(':') as [string, string];
        offsets.push({ topic, partition: Number(partition), offset: BigInt(offset) });
      }
    }
    for (const { topic, partition } of offsets) {
      const key = `${topic}:${partition}`;
      const count = byPartition.get(key)?.length ?? 0;
      this.#clientSequences.set(key, (this.#clientSequences.get(key) ?? 0) + count);
    }
    if (step !== 'write') {
      throw Object.assign(new MultipleErrors('Producing messages failed.', [step.error]), {
        produced: { offsets },
      });
    }
    return { offsets };
  }

  /** Every value on the topic, partition by partition. */
  values(topic: string): string[] {
    const values: string[] = [];
    for (let partition = 0; partition < (this.partitions.get(topic) ?? 0); partition += 1) {
      for (const message of this.logs.get(`${topic}:${partition}`) ?? []) {
        values.push(String(message.value));
      }
    }
    return values;
  }
}

function producerOn(fake: FakeKafka, deliveryTimeoutMs = 2_000) {
  return new KafkaEventProducer({
    brokers: ['localhost:9092'],
    clientId: 'test',
    logger: pino({ level: 'silent' }),
    deliveryTimeoutMs,
    createClient: () => fake,
  });
}

const keyed = (prefix: string, count: number): OutgoingMessage[] =>
  Array.from({ length: count }, (_, index) => ({
    key: `${prefix}-${index}`,
    value: `${prefix}:${index}`,
  }));

describe('KafkaEventProducer', () => {
  it('connects with a producer id, partitions keys with murmur2 and passes headers and timestamps', async () => {
    const fake = new FakeKafka();
    const producer = producerOn(fake);
    await producer.connect();
    expect(fake.producerId).toBe(1);

    const records = await producer.send([
      {
        topic: 'events',
        messages: [
          {
            key: 'INC-0001',
            value: 'a',
            headers: { 'x-key-id': 'k1' },
            timestamp: '1700000000123',
          },
          { key: null, value: Buffer.from('b') },
        ],
      },
    ]);
    const [sent] = fake.sends;
    expect(sent?.[0]).toMatchObject({
      topic: 'events',
      partition: partitionForKey('INC-0001', 3),
      key: Buffer.from('INC-0001'),
      value: Buffer.from('a'),
      timestamp: 1700000000123n,
    });
    const headers = (sent?.[0]?.headers ?? new Map()) as Map<Buffer, Buffer>;
    expect([...headers].map(([name, value]) => [String(name), String(value)])).toEqual([
      ['x-key-id', 'k1'],
    ]);
    expect(sent?.[1]?.key).toBeUndefined();
    // Without a timestamp of its own, a message gets the time it was sent.
    expect(Number(sent?.[1]?.timestamp)).toBeGreaterThan(Date.now() - 5_000);
    // One record per topic-partition written (the keyless message went to any partition).
    expect(records.length).toBe(new Set(sent?.map((message) => message.partition)).size);
    expect(records.every((record) => record.topic === 'events' && record.baseOffset === '0')).toBe(
      true,
    );
    await producer.disconnect();
    expect(fake.closed).toBe(true);
  });

  it('merges the sends queued behind the one in flight and gives each caller its own base offsets', async () => {
    const fake = new FakeKafka();
    fake.partitions.set('events', 1);
    let release: () => void = () => {};
    fake.script.push(() => new Promise((resolve) => (release = () => resolve('write'))));
    const producer = producerOn(fake);
    await producer.connect();

    const first = producer.send([{ topic: 'events', messages: keyed('A', 3) }]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const second = producer.send([
      { topic: 'events', messages: keyed('B', 2) },
      { topic: 'other', messages: keyed('O', 4) },
    ]);
    const third = producer.send([{ topic: 'events', messages: keyed('C', 5) }]);
    release();

    expect(await first).toEqual([{ topic: 'events', partition: 0, baseOffset: '0' }]);
    const secondRecords = await second;
    expect(secondRecords.find((record) => record.topic === 'events')).toEqual({
      topic: 'events',
      partition: 0,
      baseOffset: '3',
    });
    expect(await third).toEqual([{ topic: 'events', partition: 0, baseOffset: '5' }]);
    // One request for the first send, one for the two merged ones.
    expect(fake.sends.map((messages) => messages.length)).toEqual([3, 11]);
    expect(fake.values('events')).toEqual(
      [...keyed('A', 3), ...keyed('B', 2), ...keyed('C', 5)].map((message) => message.value),
    );
    // Each caller's records point at its own messages.
    const otherRecords = secondRecords.filter((record) => record.topic === 'other');
    for (const record of otherRecords) {
      const message = fake.logs.get(`other:${record.partition}`)?.[Number(record.baseOffset)];
      expect(String(message?.value)).toMatch(/^O:/);
    }
    await producer.disconnect();
  });

  it('does not merge past MAX_MERGED_BYTES', async () => {
    const fake = new FakeKafka();
    let release: () => void = () => {};
    fake.script.push(() => new Promise((resolve) => (release = () => resolve('write'))));
    const producer = producerOn(fake);
    await producer.connect();
    const big = (prefix: string) => [
      { key: prefix, value: 'x'.repeat(Math.floor(MAX_MERGED_BYTES * 0.6)) },
    ];
    const sends = [producer.send([{ topic: 'events', messages: keyed('A', 1) }])];
    await new Promise((resolve) => setTimeout(resolve, 10));
    sends.push(producer.send([{ topic: 'events', messages: big('B') }]));
    sends.push(producer.send([{ topic: 'events', messages: big('C') }]));
    release();
    await Promise.all(sends);
    expect(fake.sends.map((messages) => messages.length)).toEqual([1, 1, 1]);
  });

  it('retries only the partitions not acknowledged, with the same batches, until all are', async () => {
    const fake = new FakeKafka();
    const producer = producerOn(fake);
    await producer.connect();
    const messages = keyed('K', 30);
    const partitions = [0, 1, 2].filter((partition) =>
      messages.some((message) => partitionForKey(message.key as string, 3) === partition),
    );
    expect(partitions).toHaveLength(3);
    // First attempt: 0, 1 and 2 are written; 0 is acknowledged, 1 is not (its answer lost),
    // and 2 answers NOT_LEADER_OR_FOLLOWER (the client cannot tell it was written). Second
    // attempt: a network error. Third: fine.
    fake.script.push(async () => ({
      writeOnly: ['events:0', 'events:1', 'events:2'],
      acknowledge: ['events:0'],
      error: responseError([['events', 2, 6]]),
    }));
    fake.script.push(async () => ({ writeOnly: [], error: new NetworkError('Connection closed') }));
    const records = await producer.send([{ topic: 'events', messages }]);
    expect(fake.sends).toHaveLength(3);
    // The retries carry partitions 1 and 2 only, the same batches each time.
    for (const retry of fake.sends.slice(1)) {
      expect(retry.map((message) => message.partition).sort()).toEqual(
        (fake.sends[0] ?? [])
          .filter((message) => message.partition !== 0)
          .map((m) => m.partition)
          .sort(),
      );
    }
    // Nothing lost, nothing doubled: the resent batches of 0 and 1 were recognised as written.
    expect(fake.values('events').sort()).toEqual(messages.map((message) => message.value).sort());
    expect(records.map((record) => [record.partition, record.baseOffset]).sort()).toEqual([
      [0, '0'],
      [1, '0'],
      [2, '0'],
    ]);
    // The same producer id throughout: the retries reused the batches' sequence numbers.
    expect(fake.producerId).toBe(1);
  });

  it('waits for a leader, then sends', async () => {
    const fake = new FakeKafka();
    fake.leaderless.add('events:1');
    const producer = producerOn(fake);
    await producer.connect();
    const sending = producer.send([{ topic: 'events', messages: keyed('L', 20) }]);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(fake.sends).toHaveLength(0);
    fake.leaderless.clear();
    await sending;
    expect(fake.values('events')).toHaveLength(20);
  });

  it('rejects a refused send as not retriable, and takes a new producer id before the next', async () => {
    const fake = new FakeKafka();
    const producer = producerOn(fake);
    await producer.connect();
    fake.script.push(async () => ({ writeOnly: [], error: responseError([['events', 0, 10]]) }));
    const error = await producer
      .send([{ topic: 'events', messages: keyed('T', 3) }])
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KafkaProduceError);
    expect((error as KafkaProduceError).retriable).toBe(false);
    expect((error as Error).message).toMatch(/MESSAGE_TOO_LARGE/);
    expect(fake.sends).toHaveLength(1);

    await producer.send([{ topic: 'events', messages: keyed('U', 3) }]);
    expect(fake.producerId).toBe(2);
  });

  it('fails only the caller whose messages Kafka refused when merged sends are refused', async () => {
    const fake = new FakeKafka();
    let release: () => void = () => {};
    fake.script.push(() => new Promise((resolve) => (release = () => resolve('write'))));
    const producer = producerOn(fake);
    await producer.connect();
    const first = producer.send([{ topic: 'events', messages: keyed('A', 1) }]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const good = producer.send([{ topic: 'events', messages: keyed('G', 2) }]);
    const bad = producer.send([{ topic: 'events', messages: [{ key: 'B', value: 'too big' }] }]);
    // The merged request is refused; then G alone is fine and B alone is refused again.
    const tooLarge = async () => ({ writeOnly: [], error: responseError([['events', 0, 10]]) });
    fake.script.push(tooLarge, async () => 'write' as const, tooLarge);
    release();
    await first;
    await expect(good).resolves.toHaveLength(
      new Set(['G-0', 'G-1'].map((k) => partitionForKey(k, 3))).size,
    );
    const error = await bad.catch((caught: unknown) => caught);
    expect((error as KafkaProduceError).retriable).toBe(false);
    expect(fake.sends.map((messages) => messages.length)).toEqual([1, 3, 2, 1]);
  });

  it('goes on under a new producer id after a sequence error', async () => {
    const fake = new FakeKafka();
    const producer = producerOn(fake);
    await producer.connect();
    fake.script.push(async () => ({ writeOnly: [], error: responseError([['events', 0, 45]]) }));
    await producer.send([{ topic: 'events', messages: keyed('S', 3) }]);
    expect(fake.producerId).toBe(2);
    expect(fake.values('events')).toHaveLength(3);
  });

  it('rejects with a retriable timeout when Kafka does not answer in time, and sends nothing new until the hung request ended', async () => {
    const fake = new FakeKafka();
    let answer: (step: 'write' | { writeOnly: string[]; error: Error }) => void = () => {};
    fake.script.push(() => new Promise((resolve) => (answer = resolve)));
    const producer = producerOn(fake, 100);
    await producer.connect();
    const started = Date.now();
    const error = await producer
      .send([{ topic: 'events', messages: keyed('H', 3) }])
      .catch((caught: unknown) => caught);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(error).toBeInstanceOf(KafkaProduceError);
    expect((error as KafkaProduceError).retriable).toBe(true);
    expect((error as Error).message).toMatch(/timed out/);

    const next = producer.send([{ topic: 'events', messages: keyed('N', 3) }]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(fake.sends).toHaveLength(1);
    // The hung request ends without an answer (its outcome unknown): the next send goes under a
    // new producer id, so it cannot be mistaken for a duplicate of what the broker may hold.
    answer({
      writeOnly: ['events:0', 'events:1', 'events:2'],
      error: new TimeoutError('Request timed out'),
    });
    await next;
    expect(fake.producerId).toBe(2);
    expect(fake.values('events').filter((value) => value.startsWith('N:'))).toHaveLength(3);
  });

  it('stops retrying a send at its own timeoutMs, long before the delivery timeout: nothing lands after the caller was told it failed', async () => {
    const fake = new FakeKafka();
    // The broker is down: every attempt fails at once with a network error (retriable).
    let down = true;
    const failWhileDown = async (): Promise<Step> =>
      down ? { writeOnly: [], error: new NetworkError('Connection refused') } : 'write';
    for (let attempt = 0; attempt < 1_000; attempt++) fake.script.push(failWhileDown);
    const producer = producerOn(fake, 60_000);
    await producer.connect();
    const started = Date.now();
    const error = await producer
      .send([{ topic: 'events', messages: keyed('T', 3) }], { timeoutMs: 300 })
      .catch((caught: unknown) => caught);
    const tookMs = Date.now() - started;
    expect(tookMs).toBeGreaterThanOrEqual(290);
    expect(tookMs).toBeLessThan(1_000);
    expect(error).toBeInstanceOf(KafkaProduceError);
    expect((error as KafkaProduceError).retriable).toBe(true);
    expect((error as Error).message).toMatch(/within 300 ms \(timed out\)/);
    // Nothing goes on behind the caller's back: no send queued or retrying...
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(producer.isIdle()).toBe(true);
    const attempts = fake.sends.length;
    expect(attempts).toBeGreaterThan(1);
    // ...so when the broker is back, the refused messages are not written by a late retry.
    down = false;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(fake.sends).toHaveLength(attempts);
    expect(fake.values('events')).toEqual([]);
    // The next send goes through.
    await producer.send([{ topic: 'events', messages: keyed('U', 2) }], { timeoutMs: 300 });
    expect(fake.values('events')).toHaveLength(2);
    await producer.disconnect();
  });

  it('never lets timeoutMs extend the delivery timeout', async () => {
    const fake = new FakeKafka();
    fake.script.push(() => new Promise(() => {}));
    const producer = producerOn(fake, 100);
    await producer.connect();
    const error = await producer
      .send([{ topic: 'events', messages: keyed('L', 1) }], { timeoutMs: 60_000 })
      .catch((caught: unknown) => caught);
    expect((error as Error).message).toMatch(/within 100 ms \(timed out\)/);
  });

  it('gives the sends in hand disconnectTimeoutMs on disconnect, then rejects them as retriable', async () => {
    const fake = new FakeKafka();
    fake.script.push(
      () =>
        new Promise((_, reject) => {
          fake.onClose = () => reject(new NetworkError('Connection closed'));
        }),
    );
    const producer = new KafkaEventProducer({
      brokers: ['localhost:9092'],
      clientId: 'test',
      logger: pino({ level: 'silent' }),
      disconnectTimeoutMs: 100,
      createClient: () => fake,
    });
    await producer.connect();
    const outcomes = [
      producer.send([{ topic: 'events', messages: keyed('W', 3) }]),
      producer.send([{ topic: 'events', messages: keyed('Q', 3) }]),
    ].map((send) => send.catch((caught: unknown) => caught));
    const started = Date.now();
    await producer.disconnect();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(fake.closed).toBe(true);
    for (const outcome of outcomes) {
      const error = await outcome;
      expect(error).toBeInstanceOf(KafkaProduceError);
      expect((error as KafkaProduceError).retriable).toBe(true);
      expect((error as Error).message).toMatch(/disconnected before Kafka acknowledged/);
    }
  });

  it('classifies errors: leader moves, timeouts and network errors are retried; refusals are not', () => {
    expect(classifyProduceError(responseError([['t', 0, 6]]))).toBe('retry');
    expect(classifyProduceError(responseError([['t', 0, 19]]))).toBe('retry');
    expect(
      classifyProduceError(new MultipleErrors('x', [new TimeoutError('Request timed out')])),
    ).toBe('retry');
    expect(classifyProduceError(new NetworkError('Connection closed'))).toBe('retry');
    // What the library throws for a NOT_LEADER_OR_FOLLOWER answer with a new-leader hint.
    const unreadable = Object.assign(new Error('Out of bounds.'), { code: 'OUT_OF_BOUNDS' });
    expect(classifyProduceError(new MultipleErrors('produce failed 3 times.', [unreadable]))).toBe(
      'retry',
    );
    expect(classifyProduceError(responseError([['t', 0, 59]]))).toBe('new-producer-id');
    expect(classifyProduceError(responseError([['t', 0, 10]]))).toBe('fatal');
    expect(
      classifyProduceError(
        responseError([
          ['t', 0, 6],
          ['t', 1, 87],
        ]),
      ),
    ).toBe('fatal');
    expect(classifyProduceError(new TypeError('a bug'))).toBe('fatal');
  });

  it('lets sends in hand finish on disconnect, and refuses sends after it', async () => {
    const fake = new FakeKafka();
    let release: () => void = () => {};
    fake.script.push(() => new Promise((resolve) => (release = () => resolve('write'))));
    const producer = producerOn(fake);
    await producer.connect();
    const sending = producer.send([{ topic: 'events', messages: keyed('D', 3) }]);
    const disconnecting = producer.disconnect();
    await expect(producer.send([{ topic: 'events', messages: keyed('E', 1) }])).rejects.toThrow(
      /disconnecting/,
    );
    expect(fake.closed).toBe(false);
    release();
    await sending;
    await disconnecting;
    expect(fake.closed).toBe(true);
    await expect(producer.send([{ topic: 'events', messages: keyed('F', 1) }])).rejects.toThrow(
      /not connected/,
    );
  });
});
