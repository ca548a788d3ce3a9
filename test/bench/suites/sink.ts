import { openEventOutput } from '@bluelight/event-output';
import { freePort, type LocalStack } from '@bluelight/local-stack';
import type { BluelightEvent } from '@bluelight/schemas';
import type { ClickHouseClient } from '@bluelight/service-kit';
import { STAFFORDSHIRE_2023_24, simulate } from '@bluelight/simulator';
import {
  clickhouse,
  committed,
  cpuMeter,
  endOffsets,
  FAMILIES,
  type Family,
  freshDatabase,
  kafka,
  logger,
  runName,
  say,
  startChild,
  stopChild,
  topicByFamily,
  waitFor,
} from '../context.js';
import { round } from '../stats.js';

/** One simulated year (2023-24, London year) written to Kafka under a topic prefix of its own. */
export async function produceYear(stack: LocalStack, seed = 1) {
  const prefix = `${runName('year')}.`;
  const output = await openEventOutput(
    { kind: 'kafka', brokers: stack.kafkaBrokers, topicPrefix: prefix },
    logger,
  );
  let events = 0;
  const started = performance.now();
  for (const { emissions } of simulate({
    profile: STAFFORDSHIRE_2023_24,
    seed,
    fromMs: Date.parse('2023-03-31T23:00:00Z'),
    toMs: Date.parse('2024-03-31T23:00:00Z'),
  })) {
    await output.write(emissions.map((emission) => emission.event as unknown as BluelightEvent));
    events += emissions.length;
  }
  await output.close();
  const seconds = (performance.now() - started) / 1000;
  say(`produced ${events} events to Kafka in ${seconds.toFixed(1)} s`);
  return { prefix, events, produceSeconds: seconds };
}

const topicOf = (prefix: string, family: Family) => `${prefix}${topicByFamily(family).name}`;

/** The step timings the sink reports on /metrics, summed over families. */
async function sinkStepSeconds(port: number) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const steps: Record<string, number> = {};
  for (const match of text.matchAll(
    /^sink_step_duration_seconds_sum\{[^}]*step="([a-z_]+)"[^}]*\} (\S+)$/gm,
  )) {
    steps[match[1] as string] = (steps[match[1] as string] ?? 0) + Number(match[2]);
  }
  for (const match of text.matchAll(
    /^sink_batch_rows_(count|sum)\{[^}]*family="([a-z]+)"[^}]*\} (\S+)$/gm,
  )) {
    steps[`${match[2]}_${match[1] === 'count' ? 'units' : 'messages'}`] = Number(match[3]);
  }
  return steps;
}

/**
 * Bluelight's sink, as its own process, from a fresh consumer group and database over topics
 * already holding a simulated year: time until every message is committed (raw rows and every
 * fact kept), as events per second.
 */
export async function runBluelightSink(
  stack: LocalStack,
  prefix: string,
  events: number,
  options: { database?: string } = {},
) {
  const { database, client } = options.database
    ? { database: options.database, client: clickhouse(stack, options.database) }
    : await freshDatabase(stack, 'bench_sink');
  const groupPrefix = runName('bench-sink');
  const port = await freePort();
  const admin = kafka(stack).admin();
  await admin.connect();
  const ends = Object.fromEntries(
    await Promise.all(
      FAMILIES.map(async (family) => [family, await endOffsets(admin, topicOf(prefix, family))]),
    ),
  ) as Record<Family, number>;
  const started = performance.now();
  let sinkPid: number | undefined;
  const cpu = await cpuMeter(stack, { sink: () => sinkPid });
  const sink = startChild('sink', 'services/clickhouse-sink/src/main.ts', {
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    CLICKHOUSE_URL: stack.clickhouseUrl,
    CLICKHOUSE_DATABASE: database,
    KAFKA_TOPIC_PREFIX: prefix,
    SINK_GROUP_PREFIX: groupPrefix,
    SINK_PORT: String(port),
  });
  sinkPid = sink.pid;
  try {
    let lastReport = 0;
    await waitFor(
      'the sink to commit every message',
      async () => {
        const done = await Promise.all(
          FAMILIES.map((family) =>
            committed(admin, `${groupPrefix}-${family}`, topicOf(prefix, family)),
          ),
        );
        const total = done.reduce((sum, value) => sum + value, 0);
        if (performance.now() - lastReport > 30_000) {
          lastReport = performance.now();
          say(`sink: ${total} of ${events} committed`);
        }
        return FAMILIES.every((family, index) => (done[index] as number) >= ends[family]);
      },
      3 * 3_600_000,
      500,
    );
    const seconds = (performance.now() - started) / 1000;
    const cpuSeconds = await cpu();
    const steps = await sinkStepSeconds(port);
    const stored = await countDistinct(client);
    return {
      database,
      seconds,
      eventsPerSecond: round(events / seconds),
      steps,
      cpuSeconds,
      stored,
    };
  } finally {
    await stopChild(sink);
    await admin.disconnect();
    await client.close();
  }
}

async function countDistinct(client: ClickHouseClient) {
  const result = await client.query({
    query: `SELECT
      (SELECT uniqExact(event_id) FROM calls_raw) + (SELECT uniqExact(event_id) FROM incidents_raw)
        + (SELECT uniqExact(event_id) FROM resources_raw) AS distinct_events`,
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ distinct_events: number }>();
  return Number(row?.distinct_events ?? 0);
}

/**
 * The peer: the sink a Node.js user would write with the usual libraries — a KafkaJS consumer
 * group per topic, each batch inserted as JSONEachRow rows of the raw events with
 * @clickhouse/client, offsets committed after the insert. (The official ClickHouse Kafka Connect
 * sink is not on Maven Central, and the embedded engine's Kafka table engine stalls after its
 * first read, so neither could run here.) It keeps no derived facts, no dead letters
 * and does not validate events.
 */
async function runNodePeer(stack: LocalStack, prefix: string, events: number) {
  const database = runName('bench_peer');
  const server = clickhouse(stack);
  await server.command({ query: `CREATE DATABASE ${database}` });
  for (const family of FAMILIES) {
    await server.command({
      query: `CREATE TABLE ${database}.${family}_raw (
        event_id String, event_type LowCardinality(String), occurred_at DateTime64(3, 'UTC'),
        agency LowCardinality(String), source LowCardinality(String), payload String,
        _topic LowCardinality(String), _partition UInt32, _offset UInt64, _ingested_at DateTime64(3, 'UTC')
      ) ENGINE = MergeTree PARTITION BY toYYYYMM(occurred_at) ORDER BY (event_type, event_id)`,
    });
  }
  const client = clickhouse(stack, database);
  const clients = kafka(stack);
  const admin = clients.admin();
  await admin.connect();
  const group = runName('bench-peer');
  const consumers = FAMILIES.map((family) => ({
    family,
    consumer: clients.consumer(`${group}-${family}`),
  }));
  const started = performance.now();
  const cpu = await cpuMeter(stack, { peer: () => process.pid });
  try {
    for (const { family, consumer } of consumers) {
      await consumer.connect();
      await consumer.subscribe([topicOf(prefix, family)], { fromBeginning: true });
      await consumer.run(async (batch) => {
        const ingestedAt = new Date().toISOString().replace('T', ' ').replace('Z', '');
        await client.insert({
          table: `${family}_raw`,
          format: 'JSONEachRow',
          values: batch.messages.map((message) => {
            const event = JSON.parse(message.value?.toString('utf8') ?? '{}');
            return {
              event_id: event.event_id,
              event_type: event.event_type,
              occurred_at: event.occurred_at,
              agency: event.agency,
              source: event.source,
              payload: JSON.stringify(event.payload),
              _topic: message.topic,
              _partition: message.partition,
              _offset: message.offset,
              _ingested_at: ingestedAt,
            };
          }),
        });
      });
    }
    await waitFor(
      'the peer to commit every message',
      async () => {
        for (const family of FAMILIES) {
          const topic = topicOf(prefix, family);
          if (
            (await committed(admin, `${group}-${family}`, topic)) < (await endOffsets(admin, topic))
          )
            return false;
        }
        return true;
      },
      3_600_000,
      500,
    );
    const seconds = (performance.now() - started) / 1000;
    const cpuSeconds = await cpu();
    const result = await client.query({
      query: `SELECT (SELECT count() FROM calls_raw) + (SELECT count() FROM incidents_raw) + (SELECT count() FROM resources_raw) AS n`,
      format: 'JSONEachRow',
    });
    const stored = Number((await result.json<{ n: number }>())[0]?.n ?? 0);
    return { database, seconds, eventsPerSecond: round(events / seconds), cpuSeconds, stored };
  } finally {
    await Promise.all(consumers.map(({ consumer }) => consumer.disconnect()));
    await admin.disconnect();
    await client.close();
    await server.close();
  }
}

/**
 * Kafka → ClickHouse over a simulated year (≈ 1.06 million events): Bluelight's sink and the
 * peer on the same topics and the same ClickHouse, one after the other, `trials` times each.
 */
export async function sinkSuite(stack: LocalStack, options: { trials: number }) {
  const year = await produceYear(stack);
  const trials: {
    bluelight: Awaited<ReturnType<typeof runBluelightSink>>;
    peer: Awaited<ReturnType<typeof runNodePeer>>;
  }[] = [];
  for (let trial = 0; trial < options.trials; trial += 1) {
    const bluelight = await runBluelightSink(stack, year.prefix, year.events);
    say(`bluelight sink trial ${trial + 1}: ${JSON.stringify(bluelight)}`);
    const peer = await runNodePeer(stack, year.prefix, year.events);
    say(`peer trial ${trial + 1}: ${JSON.stringify(peer)}`);
    trials.push({ bluelight, peer });
  }
  const medianOf = (values: number[]) =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
  const ours = medianOf(trials.map((trial) => trial.bluelight.eventsPerSecond));
  const peer = medianOf(trials.map((trial) => trial.peer.eventsPerSecond));
  const rawInsertSeconds = medianOf(trials.map((trial) => trial.bluelight.steps.raw_insert ?? 0));
  return {
    suite: 'sink',
    what: 'Kafka → ClickHouse, one simulated year from fresh consumer groups; Bluelight: raw rows + every fact, committed; peer: a plain KafkaJS + @clickhouse/client sink, raw rows only',
    events: year.events,
    produceSeconds: round(year.produceSeconds),
    produceEventsPerSecond: round(year.events / year.produceSeconds),
    peer: 'a plain Node.js sink (KafkaJS consumer, one JSONEachRow insert per batch with @clickhouse/client, commit after insert), same topics and engine',
    trials,
    eventsPerSecond: ours,
    peerEventsPerSecond: peer,
    ratio: round(ours / peer),
    // The part of Bluelight's time spent inserting raw rows, to compare like with like.
    rawInsertEventsPerSecond: round(year.events / rawInsertSeconds),
    target: { eventsPerSecond: 50_000, ratio: 1 },
    backfill: {
      yearSeconds: round(year.events / ours),
      nationalEventsPerYear: 600_000_000,
      nationalHours: round(600_000_000 / ours / 3600),
    },
  };
}
