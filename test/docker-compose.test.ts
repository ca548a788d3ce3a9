import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { KAFKA_VERSION, repoRoot } from '@bluelight/local-stack';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface ComposeService {
  image: string;
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
    // The plugin pinned too (`id version`), so a new plugin release cannot change the dashboards.
    expect(compose.services.grafana?.environment?.GF_INSTALL_PLUGINS).toMatch(
      /^grafana-clickhouse-datasource 4\.\d+\.\d+$/,
    );
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
});
