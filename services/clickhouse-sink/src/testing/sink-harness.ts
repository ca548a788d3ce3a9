import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { loadConfig } from '@bluelight/service-kit';
import {
  kafkaFor,
  migratedDatabase,
  type TestEndpoints,
  testEndpoints,
  testLogger,
  uniqueName,
} from '@bluelight/test/harness';
import { sinkConfigSchema } from '../config.js';
import { familiesWithPrefix } from '../families.js';
import { type SinkService, startSinkService } from '../service.js';
import type { TestEvent } from './incident-scenario.js';

/**
 * A sink of the test's own: its own database (migrated), topic prefix and consumer groups, run
 * in-process against the shared engines (or those given).
 */
const MAIN_FILE = path.join(import.meta.dirname, '../main.ts');

export async function startTestSink(
  options: {
    endpoints?: TestEndpoints;
    env?: Record<string, string>;
    families?: string;
    /** false: only prepare the database and topics (another process will run the sink). */
    start?: boolean;
    /** Serve /healthz, /readyz and /metrics on SINK_PORT (give it in `env`), as main.ts does. */
    listen?: boolean;
  } = {},
) {
  const endpoints = options.endpoints ?? testEndpoints();
  const db = await migratedDatabase('sink', endpoints);
  const prefix = `${uniqueName('t')}.`;
  const env = {
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    CLICKHOUSE_URL: endpoints.clickhouseUrl,
    CLICKHOUSE_USER: endpoints.clickhouseUser,
    CLICKHOUSE_PASSWORD: endpoints.clickhousePassword,
    CLICKHOUSE_DATABASE: db.database,
    KAFKA_TOPIC_PREFIX: prefix,
    SINK_GROUP_PREFIX: uniqueName('sink'),
    SINK_FAMILIES: options.families ?? 'calls,incidents,resources',
    SINK_RETRY_MAX_MS: '2000',
    ...options.env,
  };
  const config = loadConfig(sinkConfigSchema, env);
  const families = familiesWithPrefix(prefix);
  const fatalErrors: Error[] = [];
  const logger = testLogger('clickhouse-sink');
  const kafka = kafkaFor(endpoints.kafkaBrokers);
  const admin = kafka.admin();
  await admin.connect();
  let service: SinkService | undefined;
  if (options.start === false) {
    await admin.ensureTopics(
      config.SINK_FAMILIES.map((name) => ({
        topic: families[name].topic.name,
        partitions: families[name].topic.partitions,
        replicationFactor: -1,
      })),
    );
  } else {
    service = await startSinkService(config, logger, {
      onFatal: (error) => fatalErrors.push(error),
      listen: options.listen ?? false,
    });
  }
  const producer = kafka.producer();
  await producer.connect();

  /** Produces events keyed `agency/entity id` as producers do, in the order given (raw ones as given). */
  async function produce(
    topic: string,
    events: (TestEvent | { raw: string | Buffer; key: string; headers?: Record<string, string> })[],
  ) {
    await producer.send([
      {
        topic,
        messages: events.map((event) =>
          'raw' in event
            ? { key: event.key, value: event.raw, headers: event.headers }
            : {
                key: `${event.agency}/${String(
                  event.payload.incident_id ?? event.payload.call_id ?? event.payload.resource_id,
                )}`,
                value: JSON.stringify(event),
              },
        ),
      },
    ]);
  }

  /** Waits until the family's consumer group has committed everything produced to its topic. */
  async function waitUntilCommitted(
    family: 'calls' | 'incidents' | 'resources',
    total: number,
    timeoutMs = 90_000,
  ) {
    const deadline = Date.now() + timeoutMs;
    const group = `${config.SINK_GROUP_PREFIX}-${family}`;
    let committed = 0;
    while (Date.now() < deadline) {
      if (fatalErrors.length > 0) throw fatalErrors[0];
      const offsets = await admin.committedOffsets(group, families[family].topic.name);
      committed = offsets.reduce((sum, { offset }) => sum + Math.max(Number(offset), 0), 0);
      if (committed >= total) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`the sink committed ${committed} of ${total} messages in ${timeoutMs} ms`);
  }

  /** The `n` column of a one-row query on the sink's database (e.g. `SELECT count() AS n …`). */
  async function count(query: string): Promise<number> {
    const result = await db.client.query({ query, format: 'JSONEachRow' });
    const [row] = await result.json<{ n: number | string }>();
    return Number(row?.n ?? 0);
  }

  /**
   * Runs the sink as its own process (main.ts) on this harness's database, topics and groups, as
   * production does, for tests that kill or signal it; `env` adds to or overrides its settings.
   */
  function spawnProcess(env: Record<string, string>): ChildProcess {
    return spawn(process.execPath, ['--import', 'tsx', MAIN_FILE], {
      env: {
        ...process.env,
        KAFKA_BROKERS: config.KAFKA_BROKERS.join(','),
        CLICKHOUSE_URL: config.CLICKHOUSE_URL,
        CLICKHOUSE_USER: config.CLICKHOUSE_USER,
        CLICKHOUSE_PASSWORD: config.CLICKHOUSE_PASSWORD,
        CLICKHOUSE_DATABASE: config.CLICKHOUSE_DATABASE,
        KAFKA_TOPIC_PREFIX: config.KAFKA_TOPIC_PREFIX,
        SINK_GROUP_PREFIX: config.SINK_GROUP_PREFIX,
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
        ...env,
      },
      stdio: 'inherit',
    });
  }

  return {
    config,
    db,
    count,
    spawnProcess,
    families,
    fatalErrors,
    producer,
    admin,
    produce,
    waitUntilCommitted,
    /** Stops the sink (committing what it finished) without dropping the database. */
    stopSink: async () => {
      await service?.stop();
      service = undefined;
    },
    restartSink: async () => {
      service = await startSinkService(config, logger, {
        onFatal: (error) => fatalErrors.push(error),
        listen: options.listen ?? false,
      });
    },
    get service() {
      return service;
    },
    cleanup: async () => {
      await service?.stop();
      await producer.disconnect();
      await admin.disconnect();
      await db.drop();
    },
  };
}

export { type TestEvent, uuidV7 } from './incident-scenario.js';
