import { createHash } from 'node:crypto';
import { freePort, type LocalStack } from '@bluelight/local-stack';
import { STAFFORDSHIRE_2023_24, simulate } from '@bluelight/simulator';
import { runName, say, startChild, stopChild, waitFor } from '../context.js';
import { median, percentile, round } from '../stats.js';

/** Simulated events, `count` of them, in the order a feed would send them. */
export function simulatedEvents(count: number, seed: number, fromIso = '2023-06-01T00:00:00Z') {
  const events: unknown[] = [];
  for (const { emissions } of simulate({
    profile: STAFFORDSHIRE_2023_24,
    seed,
    fromMs: Date.parse(fromIso),
  })) {
    for (const emission of emissions) {
      events.push(emission.event);
      if (events.length >= count) return events;
    }
  }
  return events;
}

/**
 * Gateway → Kafka: events accepted per second and request latency, batches of 500 (acks=all,
 * idempotent producer), `concurrency` requests in flight, the gateway as its own process.
 */
export async function gatewaySuite(
  stack: LocalStack,
  options: { events: number; concurrency: number; trials: number },
) {
  const key = `bench-${runName('k')}`;
  const port = await freePort();
  const producers = [
    {
      id: 'bench',
      key_sha256: createHash('sha256').update(key).digest('hex'),
      agencies: ['staffordshire-control', 'staffordshire-fire', 'staffordshire-police'],
      sources: ['staffs-telephony', 'sfrs-cad', 'staffs-police-cad', 'sfrs-station-end'],
    },
  ];
  const trials: { eventsPerSecond: number; p50Ms: number; p99Ms: number; accepted: number }[] = [];
  for (let trial = 0; trial < options.trials; trial += 1) {
    const gateway = startChild(`gateway-${trial}`, 'services/ingest-gateway/src/main.ts', {
      KAFKA_BROKERS: stack.kafkaBrokers.join(','),
      KAFKA_TOPIC_PREFIX: `${runName('gw')}.`,
      GATEWAY_PORT: String(port),
      GATEWAY_API_KEYS: JSON.stringify(producers),
      // The benchmark measures throughput, not the per-producer rate limit.
      GATEWAY_RATE_LIMIT_EVENTS_PER_SECOND: '10000000',
      GATEWAY_RATE_LIMIT_BURST: '10000000',
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitFor(
        'the gateway to be ready',
        async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.ok === true,
        60_000,
      );
      // Each trial sends events the gateway has not seen (a new seed), in batches of 500.
      const events = simulatedEvents(options.events, 1_000 + trial);
      const bodies: string[] = [];
      for (let index = 0; index < events.length; index += 500) {
        bodies.push(JSON.stringify(events.slice(index, index + 500)));
      }
      // Warm-up: connections, JIT, the producer's first metadata round trip.
      await post(url, key, JSON.stringify(simulatedEvents(500, 9_000 + trial)));
      const latencies: number[] = [];
      let accepted = 0;
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: options.concurrency }, async () => {
          while (next < bodies.length) {
            const body = bodies[next] as string;
            next += 1;
            const sent = performance.now();
            const reply = await post(url, key, body);
            latencies.push(performance.now() - sent);
            accepted += reply.summary.accepted;
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const result = {
        eventsPerSecond: round(accepted / seconds),
        p50Ms: round(percentile(latencies, 0.5)),
        p99Ms: round(percentile(latencies, 0.99)),
        accepted,
      };
      say(`gateway trial ${trial + 1}: ${JSON.stringify(result)}`);
      trials.push(result);
    } finally {
      await stopChild(gateway);
    }
  }
  return {
    suite: 'gateway',
    what: `POST /v1/events, batches of 500 simulated events, ${options.concurrency} requests in flight, acks=all`,
    events: options.events,
    trials,
    eventsPerSecond: median(trials.map((trial) => trial.eventsPerSecond)),
    p50Ms: median(trials.map((trial) => trial.p50Ms)),
    p99Ms: median(trials.map((trial) => trial.p99Ms)),
    target: { eventsPerSecond: 20_000 },
  };
}

async function post(url: string, key: string, body: string) {
  for (let attempt = 0; ; attempt += 1) {
    const response = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body,
    });
    if (response.status === 200) {
      return (await response.json()) as { summary: { accepted: number; rejected: number } };
    }
    if (response.status !== 503 || attempt > 5) {
      throw new Error(`the gateway answered ${response.status}: ${await response.text()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
