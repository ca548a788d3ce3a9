/**
 * A consumer in a process of its own, for the test that SIGKILLs a group member
 * (consumer.int.test.ts). Joins GROUP on TOPIC at BROKERS; handles (resolves at once) every batch
 * that starts before HOLD_FROM (a JSON map partition → offset) and holds every later one for
 * ever. Reports on stdout, one JSON object a line: {assigned}, {batch, held}.
 */

import { createLogger } from '../../logger.js';
import { createKafkaClients } from '../clients.js';

const brokers = (process.env.BROKERS ?? '').split(',');
const topic = process.env.TOPIC ?? '';
const group = process.env.GROUP ?? '';
const holdFrom = new Map<number, bigint>(
  Object.entries(JSON.parse(process.env.HOLD_FROM ?? '{}') as Record<string, string>).map(
    ([partition, offset]) => [Number(partition), BigInt(offset)],
  ),
);
const say = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);

const kafka = createKafkaClients({
  brokers,
  clientId: 'consumer-child',
  logger: createLogger({
    service: 'consumer-child',
    level: process.env.TEST_LOG_LEVEL ?? 'silent',
  }),
});
let assignments = 0;
const consumer = kafka.consumer(group, {
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 1_000,
  onAssignment: () => {
    assignments += 1;
  },
});
await consumer.connect();
await consumer.subscribe([topic]);
await consumer.run(async (batch) => {
  const first = BigInt(batch.messages[0]?.offset ?? '0');
  const held = first >= (holdFrom.get(batch.partition) ?? BigInt(Number.MAX_SAFE_INTEGER));
  say({
    batch: {
      partition: batch.partition,
      first: first.toString(),
      last: batch.messages.at(-1)?.offset,
    },
    held,
  });
  if (held) await new Promise(() => {});
});
say({ assigned: assignments });
