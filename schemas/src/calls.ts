import { z } from 'zod';
import { callId, incidentId, service } from './common.js';
import { defineEvent } from './envelope.js';

export const line = z
  .enum(['999', '101', 'online'])
  .describe(
    'How the public reached the control room: 999 emergency line, 101 non-emergency, or online report.',
  );

const queue = z.string().min(1).max(64).describe('The call queue, e.g. 999-police or 101-general.');
const position = z
  .string()
  .min(1)
  .max(32)
  .describe('The call-taker position (desk) that answered or handled the call.');

export const callPresented = defineEvent({
  type: 'call.presented',
  family: 'calls',
  description: 'A call reached the control room and entered a queue; the answer-time clock starts.',
  keyField: 'call_id',
  figures: [
    'calls waiting now',
    '999 answered within 10 s (denominator)',
    'mean 999 wait',
    '999 and 101 volumes',
  ],
  payload: z.strictObject({ call_id: callId, line, service, queue }),
});

export const callAnswered = defineEvent({
  type: 'call.answered',
  family: 'calls',
  description: 'A call-taker answered the call; the answer-time clock stops.',
  keyField: 'call_id',
  figures: ['999 answered within 10 s', 'answer-time bands', 'mean 999 wait', 'calls waiting now'],
  payload: z.strictObject({ call_id: callId, position }),
});

export const callAbandoned = defineEvent({
  type: 'call.abandoned',
  family: 'calls',
  description: 'The caller hung up before the call was answered.',
  keyField: 'call_id',
  figures: ['abandoned calls', 'calls waiting now'],
  payload: z.strictObject({
    call_id: callId,
    stage: z.enum(['queue', 'ringing', 'ivr']).describe('Where the caller was when they hung up.'),
  }),
});

export const callTransferred = defineEvent({
  type: 'call.transferred',
  family: 'calls',
  description: 'The call was passed to another service or queue (e.g. BT operator to police).',
  keyField: 'call_id',
  figures: ['call handling volumes by service'],
  payload: z.strictObject({
    call_id: callId,
    to_service: service.describe('The service the call was passed to.'),
    to_queue: queue.describe('The queue the call was passed to, when known.').optional(),
  }),
});

const closedOutcome = z.discriminatedUnion('outcome', [
  z.strictObject({
    outcome: z.literal('incident_created').describe('The call created an incident.'),
    incident_id: incidentId.describe('The incident the call created.'),
  }),
  z.strictObject({
    outcome: z
      .enum([
        'resolved_at_triage',
        'referred_to_other_agency',
        'appointment_booked',
        'no_further_action',
        'duplicate_of_existing_incident',
      ])
      .describe('How the call ended when no new incident was created.'),
  }),
]);

export const callClosed = defineEvent({
  type: 'call.closed',
  family: 'calls',
  description:
    'Handling of the call ended. For 101 calls the time from answer to close is the triage time.',
  keyField: 'call_id',
  figures: ['101 resolved at triage', '101 mean handling time'],
  payload: z.strictObject({
    call_id: callId,
    position: position.optional(),
    resolution: closedOutcome.describe(
      'How the call ended; incident_created requires the incident id.',
    ),
  }),
});

export const callEventRetracted = defineEvent({
  type: 'call.event_retracted',
  family: 'calls',
  description:
    'An earlier call event (named in `corrects`) was recorded in error and must be ignored.',
  keyField: 'call_id',
  figures: ['every call figure (the retracted event drops out)'],
  requiresCorrects: true,
  payload: z.strictObject({ call_id: callId }),
});

export const callEvents = [
  callPresented,
  callAnswered,
  callAbandoned,
  callTransferred,
  callClosed,
  callEventRetracted,
] as const;
