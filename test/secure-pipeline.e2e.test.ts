import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { incidentFixtureEvents } from '@bluelight/clickhouse-sink/testing/events';
import { freePort, LocalStack } from '@bluelight/local-stack';
import { createClickHouse } from '@bluelight/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeStackPorts } from './harness/endpoints.js';
import { canControlEngines, testEndpoints, uniqueName, waitFor } from './harness/index.js';

/**
 * The whole pipeline as it is deployed with encryption and authentication on: the gateway and
 * the query API speak HTTPS with certificates of their own, every Kafka client reaches the
 * broker over its SASL_SSL listener (SCRAM-SHA-512, the broker's certificate checked against
 * the stack's CA), and each service is its own ClickHouse user. Every secret comes from a file
 * (`*_FILE`), and no log line of the run holds any of them.
 */

const repo = path.resolve(import.meta.dirname, '..');
const cli = path.join(repo, 'services/cli/bin/bluelight.mjs');
const mainOf = (service: string) => path.join(repo, 'services', service, 'src/main.ts');

function openssl(args: string[]) {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

/** A CA of the test's own and a server certificate it signed for 127.0.0.1 (the services' HTTPS). */
function makeServiceCertificates(dir: string) {
  const file = (name: string) => path.join(dir, name);
  openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=Services CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
    '-keyout',
    file('services-ca.key'),
    '-out',
    file('services-ca.crt'),
  ]);
  openssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
  ]);
  writeFileSync(
    file('server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  openssl([
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('services-ca.crt'),
    '-CAkey',
    file('services-ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    file('server.ext'),
    '-out',
    file('server.crt'),
  ]);
  return { ca: file('services-ca.crt'), cert: file('server.crt'), key: file('server.key') };
}

/** An HTTPS request that trusts only `ca` (as a client of the services is configured to). */
function httpsCall(
  url: string,
  ca: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const call = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, ca: readFileSync(ca) },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
        );
      },
    );
    call.on('error', reject);
    call.end(options.body);
  });
}

interface RunningService {
  name: string;
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

/** Every line any process of the run printed (stdout and stderr), for the secrets check. */
const everyLine: string[] = [];

function startService(name: string, args: string[], env: Record<string, string>): RunningService {
  const child = spawn(process.execPath, args, {
    cwd: repo,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream?.on('data', (chunk: Buffer) => {
      const parts = (rest + chunk.toString()).split('\n');
      rest = parts.pop() ?? '';
      lines.push(...parts);
      everyLine.push(...parts);
    });
    stream?.on('end', () => {
      if (rest) {
        lines.push(rest);
        everyLine.push(rest);
      }
    });
  }
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { name, child, lines, exited };
}

async function stopService(service: RunningService) {
  if (service.child.exitCode === null) service.child.kill('SIGTERM');
  await service.exited;
}

const tsx = ['--import', 'tsx'];

describe.skipIf(!canControlEngines())(
  'gateway → Kafka (SASL_SSL) → sink → ClickHouse → query API, encrypted and authenticated',
  () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bluelight-secure-'));
    const secret = (name: string, value: string) => {
      const where = path.join(dir, 'secrets', name);
      mkdirSync(path.dirname(where), { recursive: true, mode: 0o700 });
      writeFileSync(where, `${value}\n`, { mode: 0o600 });
      return where;
    };
    const passwords = {
      admin: randomBytes(18).toString('base64url'),
      sink: randomBytes(18).toString('base64url'),
      query: randomBytes(18).toString('base64url'),
    };
    const producerKey = `gk_${randomBytes(24).toString('base64url')}`;
    const readerKey = `qk_${randomBytes(24).toString('base64url')}`;
    const database = `secure_${randomBytes(4).toString('hex')}`;
    const prefix = `${uniqueName('sec')}.`;
    let stack: LocalStack;
    let tls: ReturnType<typeof makeServiceCertificates>;
    let kafkaEnv: Record<string, string>;
    const services: RunningService[] = [];
    let gatewayUrl = '';
    let queryUrl = '';

    /** The variables every service is given: the stack's Kafka, and ClickHouse as `user`. */
    const baseEnv = (
      user: 'default' | 'bluelight_sink' | 'bluelight_query',
      passwordFile: string,
    ) => ({
      ...kafkaEnv,
      // https://…, with the stack's CA as CLICKHOUSE_CA_FILE.
      ...stack.clickhouseClientEnv(),
      CLICKHOUSE_USER: user,
      CLICKHOUSE_PASSWORD_FILE: passwordFile,
      CLICKHOUSE_DATABASE: database,
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_TOPIC_REPLICATION_FACTOR: '1',
      LOG_LEVEL: 'debug',
    });
    const files = {
      admin: '',
      sink: '',
      query: '',
    };

    beforeAll(async () => {
      stack = await LocalStack.open({
        name: `t-${testEndpoints().runId}-${randomBytes(4).toString('hex')}`,
        ...(await freeStackPorts(1)),
        kafkaSecurity: 'SASL_SSL',
        clickhouseHttps: true,
      });
      // The local ClickHouse engine checks passwords and read-only levels (not table grants:
      // docs/security.md); the query API's user may only read.
      mkdirSync(path.dirname(stack.clickhouseUsersFile), { recursive: true });
      writeFileSync(
        stack.clickhouseUsersFile,
        JSON.stringify({
          default: { password: passwords.admin, readonly: 0 },
          bluelight_sink: { password: passwords.sink, readonly: 0 },
          bluelight_query: { password: passwords.query, readonly: 1 },
        }),
      );
      await stack.up(() => {});
      kafkaEnv = stack.kafkaClientEnv();
      tls = makeServiceCertificates(dir);
      files.admin = secret('clickhouse-admin', passwords.admin);
      files.sink = secret('clickhouse-sink', passwords.sink);
      files.query = secret('clickhouse-query', passwords.query);

      // Migrations run as the admin user.
      const migrate = startService('migrate', [cli, 'migrate'], baseEnv('default', files.admin));
      const migrated = await migrate.exited;
      expect(migrated, migrate.lines.join('\n')).toBe(0);

      const producers = path.join(dir, 'producers.json');
      writeFileSync(
        producers,
        JSON.stringify([
          {
            id: 'cad',
            key_sha256: createHash('sha256').update(producerKey).digest('hex'),
            agencies: ['staffordshire-fire'],
            sources: ['fixture'],
          },
        ]),
      );
      const readers = path.join(dir, 'readers.json');
      writeFileSync(
        readers,
        JSON.stringify([
          {
            id: 'dashboards',
            key_sha256: createHash('sha256').update(readerKey).digest('hex'),
            agencies: ['staffordshire-fire'],
          },
        ]),
      );
      const https = { HTTPS_CERT_FILE: tls.cert, HTTPS_KEY_FILE: tls.key };
      const [gatewayPort, sinkPort, queryPort] = await Promise.all([
        freePort(),
        freePort(),
        freePort(),
      ]);
      gatewayUrl = `https://127.0.0.1:${gatewayPort}`;
      queryUrl = `https://127.0.0.1:${queryPort}`;
      services.push(
        startService('clickhouse-sink', [...tsx, mainOf('clickhouse-sink')], {
          ...baseEnv('bluelight_sink', files.sink),
          SINK_PORT: String(sinkPort),
          SINK_GROUP_PREFIX: uniqueName('secure-sink'),
        }),
        startService('ingest-gateway', [...tsx, mainOf('ingest-gateway')], {
          ...kafkaEnv,
          ...https,
          KAFKA_TOPIC_PREFIX: prefix,
          KAFKA_TOPIC_REPLICATION_FACTOR: '1',
          GATEWAY_PORT: String(gatewayPort),
          GATEWAY_API_KEYS_FILE: producers,
          LOG_LEVEL: 'debug',
        }),
        startService('query-api', [...tsx, mainOf('query-api')], {
          ...baseEnv('bluelight_query', files.query),
          ...https,
          QUERY_API_PORT: String(queryPort),
          QUERY_API_KEYS_FILE: readers,
        }),
      );
      for (const url of [gatewayUrl, queryUrl, `http://127.0.0.1:${sinkPort}`]) {
        await waitFor(
          `${url}/readyz`,
          async () => {
            for (const service of services) {
              if (service.child.exitCode !== null) {
                throw new Error(`${service.name} exited:\n${service.lines.slice(-20).join('\n')}`);
              }
            }
            try {
              const answer = url.startsWith('https')
                ? await httpsCall(`${url}/readyz`, tls.ca)
                : await fetch(`${url}/readyz`).then((response) => ({ status: response.status }));
              return answer.status === 200;
            } catch {
              return false;
            }
          },
          { timeoutMs: 90_000, intervalMs: 250 },
        );
      }
    }, 300_000);

    afterAll(async () => {
      await Promise.all(services.map(stopService));
      await stack?.reset(() => {});
      rmSync(dir, { recursive: true, force: true });
    }, 120_000);

    const incidents = ['INC-SEC-1', 'INC-SEC-2', 'INC-SEC-3'];

    it('lands events posted to the gateway over HTTPS, and the query API serves them over HTTPS', {
      timeout: 120_000,
    }, async () => {
      const events = incidents.flatMap((id, index) =>
        incidentFixtureEvents({
          id,
          receivedAt: `2024-03-1${index + 1}T10:00:00Z`,
          mobilisedAfter: 60,
          arrivalsAfter: [400 + index * 60],
          closedAfter: 3_600,
        }),
      );
      const posted = await httpsCall(`${gatewayUrl}/v1/events`, tls.ca, {
        method: 'POST',
        headers: { authorization: `Bearer ${producerKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(events),
      });
      expect(posted.status, posted.text).toBe(200);
      expect(JSON.parse(posted.text)).toMatchObject({
        summary: { received: events.length, accepted: events.length, rejected: 0 },
        rejected: [],
      });

      const found = await waitFor(
        'the three incidents through the query API',
        async () => {
          const answer = await httpsCall(
            `${queryUrl}/v1/incidents?from=2024-03-01&to=2024-03-31`,
            tls.ca,
            { headers: { authorization: `Bearer ${readerKey}` } },
          );
          if (answer.status !== 200)
            throw new Error(`query API answered ${answer.status}: ${answer.text}`);
          const body = JSON.parse(answer.text) as { incidents: { incident_id: string }[] };
          return body.incidents.length === incidents.length ? body.incidents : false;
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      expect(found.map((incident) => incident.incident_id).sort()).toEqual(incidents);

      // Plain HTTP to the HTTPS port gets no answer a client could mistake for the API's.
      const plain = await fetch(`${gatewayUrl.replace('https', 'http')}/readyz`).then(
        (response) => response.status,
        () => 'refused',
      );
      expect(plain).not.toBe(200);
    });

    it('gives each ClickHouse user only its part: the query API’s user cannot write, a wrong password is refused', async () => {
      const asUser = (username: string, password: string) =>
        createClickHouse({
          url: stack.clickhouseUrl,
          username,
          password,
          database,
          application: 'secure-test',
          caCertificate: readFileSync(stack.caFile, 'utf8'),
        });
      const query = asUser('bluelight_query', passwords.query);
      await expect(
        query.command({ query: 'INSERT INTO incidents_raw SELECT * FROM incidents_raw LIMIT 0' }),
      ).rejects.toThrow(/bluelight_query: Cannot execute query in readonly mode/);
      const count = await query.query({
        query: 'SELECT count() AS n FROM incidents_raw',
        format: 'JSONEachRow',
      });
      expect(await count.json()).toEqual([{ n: expect.any(Number) }]);
      await query.close();
      const wrong = asUser('bluelight_sink', `${passwords.sink}x`);
      await expect(wrong.query({ query: 'SELECT 1' })).rejects.toThrow(
        /bluelight_sink: Authentication failed: password is incorrect, or there is no user with such name/,
      );
      await wrong.close();
      // ClickHouse speaks only HTTPS here, and a client that does not trust its CA is refused.
      expect(stack.clickhouseUrl).toMatch(/^https:/);
      const untrusting = createClickHouse({
        url: stack.clickhouseUrl,
        username: 'bluelight_query',
        password: passwords.query,
        application: 'secure-test',
        caCertificate: readFileSync(tls.ca, 'utf8'),
      });
      await expect(untrusting.query({ query: 'SELECT 1' })).rejects.toThrow(
        /self[- ]signed certificate|unable to verify/,
      );
      await untrusting.close();
    });

    it('refuses to start with a wrong Kafka password, or a CA that did not sign the broker, saying what failed', {
      timeout: 120_000,
    }, async () => {
      const wrongPassword = secret('kafka-wrong', 'not-the-password');
      const gateway = startService('gateway (wrong password)', [...tsx, mainOf('ingest-gateway')], {
        ...kafkaEnv,
        KAFKA_SASL_PASSWORD_FILE: wrongPassword,
        KAFKA_TOPIC_PREFIX: prefix,
        GATEWAY_PORT: String(await freePort()),
        GATEWAY_API_KEYS: '[]',
      });
      expect(await gateway.exited).toBe(1);
      expect(gateway.lines.join('\n')).toContain(
        `Kafka at ${kafkaEnv.KAFKA_BROKERS} (SASL_SSL SCRAM-SHA-512 as \\"bluelight\\"): SASL authentication failed`,
      );
      expect(gateway.lines.join('\n')).toContain(
        'check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD',
      );

      // The services' CA is a real CA, just not the one that signed the broker's certificate.
      const sink = startService('sink (untrusted broker)', [...tsx, mainOf('clickhouse-sink')], {
        ...baseEnv('bluelight_sink', files.sink),
        KAFKA_SSL_CA_FILE: tls.ca,
        SINK_PORT: String(await freePort()),
      });
      expect(await sink.exited).toBe(1);
      expect(sink.lines.join('\n')).toMatch(
        /TLS refused: the broker's certificate is not trusted \([^)]+\); check KAFKA_SSL_CA_FILE names the CA that signed it/,
      );

      // A setting missing is a configuration error before anything connects (exit 78).
      const { KAFKA_SASL_MECHANISM: _mechanism, ...withoutMechanism } = kafkaEnv;
      const misconfigured = startService(
        'gateway (no mechanism)',
        [...tsx, mainOf('ingest-gateway')],
        {
          ...withoutMechanism,
          GATEWAY_API_KEYS: '[]',
        },
      );
      expect(await misconfigured.exited).toBe(78);
      expect(misconfigured.lines.join('\n')).toContain(
        'KAFKA_SASL_MECHANISM: required with KAFKA_SECURITY_PROTOCOL SASL_SSL',
      );
    });

    it('wrote no secret to any log line of the run', async () => {
      await Promise.all(services.map(stopService));
      const keyBody = (file: string) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .filter((line) => line.length > 40 && !line.startsWith('-----'));
      const secrets = {
        'Kafka client password': readFileSync(
          kafkaEnv.KAFKA_SASL_PASSWORD_FILE as string,
          'utf8',
        ).trim(),
        'ClickHouse admin password': passwords.admin,
        'ClickHouse sink password': passwords.sink,
        'ClickHouse query password': passwords.query,
        'producer API key': producerKey,
        'reader API key': readerKey,
        ...Object.fromEntries(
          keyBody(tls.key).map((line, index) => [`HTTPS key line ${index}`, line]),
        ),
      };
      // The run did log: starts, requests, batches (LOG_LEVEL debug).
      expect(everyLine.length).toBeGreaterThan(50);
      for (const [what, value] of Object.entries(secrets)) {
        const leaking = everyLine.filter((line) => line.includes(value));
        expect(leaking, `${what} appears in the logs`).toEqual([]);
      }
    });
  },
);
