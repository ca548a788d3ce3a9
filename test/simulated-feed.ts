import type { startTestSink } from '@bluelight/clickhouse-sink/testing';
import { openEventOutput } from '@bluelight/event-output';
import { type BluelightEvent, topicFor } from '@bluelight/schemas';
import { STAFFORDSHIRE_2023_24, simulate } from '@bluelight/simulator';
import { testLogger } from './harness/index.js';

type TestSink = Awaited<ReturnType<typeof startTestSink>>;

/**
 * Simulates the county from `fromMs` to `toMs` into the sink's Kafka topics (as `bluelight
 * simulate --out kafka` does) and waits until the sink has committed every event; returns the
 * events sent, in order, for the test to recompute its figures from.
 */
export async function simulateIntoSink(
  sink: TestSink,
  options: { seed: number; fromMs: number; toMs: number },
): Promise<BluelightEvent[]> {
  const output = await openEventOutput(
    {
      kind: 'kafka',
      brokers: sink.config.KAFKA_BROKERS,
      topicPrefix: sink.config.KAFKA_TOPIC_PREFIX,
    },
    testLogger('simulator'),
  );
  const sent: BluelightEvent[] = [];
  const perFamily = { calls: 0, incidents: 0, resources: 0 };
  for (const { emissions } of simulate({ profile: STAFFORDSHIRE_2023_24, ...options })) {
    const events = emissions.map((emission) => emission.event as unknown as BluelightEvent);
    for (const event of events) perFamily[topicFor(event.event_type).family] += 1;
    sent.push(...events);
    await output.write(events);
  }
  await output.close();
  for (const family of ['calls', 'incidents', 'resources'] as const) {
    await sink.waitUntilCommitted(family, perFamily[family], 240_000);
  }
  return sent;
}
