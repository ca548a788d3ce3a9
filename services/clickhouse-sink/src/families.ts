import {
  type BluelightEvent,
  callsTopic,
  incidentsTopic,
  resourcesTopic,
  type TopicDefinition,
} from '@bluelight/schemas';
import type { ClickHouseClient } from '@bluelight/service-kit';
import { refreshCalls, refreshIncidents, refreshResources } from './derived/index.js';
import { callRow, incidentRow, type Lineage, type RawRow, resourceRow } from './rows.js';

/** Everything the sink needs to know about one event family. */
export interface Family {
  name: TopicDefinition['family'];
  topic: TopicDefinition;
  rawTable: string;
  toRow: (event: BluelightEvent, lineage: Lineage) => RawRow;
  /** The raw column holding the entity id, whose derived facts are refreshed after an insert. */
  entityColumn: string;
  /** Recomputes the derived facts of these entities, touched by these events. */
  refresh: (client: ClickHouseClient, entityIds: string[], eventIds: string[]) => Promise<void>;
}

const BASE_FAMILIES: Record<TopicDefinition['family'], Family> = {
  calls: {
    name: 'calls',
    topic: callsTopic,
    rawTable: 'calls_raw',
    toRow: callRow,
    entityColumn: 'call_id',
    refresh: refreshCalls,
  },
  incidents: {
    name: 'incidents',
    topic: incidentsTopic,
    rawTable: 'incidents_raw',
    toRow: incidentRow,
    entityColumn: 'incident_id',
    refresh: refreshIncidents,
  },
  resources: {
    name: 'resources',
    topic: resourcesTopic,
    rawTable: 'resources_raw',
    toRow: resourceRow,
    entityColumn: 'resource_id',
    refresh: refreshResources,
  },
};

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
