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
  refresh: (client: ClickHouseClient, entityIds: string[]) => Promise<void>;
}

export const FAMILIES: Record<TopicDefinition['family'], Family> = {
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
