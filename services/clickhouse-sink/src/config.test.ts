import { ConfigError, loadConfig } from '@bluelight/service-kit';
import { describe, expect, it } from 'vitest';
import { sinkBatching, sinkConfigSchema } from './config.js';

const batching = (env: Record<string, string>) => sinkBatching(loadConfig(sinkConfigSchema, env));

describe('SINK_PROFILE', () => {
  it('defaults to live: a 250 ms flush, 5 MiB per partition, 100k rows per insert', () => {
    expect(batching({})).toEqual({
      profile: 'live',
      fetchMaxWaitMs: 250,
      fetchMaxBytesPerPartition: 5 * 1024 * 1024,
      maxRowsPerInsert: 100_000,
    });
    // An empty variable counts as unset.
    expect(batching({ SINK_PROFILE: '' }).profile).toBe('live');
  });

  it('backfill: a longer wait, a whole fetch per partition, larger inserts', () => {
    expect(batching({ SINK_PROFILE: 'backfill' })).toEqual({
      profile: 'backfill',
      fetchMaxWaitMs: 1_000,
      fetchMaxBytesPerPartition: 10 * 1024 * 1024,
      maxRowsPerInsert: 500_000,
    });
  });

  it('lets explicit variables override the profile, one at a time', () => {
    expect(
      batching({ SINK_PROFILE: 'backfill', SINK_FETCH_MAX_BYTES_PER_PARTITION: '65536' }),
    ).toEqual({
      profile: 'backfill',
      fetchMaxWaitMs: 1_000,
      fetchMaxBytesPerPartition: 65_536,
      maxRowsPerInsert: 500_000,
    });
    expect(batching({ SINK_FETCH_MAX_WAIT_MS: '500', SINK_MAX_ROWS_PER_INSERT: '1000' })).toEqual({
      profile: 'live',
      fetchMaxWaitMs: 500,
      fetchMaxBytesPerPartition: 5 * 1024 * 1024,
      maxRowsPerInsert: 1_000,
    });
  });

  it('refuses an unknown profile and bad overrides, naming the variable', () => {
    for (const env of [
      { SINK_PROFILE: 'bulk' },
      { SINK_MAX_ROWS_PER_INSERT: '0' },
      { SINK_FETCH_MAX_WAIT_MS: 'soon' },
    ]) {
      const [variable] = Object.keys(env);
      expect(() => loadConfig(sinkConfigSchema, env)).toThrow(ConfigError);
      try {
        loadConfig(sinkConfigSchema, env);
      } catch (error) {
        expect((error as ConfigError).problems.map((p) => p.variable)).toEqual([variable]);
      }
    }
  });
});

describe('BIND_HOST', () => {
  it('is 127.0.0.1 unless set: /metrics and the probes answer this machine only', () => {
    expect(loadConfig(sinkConfigSchema, {}).BIND_HOST).toBe('127.0.0.1');
    expect(loadConfig(sinkConfigSchema, { BIND_HOST: '0.0.0.0' }).BIND_HOST).toBe('0.0.0.0');
  });
});

describe('EARLIEST_EVENT_TIME', () => {
  it('defaults to 2000-01-01T00:00:00Z and stops start-up naming a bad value', () => {
    expect(loadConfig(sinkConfigSchema, {}).EARLIEST_EVENT_TIME).toEqual(
      new Date('2000-01-01T00:00:00Z'),
    );
    expect(() => loadConfig(sinkConfigSchema, { EARLIEST_EVENT_TIME: 'yesterday' })).toThrow(
      /EARLIEST_EVENT_TIME: expected an ISO 8601 date-time with an offset/,
    );
  });
});
