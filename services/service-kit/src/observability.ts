import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** A dependency the service needs to do its work; `check` throws (or rejects) when it is not there. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

export interface ObservabilityOptions {
  /** The service's metrics registry; its own metrics and the defaults are served at /metrics. */
  registry: Registry;
  readiness?: ReadinessCheck[];
  /**
   * Checks that the process itself still works (e.g. its consumer loop is not stalled); when one
   * fails /healthz answers 503 and an orchestrator restarts the process. Keep them cheap and local.
   */
  liveness?: ReadinessCheck[];
  /** Per-check time limit for /readyz, so one hung dependency cannot hang the probe. */
  readinessTimeoutMs?: number;
  /** While true, /readyz answers 503 so a load balancer stops sending new work. */
  isShuttingDown?: () => boolean;
}

/** A fresh registry with Node's process metrics (memory, event-loop lag, GC) registered once. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

async function withTimeout(work: Promise<void>, ms: number, name: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} did not answer within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const observabilityPlugin: FastifyPluginAsync<ObservabilityOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const { registry } = options;
  const readiness = options.readiness ?? [];
  const timeoutMs = options.readinessTimeoutMs ?? 2_000;

  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  app.addHook('onResponse', async (request, reply) => {
    requestDuration.observe(
      {
        method: request.method,
        // The route pattern, not the raw URL, keeps label cardinality bounded.
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  async function runChecks(checks: ReadinessCheck[]) {
    const results = await Promise.allSettled(
      checks.map((dependency) => withTimeout(dependency.check(), timeoutMs, dependency.name)),
    );
    const report: Record<string, string> = {};
    let passed = true;
    results.forEach((result, index) => {
      const name = checks[index]?.name ?? `check ${index}`;
      if (result.status === 'fulfilled') {
        report[name] = 'ok';
      } else {
        passed = false;
        report[name] =
          result.reason instanceof Error ? result.reason.message : String(result.reason);
      }
    });
    return { passed, report };
  }

  app.get('/healthz', async (_request, reply) => {
    const { passed, report } = await runChecks(options.liveness ?? []);
    if (passed) return { status: 'ok' };
    return reply.code(503).send({ status: 'unhealthy', checks: report });
  });

  app.get('/readyz', async (_request, reply) => {
    if (options.isShuttingDown?.()) {
      return reply.code(503).send({ status: 'shutting down', checks: {} });
    }
    const { passed, report } = await runChecks(readiness);
    return reply
      .code(passed ? 200 : 503)
      .send({ status: passed ? 'ready' : 'not ready', checks: report });
  });

  app.get('/metrics', async (_request, reply) => {
    const body = await registry.metrics();
    return reply.header('content-type', registry.contentType).send(body);
  });
};

/** /healthz (alive), /readyz (dependencies reachable) and /metrics (Prometheus text) for fastify. */
export const observability = fp(observabilityPlugin, {
  name: 'bluelight-observability',
  fastify: '5.x',
});
