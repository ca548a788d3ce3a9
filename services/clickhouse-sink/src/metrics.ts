import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The sink's Prometheus metrics (served at /metrics with the process metrics). */
export function createSinkMetrics(registry: Registry) {
  return {
    messages: new Counter({
      name: 'sink_messages_total',
      help: 'Messages handled, by family and outcome (inserted or dead_lettered).',
      labelNames: ['family', 'outcome'] as const,
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'sink_dead_letters_total',
      help: 'Messages sent to the dead-letter topic, by family and error class.',
      labelNames: ['family', 'error_class'] as const,
      registers: [registry],
    }),
    batchRows: new Histogram({
      name: 'sink_batch_rows',
      help: 'Messages per batch.',
      labelNames: ['family'] as const,
      buckets: [1, 10, 100, 500, 1_000, 5_000, 10_000, 50_000, 100_000],
      registers: [registry],
    }),
    stepSeconds: new Histogram({
      name: 'sink_step_duration_seconds',
      help: 'Time per batch step: raw insert, dead letters, derived facts and rollups.',
      labelNames: ['family', 'step'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    retries: new Counter({
      name: 'sink_retries_total',
      help: 'Retries after retriable (infrastructure) errors, by family and step.',
      labelNames: ['family', 'step'] as const,
      registers: [registry],
    }),
    pausedSeconds: new Counter({
      name: 'sink_paused_seconds_total',
      help: 'Time consumption was paused waiting for ClickHouse or Kafka to recover.',
      labelNames: ['family'] as const,
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'sink_consumer_lag',
      help: 'Messages behind the partition end after the last batch.',
      labelNames: ['family', 'partition'] as const,
      registers: [registry],
    }),
    lastBatch: new Gauge({
      name: 'sink_last_batch_timestamp_seconds',
      help: 'When the last batch was committed (Unix time).',
      labelNames: ['family'] as const,
      registers: [registry],
    }),
  };
}

export type SinkMetrics = ReturnType<typeof createSinkMetrics>;
