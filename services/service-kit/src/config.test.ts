import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, envField, loadConfig, platformConfigSchema } from './config.js';

describe('loadConfig', () => {
  it('uses defaults for unset and empty variables', () => {
    const config = loadConfig(platformConfigSchema, { KAFKA_BROKERS: '' });
    expect(config).toEqual({
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      CLICKHOUSE_URL: 'http://127.0.0.1:8123',
      CLICKHOUSE_USER: 'default',
      CLICKHOUSE_PASSWORD: '',
      CLICKHOUSE_DATABASE: 'default',
      LOG_LEVEL: 'info',
    });
  });

  it('parses broker lists, ports, booleans and numbers from strings', () => {
    const schema = z.object({
      KAFKA_BROKERS: envField.brokerList('x:1'),
      PORT: envField.port(8080),
      STRICT: envField.boolean(false),
      BATCH_ROWS: envField.positiveInt(10_000),
    });
    expect(
      loadConfig(schema, {
        KAFKA_BROKERS: ' kafka-1:9092, kafka-2:9092 ,',
        PORT: '3000',
        STRICT: 'yes',
        BATCH_ROWS: '50000',
      }),
    ).toEqual({
      KAFKA_BROKERS: ['kafka-1:9092', 'kafka-2:9092'],
      PORT: 3000,
      STRICT: true,
      BATCH_ROWS: 50_000,
    });
  });

  it('binds HTTP services to 127.0.0.1 unless BIND_HOST names another address', () => {
    const schema = z.object({ BIND_HOST: envField.bindHost() });
    expect(loadConfig(schema, {}).BIND_HOST).toBe('127.0.0.1');
    for (const host of ['0.0.0.0', '::', '::1', '10.0.0.7', 'localhost', 'sink.internal']) {
      expect(loadConfig(schema, { BIND_HOST: host }).BIND_HOST).toBe(host);
    }
    for (const bad of ['0.0.0.0:8088', 'http://0.0.0.0', 'a host']) {
      expect(() => loadConfig(schema, { BIND_HOST: bad }), bad).toThrow(
        'BIND_HOST: expected an IP address (127.0.0.1, 0.0.0.0, ::) or a host name',
      );
    }
  });

  it('names every bad variable in one error', () => {
    const schema = z.object({
      KAFKA_BROKERS: envField.brokerList('x:1'),
      PORT: envField.port(8080),
      STRICT: envField.boolean(false),
      CLICKHOUSE_URL: envField.httpUrl('http://localhost:8123'),
    });
    let caught: unknown;
    try {
      loadConfig(schema, {
        KAFKA_BROKERS: 'kafka-1',
        PORT: '70000',
        STRICT: 'maybe',
        CLICKHOUSE_URL: 'ftp://example',
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems;
    expect(problems.map((problem) => problem.variable).sort()).toEqual([
      'CLICKHOUSE_URL',
      'KAFKA_BROKERS.0',
      'PORT',
      'STRICT',
    ]);
    expect((caught as ConfigError).message).toContain(
      'KAFKA_BROKERS.0: each broker must be host:port',
    );
    expect((caught as ConfigError).message).toContain('STRICT: expected one of true, false');
  });
});
