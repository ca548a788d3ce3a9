import type { EventFamily } from '../envelope.js';

const DAY_MS = 24 * 60 * 60 * 1000;
export const days = (count: number) => count * DAY_MS;

/** One Kafka topic, in the manner of sentry-kafka-schemas: everything a producer or consumer must know. */
export interface TopicDefinition {
  name: string;
  family: EventFamily;
  description: string;
  /**
   * The Kafka key: the agency and a payload field (`agency/id`), so one entity's events stay in
   * order on one partition and two agencies' entities with the same id are different keys.
   */
  key: { field: string; why: string };
  partitions: number;
  retentionMs: number;
  /** Where events that cannot be processed go, with the original bytes and the reason. */
  deadLetter: { name: string; retentionMs: number };
  producers: string[];
  consumers: string[];
  /** The event types carried; their examples are in schemas/examples/valid/<type>/. */
  eventTypes: string[];
  /**
   * Every valid example of the carried types, relative to schemas/ (examples/valid/<type>/<file>.json),
   * so a consumer can find test data from the registry alone; a test keeps the list complete.
   */
  examples: string[];
}
