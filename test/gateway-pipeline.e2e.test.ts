import { createHash, randomBytes } from 'node:crypto';
import { startTestSink } from '@bluelight/clickhouse-sink/testing';
import { openEventOutput } from '@bluelight/event-output';
import { gatewayConfigSchema, startGatewayService } from '@bluelight/ingest-gateway';
import { freePort } from '@bluelight/local-stack';
import { type BluelightEvent, topicFor } from '@bluelight/schemas';
import { loadConfig } from '@bluelight/service-kit';
import { STAFFORDSHIRE_2023_24, simulate } from '@bluelight/simulator';
import { afterAll, describe, expect, it } from 'vitest';
import { testLogger } from './harness/index.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe('simulator → ingest gateway → Kafka → sink → ClickHouse', () => {
  it('lands every distinct event once, the gateway absorbing the feed’s repeats', {
    timeout: 240_000,
  }, async () => {
    const sink = await startTestSink();
    cleanups.push(sink.cleanup);
    const key = randomBytes(24).toString('base64url');
    const profile = STAFFORDSHIRE_2023_24;
    const port = await freePort();
    const config = loadConfig(gatewayConfigSchema, {
      KAFKA_BROKERS: sink.config.KAFKA_BROKERS.join(','),
      KAFKA_TOPIC_PREFIX: sink.config.KAFKA_TOPIC_PREFIX,
      GATEWAY_PORT: String(port),
      GATEWAY_API_KEYS: JSON.stringify([
        {
          id: 'simulator',
          key_sha256: createHash('sha256').update(key).digest('hex'),
          agencies: Object.values(profile.agencies),
          sources: Object.values(profile.sources),
        },
      ]),
    });
    const gateway = await startGatewayService(config, testLogger('ingest-gateway'), {
      listen: true,
    });
    cleanups.push(() => gateway.stop());

    const output = await openEventOutput(
      { kind: 'gateway', url: `http://127.0.0.1:${port}`, apiKey: key },
      testLogger('simulator'),
    );
    const distinct = {
      calls: new Set<string>(),
      incidents: new Set<string>(),
      resources: new Set<string>(),
    };
    let sent = 0;
    const from = Date.parse('2024-03-30T12:00:00Z');
    for (const { emissions } of simulate({
      profile,
      seed: 5,
      fromMs: from,
      toMs: from + 86_400_000,
    })) {
      const events = emissions.map((emission) => emission.event as unknown as BluelightEvent);
      for (const event of events) distinct[topicFor(event.event_type).family].add(event.event_id);
      sent += events.length;
      await output.write(events);
    }
    await output.close();
    // The feed repeats some events; the gateway reports them as duplicates and sends them once.
    expect(sent).toBeGreaterThan(
      distinct.calls.size + distinct.incidents.size + distinct.resources.size,
    );
    for (const family of ['calls', 'incidents', 'resources'] as const) {
      await sink.waitUntilCommitted(family, distinct[family].size, 180_000);
      const result = await sink.db.client.query({
        query: `SELECT count() AS rows, uniqExact(event_id) AS ids FROM ${family}_raw`,
        format: 'JSONEachRow',
      });
      expect(await result.json()).toEqual([
        { rows: distinct[family].size, ids: distinct[family].size },
      ]);
    }
  });
});
