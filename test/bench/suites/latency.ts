import { toTopicMessages } from '@bluelight/event-output';
import { freePort, type LocalStack } from '@bluelight/local-stack';
import { type BluelightEvent, topicFor } from '@bluelight/schemas';
import {
  FAMILIES,
  type Family,
  freshDatabase,
  kafka,
  runName,
  say,
  startChild,
  stopChild,
  topicByFamily,
  waitFor,
} from '../context.js';
import { percentile, round } from '../stats.js';
import { simulatedEvents } from './gateway.js';

/**
 * Produce → queryable at a live load: `rate` events per second, one event per produce request
 * (acks=all), for `seconds`. An event is queryable when the sink has committed its offset, which
 * it does only after ClickHouse has its raw row, its entity's facts. Committed offsets
 * are polled every 25 ms, so each latency is late by at most that much.
 */
export async function latencySuite(stack: LocalStack, options: { rate: number; seconds: number }) {
  const { database, client } = await freshDatabase(stack, 'bench_latency');
  await client.close();
  const prefix = `${runName('live')}.`;
  const groupPrefix = runName('bench-live');
  const clients = kafka(stack);
  const admin = clients.admin();
  await admin.connect();
  const producer = clients.producer();
  await producer.connect();
  const events = simulatedEvents(options.rate * options.seconds, 77) as BluelightEvent[];
  const topicNames = Object.fromEntries(
    FAMILIES.map((family) => [family, `${prefix}${topicByFamily(family).name}`]),
  ) as Record<Family, string>;
  await admin.ensureTopics(
    FAMILIES.map((family) => ({
      topic: topicNames[family],
      partitions: topicByFamily(family).partitions,
      replicationFactor: -1,
    })),
  );
  const sink = startChild('sink-live', 'services/clickhouse-sink/src/main.ts', {
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    CLICKHOUSE_URL: stack.clickhouseUrl,
    CLICKHOUSE_DATABASE: database,
    KAFKA_TOPIC_PREFIX: prefix,
    SINK_GROUP_PREFIX: groupPrefix,
    SINK_PORT: String(await freePort()),
  });
  // Pending events per topic and partition: [offset, sent at].
  const pending = new Map<string, [number, number][]>();
  const latencies: number[] = [];
  let polling = true;
  try {
    // The sink is ready when its groups exist: warm it up with a few events first.
    const candidates = simulatedEvents(5_000, 78) as BluelightEvent[];
    const warmUp = FAMILIES.flatMap((family) =>
      candidates.filter((event) => topicFor(event.event_type).family === family).slice(0, 10),
    );
    await producer.send(toTopicMessages(warmUp, prefix));
    await waitFor(
      'the sink to take the warm-up events',
      async () => {
        for (const family of FAMILIES) {
          const offsets = await admin.committedOffsets(
            `${groupPrefix}-${family}`,
            topicNames[family],
          );
          if (!offsets.some(({ offset }) => Number(offset) > 0)) return false;
        }
        return true;
      },
      120_000,
    );
    const poller = (async () => {
      while (polling || [...pending.values()].some((list) => list.length > 0)) {
        // The three families at once: asked one after another, each poll would add two more
        // round trips to every latency it records.
        await Promise.all(
          FAMILIES.map(async (family) => {
            const offsets = await admin.committedOffsets(
              `${groupPrefix}-${family}`,
              topicNames[family],
            );
            const now = performance.now();
            for (const { partition, offset } of offsets) {
              const key = `${topicNames[family]}|${partition}`;
              const list = pending.get(key) ?? [];
              while (list.length > 0 && (list[0] as [number, number])[0] < Number(offset)) {
                latencies.push(now - (list.shift() as [number, number])[1]);
              }
            }
          }),
        );
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    const interval = 1000 / options.rate;
    const started = performance.now();
    const sends: Promise<void>[] = [];
    for (const [index, event] of events.entries()) {
      const due = started + index * interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const sentAt = performance.now();
      sends.push(
        producer.send(toTopicMessages([event], prefix)).then(([record]) => {
          if (!record) return;
          const key = `${record.topic}|${record.partition}`;
          const list = pending.get(key) ?? [];
          list.push([Number(record.baseOffset), sentAt]);
          list.sort((a, b) => a[0] - b[0]);
          pending.set(key, list);
        }),
      );
    }
    await Promise.all(sends);
    const sendSeconds = (performance.now() - started) / 1000;
    polling = false;
    await Promise.race([
      poller,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('events never became queryable')), 120_000),
      ),
    ]);
    const result = {
      suite: 'latency',
      what: `produce → committed by the sink (raw rows and the facts in ClickHouse), ${options.rate} events/s for ${options.seconds} s, one event per produce request`,
      events: latencies.length,
      achievedRate: round(events.length / sendSeconds),
      p50Ms: round(percentile(latencies, 0.5)),
      p99Ms: round(percentile(latencies, 0.99)),
      maxMs: round(Math.max(...latencies)),
      target: { p99Ms: 500 },
    };
    say(`latency: ${JSON.stringify(result)}`);
    return result;
  } finally {
    polling = false;
    await stopChild(sink);
    await producer.disconnect();
    await admin.disconnect();
  }
}
