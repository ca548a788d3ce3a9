import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Why an event was not accepted (the `reason` label of gateway_events_total). */
export type RejectionReason =
  | 'contract'
  | 'not_json'
  | 'not_utf8'
  | 'forbidden'
  | 'rate_limited'
  | 'kafka_unavailable';

/** The gateway's Prometheus metrics (served at /metrics with the process metrics). */
export function createGatewayMetrics(registry: Registry) {
  return {
    events: new Counter({
      name: 'gateway_events_total',
      help: 'Events received, by outcome (accepted, duplicate, rejected) and, for rejections, reason.',
      labelNames: ['outcome', 'reason'] as const,
      registers: [registry],
    }),
    requests: new Counter({
      name: 'gateway_requests_total',
      help: 'POST /v1/events requests, by status code.',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    produceSeconds: new Histogram({
      name: 'gateway_produce_duration_seconds',
      help: 'Time from a send to Kafka until every broker acknowledged it (or it failed).',
      labelNames: ['outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'gateway_in_flight_requests',
      help: 'POST /v1/events requests being validated or produced right now.',
      registers: [registry],
    }),
  };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
