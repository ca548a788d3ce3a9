import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLICKHOUSE_ROLES } from '@bluelight/clickhouse-schema';
import { KAFKA_VERSION, repoRoot } from '@bluelight/local-stack';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface ComposeService {
  image: string;
  volumes?: string[];
  restart?: string;
  command?: string[];
  environment?: Record<string, string | number>;
  healthcheck?: { test: string[] };
}

// With merge keys (`<<: *bluelight-service`) applied, as docker compose reads the file.
const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8'), {
  merge: true,
}) as {
  services: Record<string, ComposeService>;
};

// Docker cannot run on these machines, so the compose file is checked for what would otherwise
// only be found on someone else's laptop: versions out of step and missing health checks.
describe('docker-compose.yml', () => {
  it('runs the same Kafka release as the local stack', () => {
    expect(compose.services.kafka?.image).toBe(`apache/kafka:${KAFKA_VERSION}`);
  });

  it('pins a ClickHouse 25.x server, Grafana 11.6 or newer and its ClickHouse plugin', () => {
    expect(compose.services.clickhouse?.image).toMatch(/^clickhouse\/clickhouse-server:25\.\d+/);
    const grafana = /^grafana\/grafana:(\d+)\.(\d+)/.exec(compose.services.grafana?.image ?? '');
    const [major, minor] = [Number(grafana?.[1]), Number(grafana?.[2])];
    expect(major > 11 || (major === 11 && minor >= 6)).toBe(true);
    // The plugin pinned too (`id@version`, installed before start), so a new plugin release
    // cannot change the dashboards; dashboards/src/generate.test.ts checks the exact versions.
    expect(compose.services.grafana?.environment?.GF_PLUGINS_PREINSTALL_SYNC).toMatch(
      /^grafana-clickhouse-datasource@4\.\d+\.\d+$/,
    );
    expect(compose.services.grafana?.environment?.GF_INSTALL_PLUGINS).toBeUndefined();
  });

  it('gives every long-running service a health check', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.restart === 'no') continue; // one-shot jobs such as migrate
      expect(service.healthcheck?.test, name).toBeDefined();
    }
  });

  it('runs every Bluelight service compiled (node dist/main.js, not tsx), from a source that exists', () => {
    const bluelight = Object.entries(compose.services).filter(
      ([, service]) => service.image === 'bluelight/node-services:dev',
    );
    expect(bluelight.length).toBeGreaterThan(0);
    for (const [name, service] of bluelight) {
      expect(service.command?.[0], name).toBe('node');
      expect(service.command, name).not.toContain('tsx');
      const file = service.command?.find((part) => part.endsWith('.js')) ?? '';
      // What infra/build.mjs compiles to dist/main.js: services/<name>/src/main.ts.
      const source = /^services\/([a-z-]+)\/dist\/main\.js$/.exec(file);
      expect(source, `${name}: ${file}`).not.toBeNull();
      const main = path.join(repoRoot, 'services', source?.[1] ?? '', 'src/main.ts');
      expect(existsSync(main), `${name}: ${main}`).toBe(true);
    }
    // The image builds them.
    const dockerfile = readFileSync(
      path.join(repoRoot, 'infra/docker/node-service.Dockerfile'),
      'utf8',
    );
    expect(dockerfile).toContain('npm run build');
  });

  it('runs the query API on its documented port, after the migrations', () => {
    const api = compose.services['query-api'] as ComposeService & {
      ports?: string[];
      depends_on?: Record<string, { condition: string }>;
    };
    expect(api?.command).toEqual([
      'node',
      '--enable-source-maps',
      'services/query-api/dist/main.js',
    ]);
    expect(api?.environment?.QUERY_API_PORT).toBe(8089);
    expect(api?.ports).toEqual(['8089:8089']);
    expect(api?.depends_on?.migrate?.condition).toBe('service_completed_successfully');
    expect(api?.healthcheck?.test.join(' ')).toContain('127.0.0.1:8089/healthz');
  });

  it('has every Bluelight service listen on 0.0.0.0 in its container (they bind 127.0.0.1 by default)', () => {
    const bluelight = Object.entries(compose.services).filter(
      ([, service]) => service.image === 'bluelight/node-services:dev',
    );
    expect(bluelight.map(([name]) => name).sort()).toEqual(
      ['clickhouse-sink', 'ingest-gateway', 'migrate', 'query-api'].sort(),
    );
    for (const [name, service] of bluelight) {
      expect(service.environment?.BIND_HOST, name).toBe('0.0.0.0');
    }
    // The image itself too, for a container started without the compose file.
    const dockerfile = readFileSync(
      path.join(repoRoot, 'infra/docker/node-service.Dockerfile'),
      'utf8',
    );
    expect(dockerfile).toMatch(/^ENV BIND_HOST=0\.0\.0\.0$/m);
  });

  it('configures the single broker so consumer groups find a coordinator', () => {
    const env = compose.services.kafka?.environment ?? {};
    expect(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe(1);
    expect(env.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR).toBe(1);
    expect(env.KAFKA_TRANSACTION_STATE_LOG_MIN_ISR).toBe(1);
  });

  it("creates the read-only ClickHouse user that Grafana's data source connects as", () => {
    const clickhouse = compose.services.clickhouse as ComposeService & { volumes?: string[] };
    const mount = clickhouse.volumes?.find((volume) => volume.includes('users.d/grafana.xml'));
    expect(mount).toBeDefined();
    const file = path.join(repoRoot, (mount as string).split(':')[0] as string);
    const users = readFileSync(file, 'utf8');
    const grafana = compose.services.grafana?.environment ?? {};
    expect(users).toContain(`<${grafana.CLICKHOUSE_GRAFANA_USER}>`);
    expect(users).toMatch(/<readonly>2<\/readonly>/);
    expect(users).toContain('GRANT SELECT ON bluelight.*');
    // Both containers take the password from the same variable, with the same default.
    expect(clickhouse.environment?.CLICKHOUSE_GRAFANA_PASSWORD).toBe(
      grafana.CLICKHOUSE_GRAFANA_PASSWORD,
    );
  });

  it('runs Kafka on SASL_SSL listeners only, and gives every service the TLS and SASL settings to reach them', () => {
    const kafka = compose.services.kafka?.environment ?? {};
    const map = Object.fromEntries(
      String(kafka.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP)
        .split(',')
        .map((entry) => entry.split(':') as [string, string]),
    );
    expect(map).toEqual({ INTERNAL: 'SASL_SSL', EXTERNAL: 'SASL_SSL', CONTROLLER: 'PLAINTEXT' });
    expect(kafka.KAFKA_SASL_ENABLED_MECHANISMS).toBe('PLAIN');
    // Compose's interpolation of the services' Kafka password, with its default.
    const clientPassword = `\${KAFKA_CLIENT_PASSWORD:-bluelight-kafka}`;
    // Every listener clients use knows the services' user, with the password they are given.
    for (const listener of ['INTERNAL', 'EXTERNAL']) {
      const jaas = String(kafka[`KAFKA_LISTENER_NAME_${listener}_PLAIN_SASL_JAAS_CONFIG`]);
      expect(jaas, listener).toContain(`user_bluelight="${clientPassword}"`);
    }
    const bluelight = Object.entries(compose.services).filter(
      ([name, service]) => service.image === 'bluelight/node-services:dev' && name !== 'migrate',
    );
    for (const [name, service] of bluelight) {
      const env = service.environment ?? {};
      expect(env.KAFKA_SECURITY_PROTOCOL, name).toBe('SASL_SSL');
      expect(env.KAFKA_SASL_MECHANISM, name).toBe('PLAIN');
      expect(env.KAFKA_SASL_USERNAME, name).toBe('bluelight');
      expect(env.KAFKA_SASL_PASSWORD, name).toBe(clientPassword);
      // The CA the certificate step made, mounted where KAFKA_SSL_CA_FILE says.
      const mount = service.volumes?.find((volume) => volume.startsWith('kafka-ca:'));
      expect(mount, name).toBe('kafka-ca:/run/kafka-ca:ro');
      expect(env.KAFKA_SSL_CA_FILE, name).toBe('/run/kafka-ca/ca.crt');
    }
    expect(compose.services['kafka-certs']?.command).toEqual([
      'sh',
      '/scripts/make-certs.sh',
      '/etc/kafka/secrets',
      '/ca',
    ]);
  });

  it("makes, with keytool alone, a broker certificate for kafka, localhost and 127.0.0.1 that the clients' CA file verifies", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'compose-certs-'));
    try {
      execFileSync(
        'sh',
        [path.join(repoRoot, 'infra/kafka/docker/make-certs.sh'), `${dir}/secrets`, `${dir}/ca`],
        { stdio: 'ignore', env: { ...process.env, KAFKA_CLIENT_PASSWORD: 'pw' } },
      );
      for (const file of ['broker.p12', 'truststore.p12', 'store.password', 'client.properties']) {
        expect(existsSync(path.join(dir, 'secrets', file)), file).toBe(true);
      }
      const verified = execFileSync('openssl', [
        'verify',
        '-CAfile',
        `${dir}/ca/ca.crt`,
        `${dir}/secrets/broker.crt`,
      ]).toString();
      expect(verified.trim()).toBe(`${dir}/secrets/broker.crt: OK`);
      const names = execFileSync('openssl', [
        'x509',
        '-in',
        `${dir}/secrets/broker.crt`,
        '-noout',
        '-ext',
        'subjectAltName',
      ]).toString();
      expect(names).toContain('DNS:kafka, DNS:localhost, IP Address:127.0.0.1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives the sink and the query API ClickHouse users of their own, with the grants of their roles', () => {
    const users = readFileSync(
      path.join(repoRoot, 'infra/clickhouse-schema/docker/users.d/bluelight.xml'),
      'utf8',
    );
    const grantsOf = (user: string) => {
      const block = new RegExp(`<${user}>([\\s\\S]*?)</${user}>`).exec(users)?.[1] ?? '';
      return [...block.matchAll(/<query>([^<]+)<\/query>/g)].map((match) => match[1]);
    };
    const role = (name: string) =>
      CLICKHOUSE_ROLES.find((candidate) => candidate.name === name)?.grants('bluelight');
    expect(grantsOf('bluelight_sink')).toEqual(role('bluelight_sink'));
    expect(grantsOf('bluelight_query')).toEqual(role('bluelight_reader'));
    const clickhouse = compose.services.clickhouse?.environment ?? {};
    for (const [service, user, variable] of [
      ['clickhouse-sink', 'bluelight_sink', 'CLICKHOUSE_SINK_PASSWORD'],
      ['query-api', 'bluelight_query', 'CLICKHOUSE_QUERY_PASSWORD'],
    ] as const) {
      const env = compose.services[service]?.environment ?? {};
      expect(env.CLICKHOUSE_USER, service).toBe(user);
      expect(users).toContain(`<password from_env="${variable}"/>`);
      expect(env.CLICKHOUSE_PASSWORD, service).toBe(clickhouse[variable]);
    }
    // The gateway uses no ClickHouse, so it holds no ClickHouse password.
    expect(compose.services['ingest-gateway']?.environment?.CLICKHOUSE_PASSWORD).toBeUndefined();
    expect(compose.services.migrate?.environment?.CLICKHOUSE_USER).toBe('default');
  });
});
