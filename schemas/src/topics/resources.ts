import { resourceEvents } from '../resources.js';
import { days, type TopicDefinition } from './types.js';

export const resourcesTopic: TopicDefinition = {
  name: 'bluelight.resources.v1',
  family: 'resources',
  description: 'Appliance and unit status changes from station-end and CAD systems.',
  key: {
    field: 'agency/payload.resource_id',
    why: 'a resource’s status changes stay in order, so availability intervals are contiguous',
  },
  partitions: 6,
  retentionMs: days(30),
  deadLetter: { name: 'bluelight.resources.v1.dlq', retentionMs: days(90) },
  producers: ['ingest-gateway (station-end systems, CAD)', 'simulator'],
  consumers: ['clickhouse-sink'],
  eventTypes: resourceEvents.map((event) => event.type),
  examples: [
    'examples/valid/resource.event_retracted/status-sent-twice.json',
    'examples/valid/resource.status_changed/committed.json',
    'examples/valid/resource.status_changed/on-call-crewed.json',
    'examples/valid/resource.status_changed/on-call-off-the-run.json',
  ],
};
