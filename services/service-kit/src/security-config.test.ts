import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { clickhouseConnectionFrom } from './clickhouse.js';
import { ConfigError, envField, httpsEnv, loadConfig, platformConfigSchema } from './config.js';
import { isLoopbackAddress } from './https.js';
import { kafkaConnectionFrom, libraryConnectionOptions } from './kafka/security.js';
import { createLogger } from './logger.js';

const dir = mkdtempSync(path.join(tmpdir(), 'bluelight-security-config-'));
function file(name: string, text: string): string {
  const where = path.join(dir, name);
  writeFileSync(where, text);
  return where;
}
// Shapes only: the configuration checks the PEM markers, TLS itself checks the contents.
const CA = '-----BEGIN CERTIFICATE-----\nMIIB-ca\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nMIIB-client\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE-key\n-----END PRIVATE KEY-----\n';

function problems(env: Record<string, string>, schema = platformConfigSchema) {
  try {
    loadConfig(schema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('secrets from variables or files', () => {
  it('reads <NAME>_FILE, dropping one trailing newline, and refuses both at once naming the file variable', () => {
    const passwordFile = file('ch-password', 'pa ss\n');
    expect(
      loadConfig(platformConfigSchema, { CLICKHOUSE_PASSWORD_FILE: passwordFile })
        .CLICKHOUSE_PASSWORD,
    ).toBe('pa ss');
    expect(
      loadConfig(platformConfigSchema, { CLICKHOUSE_PASSWORD: 'inline' }).CLICKHOUSE_PASSWORD,
    ).toBe('inline');
    expect(
      problems({ CLICKHOUSE_PASSWORD: 'inline-secret', CLICKHOUSE_PASSWORD_FILE: passwordFile }),
    ).toEqual([
      {
        variable: 'CLICKHOUSE_PASSWORD_FILE',
        message: 'set CLICKHOUSE_PASSWORD or CLICKHOUSE_PASSWORD_FILE, not both',
      },
    ]);
    expect(problems({ KAFKA_SASL_PASSWORD_FILE: path.join(dir, 'missing') })).toEqual([
      {
        variable: 'KAFKA_SASL_PASSWORD_FILE',
        message: `cannot read ${path.join(dir, 'missing')} (ENOENT)`,
      },
    ]);
    expect(problems({ CLICKHOUSE_PASSWORD_FILE: file('empty', '\n') })).toEqual([
      { variable: 'CLICKHOUSE_PASSWORD_FILE', message: `${path.join(dir, 'empty')} is empty` },
    ]);
  });

  it('never puts a secret value in an error message', () => {
    const secret = 'hunter2-very-secret';
    const schema = z.object({
      TOKEN: envField.requiredSecret('set TOKEN'),
      PORT: envField.port(1),
    });
    let message = '';
    try {
      loadConfig(schema, { TOKEN: secret, TOKEN_FILE: file('token', secret), PORT: secret });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('TOKEN_FILE: set TOKEN or TOKEN_FILE, not both');
    expect(message).toContain('PORT:');
    expect(message).not.toContain(secret);
  });
});

describe('Kafka security settings', () => {
  it('are PLAINTEXT with nothing set, as before', () => {
    const config = loadConfig(platformConfigSchema, {});
    expect(kafkaConnectionFrom(config)).toEqual({
      brokers: ['127.0.0.1:9092'],
      security: { protocol: 'PLAINTEXT' },
    });
    expect(libraryConnectionOptions(kafkaConnectionFrom(config).security)).toEqual({});
  });

  it('give SASL_SSL with SCRAM, a CA bundle and a client certificate to the library', () => {
    const config = loadConfig(platformConfigSchema, {
      KAFKA_BROKERS: 'kafka-1:9093',
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'bluelight-sink',
      KAFKA_SASL_PASSWORD_FILE: file('kafka-password', 's3cret\n'),
      KAFKA_SSL_CA_FILE: file('ca.pem', CA),
      KAFKA_SSL_CERT_FILE: file('client.pem', CERT),
      KAFKA_SSL_KEY_FILE: file('client.key', KEY),
    });
    const { brokers, security } = kafkaConnectionFrom(config);
    expect(libraryConnectionOptions(security, brokers)).toEqual({
      tls: { ca: CA, cert: CERT, key: KEY, rejectUnauthorized: true },
      // kafka-1 is a host name: it goes out as SNI.
      tlsServerName: true,
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'bluelight-sink', password: 's3cret' },
    });
    // Brokers given as IP addresses: no SNI (it may not carry an address).
    expect(libraryConnectionOptions(security, ['10.0.0.7:9093']).tlsServerName).toBeUndefined();
  });

  it('read an OAUTHBEARER token from its file at every authentication', async () => {
    const tokenFile = file('token', 'first\n');
    const config = loadConfig(platformConfigSchema, {
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
      KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: tokenFile,
    });
    const sasl = libraryConnectionOptions(kafkaConnectionFrom(config).security).sasl;
    const token = sasl?.token as () => string;
    expect(token()).toBe('first');
    writeFileSync(tokenFile, 'renewed\n');
    expect(token()).toBe('renewed');
  });

  it('stop start-up naming the variable when settings are missing, contradictory or unreadable', () => {
    expect(problems({ KAFKA_SECURITY_PROTOCOL: 'TLS' })).toEqual([
      {
        variable: 'KAFKA_SECURITY_PROTOCOL',
        message: 'expected one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL',
      },
    ]);
    expect(problems({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' })).toEqual([
      {
        variable: 'KAFKA_SASL_MECHANISM',
        message:
          'required with KAFKA_SECURITY_PROTOCOL SASL_SSL: SCRAM-SHA-512, SCRAM-SHA-256, PLAIN, OAUTHBEARER',
      },
    ]);
    expect(
      problems({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'PLAIN' }),
    ).toEqual([
      { variable: 'KAFKA_SASL_USERNAME', message: 'required with KAFKA_SASL_MECHANISM PLAIN' },
      {
        variable: 'KAFKA_SASL_PASSWORD',
        message: 'required with KAFKA_SASL_MECHANISM PLAIN (or KAFKA_SASL_PASSWORD_FILE)',
      },
    ]);
    // Settings the protocol would silently ignore are an error, not a surprise in production.
    expect(
      problems({ KAFKA_SASL_USERNAME: 'sink', KAFKA_SSL_CA_FILE: file('ca2.pem', CA) }),
    ).toEqual([
      {
        variable: 'KAFKA_SASL_USERNAME',
        message:
          'only used with KAFKA_SECURITY_PROTOCOL SASL_SSL or SASL_PLAINTEXT (it is PLAINTEXT)',
      },
      {
        variable: 'KAFKA_SSL_CA_FILE',
        message: 'only used with KAFKA_SECURITY_PROTOCOL SSL or SASL_SSL (it is PLAINTEXT)',
      },
    ]);
    expect(
      problems({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CERT_FILE: file('c.pem', CERT) }),
    ).toEqual([
      {
        variable: 'KAFKA_SSL_KEY_FILE',
        message: 'a client certificate needs both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE',
      },
    ]);
    const notPem = file('not.pem', 'hello');
    expect(problems({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_FILE: notPem })).toEqual([
      {
        variable: 'KAFKA_SSL_CA_FILE',
        message: `${notPem} holds no PEM certificate (-----BEGIN … CERTIFICATE-----)`,
      },
    ]);
    expect(
      problems({
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
        KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: path.join(dir, 'no-token'),
      }),
    ).toEqual([
      {
        variable: 'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE',
        message: `cannot read ${path.join(dir, 'no-token')} (ENOENT)`,
      },
    ]);
  });
});

describe('ClickHouse and HTTPS settings', () => {
  it('pass the CA bundle to the ClickHouse client settings', () => {
    const config = loadConfig(platformConfigSchema, {
      CLICKHOUSE_URL: 'https://clickhouse.internal:8443',
      CLICKHOUSE_USER: 'bluelight_sink',
      CLICKHOUSE_PASSWORD_FILE: file('sink-password', 'x\n'),
      CLICKHOUSE_CA_FILE: file('ch-ca.pem', CA),
    });
    expect(clickhouseConnectionFrom(config)).toEqual({
      url: 'https://clickhouse.internal:8443',
      username: 'bluelight_sink',
      password: 'x',
      database: 'default',
      caCertificate: CA,
    });
  });

  it('need both the certificate and the key for HTTPS', () => {
    const schema = z.object(httpsEnv);
    expect(problems({ HTTPS_CERT_FILE: file('server.pem', CERT) }, schema as never)).toEqual([
      {
        variable: 'HTTPS_KEY_FILE',
        message: 'HTTPS needs both HTTPS_CERT_FILE and HTTPS_KEY_FILE',
      },
    ]);
    expect(loadConfig(schema, {}).HTTP_REQUIRE_TLS).toBe(false);
  });

  it('treat 127.0.0.0/8 and ::1 (also IPv4-mapped) as this machine, nothing else', () => {
    for (const address of ['127.0.0.1', '127.10.0.3', '::1', '::ffff:127.0.0.1']) {
      expect(isLoopbackAddress(address), address).toBe(true);
    }
    for (const address of ['10.0.0.1', '::ffff:10.0.0.1', '0.0.0.0', 'fe80::1', '', undefined]) {
      expect(isLoopbackAddress(address), String(address)).toBe(false);
    }
  });
});

describe('the logger', () => {
  it('redacts every secret variable of a configuration logged whole or nested', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n')));
    const logger = createLogger({ service: 'test', destination: stream });
    const config = {
      KAFKA_SASL_PASSWORD: 'kafka-pw-1',
      KAFKA_SSL_KEY_FILE: KEY,
      KAFKA_SSL_KEY_PASSWORD: 'key-pw-2',
      CLICKHOUSE_PASSWORD: 'ch-pw-3',
      HTTPS_KEY_FILE: KEY,
      GATEWAY_API_KEY: 'api-key-4',
    };
    logger.info(config, 'whole');
    logger.info({ config }, 'nested');
    logger.info({ sasl: { mechanism: 'PLAIN', password: 'kafka-pw-1' } }, 'options');
    await new Promise((resolve) => setImmediate(resolve));
    const text = lines.join('\n');
    expect(lines.filter((line) => line.includes('[redacted]'))).toHaveLength(3);
    for (const secret of ['kafka-pw-1', 'MIIE-key', 'key-pw-2', 'ch-pw-3', 'api-key-4']) {
      expect(text).not.toContain(secret);
    }
  });
});
