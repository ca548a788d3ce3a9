import { incidentEvents } from '../incidents.js';
import { days, type TopicDefinition } from './types.js';

export const incidentsTopic: TopicDefinition = {
  name: 'bluelight.incidents.v1',
  family: 'incidents',
  description:
    'Incident lifecycle from CAD: created, reclassified, resources mobilised / mobile / arrived / left, closed.',
  key: {
    field: 'agency/payload.incident_id',
    why: 'an incident’s events stay in order, so first and second arrivals are seen in sequence',
  },
  partitions: 12,
  retentionMs: days(30),
  deadLetter: { name: 'bluelight.incidents.v1.dlq', retentionMs: days(90) },
  producers: ['ingest-gateway (CAD)', 'simulator', 'importers (LFB, SFFD, mapped CSV)'],
  consumers: ['clickhouse-sink'],
  eventTypes: incidentEvents.map((event) => event.type),
  examples: [
    'examples/valid/incident.cancelled/caller-cancelled.json',
    'examples/valid/incident.closed/abandoned-vehicle-excluded.json',
    'examples/valid/incident.closed/with-delay-reason.json',
    'examples/valid/incident.created/police-emergency-rural.json',
    'examples/valid/incident.created/primary-dwelling-fire.json',
    'examples/valid/incident.created/rtc-clocks-change-night.json',
    'examples/valid/incident.event_retracted/mobilised-in-error.json',
    'examples/valid/incident.reclassified/fire-to-false-alarm.json',
    'examples/valid/incident.resource_arrived/corrected-arrival-time.json',
    'examples/valid/incident.resource_arrived/first-pump.json',
    'examples/valid/incident.resource_left_scene/first-pump.json',
    'examples/valid/incident.resource_mobile/first-pump.json',
    'examples/valid/incident.resource_mobilised/first-pump.json',
  ],
};
