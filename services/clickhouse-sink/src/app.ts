import {
  createHttpApp,
  type HttpApp,
  type Logger,
  type ReadinessCheck,
} from '@bluelight/service-kit';
import type { Registry } from 'prom-client';
import type { SinkConfig } from './config.js';
import type { ClickHouseSink } from './sink.js';

export const SERVICE_NAME = 'clickhouse-sink';

export interface SinkAppDeps {
  config: SinkConfig;
  logger: Logger;
  /** The sink's metrics (served at /metrics). */
  registry: Registry;
  /** Whose consumer loop /healthz watches. */
  sink: ClickHouseSink;
  /** ClickHouse and Kafka reachable. */
  readiness: ReadinessCheck[];
  isShuttingDown: () => boolean;
}

/**
 * The sink's HTTP application, without listening: only the probes and /metrics (the kit's app
 * without routes or OpenAPI). /healthz fails when the consumer loop stopped or stalled.
 */
export function buildApp(deps: SinkAppDeps): Promise<HttpApp> {
  const { config, sink } = deps;
  return createHttpApp({
    logger: deps.logger,
    observability: {
      registry: deps.registry,
      isShuttingDown: deps.isShuttingDown,
      liveness: [
        {
          name: 'consumer loop',
          check: async () => {
            const idleMs = Date.now() - sink.lastActivityAt();
            if (sink.fatalError) throw new Error(`stopped: ${sink.fatalError.message}`);
            if (idleMs > config.SINK_STALL_TIMEOUT_MS) {
              throw new Error(`no fetch, heartbeat or batch for ${Math.round(idleMs / 1000)} s`);
            }
          },
        },
      ],
      readiness: deps.readiness,
    },
  });
}
