import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '@bluelight/service-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex } from './api-keys.js';
import { configuredSenderKeys, gatewayConfigSchema } from './config.js';

const senderKey = (id: string) => ({
  id,
  key_sha256: sha256Hex(`key-of-${id}`),
  agencies: ['staffordshire-fire'],
  sources: ['sfrs-cad'],
});

function problems(env: Record<string, string>) {
  try {
    loadConfig(gatewayConfigSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const keyDirs: string[] = [];
afterAll(() => {
  for (const dir of keyDirs) rmSync(dir, { recursive: true, force: true });
});

function keysFile(content: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gateway-keys-'));
  keyDirs.push(dir);
  const file = path.join(dir, 'keys.json');
  writeFileSync(file, content);
  return file;
}

describe('gateway configuration', () => {
  it('has the documented defaults and no sender keys', () => {
    const config = loadConfig(gatewayConfigSchema, {});
    expect({
      port: config.GATEWAY_PORT,
      host: config.BIND_HOST,
      maxEvents: config.GATEWAY_MAX_EVENTS,
      maxBytes: config.GATEWAY_MAX_BYTES,
      rate: config.GATEWAY_RATE_LIMIT_EVENTS_PER_SECOND,
      burst: config.GATEWAY_RATE_LIMIT_BURST,
      window: config.GATEWAY_DEDUP_WINDOW_SECONDS,
      maxIds: config.GATEWAY_DEDUP_MAX_IDS,
      timeout: config.GATEWAY_PRODUCE_TIMEOUT_MS,
      prefix: config.KAFKA_TOPIC_PREFIX,
      replication: config.KAFKA_TOPIC_REPLICATION_FACTOR,
    }).toEqual({
      port: 8088,
      host: '127.0.0.1',
      maxEvents: 5_000,
      maxBytes: 5_242_880,
      rate: 1_000,
      burst: 10_000,
      window: 600,
      maxIds: 1_000_000,
      timeout: 10_000,
      prefix: '',
      replication: -1,
    });
    expect(configuredSenderKeys(config)).toEqual([]);
  });

  it('reads sender keys from the keys file and the inline variable together', () => {
    const config = loadConfig(gatewayConfigSchema, {
      GATEWAY_API_KEYS_FILE: keysFile(JSON.stringify([senderKey('cad')])),
      GATEWAY_API_KEYS: JSON.stringify([senderKey('telephony')]),
    });
    expect(configuredSenderKeys(config).map((entry) => entry.id)).toEqual(['cad', 'telephony']);
  });

  it('names the variable and the field of a bad sender key entry', () => {
    expect(
      problems({
        GATEWAY_API_KEYS: JSON.stringify([{ ...senderKey('cad'), key_sha256: 'not-a-hash' }]),
      }),
    ).toEqual([
      {
        variable: 'GATEWAY_API_KEYS.0.key_sha256',
        message: 'must be the hex SHA-256 of the key (64 hex digits)',
      },
    ]);
    expect(
      problems({ GATEWAY_API_KEYS: JSON.stringify([{ ...senderKey('cad'), agencies: [] }]) }),
    ).toEqual([{ variable: 'GATEWAY_API_KEYS.0.agencies', message: 'list at least one agency' }]);
  });

  it('says when the keys are not JSON or the file cannot be read', () => {
    const [notJson] = problems({ GATEWAY_API_KEYS: '[{id:' });
    expect(notJson?.variable).toBe('GATEWAY_API_KEYS');
    expect(notJson?.message).toMatch(/^the value is not JSON: /);
    const [missing] = problems({ GATEWAY_API_KEYS_FILE: '/nonexistent/keys.json' });
    expect(missing?.variable).toBe('GATEWAY_API_KEYS_FILE');
    expect(missing?.message).toMatch(/^cannot read \/nonexistent\/keys.json: ENOENT/);
  });

  it('reads EARLIEST_EVENT_TIME (default 2000-01-01T00:00:00Z) and names it when it is bad', () => {
    expect(loadConfig(gatewayConfigSchema, {}).EARLIEST_EVENT_TIME).toEqual(
      new Date('2000-01-01T00:00:00Z'),
    );
    expect(
      loadConfig(gatewayConfigSchema, { EARLIEST_EVENT_TIME: '2010-01-01T00:00:00+01:00' })
        .EARLIEST_EVENT_TIME,
    ).toEqual(new Date('2009-12-31T23:00:00Z'));
    for (const bad of ['2010-01-01', '1900-01-01T00:00:00Z', '2999-01-01T00:00:00Z']) {
      expect(
        problems({ EARLIEST_EVENT_TIME: bad }).map((problem) => problem.variable),
        bad,
      ).toEqual(['EARLIEST_EVENT_TIME']);
    }
  });

  it('refuses a sender id given twice', () => {
    expect(
      problems({
        GATEWAY_API_KEYS_FILE: keysFile(JSON.stringify([senderKey('cad')])),
        GATEWAY_API_KEYS: JSON.stringify([senderKey('cad')]),
      }),
    ).toEqual([
      { variable: 'GATEWAY_API_KEYS', message: 'sender id "cad" appears more than once' },
    ]);
  });

  it('refuses a burst smaller than a full request', () => {
    expect(problems({ GATEWAY_MAX_EVENTS: '5000', GATEWAY_RATE_LIMIT_BURST: '4999' })).toEqual([
      {
        variable: 'GATEWAY_RATE_LIMIT_BURST',
        message: 'must be at least GATEWAY_MAX_EVENTS (5000), or a full request could never pass',
      },
    ]);
  });
});
