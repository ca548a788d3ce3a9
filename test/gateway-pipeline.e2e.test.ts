import { createHash, randomBytes } from 'node:crypto';
import { startTestSink, uuidV7 } from '@bluelight/clickhouse-sink/testing';
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

  it('stores every event of one request spread over 150 months, and refuses one before the earliest time, naming the field', {
    timeout: 240_000,
  }, async () => {
    const sink = await startTestSink();
    cleanups.push(sink.cleanup);
    const key = randomBytes(24).toString('base64url');
    const port = await freePort();
    const config = loadConfig(gatewayConfigSchema, {
      KAFKA_BROKERS: sink.config.KAFKA_BROKERS.join(','),
      KAFKA_TOPIC_PREFIX: sink.config.KAFKA_TOPIC_PREFIX,
      GATEWAY_PORT: String(port),
      GATEWAY_API_KEYS: JSON.stringify([
        {
          id: 'backfill',
          key_sha256: createHash('sha256').update(key).digest('hex'),
          agencies: ['staffordshire-fire'],
          sources: ['backfill'],
        },
      ]),
    });
    const gateway = await startGatewayService(config, testLogger('ingest-gateway'), {
      listen: true,
    });
    cleanups.push(() => gateway.stop());
    // One incident reclassified once a month for 150 months from January 2000, the earliest
    // event time accepted by default: more months than ClickHouse takes in one INSERT (100).
    const monthly = Array.from({ length: 150 }, (_, month) => {
      const at = new Date(Date.UTC(2000, month, 15, 12)).toISOString();
      return {
        event_id: uuidV7(Date.parse(at)),
        event_type: 'incident.reclassified',
        schema_version: 1,
        occurred_at: at,
        source: 'backfill',
        agency: 'staffordshire-fire',
        payload: {
          incident_id: 'INC-150-MONTHS',
          details: {
            service: 'fire',
            category: { type: 'secondary_fire' },
            risk_band: 'low',
            life_risk: false,
          },
        },
      };
    });
    const tooEarly = {
      ...(monthly[0] as (typeof monthly)[number]),
      event_id: uuidV7(Date.parse('1999-12-31T23:59:59Z')),
      occurred_at: '1999-12-31T23:59:59Z',
    };
    const response = await fetch(`http://127.0.0.1:${port}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify([...monthly, tooEarly]),
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as {
      summary: Record<string, number>;
      rejected: { index: number; errors: { path: string }[] }[];
    };
    expect(answer.summary).toMatchObject({ received: 151, accepted: 150, rejected: 1 });
    expect(answer.rejected).toMatchObject([
      {
        index: 150,
        errors: expect.arrayContaining([expect.objectContaining({ path: 'occurred_at' })]),
      },
    ]);
    await sink.waitUntilCommitted('incidents', 150, 180_000);
    const stored = await sink.db.client.query({
      query: `SELECT count() AS events, uniqExact(toYYYYMM(occurred_at)) AS months,
                toString(min(occurred_at)) AS first, toString(max(occurred_at)) AS last
              FROM incidents_raw FINAL WHERE incident_id = 'INC-150-MONTHS'`,
      format: 'JSONEachRow',
    });
    expect(await stored.json()).toEqual([
      {
        events: 150,
        months: 150,
        first: '2000-01-15 12:00:00.000',
        last: '2012-06-15 12:00:00.000',
      },
    ]);
    const deadLetters = await sink.db.client.query({
      query: 'SELECT count() AS n FROM dead_letters',
      format: 'JSONEachRow',
    });
    expect(await deadLetters.json()).toEqual([{ n: 0 }]);
  });
});
