import { describe, expect, it } from 'vitest';
import { servicePorts } from './services.js';

describe('servicePorts', () => {
  it('gives each HTTP service the port it will listen on: its documented default, or its variable', async () => {
    expect(await servicePorts({})).toEqual({
      'clickhouse-sink': 9464,
      'ingest-gateway': 8088,
      'query-api': 8089,
    });
    expect(await servicePorts({ GATEWAY_PORT: '18088', QUERY_API_PORT: '' })).toMatchObject({
      'ingest-gateway': 18088,
      'query-api': 8089,
    });
    // The first call loads three services' module graphs: slow on a busy 2-core machine.
  }, 30_000);

  it('leaves out a port the service would refuse (it stops itself, naming the variable)', async () => {
    expect((await servicePorts({ SINK_PORT: 'ninety' }))['clickhouse-sink']).toBeUndefined();
  });
});
