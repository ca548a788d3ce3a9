/**
 * A standalone reproduction of the loss the `broker-stop` fault found, without the gateway, the
 * sink or ClickHouse: producers write the same stream of small messages, one request at a time,
 * each to its own topic of a fresh three-broker cluster (replication 3, min ISR 2), while one
 * broker is stopped (gracefully, or with SIGKILL) and started again:
 *
 * - `kit`: the service kit's producer (`createKafkaClients().producer()`: @platformatic/kafka,
 *   idempotent, acks=all — what the gateway, event-output and the sink's dead letters use);
 * - `kafkajs`: KafkaJS 2.2.4 as the kit used it before (idempotent, acks=all, 5 requests in
 *   flight, the Java partitioner, the same retry settings);
 * - `plain`: KafkaJS with idempotence off (acks=all); `single`: the same, 1 request in flight;
 * - `java`: as a control, Apache Kafka's own Java producer (kafka-clients, acks=all, idempotent;
 *   ProducerLossControl.java), when `java` can run it.
 *
 * Every send that resolved counts as acknowledged. At the end every message on each topic is read
 * back: an acknowledged message (each value is unique) that is not there is lost. (The Java
 * control reports counts only, so for it the topic's end offsets stand in for reading back.)
 * The last line is `RESULT <json>`, for the record in docs/reliability.md.
 *
 *   npx tsx test/faults/producer-loss-repro.ts [brokerToStop=1|2|3] [graceful|kill] [downSeconds=4]
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { KAFKA_VERSION, localHome, repoRoot } from '@bluelight/local-stack';
import { createKafkaClients, type OutgoingMessage } from '@bluelight/service-kit';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { consumeMessages, testLogger } from '../harness/index.js';
import { startFaultStack } from './stack.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const broker = Number(process.argv[2] ?? 1 + Math.floor(Math.random() * 3));
const crash = process.argv[3] === 'kill';
const downMs = Number(process.argv[4] ?? 4) * 1000;
const BATCHES = 80;
const BATCH_SIZE = 250;
const PAUSE_MS = 150;
const SEND_LIMIT_MS = 40_000;
const RUN_LIMIT_MS = 180_000;

type Send = (topic: string, messages: OutgoingMessage[]) => Promise<unknown>;

const stack = await startFaultStack({
  brokers: 3,
  name: `faults-${process.pid}-repro-${randomBytes(2).toString('hex')}`,
});
try {
  const kit = createKafkaClients({
    brokers: stack.kafkaBrokers,
    clientId: 'repro',
    logger: testLogger('repro'),
  });
  const admin = kit.admin();
  await admin.connect();
  const topics = {
    kit: 'repro.kit',
    kafkajs: 'repro.kafkajs',
    plain: 'repro.plain',
    single: 'repro.single',
    java: 'repro.java',
  };
  type Name = keyof typeof topics;
  await admin.ensureTopics(
    Object.values(topics).map((topic) => ({ topic, partitions: 12, replicationFactor: -1 })),
  );

  const kitProducer = kit.producer();
  await kitProducer.connect();
  const kafkajsClient = (clientId: string) =>
    new Kafka({
      clientId,
      brokers: stack.kafkaBrokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
      requestTimeout: 30_000,
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5_000 },
    });
  // The kit's producer before the change, as services/service-kit/src/kafka/kafkajs.ts configured it.
  const kafkajs = kafkajsClient('repro-kafkajs').producer({
    idempotent: true,
    maxInFlightRequests: 5,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const plain = kafkajsClient('repro-plain').producer({
    idempotent: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  // The same, with one request in flight per broker connection.
  const single = kafkajsClient('repro-single').producer({
    idempotent: false,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  for (const producer of [kafkajs, plain, single]) await producer.connect();

  const senders: Record<Exclude<Name, 'java'>, Send> = {
    kit: (topic, messages) => kitProducer.send([{ topic, messages }]),
    kafkajs: (topic, messages) =>
      kafkajs.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] }),
    plain: (topic, messages) => plain.send({ topic, acks: -1, messages }),
    single: (topic, messages) => single.send({ topic, acks: -1, messages }),
  };
  const names = Object.keys(senders) as Exclude<Name, 'java'>[];
  const acknowledged = Object.fromEntries(names.map((name) => [name, new Set<string>()]));
  const failed = Object.fromEntries(names.map((name) => [name, new Set<string>()]));
  const firstError: Record<string, string> = {};
  const javaCounts = { acknowledged: 0, failed: 0, ran: false };

  const java = promisify(execFile)(
    'java',
    [
      '-cp',
      path.join(localHome(), 'cache', `kafka-${KAFKA_VERSION}`, 'libs', '*'),
      path.join(repoRoot, 'test', 'faults', 'ProducerLossControl.java'),
      stack.kafkaBrokers.join(','),
      topics.java,
      String(BATCHES),
      String(BATCH_SIZE),
      String(PAUSE_MS),
    ],
    { maxBuffer: 1 << 24 },
  )
    .then(({ stdout }) => {
      const match = /acknowledged (\d+) failed (\d+)/.exec(stdout);
      javaCounts.acknowledged = Number(match?.[1] ?? 0);
      javaCounts.failed = Number(match?.[2] ?? 0);
      javaCounts.ran = match !== null;
    })
    .catch((error) => console.log(`the Java control did not run: ${(error as Error).message}`));

  const batch = (): OutgoingMessage[] =>
    Array.from({ length: BATCH_SIZE }, () => ({
      key: `K-${randomBytes(3).toString('hex')}`,
      value: randomBytes(200).toString('hex'),
    }));
  const how = crash ? 'with SIGKILL' : 'gracefully';
  const fault = (async () => {
    await sleep(6_000);
    console.log(`stopping kafka-${broker} ${how}`);
    await stack.stop(`kafka-${broker}`, { crash });
    await sleep(downMs);
    await stack.start(`kafka-${broker}`);
    console.log(`kafka-${broker} back`);
  })();
  // Each producer writes the same batches, one request at a time, on its own: one stalled by the
  // fault does not hold the others back. A send not settled within SEND_LIMIT_MS counts as failed
  // (it may land later: then it shows as failed but on Kafka); after RUN_LIMIT_MS a producer
  // stops, and what it did not send counts as neither.
  const batches = Array.from({ length: BATCHES }, batch);
  const started = Date.now();
  const sendSeconds: Record<string, number> = {};
  await Promise.all(
    names.map(async (name) => {
      for (const messages of batches) {
        if (Date.now() - started > RUN_LIMIT_MS) break;
        let timer: NodeJS.Timeout | undefined;
        const limit = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`not settled within ${SEND_LIMIT_MS} ms`)),
            SEND_LIMIT_MS,
          );
        });
        try {
          await Promise.race([senders[name](topics[name], messages), limit]);
          for (const message of messages) acknowledged[name]?.add(String(message.value));
        } catch (error) {
          for (const message of messages) failed[name]?.add(String(message.value));
          firstError[name] ??= (error as Error).message.slice(0, 300);
        } finally {
          clearTimeout(timer);
        }
        await sleep(PAUSE_MS);
      }
      sendSeconds[name] = (Date.now() - started) / 1000;
    }),
  );
  await fault;
  await java;

  const results: Record<string, unknown> = {};
  for (const name of Object.keys(topics) as Name[]) {
    const topic = topics[name];
    const ends = await admin.endOffsets(topic);
    const onKafka = ends.reduce((sum, entry) => sum + Number(entry.offset), 0);
    if (name === 'java') {
      const lost = Math.max(0, javaCounts.acknowledged - onKafka);
      results.java = javaCounts.ran
        ? { acknowledged: javaCounts.acknowledged, failed: javaCounts.failed, onKafka, lost }
        : { ran: false };
      console.log(
        javaCounts.ran
          ? `${name.padEnd(8)} acknowledged ${javaCounts.acknowledged}, failed ${javaCounts.failed}, on Kafka ${onKafka}` +
              (lost > 0 ? `  <-- ${lost} acknowledged messages missing (by end offsets)` : '')
          : `${name.padEnd(8)} did not run`,
      );
      continue;
    }
    const values = new Map<string, number>();
    if (onKafka > 0) {
      const messages = await consumeMessages({
        brokers: stack.kafkaBrokers,
        topic,
        count: onKafka,
        timeoutMs: 120_000,
      });
      for (const message of messages) {
        const value = String(message.value);
        values.set(value, (values.get(value) ?? 0) + 1);
      }
    }
    const ack = acknowledged[name] ?? new Set<string>();
    const fail = failed[name] ?? new Set<string>();
    const lost = [...ack].filter((value) => !values.has(value)).length;
    const doubled = [...values.values()].filter((count) => count > 1).length;
    const failedOnKafka = [...fail].filter((value) => values.has(value)).length;
    results[name] = {
      acknowledged: ack.size,
      failed: fail.size,
      notSent: BATCHES * BATCH_SIZE - ack.size - fail.size,
      seconds: sendSeconds[name],
      onKafka,
      lost,
      doubled,
      failedOnKafka,
      ...(firstError[name] ? { firstError: firstError[name] } : {}),
    };
    console.log(
      `${name.padEnd(8)} acknowledged ${ack.size}, failed ${fail.size} (${failedOnKafka} of them on Kafka anyway), on Kafka ${onKafka}, doubled ${doubled}` +
        (lost > 0 ? `  <-- ${lost} acknowledged messages missing` : ''),
    );
    if (firstError[name]) console.log(`         first error: ${firstError[name]}`);
  }
  console.log(
    `RESULT ${JSON.stringify({ broker: `kafka-${broker}`, stop: crash ? 'SIGKILL' : 'graceful', downMs, sendSeconds, results })}`,
  );
  await kitProducer.disconnect();
  for (const producer of [kafkajs, plain, single]) await producer.disconnect();
  await admin.disconnect();
} finally {
  await stack.reset(() => {});
}
