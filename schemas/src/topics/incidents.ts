import { incidentEvents } from '../incidents.js';
import { days, type TopicDefinition } from './types.js';

export const incidentsTopic: TopicDefinition = {
  name: 'bluelight.incidents.v1',
  family: 'incidents',
  description:
    'Incident lifecycle from CAD: created, reclassified, resources mobilised / mobile / arrived / left, closed.',
  key: {
    field: 'payload.incident_id',
    why: 'an incident’s events stay in order, so first and second arrivals are seen in sequence',
  },
  partitions: 12,
  retentionMs: days(30),
  deadLetter: { name: 'bluelight.incidents.v1.dlq', retentionMs: days(90) },
  producers: ['ingest-gateway (CAD)', 'simulator', 'importers (LFB, SFFD, mapped CSV)'],
  consumers: ['clickhouse-sink'],
  eventTypes: incidentEvents.map((event) => event.type),
};
