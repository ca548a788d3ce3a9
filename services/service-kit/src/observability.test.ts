import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createMetricsRegistry, observability } from './observability.js';

async function buildApp(options: { failing?: boolean; hanging?: boolean; shuttingDown?: boolean }) {
  const app = Fastify();
  const registry = createMetricsRegistry('test-service');
  await app.register(observability, {
    registry,
    readinessTimeoutMs: 100,
    isShuttingDown: () => options.shuttingDown ?? false,
    readiness: [
      { name: 'kafka', check: async () => {} },
      {
        name: 'clickhouse',
        check: async () => {
          if (options.failing) throw new Error('connect ECONNREFUSED 127.0.0.1:8123');
          if (options.hanging) await new Promise(() => {});
        },
      },
    ],
  });
  app.get('/v1/things/:id', async () => ({ ok: true }));
  return app;
}

describe('observability plugin', () => {
  it('answers /healthz without looking at dependencies', async () => {
    const app = await buildApp({ failing: true });
    const response = await app.inject({ url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz 200 when every dependency answers', async () => {
    const app = await buildApp({});
    const response = await app.inject({ url: '/readyz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready', checks: { kafka: 'ok', clickhouse: 'ok' } });
  });

  it('answers /readyz 503 naming the failing and the hung dependency', async () => {
    const failing = await (await buildApp({ failing: true })).inject({ url: '/readyz' });
    expect(failing.statusCode).toBe(503);
    expect(failing.json().checks).toEqual({
      kafka: 'ok',
      clickhouse: 'connect ECONNREFUSED 127.0.0.1:8123',
    });
    const hung = await (await buildApp({ hanging: true })).inject({ url: '/readyz' });
    expect(hung.statusCode).toBe(503);
    expect(hung.json().checks.clickhouse).toBe('clickhouse did not answer within 100 ms');
  });

  it('answers /readyz 503 while shutting down', async () => {
    const response = await (await buildApp({ shuttingDown: true })).inject({ url: '/readyz' });
    expect(response.statusCode).toBe(503);
    expect(response.json().status).toBe('shutting down');
  });

  it('serves Prometheus text with process metrics and per-route request durations', async () => {
    const app = await buildApp({});
    await app.inject({ url: '/v1/things/42' });
    await app.inject({ url: '/v1/things/43' });
    const response = await app.inject({ url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    expect(response.body).toContain('process_cpu_user_seconds_total');
    expect(response.body).toMatch(
      /http_request_duration_seconds_count\{service="test-service",method="GET",route="\/v1\/things\/:id",status_code="200"\} 2/,
    );
  });

  it('answers /healthz 503 naming a failed liveness check', async () => {
    const app = Fastify();
    await app.register(observability, {
      registry: createMetricsRegistry('test-service'),
      liveness: [
        {
          name: 'consumer loop',
          check: async () => {
            throw new Error('no fetch for 95 s');
          },
        },
      ],
    });
    const response = await app.inject({ url: '/healthz' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({
      status: 'unhealthy',
      checks: { 'consumer loop': 'no fetch for 95 s' },
    });
  });
});
