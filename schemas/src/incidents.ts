import { z } from 'zod';
import {
  DEFAULT_EARLIEST_EVENT_TIME,
  incidentId,
  instant,
  instantTime,
  MAX_FUTURE_SKEW_MS,
  rejectFarFuture,
  resourceId,
  stationCode,
} from './common.js';
import { defineEvent } from './envelope.js';

/** Home Office incident categories (fire and rescue incident statistics), with their subtypes. */
export const fireCategory = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z
        .literal('primary_fire')
        .describe(
          'Primary fire: in a building, vehicle or outdoor structure, or with casualties, rescues or five or more appliances attending.',
        ),
      location_type: z
        .enum(['dwelling', 'other_building', 'road_vehicle', 'outdoor'])
        .describe('Where the primary fire was.'),
    }),
    z.strictObject({
      type: z
        .literal('secondary_fire')
        .describe(
          'Secondary fire: a smaller outdoor fire (grass, refuse, derelict vehicle) with no casualties or rescues.',
        ),
    }),
    z.strictObject({
      type: z
        .literal('chimney_fire')
        .describe('Chimney fire: confined within the chimney of an occupied building.'),
    }),
    z.strictObject({
      type: z
        .literal('special_service')
        .describe(
          'Special service: a non-fire incident (e.g. a road traffic collision or flooding).',
        ),
      special_service_type: z
        .enum([
          'road_traffic_collision',
          'falls_assisting_other_agencies',
          'medical_response',
          'flooding',
          'rescue_or_evacuation',
          'effecting_entry',
          'hazardous_materials',
          'animal_assistance',
          'lift_release',
          'other',
        ])
        .describe('Kind of non-fire incident.'),
    }),
    z.strictObject({
      type: z
        .literal('false_alarm')
        .describe('False alarm: the call reported a fire that was not there.'),
      false_alarm_type: z
        .enum(['malicious', 'good_intent', 'due_to_apparatus'])
        .describe('Home Office false-alarm class.'),
    }),
  ])
  .describe('Home Office category; special service and false alarm need their subtype.');

export const riskBand = z
  .enum(['high', 'medium', 'low'])
  .describe('Risk band of the incident location; sets the attendance threshold.');

/** What a fire incident and a police incident each need; `service` chooses. */
export const incidentDetails = z
  .discriminatedUnion('service', [
    z.strictObject({
      service: z
        .literal('fire')
        .describe('A fire and rescue incident: category, risk band and life-risk flag follow.'),
      category: fireCategory,
      risk_band: riskBand,
      life_risk: z
        .boolean()
        .describe(
          'Life at risk when the call was received (the attendance standard applies to these).',
        ),
    }),
    z.strictObject({
      service: z.literal('police').describe('A police incident: grading and area type follow.'),
      grading: z
        .enum(['emergency', 'priority', 'scheduled'])
        .describe('Police response grading; emergency incidents have an attendance threshold.'),
      area_type: z
        .enum(['urban', 'rural'])
        .describe('Sets the police emergency threshold (15 / 20 min).'),
    }),
  ])
  .describe(
    'Fire incidents carry a category, risk band and life-risk flag; police incidents a grading.',
  );

export const location = z
  .strictObject({
    station_ground: stationCode.describe('The station ground the incident is in.'),
    area: z.string().min(1).max(64).describe('Local authority area or district.'),
    coordinates: z
      .strictObject({
        lat: z.number().min(49).max(61).describe('Latitude (WGS84), within the UK.'),
        lon: z.number().min(-9).max(2.5).describe('Longitude (WGS84), within the UK.'),
      })
      .optional()
      .describe(
        'Position of the incident (WGS84), when CAD has it; places it on the demand heatmap.',
      ),
  })
  .describe('Where the incident is.');

const resourceOnIncident = (description: string) =>
  z.strictObject({ incident_id: incidentId, resource_id: resourceId }).describe(description);

export const incidentCreated = defineEvent({
  type: 'incident.created',
  family: 'incidents',
  description: 'An incident was created in CAD from a call.',
  keyField: 'incident_id',
  figures: [
    'incidents attended by category',
    'attendance standard (clock start: call received)',
    'open incidents',
    'demand heatmap',
  ],
  payload: z.strictObject({
    incident_id: incidentId,
    call_received_at: instant.describe(
      'When the call that reported it was received (the attendance clock starts here).',
    ),
    details: incidentDetails,
    location,
  }),
  contextualRules: [
    'payload.call_received_at is at most 5 minutes in the future',
    `payload.call_received_at is not before the earliest event time (EARLIEST_EVENT_TIME, default ${DEFAULT_EARLIEST_EVENT_TIME})`,
    'payload.call_received_at is not after occurred_at (beyond 5 minutes of clock skew)',
  ],
  rules: (event, context) => {
    rejectFarFuture(event.payload.call_received_at, ['payload', 'call_received_at'], context);
    const received = instantTime(event.payload.call_received_at);
    const created = instantTime(event.occurred_at);
    if (received > created + MAX_FUTURE_SKEW_MS) {
      context.addIssue({
        code: 'custom',
        path: ['payload', 'call_received_at'],
        message: 'must not be after the incident was created (occurred_at)',
      });
    }
  },
});

export const incidentReclassified = defineEvent({
  type: 'incident.reclassified',
  family: 'incidents',
  description:
    'The incident category, risk band, life-risk flag or police grading changed (e.g. a fire found to be a false alarm).',
  keyField: 'incident_id',
  figures: ['incidents by category', 'attendance standard (which incidents it applies to)'],
  payload: z.strictObject({ incident_id: incidentId, details: incidentDetails }),
});

export const resourceMobilised = defineEvent({
  type: 'incident.resource_mobilised',
  family: 'incidents',
  description: 'A resource (appliance or unit) was assigned and alerted to the incident.',
  keyField: 'incident_id',
  figures: ['call handling time (segment)', 'falls-response mobilisations'],
  payload: resourceOnIncident('The incident and the resource sent to it.'),
});

export const resourceMobile = defineEvent({
  type: 'incident.resource_mobile',
  family: 'incidents',
  description: 'The resource left for the incident (turnout ends, travel starts).',
  keyField: 'incident_id',
  figures: ['turnout time (segment)', 'travel time (segment)'],
  payload: resourceOnIncident('The incident and the resource on its way.'),
});

export const resourceArrived = defineEvent({
  type: 'incident.resource_arrived',
  family: 'incidents',
  description:
    'The resource arrived at the incident; the first and second arrivals stop the clocks.',
  keyField: 'incident_id',
  figures: [
    'attendance standard met (first / second appliance)',
    'average fire attendance time',
    'police emergency attendance',
    'falls-response attendance',
  ],
  payload: resourceOnIncident('The incident and the resource that arrived.'),
});

export const resourceLeftScene = defineEvent({
  type: 'incident.resource_left_scene',
  family: 'incidents',
  description: 'The resource left the incident.',
  keyField: 'incident_id',
  figures: ['time committed per appliance'],
  payload: resourceOnIncident('The incident and the resource that left.'),
});

export const incidentClosed = defineEvent({
  type: 'incident.closed',
  family: 'incidents',
  description:
    'The incident was closed with a stop code and the flags the Home Office exclusions need.',
  keyField: 'incident_id',
  figures: ['attendance standard exclusions by reason', 'open incidents', 'delay reasons'],
  payload: z.strictObject({
    incident_id: incidentId,
    stop_code: z.string().min(1).max(16).describe('The CAD stop code recorded at closure.'),
    exclusions: z
      .strictObject({
        late_call: z
          .boolean()
          .describe('Reported long after it started (excluded from attendance).'),
        derelict_property: z.boolean().describe('Fire in a derelict property (excluded).'),
        abandoned_road_vehicle: z
          .boolean()
          .describe('Fire in an abandoned road vehicle (excluded).'),
      })
      .describe('Home Office exclusion flags; each is counted when a standard excludes it.'),
    delay_reason: z
      .enum([
        'traffic',
        'weather',
        'access',
        'distance',
        'crewing',
        'appliance_unavailable',
        'incorrect_address',
        'other',
      ])
      .optional()
      .describe('Why the attendance target was missed, when it was.'),
  }),
});

export const incidentCancelled = defineEvent({
  type: 'incident.cancelled',
  family: 'incidents',
  description: 'The incident was cancelled before it was dealt with.',
  keyField: 'incident_id',
  figures: ['open incidents', 'incidents attended (cancelled ones are not attended)'],
  payload: z.strictObject({
    incident_id: incidentId,
    reason: z
      .enum([
        'caller_cancelled',
        'duplicate',
        'resolved_before_arrival',
        'created_in_error',
        'other',
      ])
      .describe('Why it was cancelled.'),
  }),
});

export const incidentEventRetracted = defineEvent({
  type: 'incident.event_retracted',
  family: 'incidents',
  description:
    'An earlier incident event (named in `corrects`) was recorded in error and must be ignored.',
  keyField: 'incident_id',
  figures: ['every incident figure (the retracted event drops out)'],
  requiresCorrects: true,
  payload: z.strictObject({ incident_id: incidentId }),
});

export const incidentEvents = [
  incidentCreated,
  incidentReclassified,
  resourceMobilised,
  resourceMobile,
  resourceArrived,
  resourceLeftScene,
  incidentClosed,
  incidentCancelled,
  incidentEventRetracted,
] as const;
