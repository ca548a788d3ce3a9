import type { OutputTarget } from '@bluelight/event-output';
import { loadConfig, platformEnv } from '@bluelight/service-kit';
import { z } from 'zod';

/** `--out` names no destination the importer knows. */
export class OutputChoiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputChoiceError';
  }
}

const kafkaEnvironment = z.object({
  KAFKA_BROKERS: platformEnv.KAFKA_BROKERS,
  KAFKA_TOPIC_PREFIX: z.string().default(''),
});

/**
 * The one place an `--out` value becomes a destination: `kafka` (brokers and topic prefix from
 * KAFKA_BROKERS and KAFKA_TOPIC_PREFIX) or an NDJSON file. A new destination (say, the ingest
 * gateway) is a new branch here and a new kind in @bluelight/event-output.
 * Throws the kit's ConfigError when the Kafka variables are invalid.
 */
export function outputTargetFor(out: string, env: NodeJS.ProcessEnv = process.env): OutputTarget {
  if (out === 'kafka') {
    const config = loadConfig(kafkaEnvironment, env);
    return { kind: 'kafka', brokers: config.KAFKA_BROKERS, topicPrefix: config.KAFKA_TOPIC_PREFIX };
  }
  if (/\.(ndjson|jsonl)$/i.test(out)) return { kind: 'file', path: out };
  throw new OutputChoiceError(`--out must be kafka or a file ending in .ndjson (got "${out}")`);
}
