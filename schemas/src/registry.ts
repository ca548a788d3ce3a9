import { z } from 'zod';
import { callEvents } from './calls.js';
import { incidentEvents } from './incidents.js';
import { resourceEvents } from './resources.js';
import { callsTopic } from './topics/calls.js';
import { incidentsTopic } from './topics/incidents.js';
import { resourcesTopic } from './topics/resources.js';
import type { TopicDefinition } from './topics/types.js';

export const eventDefinitions = [...callEvents, ...incidentEvents, ...resourceEvents] as const;

export type EventDefinitionUnion = (typeof eventDefinitions)[number];
export type EventType = EventDefinitionUnion['type'];

/** Any Bluelight event; `event_type` selects the shape. */
export const anyEvent = z.discriminatedUnion(
  'event_type',
  eventDefinitions.map((definition) => definition.schema) as unknown as [
    EventDefinitionUnion['schema'],
    ...EventDefinitionUnion['schema'][],
  ],
);
export type BluelightEvent = z.infer<typeof anyEvent>;

export const topics: readonly TopicDefinition[] = [callsTopic, incidentsTopic, resourcesTopic];

const definitionsByType = new Map<string, EventDefinitionUnion>(
  eventDefinitions.map((definition) => [definition.type, definition]),
);
const topicsByFamily = new Map(topics.map((topic) => [topic.family, topic]));

export function eventDefinition(type: string): EventDefinitionUnion | undefined {
  return definitionsByType.get(type);
}

/** The topic an event type is written to. */
export function topicFor(type: EventType): TopicDefinition {
  const definition = definitionsByType.get(type);
  const topic = definition && topicsByFamily.get(definition.family);
  if (!topic) throw new Error(`no topic carries event type ${type}`);
  return topic;
}

/**
 * The Kafka key of a valid event: `agency/entity id`. One entity's events stay on one partition,
 * in order, and two agencies' entities with the same id are two keys.
 */
export function partitionKey(event: BluelightEvent): string {
  const definition = definitionsByType.get(event.event_type);
  if (!definition) throw new Error(`unknown event type ${event.event_type}`);
  const payload = event.payload as Record<string, unknown>;
  const key = payload[definition.keyField];
  if (typeof key !== 'string') throw new Error(`${event.event_type} has no ${definition.keyField}`);
  return `${event.agency}/${key}`;
}
