import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { createLogger, loadConfig } from '@bluelight/service-kit';
import { loadStandards } from '@bluelight/standards';
import { afterEach, describe, expect, it } from 'vitest';
import { queryApiConfigSchema } from './config.js';
import { type QueryApiService, startQueryApiService } from './service.js';
import { FakeClickHouse } from './testing/clickhouse.js';

/** A port free on every address right now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const services: QueryApiService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.stop()));
});

async function listening(env: Record<string, string>) {
  const config = loadConfig(queryApiConfigSchema, {
    QUERY_API_PORT: String(await freePort()),
    ...env,
  });
  const service = await startQueryApiService(
    config,
    loadStandards(),
    createLogger({ service: 'query-api', level: 'silent' }),
    { clickhouse: new FakeClickHouse().asClient() },
  );
  services.push(service);
  return service.app.server.address() as AddressInfo;
}

describe('the address the query API listens on', () => {
  it('is 127.0.0.1 by default: this machine only, like the local stack', async () => {
    const address = await listening({});
    expect(address.address).toBe('127.0.0.1');
    const response = await fetch(`http://127.0.0.1:${address.port}/healthz`);
    expect(response.status).toBe(200);
  });

  it('is BIND_HOST when set (0.0.0.0 in a container)', async () => {
    expect((await listening({ BIND_HOST: '0.0.0.0' })).address).toBe('0.0.0.0');
  });
});
