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

const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, ComposeService>;
};

// Docker cannot run on these machines, so the compose file is checked for what would otherwise
// only be found on someone else's laptop: versions out of step and missing health checks.
describe('docker-compose.yml', () => {
  it('runs the same Kafka release as the local stack', () => {
    expect(compose.services.kafka?.image).toBe(`apache/kafka:${KAFKA_VERSION}`);
  });

  it('pins a ClickHouse 25.x server and Grafana 11.6 or newer', () => {
    expect(compose.services.clickhouse?.image).toMatch(/^clickhouse\/clickhouse-server:25\.\d+/);
    const grafana = /^grafana\/grafana:(\d+)\.(\d+)/.exec(compose.services.grafana?.image ?? '');
    const [major, minor] = [Number(grafana?.[1]), Number(grafana?.[2])];
    expect(major > 11 || (major === 11 && minor >= 6)).toBe(true);
    expect(compose.services.grafana?.environment?.GF_INSTALL_PLUGINS).toContain(
      'grafana-clickhouse-datasource',
    );
  });

  it('gives every long-running service a health check', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.restart === 'no') continue; // one-shot jobs such as migrate
      expect(service.healthcheck?.test, name).toBeDefined();
    }
  });

  it('runs every Bluelight service entry point that exists in the repository', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const file = service.command?.find((part) => part.endsWith('.ts') || part.endsWith('.mjs'));
      if (file) expect(existsSync(path.join(repoRoot, file)), `${name}: ${file}`).toBe(true);
    }
  });

  it('configures the single broker so consumer groups find a coordinator', () => {
    const env = compose.services.kafka?.environment ?? {};
    expect(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe(1);
    expect(env.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR).toBe(1);
    expect(env.KAFKA_TRANSACTION_STATE_LOG_MIN_ISR).toBe(1);
  });
});
