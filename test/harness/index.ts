import { randomBytes } from 'node:crypto';
import { createDatabaseIfMissing, migrateUp } from '@bluelight/clickhouse-schema';
import { LocalStack, type StackOptions } from '@bluelight/local-stack';
import {
  type ConsumedMessage,
  createClickHouse,
  createKafkaClients,
  createLogger,
} from '@bluelight/service-kit';
import { inject } from 'vitest';
import { freeStackPorts, type TestEndpoints } from './endpoints.js';

export type { TestEndpoints } from './endpoints.js';

export function testEndpoints(): TestEndpoints {
  return inject('endpoints');
}

/** A name no other test (or earlier run) uses; valid as a Kafka topic and a ClickHouse table. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export function testLogger(name: string) {
  return createLogger({ service: name, level: process.env.TEST_LOG_LEVEL ?? 'silent' });
}

export function kafkaFor(brokers: string[], clientId = 'bluelight-test') {
  return createKafkaClients({
    brokers,
    clientId,
    logger: testLogger(clientId),
  });
}

/**
 * Consumes from the beginning of `topic` (or from the group's committed offsets) until `count`
 * messages arrived, commits them, and disconnects. Fails after `timeoutMs`.
 */
export async function consumeMessages(options: {
  brokers: string[];
  topic: string;
  count: number;
  groupId?: string;
  timeoutMs?: number;
}): Promise<ConsumedMessage[]> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const consumer = kafkaFor(options.brokers).consumer(options.groupId ?? uniqueName('reader'));
  const received: ConsumedMessage[] = [];
  await consumer.connect();
  await consumer.subscribe([options.topic], { fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`got ${received.length} of ${options.count} messages in ${timeoutMs} ms`),
          ),
        timeoutMs,
      );
      consumer
        .run(async (batch) => {
          received.push(...batch.messages);
          if (received.length >= options.count) {
            clearTimeout(timer);
            resolve();
          }
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return received;
}

export function clickhouseFor(
  endpoints: Pick<TestEndpoints, 'clickhouseUrl' | 'clickhouseUser' | 'clickhousePassword'>,
  database = 'default',
) {
  return createClickHouse({
    url: endpoints.clickhouseUrl,
    username: endpoints.clickhouseUser,
    password: endpoints.clickhousePassword,
    database,
    application: 'bluelight-test',
  });
}

/**
 * A database of the test's own with every migration applied; `drop()` removes it. Tests that
 * touch Bluelight's tables use one each, so they never see each other's rows.
 */
export async function migratedDatabase(prefix: string, endpoints: TestEndpoints = testEndpoints()) {
  const database = uniqueName(prefix);
  const server = clickhouseFor(endpoints);
  await createDatabaseIfMissing(server, database);
  const client = clickhouseFor(endpoints, database);
  await migrateUp(client);
  return {
    database,
    client,
    drop: async () => {
      await client.close();
      await server.command({ query: `DROP DATABASE IF EXISTS ${database}` });
      await server.close();
    },
  };
}

/**
 * A stack of its own for a test that stops or restarts an engine, so other tests running at the
 * same time are not disturbed. Only the local stack can do this; elsewhere the test is skipped.
 */
export async function startPrivateStack(
  options: Pick<StackOptions, 'components' | 'brokers' | 'kafkaSecurity'>,
): Promise<{ stack: LocalStack; cleanup: () => Promise<void> }> {
  const stack = await LocalStack.open({
    name: `t-${testEndpoints().runId}-${randomBytes(4).toString('hex')}`,
    ...(await freeStackPorts(options.brokers ?? 1)),
    ...options,
  });
  await stack.up(() => {});
  return { stack, cleanup: () => stack.reset(() => {}) };
}

/** True when the tests run on the local stack, which is the only place they may restart engines. */
export function canControlEngines(): boolean {
  return testEndpoints().mode === 'local-stack';
}

/**
 * Polls `probe` until it returns something other than `undefined` or `false`, and returns that;
 * fails naming `what` after `timeoutMs`. An error thrown by the probe fails at once: probes that
 * expect transient errors catch them themselves.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  { timeoutMs = 60_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
export { ALL_FACTS, storedFigures } from './stored-figures.js';
