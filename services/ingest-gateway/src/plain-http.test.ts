import { PassThrough } from 'node:stream';
import { validExamples } from '@bluelight/schemas';
import {
  createLogger,
  type EventProducer,
  loadConfig,
  type TopicMessages,
} from '@bluelight/service-kit';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { gatewayConfigSchema } from './config.js';
import { TEST_KEYS, testSenderKeys, withNewId } from './testing/events.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function gateway(env: Record<string, string>) {
  const sent: TopicMessages[][] = [];
  const producer: EventProducer = {
    connect: async () => {},
    disconnect: async () => {},
    send: async (batches) => {
      sent.push(batches);
      return [];
    },
  };
  const app = await buildApp({
    config: loadConfig(gatewayConfigSchema, {
      GATEWAY_API_KEYS: JSON.stringify(testSenderKeys()),
      ...env,
    }),
    producer,
    logger: createLogger({ service: 'ingest-gateway', destination: new PassThrough() }),
  });
  apps.push(app);
  const post = (remoteAddress: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/events',
      remoteAddress,
      // A new event id each time, so none is answered as a duplicate of the last.
      payload: JSON.stringify([withNewId(validExamples()[0]?.event)]),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_KEYS.staffs}` },
    });
  return { app, post, sent };
}

describe('HTTP_REQUIRE_TLS (TLS terminated by a proxy on this machine)', () => {
  it('refuses plain HTTP from another machine, sending nothing, and serves this machine', async () => {
    const { post, sent } = await gateway({ HTTP_REQUIRE_TLS: 'true' });
    const remote = await post('10.1.2.3');
    expect(remote.statusCode, remote.body).toBe(403);
    expect(remote.json()).toEqual({
      error: 'tls_required',
      message: 'plain HTTP is refused from other machines: connect over HTTPS (HTTP_REQUIRE_TLS)',
    });
    expect(sent).toEqual([]);
    for (const local of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      const answer = await post(local);
      expect(answer.statusCode, local).toBe(200);
      expect(answer.json().summary, local).toEqual({
        received: 1,
        accepted: 1,
        duplicates: 0,
        rejected: 0,
      });
    }
    expect(sent).toHaveLength(3);
  });

  it('is off by default: plain HTTP from anywhere, as before', async () => {
    const { post, sent } = await gateway({});
    expect((await post('10.1.2.3')).json().summary.accepted).toBe(1);
    expect(sent).toHaveLength(1);
  });
});
