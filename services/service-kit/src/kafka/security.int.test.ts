import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LocalStack } from '@bluelight/local-stack';
import {
  canControlEngines,
  startPrivateStack,
  testLogger,
  uniqueName,
} from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, platformConfigSchema } from '../config.js';
import { createKafkaClients } from './clients.js';
import { kafkaConnectionFrom } from './security.js';
import type { ConsumedMessage } from './types.js';

const dir = mkdtempSync(path.join(tmpdir(), 'bluelight-kafka-security-'));

/** Every client as a service makes it: from the variables, through the kit's configuration. */
function clientsFor(env: Record<string, string>) {
  const config = loadConfig(platformConfigSchema, env);
  return createKafkaClients({
    ...kafkaConnectionFrom(config),
    clientId: 'security-test',
    logger: testLogger('kafka-security'),
    connectionTimeoutMs: 3_000,
  });
}

/** An unsigned JWT, which the broker's default (unsecured, test-only) OAUTHBEARER validator takes. */
function unsecuredToken(subject: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none' })}.${part({ sub: subject, iat: now, exp: now + 3600 })}.`;
}

describe.skipIf(!canControlEngines())('the kit’s Kafka clients over SASL_SSL (real broker)', () => {
  let stack: LocalStack;
  let cleanup: () => Promise<void>;
  let env: Record<string, string>;

  beforeAll(async () => {
    ({ stack, cleanup } = await startPrivateStack({
      components: ['kafka'],
      kafkaSecurity: 'SASL_SSL',
    }));
    env = stack.kafkaClientEnv();
  }, 180_000);
  afterAll(async () => cleanup?.());

  const password = () => readFileSync(env.KAFKA_SASL_PASSWORD_FILE as string, 'utf8').trim();

  it.each([
    ['SCRAM-SHA-512', {}],
    ['SCRAM-SHA-256', {}],
    ['PLAIN', {}],
    ['OAUTHBEARER', { oauth: true }],
  ] as const)(
    'admin, producer and consumer all work with %s',
    {
      timeout: 90_000,
    },
    async (mechanism, { oauth }: { oauth?: boolean }) => {
      const clientEnv: Record<string, string> = { ...env, KAFKA_SASL_MECHANISM: mechanism };
      if (oauth) {
        delete clientEnv.KAFKA_SASL_USERNAME;
        delete clientEnv.KAFKA_SASL_PASSWORD_FILE;
        const tokenFile = path.join(dir, 'token');
        writeFileSync(tokenFile, unsecuredToken('bluelight'));
        clientEnv.KAFKA_SASL_OAUTHBEARER_TOKEN_FILE = tokenFile;
      }
      const kafka = clientsFor(clientEnv);
      const topic = uniqueName('secure');
      const admin = kafka.admin();
      await admin.connect();
      await admin.ensureTopics([{ topic, partitions: 2, replicationFactor: 1 }]);
      const producer = kafka.producer();
      await producer.connect();
      const sent = ['INC-1', 'INC-2', 'INC-3'].map((key) => ({
        key,
        value: JSON.stringify({ key, mechanism }),
      }));
      await producer.send([{ topic, messages: sent }]);
      await producer.disconnect();

      const group = uniqueName('secure-group');
      const consumer = kafka.consumer(group);
      const received: ConsumedMessage[] = [];
      await consumer.connect();
      await consumer.subscribe([topic]);
      await consumer.run(async (batch) => {
        received.push(...batch.messages);
      });
      const deadline = Date.now() + 30_000;
      while (received.length < sent.length && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await consumer.disconnect();
      expect(
        received
          .map((message) => ({ key: message.key?.toString(), value: message.value?.toString() }))
          .sort((a, b) => String(a.key).localeCompare(String(b.key))),
      ).toEqual(sent);
      // The group's progress was committed over the same connection settings: 3 messages read.
      const committed = await admin.committedOffsets(group, topic);
      expect(committed.reduce((sum, { offset }) => sum + Number(offset), 0)).toBe(sent.length);
      await admin.deleteTopics([topic]);
      await admin.disconnect();
    },
  );

  it('reaches the broker by host name (sent as SNI and checked against the certificate) as by address', {
    timeout: 30_000,
  }, async () => {
    const byName = (env.KAFKA_BROKERS as string).replace('127.0.0.1', 'localhost');
    const admin = clientsFor({ ...env, KAFKA_BROKERS: byName }).admin();
    await admin.connect();
    expect(await admin.brokerCount()).toBe(1);
    await admin.disconnect();
  });

  it('refuses a wrong password at once, saying SASL authentication failed and which variables to check', {
    timeout: 60_000,
  }, async () => {
    const wrong = path.join(dir, 'wrong-password');
    writeFileSync(wrong, `${password()}-not\n`);
    for (const make of [
      (kafka: ReturnType<typeof clientsFor>) => kafka.admin(),
      (kafka: ReturnType<typeof clientsFor>) => kafka.producer(),
      (kafka: ReturnType<typeof clientsFor>) => kafka.consumer(uniqueName('refused')),
    ]) {
      const client = make(clientsFor({ ...env, KAFKA_SASL_PASSWORD_FILE: wrong }));
      const started = Date.now();
      const error = await client.connect().then(
        () => undefined,
        (caught: Error) => caught,
      );
      expect(error?.name).toBe('KafkaSecurityError');
      expect(error?.message).toContain(
        `Kafka at ${env.KAFKA_BROKERS} (SASL_SSL SCRAM-SHA-512 as "bluelight"): SASL authentication failed`,
      );
      expect(error?.message).toContain(
        'check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE)',
      );
      expect(error?.message).not.toContain(password());
      // Not retried for half a minute as an unreachable broker would be.
      expect(Date.now() - started).toBeLessThan(10_000);
    }
  });

  it('refuses a broker whose certificate another CA signed, naming KAFKA_SSL_CA_FILE', {
    timeout: 60_000,
  }, async () => {
    const otherCa = path.join(dir, 'other-ca.crt');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=Somebody else',
        '-keyout',
        path.join(dir, 'other-ca.key'),
        '-out',
        otherCa,
      ],
      { stdio: 'ignore' },
    );
    const admin = clientsFor({ ...env, KAFKA_SSL_CA_FILE: otherCa }).admin();
    const error = await admin.connect().then(
      () => undefined,
      (caught: Error) => caught,
    );
    expect(error?.name).toBe('KafkaSecurityError');
    expect(error?.message).toMatch(
      /^Kafka at \S+ \(SASL_SSL SCRAM-SHA-512 as "bluelight"\): TLS refused: the broker's certificate is not trusted \(.+\); check KAFKA_SSL_CA_FILE names the CA that signed it$/,
    );
  });
});
