import { callEvents } from '../calls.js';
import { days, type TopicDefinition } from './types.js';

export const callsTopic: TopicDefinition = {
  name: 'bluelight.calls.v1',
  family: 'calls',
  description:
    '999, 101 and online contacts as they are presented, answered, transferred and closed.',
  key: {
    field: 'agency/payload.call_id',
    why: 'a call’s events stay in order, so presented comes before answered for the sink',
  },
  partitions: 12,
  retentionMs: days(30),
  deadLetter: { name: 'bluelight.calls.v1.dlq', retentionMs: days(90) },
  producers: ['ingest-gateway (telephony)', 'simulator', 'importers'],
  consumers: ['clickhouse-sink'],
  eventTypes: callEvents.map((event) => event.type),
  examples: [
    'examples/valid/call.abandoned/in-queue.json',
    'examples/valid/call.answered/999-fire.json',
    'examples/valid/call.closed/101-resolved-at-triage.json',
    'examples/valid/call.closed/incident-created.json',
    'examples/valid/call.event_retracted/duplicate-presented.json',
    'examples/valid/call.presented/101-police.json',
    'examples/valid/call.presented/999-fire.json',
    'examples/valid/call.transferred/to-police.json',
  ],
};
