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

      // A 503'd send whose request was on the wire as the broker went may still have been written,
      // so a resent event can be there twice; the sink removes such duplicates by event id.
      // Nothing accepted may be missing.
      const onKafka = new Set(
        (await gateway.readAll()).map((message) => landed(message).event.event_id),
      );
      const missing = [...acceptedIds].filter((id) => !onKafka.has(id));
      expect(missing).toEqual([]);
      expect([...onKafka].filter((id) => !sentIds.has(id))).toEqual([]);
      expect(acceptedIds.size).toBe(sentIds.size);
    },
  );

  it.skipIf(!canControlEngines())(
    'after a 503 with the broker stopped nothing is left retrying: the refused events land only when the sender resends them, once',
    async () => {
      const { stack, cleanup } = await startPrivateStack({ components: ['kafka'] });
      cleanups.push(cleanup);
      const gateway = await startTestGateway({
        endpoints: { ...testEndpoints(), kafkaBrokers: stack.kafkaBrokers },
        env: { GATEWAY_PRODUCE_TIMEOUT_MS: String(PRODUCE_TIMEOUT_MS) },
      });
      cleanups.push(gateway.cleanup);
      const batch = () => validExamples().map((example) => withNewId(example.event));
      const before = batch();
      expect((await gateway.post(before)).statusCode).toBe(200);

      await stack.stop('kafka-1');
      const refused = batch();
      const started = Date.now();
      const response = await gateway.post(refused);
      expect(response.statusCode).toBe(503);
      expect(Date.now() - started).toBeLessThan(PRODUCE_TIMEOUT_MS + 1_000);
      // The producer's own deadline was the gateway's: nothing queued, delivered or retried now
      // (before, it went on for its 60 s delivery timeout).
      const idleBy = Date.now() + 1_000;
      while (!gateway.producer().isIdle() && Date.now() < idleBy) await sleep(50);
      expect(gateway.producer().isIdle()).toBe(true);

      await stack.start('kafka-1');
      for (let attempt = 0; attempt < 60; attempt += 1) {
        if ((await gateway.app().inject({ url: '/readyz' })).statusCode === 200) break;
        await sleep(500);
      }
      // Long enough for a retry still going on to have landed them (it tries at least every second).
      await sleep(5_000);
      const idsOnKafka = async () =>
        (await gateway.readAll()).map((message) => landed(message).event.event_id);
      const refusedIds = refused.map((event) => event.event_id);
      expect((await idsOnKafka()).filter((id) => refusedIds.includes(id))).toEqual([]);

      // The sender resends what it was told failed: each event is on Kafka once.
      let status = (await gateway.post(refused)).statusCode;
      for (let attempt = 1; status !== 200 && attempt < 30; attempt += 1) {
        await sleep(1_000);
        status = (await gateway.post(refused)).statusCode;
      }
      expect(status).toBe(200);
      const onKafka = await idsOnKafka();
      expect(onKafka.filter((id) => refusedIds.includes(id)).sort()).toEqual(
        [...refusedIds].sort(),
      );
      expect(onKafka.sort()).toEqual([...before, ...refused].map((event) => event.event_id).sort());
    },
  );
});
