import { describe, expect, it } from 'vitest';
import { type ResolvedEndpoints, resolveEndpoints, type TestEndpoints } from './endpoints.js';

// Nothing is started here: the starters are stand-ins that record they were chosen.
function fake(mode: TestEndpoints['mode'], calls: string[]): () => Promise<ResolvedEndpoints> {
  return async () => {
    calls.push(mode);
    return {
      endpoints: {
        mode,
        runId: 1,
        kafkaBrokers: [`${mode}:9092`],
        clickhouseUrl: `http://${mode}:8123`,
        clickhouseUser: 'default',
        clickhousePassword: '',
      },
      teardown: async () => {},
    };
  };
}

function sources(env: NodeJS.ProcessEnv, docker: boolean, calls: string[]) {
  return {
    env,
    dockerMayAnswer: () => docker,
    fromTestcontainers: fake('testcontainers', calls),
    fromLocalStack: fake('local-stack', calls),
  };
}

describe('resolveEndpoints: environment, then testcontainers, then the local stack', () => {
  it('uses the environment when both URLs are set, even when Docker answers', async () => {
    const calls: string[] = [];
    const env = {
      KAFKA_BROKERS: 'k1:9092, k2:9092',
      CLICKHOUSE_URL: 'https://ch.example:8443',
      CLICKHOUSE_USER: 'tester',
      CLICKHOUSE_PASSWORD: 'secret',
    };
    const { endpoints } = await resolveEndpoints(sources(env, true, calls));
    expect(calls).toEqual([]);
    expect(endpoints).toMatchObject({
      mode: 'environment',
      kafkaBrokers: ['k1:9092', 'k2:9092'],
      clickhouseUrl: 'https://ch.example:8443',
      clickhouseUser: 'tester',
      clickhousePassword: 'secret',
    });
  });

  it('defaults the ClickHouse user to default with an empty password', async () => {
    const env = { KAFKA_BROKERS: 'k1:9092', CLICKHOUSE_URL: 'http://ch:8123' };
    const { endpoints } = await resolveEndpoints(sources(env, false, []));
    expect(endpoints).toMatchObject({ clickhouseUser: 'default', clickhousePassword: '' });
  });

  it('uses testcontainers when Docker answers and the environment names no engines', async () => {
    const calls: string[] = [];
    const { endpoints } = await resolveEndpoints(sources({}, true, calls));
    expect(calls).toEqual(['testcontainers']);
    expect(endpoints.mode).toBe('testcontainers');
  });

  it('falls back to the local stack when Docker is absent', async () => {
    const calls: string[] = [];
    const { endpoints } = await resolveEndpoints(sources({}, false, calls));
    expect(calls).toEqual(['local-stack']);
    expect(endpoints.mode).toBe('local-stack');
  });

  it('falls back to the local stack when Docker seems there but containers fail', async () => {
    const calls: string[] = [];
    const { endpoints } = await resolveEndpoints({
      ...sources({}, true, calls),
      fromTestcontainers: async () => {
        throw new Error('connect ENOENT /var/run/docker.sock');
      },
    });
    expect(calls).toEqual(['local-stack']);
    expect(endpoints.mode).toBe('local-stack');
  });

  it('refuses half an environment instead of silently starting other engines', async () => {
    const calls: string[] = [];
    await expect(
      resolveEndpoints(sources({ KAFKA_BROKERS: 'k1:9092' }, true, calls)),
    ).rejects.toThrow(
      'KAFKA_BROKERS is set but CLICKHOUSE_URL is not: set both to test against your own engines, or neither to let the tests start them',
    );
    await expect(
      resolveEndpoints(sources({ CLICKHOUSE_URL: 'http://ch:8123' }, false, calls)),
    ).rejects.toThrow('CLICKHOUSE_URL is set but KAFKA_BROKERS is not');
    expect(calls).toEqual([]);
  });

  it('treats an empty variable as unset', async () => {
    const calls: string[] = [];
    const env = { KAFKA_BROKERS: '', CLICKHOUSE_URL: '' };
    await resolveEndpoints(sources(env, false, calls));
    expect(calls).toEqual(['local-stack']);
  });
});
