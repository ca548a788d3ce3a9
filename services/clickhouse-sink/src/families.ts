import {
  type BluelightEvent,
  callsTopic,
  incidentsTopic,
  resourcesTopic,
  type TopicDefinition,
} from '@bluelight/schemas';
import { REVISIONS, type RevisionSpec } from './revisions.js';
import { rawColumns } from './rows.js';

/** Everything the sink needs to know about one event family. */
export interface Family {
  name: TopicDefinition['family'];
  topic: TopicDefinition;
  rawTable: string;
  /** The raw column holding the entity id; the entity is (agency, that id). */
  entityColumn: string;
  /** The raw table's columns in the order the sink sends them (rows.ts). */
  rawColumns: string[];
  /**
   * The instant whose Europe/London month anchors a new entity's facts, taken from its first
   * event: the call time of an incident's creation, otherwise the event's own time.
   */
  anchorTime: (event: BluelightEvent) => string;
  /**
   * How a revised entity's facts are recomputed (a correction or retraction touched it): one
   * spec per kind of fact the family keeps (an incident's own, and its appliances').
   */
  revisions: readonly RevisionSpec[];
}

const ownTime = (event: BluelightEvent) => event.occurred_at;

const BASE_FAMILIES: Record<TopicDefinition['family'], Family> = {
  calls: {
    name: 'calls',
    topic: callsTopic,
    rawTable: 'calls_raw',
    entityColumn: 'call_id',
    rawColumns: rawColumns('call_id'),
    anchorTime: ownTime,
    revisions: [REVISIONS.calls],
  },
  incidents: {
    name: 'incidents',
    topic: incidentsTopic,
    rawTable: 'incidents_raw',
    entityColumn: 'incident_id',
    rawColumns: rawColumns('incident_id'),
    anchorTime: (event) =>
      event.event_type === 'incident.created' ? event.payload.call_received_at : event.occurred_at,
    revisions: [REVISIONS.incidents, REVISIONS.appliances],
  },
  resources: {
    name: 'resources',
    topic: resourcesTopic,
    rawTable: 'resources_raw',
    entityColumn: 'resource_id',
    rawColumns: rawColumns('resource_id'),
    anchorTime: ownTime,
    revisions: [REVISIONS.resources],
  },
};

/** An event that removes another from the figures: a retraction, or a correction of it. */
export function revisesEntity(event: BluelightEvent): boolean {
  return event.corrects !== undefined || event.event_type.endsWith('.event_retracted');
}

/**
 * The families with their topic names under a prefix (KAFKA_TOPIC_PREFIX), so several
 * environments — or tests — can share one Kafka cluster without reading each other's events.
 */
export function familiesWithPrefix(prefix: string): Record<TopicDefinition['family'], Family> {
  const withPrefix = (family: Family): Family => ({
    ...family,
    topic: {
      ...family.topic,
      name: `${prefix}${family.topic.name}`,
      deadLetter: { ...family.topic.deadLetter, name: `${prefix}${family.topic.deadLetter.name}` },
    },
  });
  return {
    calls: withPrefix(BASE_FAMILIES.calls),
    incidents: withPrefix(BASE_FAMILIES.incidents),
    resources: withPrefix(BASE_FAMILIES.resources),
  };
}

export const FAMILIES = familiesWithPrefix('');
