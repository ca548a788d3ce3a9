import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bearerAuthentication, createHttpApp, type HttpApp, HttpError } from './http-service.js';
import { createLogger } from './logger.js';
import { createMetricsRegistry } from './observability.js';

const KEYS: Record<string, { id: string }> = { 'secret-one': { id: 'reader-one' } };

const silent = createLogger({
  service: 'test',
  destination: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

let app: HttpApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function buildApp(options: { unconfigured?: string; openapi?: boolean } = {}) {
  app = await createHttpApp({
    logger: silent,
    observability: { registry: createMetricsRegistry('test') },
    ...(options.openapi === false
      ? {}
      : { openapi: { title: 'Test service', description: 'For the kit’s tests.' } }),
  });
  const authentication = bearerAuthentication({
    identify: (key) => KEYS[key],
    unconfigured: () => options.unconfigured,
  });
  app.get('/v1/whoami', { onRequest: authentication.authenticate }, async (request) => ({
    id: authentication.holderOf(request)?.id,
  }));
  app.get('/v1/refused', async () => {
    throw new HttpError(429, 'rate_limited', 'slow down', {
      problems: [{ parameter: 'from', message: 'too early' }],
      headers: { 'retry-after': '3' },
    });
  });
  app.get('/v1/broken', async () => {
    throw new Error('a secret detail of the fault');
  });
  app.post(
    '/v1/things',
    {
      schema: {
        body: z.strictObject({
          name: z.string(),
          size: z.int(),
          crew: z.strictObject({ lead: z.string() }),
        }),
      },
    },
    async (request) => request.body,
  );
  return app;
}

describe('createHttpApp', () => {
  it('answers an HttpError with its status, code, message, problems and headers', async () => {
    const response = await (await buildApp()).inject({ url: '/v1/refused' });
    expect(response.statusCode).toBe(429);
    expect(response.headers['retry-after']).toBe('3');
    expect(response.json()).toEqual({
      error: 'rate_limited',
      message: 'slow down',
      problems: [{ parameter: 'from', message: 'too early' }],
    });
  });

  it('answers a body that fails its zod schema with 400 naming each field path', async () => {
    const response = await (await buildApp()).inject({
      method: 'POST',
      url: '/v1/things',
      payload: { name: 'pump', size: 'large', colour: 'red', crew: { lead: 7, rank: 'x' } },
    });
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body.error).toBe('bad_request');
    expect(body.problems).toEqual(
      expect.arrayContaining([
        { path: 'size', message: expect.any(String) },
        { path: 'colour', message: 'unknown field' },
        { path: 'crew.lead', message: expect.any(String) },
        { path: 'crew.rank', message: 'unknown field' },
      ]),
    );
  });

  it('answers a fault with a 500 that says nothing more, and an unknown route in the same shape', async () => {
    const built = await buildApp();
    const broken = await built.inject({ url: '/v1/broken' });
    expect(broken.statusCode).toBe(500);
    expect(broken.json()).toEqual({ error: 'internal_error', message: 'internal error' });
    const missing = await built.inject({ url: '/v1/nowhere?x=1' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: 'not_found', message: 'no route GET /v1/nowhere' });
  });

  it('serves the OpenAPI document with both key schemes, and none when not asked for', async () => {
    const document = (await (await buildApp()).inject({ url: '/docs/json' })).json();
    expect(document.info.title).toBe('Test service');
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['apiKey', 'bearer']);
    await app?.close();
    const without = await (await buildApp({ openapi: false })).inject({ url: '/docs/json' });
    expect(without.statusCode).toBe(404);
  });

  it('serves the probes and /metrics', async () => {
    const built = await buildApp();
    expect((await built.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await built.inject({ url: '/readyz' })).statusCode).toBe(200);
    expect((await built.inject({ url: '/metrics' })).body).toContain('process_cpu_seconds_total');
  });
});

describe('bearerAuthentication', () => {
  it('knows a key given as a bearer token or X-API-Key', async () => {
    const built = await buildApp();
    for (const headers of [{ authorization: 'Bearer secret-one' }, { 'x-api-key': 'secret-one' }]) {
      const response = await built.inject({ url: '/v1/whoami', headers });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ id: 'reader-one' });
    }
  });

  it('refuses no key and an unknown key with 401 and WWW-Authenticate', async () => {
    const built = await buildApp();
    const none = await built.inject({ url: '/v1/whoami' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="bluelight"');
    expect(none.json()).toEqual({
      error: 'unauthenticated',
      message: 'no API key: send it as Authorization: Bearer <key> or X-API-Key: <key>',
    });
    const unknown = await built.inject({ url: '/v1/whoami', headers: { 'x-api-key': 'guess' } });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().message).toBe('the API key is not recognised');
  });

  it('refuses even a known key with the unconfigured message when it gives one', async () => {
    const built = await buildApp({ unconfigured: 'no keys are configured' });
    const response = await built.inject({
      url: '/v1/whoami',
      headers: { 'x-api-key': 'secret-one' },
    });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({
      error: 'unauthenticated',
      message: 'no keys are configured',
    });
  });
});
