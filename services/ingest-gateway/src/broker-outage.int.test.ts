import { validExamples } from '@bluelight/schemas';
import { canControlEngines, startPrivateStack, testEndpoints } from '@bluelight/test/harness';
import { afterEach, describe, expect, it } from 'vitest';
import { withNewId } from './testing/events.js';
import { landed, startTestGateway } from './testing/gateway-harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const PRODUCE_TIMEOUT_MS = 2_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Kafka outage', () => {
  it.skipIf(!canControlEngines())(
    'answers 503 with Retry-After while the broker is down; after its restart every event reported accepted is on Kafka',
    async () => {
      const { stack, cleanup } = await startPrivateStack({ components: ['kafka'] });
      cleanups.push(cleanup);
      const gateway = await startTestGateway({
        endpoints: { ...testEndpoints(), kafkaBrokers: stack.kafkaBrokers },
        env: { GATEWAY_PRODUCE_TIMEOUT_MS: String(PRODUCE_TIMEOUT_MS) },
      });
      cleanups.push(gateway.cleanup);

      const sentIds = new Set<string>();
      const acceptedIds = new Set<string>();
      const batch = () => validExamples().map((example) => withNewId(example.event));
      /** One request as a producer makes it; returns the status and, for a 503, checks the answer. */
      async function send(events: { event_id: string }[]) {
        for (const event of events) sentIds.add(event.event_id);
        const started = Date.now();
        const response = await gateway.post(events);
        if (response.statusCode === 200) {
          for (const item of response.json().accepted) acceptedIds.add(item.event_id);
        } else {
          expect(response.statusCode).toBe(503);
          expect(response.headers['retry-after']).toBe('5');
          expect(response.json().error).toBe('kafka_unavailable');
          expect(Date.now() - started).toBeLessThan(PRODUCE_TIMEOUT_MS + 1_000);
        }
        return response.statusCode;
      }

      expect(await send(batch())).toBe(200);

      // Requests keep coming while the broker shuts down: the last before it goes are answered
      // 200, then every one 503. A producer keeps what was refused to send again.
      const refused: { event_id: string }[][] = [];
      let stopped = false;
      const stopping = stack.stop('kafka-1').then(() => {
        stopped = true;
      });
      let refusedSinceStop = 0;
      while (!stopped || refusedSinceStop < 3) {
        const events = batch();
        if ((await send(events)) === 503) {
          refused.push(events);
          if (stopped) refusedSinceStop += 1;
        }
        await sleep(100);
      }
      await stopping;
      expect((await gateway.app().inject({ url: '/readyz' })).statusCode).toBe(503);

      await stack.start('kafka-1');
      // The producer retries what was refused, as Retry-After says, until it is accepted.
      for (const events of refused) {
        let status = await send(events);
        for (let attempt = 1; status !== 200 && attempt < 30; attempt += 1) {
          await sleep(1_000);
          status = await send(events);
        }
        expect(status).toBe(200);
      }
      expect((await gateway.app().inject({ url: '/readyz' })).statusCode).toBe(200);

      // A 503'd send may still reach Kafka later (the producer retries on), so a resent event can be
      // there twice; the sink removes such duplicates by event id. Nothing accepted may be missing.
      const onKafka = new Set(
        (await gateway.readAll()).map((message) => landed(message).event.event_id),
      );
      const missing = [...acceptedIds].filter((id) => !onKafka.has(id));
      expect(missing).toEqual([]);
      expect([...onKafka].filter((id) => !sentIds.has(id))).toEqual([]);
      expect(acceptedIds.size).toBe(sentIds.size);
    },
  );
});
